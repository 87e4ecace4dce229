//! Finding the rows an action names, always inside the actor's organization: a malformed
//! id, a missing row and another organization's row are the same NOT_FOUND.

use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::tenant::TenantEntity;
use crate::error::{AppError, AppResult};
use crate::ids;

/// The row an action changes, locked for the rest of the transaction (PostgreSQL; SQLite
/// has the whole database locked already).
pub async fn target<E, C>(db: &C, organization_id: Uuid, id: &str) -> AppResult<E::Model>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let not_found = || AppError::NotFound(format!("{} `{}` not found", E::KIND.noun(), shown(id)));
    let uuid = ids::decode(E::KIND, id).map_err(|_| not_found())?;
    E::find()
        .filter(E::organization_column().eq(organization_id))
        .filter(E::id_column().eq(uuid))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// A row of the organization by its public id, unlocked (reads).
pub async fn find<E, C>(db: &C, organization_id: Uuid, id: &str) -> AppResult<E::Model>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let not_found = || AppError::NotFound(format!("{} `{}` not found", E::KIND.noun(), shown(id)));
    let uuid = ids::decode(E::KIND, id).map_err(|_| not_found())?;
    find_by_uuid::<E, C>(db, organization_id, uuid)
        .await?
        .ok_or_else(not_found)
}

/// A row of the organization by its row id, if it is there.
pub async fn find_by_uuid<E, C>(
    db: &C,
    organization_id: Uuid,
    id: Uuid,
) -> AppResult<Option<E::Model>>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    Ok(E::find()
        .filter(E::organization_column().eq(organization_id))
        .filter(E::id_column().eq(id))
        .one(db)
        .await?)
}

/// A row an input points at (`leadId`, `closerId`, …). NOT_FOUND, naming the field,
/// unless it exists in the organization.
pub async fn reference<E, C>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    id: &str,
) -> AppResult<E::Model>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let not_found = || {
        AppError::NotFound(format!(
            "{field}: {} `{}` not found",
            E::KIND.noun(),
            shown(id)
        ))
    };
    let uuid = ids::decode(E::KIND, id).map_err(|_| not_found())?;
    find_by_uuid::<E, C>(db, organization_id, uuid)
        .await?
        .ok_or_else(not_found)
}

/// An id as error messages repeat it: at most 64 characters of it, no control characters,
/// so a message never echoes a whole hostile input.
pub fn shown(id: &str) -> String {
    let clean: String = id.chars().filter(|c| !c.is_control()).take(64).collect();
    if clean.len() < id.len() && id.chars().count() > 64 {
        format!("{clean}…")
    } else {
        clean
    }
}
