//! Turning a bearer credential (an Aura API key or a Clerk session token) into an
//! [`Actor`]. The HTTP guard and the WebSocket call it for every request and operation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entities::{api_key, organization};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::clerk::ClerkVerifier;
use super::key_cache::{KeyCache, Lookup, VerifiedKey};
use crate::crypto::api_key::{KEY_PREFIX, KeyFormatError, hash, verify_format};
use crate::db::Database;
use crate::domain::{Actor, Credential, ScopeSet};
use crate::error::{AppError, AppResult};
use crate::time::now;

/// `last_used_at` is refreshed at most this often per key, so a busy key does not turn
/// every read into a write.
const LAST_USED_GRANULARITY: Duration = Duration::from_secs(60);

/// Turns a bearer credential into an [`Actor`].
pub struct Authenticator {
    db: DatabaseConnection,
    clerk: Option<ClerkVerifier>,
    keys: KeyCache,
    /// When this process last wrote each key's `last_used_at`, so a burst of concurrent
    /// requests on a key whose row looks stale writes once, not once per request.
    touched: Mutex<HashMap<uuid::Uuid, Instant>>,
}

impl Authenticator {
    /// `clerk: None` answers every Clerk token with 401.
    pub fn new(db: &Database, clerk: Option<ClerkVerifier>) -> Self {
        let alone = db.backend() != sea_orm::DbBackend::Postgres;
        Authenticator {
            db: db.conn().clone(),
            keys: KeyCache::new(db.bus().clone(), alone),
            clerk,
            touched: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok(None)` when the request carries no credential at all.
    pub async fn authenticate(&self, authorization: Option<&str>) -> AppResult<Option<Actor>> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        let token = parse_bearer(header)?;
        if token.starts_with(KEY_PREFIX) || !token.contains('.') {
            return self.authenticate_api_key(token).await.map(Some);
        }
        self.authenticate_clerk(token).await.map(Some)
    }

    async fn authenticate_clerk(&self, token: &str) -> AppResult<Actor> {
        let Some(clerk) = &self.clerk else {
            return Err(AppError::Unauthorized(
                "Clerk sign-in is not configured on this server".to_owned(),
            ));
        };
        let session = clerk.verify(token).await?;
        if session.pending {
            return Err(AppError::Forbidden(
                "your Clerk session is pending: finish signing in first".to_owned(),
            ));
        }
        let Some(clerk_org) = session.organization else {
            return Err(AppError::Forbidden(
                "your Clerk token has no active organization: select one in your app".to_owned(),
            ));
        };
        let organization = crate::db::read_twice(|| {
            organization::Entity::find()
                .filter(organization::Column::ClerkOrgId.eq(clerk_org.id.as_str()))
                .one(&self.db)
        })
        .await?
        .ok_or_else(|| {
            AppError::Forbidden(
                "your Clerk organization is not connected to an Aura organization".to_owned(),
            )
        })?;
        let is_admin = clerk_org.is_admin();
        Ok(Actor {
            organization_id: organization.id,
            credential: Credential::ClerkUser {
                user_id: session.user_id,
                is_admin,
            },
            scopes: if is_admin {
                ScopeSet::all()
            } else {
                ScopeSet::read_only()
            },
        })
    }

    async fn authenticate_api_key(&self, token: &str) -> AppResult<Actor> {
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
        let secret_hash = hash(token);
        let generation = match self.keys.get(&secret_hash) {
            Lookup::Hit(key) => return self.actor_of(key, &secret_hash),
            Lookup::Miss(generation) => Some(generation),
            Lookup::Bypass => None,
        };
        let key = crate::db::read_twice(|| {
            api_key::Entity::find()
                .filter(api_key::Column::SecretHash.eq(secret_hash.as_str()))
                .one(&self.db)
        })
        .await?
        .ok_or_else(|| AppError::Unauthorized("invalid API key".to_owned()))?;
        if key.revoked_at.is_some() {
            return Err(AppError::Unauthorized(
                "this API key has been revoked".to_owned(),
            ));
        }
        let verified = VerifiedKey {
            key_id: key.id,
            organization_id: key.organization_id,
            scopes: ScopeSet::parse_list(&key.scopes).map_err(AppError::internal)?,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
        };
        if let Some(generation) = generation {
            self.keys
                .store(secret_hash.clone(), verified.clone(), generation);
        }
        self.actor_of(verified, &secret_hash)
    }

    /// The actor a verified key acts as, unless it expired; records its use (coalesced).
    fn actor_of(&self, key: VerifiedKey, secret_hash: &str) -> AppResult<Actor> {
        let at = now();
        if key.expires_at.is_some_and(|expires| expires <= at) {
            return Err(AppError::Unauthorized(
                "this API key has expired".to_owned(),
            ));
        }
        let stale = key
            .last_used_at
            .is_none_or(|last| (at - last).to_std().unwrap_or_default() >= LAST_USED_GRANULARITY);
        if stale {
            self.touch(key.key_id, at);
            self.keys.touched(secret_hash, at);
        }
        Ok(Actor {
            organization_id: key.organization_id,
            credential: Credential::ApiKey { key_id: key.key_id },
            scopes: key.scopes,
        })
    }

    fn touch(&self, key_id: uuid::Uuid, at: chrono::DateTime<chrono::Utc>) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if touched
                .get(&key_id)
                .is_some_and(|last| now.duration_since(*last) < LAST_USED_GRANULARITY)
            {
                return;
            }
            if touched.len() > 10_000 {
                touched.retain(|_, last| now.duration_since(*last) < LAST_USED_GRANULARITY);
            }
            touched.insert(key_id, now);
        }
        let db = self.db.clone();
        // One UPDATE, without reading the row back: `ActiveModel::update` would follow it
        // with a SELECT on SQLite, which has no RETURNING in sea-orm's default build.
        tokio::spawn(async move {
            let update = api_key::Entity::update_many()
                .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
                .filter(api_key::Column::Id.eq(key_id))
                .exec(&db)
                .await;
            if let Err(err) = update {
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
