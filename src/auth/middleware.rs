use std::sync::Arc;
use std::time::Duration;

use entities::api_key;
use poem::http::header::AUTHORIZATION;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::api_key::{KEY_PREFIX, KeyFormatError, hash, verify_format};
use super::{Credential, Principal, ScopeSet};
use crate::error::{AppError, AppResult};
use crate::time::now;

/// `last_used_at` is refreshed at most this often per key, so a busy key does not turn
/// every read into a write.
const LAST_USED_GRANULARITY: Duration = Duration::from_secs(60);

/// Turns a bearer credential into a [`Principal`].
pub struct Authenticator {
    db: DatabaseConnection,
}

impl Authenticator {
    pub fn new(db: DatabaseConnection) -> Self {
        Authenticator { db }
    }

    /// `Ok(None)` when the request carries no credential at all.
    pub async fn authenticate(&self, authorization: Option<&str>) -> AppResult<Option<Principal>> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        let token = parse_bearer(header)?;
        if token.starts_with(KEY_PREFIX) || !token.contains('.') {
            return self.authenticate_api_key(token).await.map(Some);
        }
        Err(AppError::Unauthorized(
            "Clerk sign-in is not configured on this server".to_owned(),
        ))
    }

    async fn authenticate_api_key(&self, token: &str) -> AppResult<Principal> {
        match verify_format(token) {
            Ok(()) => {}
            Err(KeyFormatError::BadChecksum) => {
                return Err(AppError::Unauthorized(
                    "invalid API key: the checksum does not match (was it copied whole?)"
                        .to_owned(),
                ));
            }
            Err(KeyFormatError::NotAnAuraKey | KeyFormatError::Malformed) => {
                return Err(AppError::Unauthorized(format!(
                    "invalid API key: expected `{KEY_PREFIX}…` as issued by Aura"
                )));
            }
        }
        let key = api_key::Entity::find()
            .filter(api_key::Column::SecretHash.eq(hash(token)))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::Unauthorized("invalid API key".to_owned()))?;
        let at = now();
        if key.revoked_at.is_some() {
            return Err(AppError::Unauthorized(
                "this API key has been revoked".to_owned(),
            ));
        }
        if key.expires_at.is_some_and(|expires| expires <= at) {
            return Err(AppError::Unauthorized(
                "this API key has expired".to_owned(),
            ));
        }
        let scopes = ScopeSet::parse_list(&key.scopes).map_err(AppError::internal)?;
        let stale = key
            .last_used_at
            .is_none_or(|last| (at - last).to_std().unwrap_or_default() >= LAST_USED_GRANULARITY);
        if stale {
            self.touch(key.id, at);
        }
        Ok(Principal {
            organization_id: key.organization_id,
            credential: Credential::ApiKey { key_id: key.id },
            scopes,
        })
    }

    fn touch(&self, key_id: uuid::Uuid, at: chrono::DateTime<chrono::Utc>) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let update = api_key::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(key_id),
                last_used_at: Set(Some(at)),
                ..Default::default()
            };
            if let Err(err) = update.update(&db).await {
                tracing::warn!(error = %err, "could not record API key use");
            }
        });
    }
}

fn parse_bearer(header: &str) -> AppResult<&str> {
    let malformed = || {
        AppError::Unauthorized(
            "malformed Authorization header: expected `Bearer <API key or Clerk token>`".to_owned(),
        )
    };
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No credential: 401.
    Required,
    /// No credential: continue anonymously (public operations decide for themselves).
    Optional,
}

/// The poem middleware in front of REST and GraphQL.
pub struct Authenticate {
    authenticator: Arc<Authenticator>,
    policy: AuthPolicy,
}

impl Authenticate {
    pub fn new(authenticator: Arc<Authenticator>, policy: AuthPolicy) -> Self {
        Authenticate {
            authenticator,
            policy,
        }
    }
}

impl<E: Endpoint> Middleware<E> for Authenticate {
    type Output = AuthenticateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AuthenticateEndpoint {
            inner,
            authenticator: self.authenticator.clone(),
            policy: self.policy,
        }
    }
}

pub struct AuthenticateEndpoint<E> {
    inner: E,
    authenticator: Arc<Authenticator>,
    policy: AuthPolicy,
}

impl<E: Endpoint> Endpoint for AuthenticateEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or("\u{0}"));
        match self.authenticator.authenticate(header).await? {
            Some(principal) => {
                req.extensions_mut().insert(principal);
            }
            None if self.policy == AuthPolicy::Optional => {}
            None => {
                return Err(AppError::Unauthorized(
                    "missing API key: send `Authorization: Bearer aura_pk_live_…`".to_owned(),
                )
                .into());
            }
        }
        Ok(self.inner.call(req).await?.into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(parse_bearer("Bearer abc").unwrap(), "abc");
        assert_eq!(parse_bearer("bearer   abc ").unwrap(), "abc");
        assert!(parse_bearer("Basic abc").is_err());
        assert!(parse_bearer("Bearer").is_err());
        assert!(parse_bearer("Bearer ").is_err());
        assert!(parse_bearer("abc").is_err());
    }
}
