//! The API key lifecycle: create (the secret is returned once), list, revoke.

use chrono::{DateTime, Utc};
use entities::api_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{ScopeSet, api_key as key_format};
use crate::error::{AppError, AppResult};
use crate::time::now;

pub struct CreatedKey {
    pub key: api_key::Model,
    /// The only time the secret exists outside the caller's hands.
    pub secret: String,
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    name: &str,
    scopes: ScopeSet,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<CreatedKey> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::validation("name", "must be 1 to 200 characters"));
    }
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
        name: Set(name.to_owned()),
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

pub async fn list<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a key. `organization_id` scopes the look-up when the caller is a tenant;
/// the operator CLI passes `None`. Revoking twice is harmless and keeps the first time.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    key_id: Uuid,
    organization_id: Option<Uuid>,
) -> AppResult<api_key::Model> {
    let mut query = api_key::Entity::find_by_id(key_id);
    if let Some(org) = organization_id {
        query = query.filter(api_key::Column::OrganizationId.eq(org));
    }
    let key = query
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("API key"))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let at = now();
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(at));
    active.updated_at = Set(at);
    Ok(active.update(db).await?)
}

pub fn status(key: &api_key::Model, at: DateTime<Utc>) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if key.expires_at.is_some_and(|e| e <= at) {
        "expired"
    } else {
        "active"
    }
}
