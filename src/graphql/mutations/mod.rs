//! App writes: the mutations the mobile and web apps make as a user signed in with Clerk,
//! one file per resource. Every mutation follows the same steps, in this order:
//!
//! 1. who may: [`writer`] refuses API keys and roles the matrix does not allow
//!    (`auth::Action`), before anything else is looked at;
//! 2. the input is validated, every error naming its field;
//! 3. one write transaction (`db::begin_write`) loads the target and every referenced
//!    row *within the caller's organization* (anything else is NOT_FOUND, as a missing
//!    id is), makes the change and records its event (`events::record`), so the event
//!    exists exactly when the change does.
//!
//! An update that changes nothing writes nothing and records no event.

pub mod booking_link;
pub mod call;
pub mod lead;
pub mod payment;
pub mod product;
pub mod team_member;

use async_graphql::{Context, ID, MaybeUndefined};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::context::{request, state};
use super::tenant::TenantEntity;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::ids;
use crate::state::AppState;

/// The app state and the caller's organization, if the caller may perform `action`.
pub fn writer<'a>(ctx: &Context<'a>, action: Action) -> AppResult<(&'a AppState, Uuid)> {
    let principal = &request(ctx)?.principal;
    principal.require_action(action)?;
    Ok((state(ctx), principal.organization_id))
}

/// The row a mutation changes, locked for the rest of the transaction (PostgreSQL; SQLite
/// has the whole database locked already). Malformed, missing and foreign ids are all the
/// same NOT_FOUND.
pub async fn target<E, C>(db: &C, organization_id: Uuid, id: &ID) -> AppResult<E::Model>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let not_found =
        || AppError::NotFound(format!("{} `{}` not found", E::KIND.noun(), id.as_str()));
    let uuid = ids::decode(E::KIND, id.as_str()).map_err(|_| not_found())?;
    E::find()
        .filter(E::organization_column().eq(organization_id))
        .filter(E::id_column().eq(uuid))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// A row an input points at (`leadId`, `closerId`, …). NOT_FOUND, naming the field,
/// unless it exists in the caller's organization.
pub async fn reference<E, C>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    id: &ID,
) -> AppResult<E::Model>
where
    E: TenantEntity,
    C: ConnectionTrait,
{
    let not_found = || {
        AppError::NotFound(format!(
            "{field}: {} `{}` not found",
            E::KIND.noun(),
            id.as_str()
        ))
    };
    let uuid = ids::decode(E::KIND, id.as_str()).map_err(|_| not_found())?;
    E::find()
        .filter(E::organization_column().eq(organization_id))
        .filter(E::id_column().eq(uuid))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// A team member an input assigns work to (`closerId`, `ownerId`, …): in the caller's
/// organization and active.
pub async fn active_member<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    field: &str,
    id: &ID,
) -> AppResult<entities::team_member::Model> {
    let member =
        reference::<entities::team_member::Entity, _>(db, organization_id, field, id).await?;
    if !member.active {
        return Err(AppError::validation(
            field,
            format!("team member `{}` is inactive", id.as_str()),
        ));
    }
    Ok(member)
}

/// Trimmed text of 1 to `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Trimmed text of at most `max` characters; blank is none.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A clearable field of an update: `None` to keep it, `Some(None)` to clear it.
pub fn clearable<T, U>(
    value: MaybeUndefined<T>,
    parse: impl FnOnce(T) -> AppResult<Option<U>>,
) -> AppResult<Option<Option<U>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(value) => parse(value).map(Some),
    }
}

/// A JSON object of free-form fields: at most 50 keys and 10 kB.
pub fn json_object(field: &str, value: serde_json::Value) -> AppResult<serde_json::Value> {
    match value {
        serde_json::Value::Null => Ok(serde_json::Value::Object(Default::default())),
        serde_json::Value::Object(map) => {
            let size = serde_json::to_string(&map).map_or(usize::MAX, |s| s.len());
            if map.len() > 50 || size > 10_000 {
                return Err(AppError::validation(
                    field,
                    "is too large (at most 50 keys, 10 kB)",
                ));
            }
            Ok(serde_json::Value::Object(map))
        }
        _ => Err(AppError::validation(field, "must be a JSON object")),
    }
}

/// Calls and booking links live on a 5-minute calendar grid.
pub fn minutes(field: &str, value: i32, min: i32, max: i32) -> AppResult<i32> {
    let step = crate::booking::schedule::GRANULARITY_MINUTES as i32;
    if value < min || value > max || value % step != 0 {
        return Err(AppError::validation(
            field,
            format!("must be a multiple of {step} between {min} and {max}"),
        ));
    }
    Ok(value)
}

pub fn currency(field: &str, value: &str) -> AppResult<String> {
    crate::domain::Currency::parse(value.trim())
        .map(|c| c.as_str().to_owned())
        .map_err(|message| AppError::validation(field, message))
}

pub fn timezone(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    value
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| {
            AppError::validation(
                field,
                format!("`{value}` is not an IANA time zone (e.g. America/New_York)"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<T>(result: AppResult<T>) -> Option<String> {
        result.err().and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn validators_name_the_field() {
        assert_eq!(required_text("name", "  Ada ", 200).unwrap(), "Ada");
        assert_eq!(field(required_text("name", "  ", 200)), Some("name".into()));
        assert_eq!(
            field(required_text("name", &"x".repeat(201), 200)),
            Some("name".into())
        );
        assert_eq!(optional_text("notes", Some("  "), 10).unwrap(), None);
        assert_eq!(
            field(optional_text("notes", Some("12345678901"), 10)),
            Some("notes".into())
        );
        assert_eq!(
            field(json_object("customFields", serde_json::json!([1]))),
            Some("customFields".into())
        );
        assert_eq!(minutes("durationMinutes", 45, 5, 480).unwrap(), 45);
        for bad in [0, 7, 485] {
            assert_eq!(
                field(minutes("durationMinutes", bad, 5, 480)),
                Some("durationMinutes".into())
            );
        }
        assert_eq!(currency("currency", " EUR").unwrap(), "EUR");
        assert_eq!(field(currency("currency", "eur")), Some("currency".into()));
        assert_eq!(
            timezone("timezone", "Europe/Paris").unwrap(),
            "Europe/Paris"
        );
        assert_eq!(
            field(timezone("timezone", "Mars/Olympus")),
            Some("timezone".into())
        );
    }

    #[test]
    fn clearable_fields() {
        let keep: Option<Option<i32>> =
            clearable(MaybeUndefined::Undefined, |v| Ok(Some(v))).unwrap();
        assert_eq!(keep, None);
        let clear: Option<Option<i32>> = clearable(MaybeUndefined::Null, |v| Ok(Some(v))).unwrap();
        assert_eq!(clear, Some(None));
        let set = clearable(MaybeUndefined::Value(3), |v| Ok(Some(v))).unwrap();
        assert_eq!(set, Some(Some(3)));
    }
}
