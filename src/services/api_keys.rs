//! The API key lifecycle: create (the secret is returned once), list, revoke. Only an
//! organization admin signed in with Clerk (or the operator at the CLI) may; an API key
//! never can, whatever its scopes, so a leaked key cannot mint more keys. A revocation
//! is announced (`events::signal`) so every instance's key cache forgets the key at once.

use chrono::{DateTime, Utc};
use entities::api_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use uuid::Uuid;

use crate::crypto::api_key as key_format;
use crate::db::bus::KEYS_CHANNEL;
use crate::db::{Database, Signal};
use crate::domain::text::required_text;
use crate::domain::{Actor, ScopeSet};
use crate::error::{AppError, AppResult};
use crate::ids::{self, IdKind};
use crate::time::now;

pub struct CreatedKey {
    pub key: api_key::Model,
    /// The only time the secret exists outside the caller's hands.
    pub secret: String,
}

pub struct NewKey {
    pub name: String,
    /// Scope names (`leads:read`, …).
    pub scopes: Vec<String>,
    /// Must be in the future; never when omitted.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates an API key and returns its secret, once.
#[tracing::instrument(name = "service.api_keys.create", skip_all)]
pub async fn create<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    input: NewKey,
) -> AppResult<CreatedKey> {
    actor.require_key_admin()?;
    let organization_id = actor.organization_id;
    let name = required_text("name", &input.name, 200)?;
    let scopes = ScopeSet::parse_list(&input.scopes.join(","))
        .map_err(|message| AppError::validation("scopes", message))?;
    if let Some(expires_at) = input.expires_at
        && expires_at <= now()
    {
        return Err(AppError::validation("expiresAt", "must be in the future"));
    }
    let expires_at = input.expires_at;
    if scopes == ScopeSet::default() {
        return Err(AppError::validation(
            "scopes",
            "must name at least one scope",
        ));
    }
    let generated = key_format::generate().map_err(AppError::internal)?;
    let at = now();
    let key = api_key::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(organization_id),
        name: Set(name),
        display_prefix: Set(generated.display_prefix),
        secret_hash: Set(generated.hash),
        scopes: Set(scopes.to_string()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(CreatedKey {
        key,
        secret: generated.secret,
    })
}

/// The organization's keys, newest first (never their secrets).
#[tracing::instrument(name = "service.api_keys.list", skip_all)]
pub async fn list<C: ConnectionTrait>(db: &C, actor: &Actor) -> AppResult<Vec<api_key::Model>> {
    actor.require_key_admin()?;
    let organization_id = actor.organization_id;
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a key of the actor's organization; it stops working on its next request, on
/// every instance. Revoking twice is harmless and keeps the first time.
#[tracing::instrument(name = "service.api_keys.revoke", skip_all)]
pub async fn revoke(db: &Database, actor: &Actor, id: &str) -> AppResult<api_key::Model> {
    actor.require_key_admin()?;
    let not_found = || {
        AppError::NotFound(format!(
            "API key `{}` not found",
            crate::db::lookup::shown(id)
        ))
    };
    let key_id = ids::decode(IdKind::ApiKey, id).map_err(|_| not_found())?;
    let key = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::OrganizationId.eq(actor.organization_id))
        .one(db.conn())
        .await?
        .ok_or_else(not_found)?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let at = now();
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(at));
    active.updated_at = Set(at);
    let revoked = active.update(db.conn()).await?;
    announce_key_change(db, revoked.id).await?;
    Ok(revoked)
}

/// Tells every instance to forget what it cached about a key: this process at once,
/// other instances through PostgreSQL's `NOTIFY` (SQLite has one process).
async fn announce_key_change(db: &Database, key_id: Uuid) -> AppResult<()> {
    db.bus().publish(Signal::KeyChanged(key_id));
    if db.backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [KEYS_CHANNEL.into(), key_id.to_string().into()],
        ))
        .await?;
    }
    Ok(())
}

/// The organization a key belongs to, for the operator, who names keys by id alone.
#[tracing::instrument(name = "service.api_keys.organization_of", skip_all)]
pub async fn organization_of<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<Uuid> {
    let not_found = || {
        AppError::NotFound(format!(
            "API key `{}` not found",
            crate::db::lookup::shown(id)
        ))
    };
    let key_id = ids::decode(IdKind::ApiKey, id).map_err(|_| not_found())?;
    api_key::Entity::find_by_id(key_id)
        .one(db)
        .await?
        .map(|k| k.organization_id)
        .ok_or_else(not_found)
}

/// Whether a key works at `at`.
pub fn status(key: &api_key::Model, at: DateTime<Utc>) -> crate::views::enums::ApiKeyStatus {
    use crate::views::enums::ApiKeyStatus;
    if key.revoked_at.is_some() {
        ApiKeyStatus::Revoked
    } else if key.expires_at.is_some_and(|e| e <= at) {
        ApiKeyStatus::Expired
    } else {
        ApiKeyStatus::Active
    }
}
