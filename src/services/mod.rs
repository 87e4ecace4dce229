//! The services: every rule of the API, once, with no transport. One module per resource
//! or capability. A service takes a connection, an [`Actor`](crate::domain::Actor) and a
//! typed input, and owns the whole action:
//!
//! 1. who may: the actor is asked (`require_action`, `require`), before anything else is
//!    looked at;
//! 2. the input is validated through the domain types, every error naming its field;
//! 3. one write transaction (`db::begin_write`) loads the target and every referenced row
//!    *within the actor's organization* (anything else is NOT_FOUND, as a missing id is),
//!    makes the change, and records its event (`events::record`), so the event exists
//!    exactly when the change does.
//!
//! An update that changes nothing writes nothing and records no event. GraphQL resolvers,
//! the public booking operations, the CLI and the seeder all call these; none of them
//! re-implements a rule.

pub mod api_keys;
pub mod booking;
pub mod booking_links;
pub mod calendar;
pub mod calls;
pub mod commissions;
pub mod events;
pub mod leads;
pub mod orgs;
pub mod payments;
pub mod products;
pub mod team;
pub mod webhooks;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db::lookup::reference;
use crate::error::{AppError, AppResult};

/// A field of an update: keep it, clear it, or set it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// `None` to keep the field, `Some(None)` to clear it, `Some(Some(u))` to set it to
    /// what `parse` makes of the value (which may itself be nothing, for blank text).
    pub fn parse<U>(
        self,
        parse: impl FnOnce(T) -> AppResult<Option<U>>,
    ) -> AppResult<Option<Option<U>>> {
        match self {
            Patch::Keep => Ok(None),
            Patch::Clear => Ok(Some(None)),
            Patch::Set(value) => parse(value).map(Some),
        }
    }
}

/// A team member an input assigns work to (`closerId`, `ownerId`, …): in the organization
/// and active.
#[tracing::instrument(name = "service.active_member", skip_all)]
pub async fn active_member<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    id: &str,
) -> AppResult<entities::team_member::Model> {
    let member =
        reference::<entities::team_member::Entity, _>(db, organization_id, field, id).await?;
    if !member.active {
        return Err(AppError::validation(
            field,
            format!("team member `{}` is inactive", crate::db::lookup::shown(id)),
        ));
    }
    Ok(member)
}

/// A team member an update assigns, checked unless it is the one already there (a client
/// re-sending the current closer is not reassigning, even if the closer left since).
#[tracing::instrument(name = "service.member_change", skip_all)]
pub async fn member_change<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    value: Patch<String>,
    current: Option<Uuid>,
) -> AppResult<Option<Option<Uuid>>> {
    match value {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(None)),
        Patch::Set(id) => {
            let decoded = crate::ids::decode(crate::ids::IdKind::TeamMember, &id).ok();
            if current.is_some() && decoded == current {
                return Ok(None);
            }
            Ok(Some(Some(
                active_member(db, organization_id, field, &id).await?.id,
            )))
        }
    }
}

/// A referenced id that may be cleared: `None` keeps it, `Some(None)` clears it.
#[tracing::instrument(name = "service.optional_reference", skip_all)]
pub async fn optional_reference<E, C>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    value: &Patch<String>,
) -> AppResult<Option<Option<Uuid>>>
where
    E: crate::db::tenant::TenantEntity,
    C: ConnectionTrait,
{
    match value {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(None)),
        Patch::Set(id) => {
            let row = reference::<E, _>(db, organization_id, field, id).await?;
            Ok(Some(Some(E::id_of(&row))))
        }
    }
}

/// A referenced id that is optional on create.
#[tracing::instrument(name = "service.optional_id", skip_all)]
pub async fn optional_id<E, C>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    value: Option<&str>,
) -> AppResult<Option<Uuid>>
where
    E: crate::db::tenant::TenantEntity,
    C: ConnectionTrait,
{
    match value {
        Some(id) => Ok(Some(E::id_of(
            &reference::<E, _>(db, organization_id, field, id).await?,
        ))),
        None => Ok(None),
    }
}
