//! API key management over GraphQL: list, create (the secret is returned once) and
//! revoke; adapters over `services::api_keys`, which decides who may (an organization
//! admin signed in with Clerk; never an API key).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entities::api_key;

use super::context::{actor, core};
use super::enums::Gql;
use super::scalars::DateTime;
use crate::domain::{Scope, ScopeSet};
use crate::ids::{self, IdKind};
use crate::services::api_keys::{self as keys, NewKey};
use crate::time::now;
use crate::views::enums::ApiKeyStatus;

/// An API key. The secret itself is never shown again after creation.
pub struct ApiKey(pub api_key::Model);

/// An API key of your organization. Its secret is shown only when it is created.
#[Object]
impl ApiKey {
    /// `key_…`
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::ApiKey, self.0.id))
    }
    /// What the key is for, e.g. "Postman Testing".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The key's first characters, to tell keys apart (`aura_pk_live_AbCd`).
    async fn prefix(&self) -> &str {
        &self.0.display_prefix
    }
    /// What the key may read or write.
    async fn scopes(&self) -> Vec<Gql<Scope>> {
        ScopeSet::parse_list(&self.0.scopes)
            .map(|set| set.iter().map(Gql).collect())
            .unwrap_or_default()
    }
    /// Whether the key works.
    async fn status(&self) -> Gql<ApiKeyStatus> {
        Gql(keys::status(&self.0, now()))
    }
    /// When the key stops working; null if never.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }
    /// When the key was revoked; null while it is not.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(DateTime)
    }
    /// When the key last authenticated a request (updated at most once a minute); null if
    /// never.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
    /// When the key was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
}

/// A new API key with its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    /// The key.
    pub api_key: ApiKey,
    /// The key itself (`aura_pk_live_…`). Shown this once: store it now.
    pub secret: String,
}

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What the key is for, e.g. "Postman Testing" (1 to 200 characters).
    pub name: String,
    /// What it may read or write: at least one scope.
    pub scopes: Vec<Gql<Scope>>,
    /// When the key stops working; never when omitted. Must be in the future.
    pub expires_at: Option<DateTime>,
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// Your organization's API keys, newest first. Organization admins (Clerk) only.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let rows = keys::list(core(ctx).db.conn(), actor(ctx)?).await?;
        Ok(rows.into_iter().map(ApiKey).collect())
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key and returns its secret, once. Organization admins (Clerk) only.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key to create.")] input: CreateApiKeyInput,
    ) -> Result<CreatedApiKey> {
        let input = NewKey {
            name: input.name,
            scopes: input
                .scopes
                .into_iter()
                .map(|s| s.get().as_str().to_owned())
                .collect(),
            expires_at: input.expires_at.map(|d| d.0),
        };
        let created = keys::create(core(ctx).db.conn(), actor(ctx)?, input).await?;
        Ok(CreatedApiKey {
            api_key: ApiKey(created.key),
            secret: created.secret,
        })
    }

    /// Revokes a key; it stops working on its next request. Revoking twice is harmless.
    /// Organization admins (Clerk) only.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key's id (`key_…`).")] id: ID,
    ) -> Result<ApiKey> {
        Ok(ApiKey(
            keys::revoke(&core(ctx).db, actor(ctx)?, id.as_str()).await?,
        ))
    }
}
