//! Public booking for widgets on client sites: a link's public details, its free slots,
//! and booking, rescheduling and cancelling a call without an API key. The visitor is the
//! actor: anyone may book an active link, and the booking token returned by `book` is the
//! credential for changing that one booking. Double booking is impossible by
//! construction: a scheduled call holds its closer's calendar blocks (`calendar::hold`).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use entities::{booking_link, call};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::leads::{self, Booker, Utm, UtmInput};
use super::{calendar, calls};
use crate::crypto::{random_token, sha256_hex};
use crate::db::Database;
use crate::domain::booking_form::BookingForm;
use crate::domain::calendar::availability::{Rules, free_slots};
use crate::domain::calendar::schedule::WeeklyHours;
use crate::domain::text::{json_object, optional_text, required_text};
use crate::domain::{Email, Phone};
use crate::error::{AppError, AppResult};
use crate::events::EventType;
use crate::views;

/// The longest range `availableSlots` answers for in one call.
pub const MAX_RANGE_DAYS: i64 = 31;
const TOKEN_PREFIX: &str = "bk_";

pub fn rules(link: &booking_link::Model) -> AppResult<Rules> {
    let timezone: Tz = link.timezone.parse().map_err(|_| {
        AppError::internal(format!("booking link has bad timezone {}", link.timezone))
    })?;
    Ok(Rules {
        timezone,
        hours: WeeklyHours::from_json(&link.weekly_hours),
        duration: Duration::minutes(i64::from(link.duration_minutes)),
        buffer: Duration::minutes(i64::from(link.buffer_minutes)),
        min_notice: Duration::minutes(i64::from(link.min_notice_minutes)),
        horizon: Duration::days(i64::from(link.horizon_days)),
    })
}

/// An active link by its slug; inactive and unknown links are both NOT_FOUND.
#[tracing::instrument(name = "service.booking.active_link", skip_all)]
pub async fn active_link<C: ConnectionTrait>(db: &C, slug: &str) -> AppResult<booking_link::Model> {
    let not_found = || {
        AppError::NotFound(format!(
            "booking link `{}` not found",
            crate::db::lookup::shown(slug)
        ))
    };
    if slug.len() > 64 || slug.contains('\0') {
        return Err(not_found());
    }
    booking_link::Entity::find()
        .filter(booking_link::Column::Slug.eq(slug))
        .filter(booking_link::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

/// Free start times of `link` in `[from, to)` as of `now`.
#[tracing::instrument(name = "service.booking.slots", skip_all)]
pub async fn slots<C: ConnectionTrait>(
    db: &C,
    link: &booking_link::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Vec<DateTime<Utc>>> {
    let rules = rules(link)?;
    let busy = calendar::busy_between(
        db,
        link.owner_id,
        from - rules.duration - rules.buffer,
        to + rules.duration + rules.buffer,
    )
    .await?;
    Ok(free_slots(&rules, &busy, from, to, now))
}

/// A window `availableSlots` may ask for: `to` after `from`, at most 31 days apart.
pub fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<()> {
    if to <= from {
        return Err(AppError::validation("to", "must be after `from`"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(AppError::validation(
            "to",
            format!("must be at most {MAX_RANGE_DAYS} days after `from`"),
        ));
    }
    Ok(())
}

async fn ensure_free<C: ConnectionTrait>(
    db: &C,
    link: &booking_link::Model,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let free = slots(db, link, start, start + Duration::minutes(1), now).await?;
    if free.first() == Some(&start) {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "{} is not a free slot of `{}`; ask availableSlots for free ones",
            crate::time::format_rfc3339(start),
            link.slug
        )))
    }
}

/// Who is booking, as the widget collected it.
pub struct BookerInput {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub answers: Option<serde_json::Value>,
    pub utm: Option<UtmInput>,
}

/// Validates and normalizes a booker (trimmed, e-mail lower-cased), each error naming its
/// field.
pub fn booker(input: BookerInput) -> AppResult<Booker> {
    let name = required_text("name", &input.name, 200)?;
    let email = Email::parse_field("email", &input.email)?;
    let phone = match input.phone {
        Some(phone) => Phone::parse_field("phone", &phone)?,
        None => None,
    };
    let answers = json_object("answers", input.answers.unwrap_or(serde_json::Value::Null))?;
    let utm = Utm::parse(input.utm.unwrap_or_default())?;
    Ok(Booker {
        name,
        email,
        phone,
        answers,
        utm,
    })
}

pub struct Booking {
    pub call: call::Model,
    pub link: booking_link::Model,
    /// Present only right after booking: the booker's token for changes.
    pub token: Option<String>,
}

/// Books `start` on the link: reuses the organization's lead with this e-mail (or creates
/// one) and creates the call, its calendar holds and their events in one transaction.
#[tracing::instrument(name = "service.booking.book", skip_all)]
pub async fn book(
    db: &Database,
    slug: &str,
    start: DateTime<Utc>,
    input: BookerInput,
    now: DateTime<Utc>,
) -> AppResult<Booking> {
    let mut booker = booker(input)?;
    let txn = db.begin_write().await?;
    let link = active_link(&txn, slug).await?;
    BookingForm::from_json(&link.questions).check_answers(&mut booker.answers)?;
    ensure_free(&txn, &link, start, now).await?;
    let org = link.organization_id;
    let lead = leads::find_or_create_for_booking(&txn, org, link.owner_id, booker).await?;

    let token = random_token::<24>(TOKEN_PREFIX)?;
    let at = crate::time::now();
    let call = call::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        lead_id: Set(lead.id),
        closer_id: Set(Some(link.owner_id)),
        setter_id: Set(None),
        booking_link_id: Set(Some(link.id)),
        scheduled_at: Set(start),
        duration_minutes: Set(link.duration_minutes),
        status: Set(call::CallStatus::Scheduled),
        outcome: Set(None),
        notes: Set(None),
        booking_token_hash: Set(Some(sha256_hex(&token))),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    calendar::hold(
        &txn,
        &call,
        Duration::minutes(i64::from(link.buffer_minutes)),
    )
    .await?;
    crate::events::record(&txn, org, EventType::CallBooked, &views::Call::from(&call)).await?;
    db.commit(txn).await?;
    Ok(Booking {
        call,
        link,
        token: Some(token),
    })
}

async fn call_by_token<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<call::Model> {
    let not_found = || AppError::NotFound("no booking with this token".to_owned());
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
        return Err(not_found());
    }
    call::Entity::find()
        .filter(call::Column::BookingTokenHash.eq(sha256_hex(token)))
        .one(db)
        .await?
        .ok_or_else(not_found)
}

async fn link_of<C: ConnectionTrait>(db: &C, call: &call::Model) -> AppResult<booking_link::Model> {
    let id = call
        .booking_link_id
        .ok_or_else(|| AppError::NotFound("no booking with this token".to_owned()))?;
    booking_link::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("the booking link no longer exists".to_owned()))
}

/// The booking a token names, as its booker may see it.
#[tracing::instrument(name = "service.booking.find", skip_all)]
pub async fn find(db: &Database, token: &str) -> AppResult<Booking> {
    let call = call_by_token(db.conn(), token).await?;
    let link = link_of(db.conn(), &call).await?;
    Ok(Booking {
        call,
        link,
        token: None,
    })
}

/// Moves a booked call to another free slot of its link.
#[tracing::instrument(name = "service.booking.reschedule", skip_all)]
pub async fn reschedule(
    db: &Database,
    token: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Booking> {
    let txn = db.begin_write().await?;
    let current = call_by_token(&txn, token).await?;
    crate::domain::status::call_may_move(current.status)?;
    if current.scheduled_at <= now {
        return Err(AppError::Conflict(
            "the call has already started".to_owned(),
        ));
    }
    let link = link_of(&txn, &current).await?;
    if !link.active {
        return Err(AppError::Conflict(
            "the booking link is no longer active".to_owned(),
        ));
    }
    if current.scheduled_at == start && current.duration_minutes == link.duration_minutes {
        return Ok(Booking {
            call: current,
            link,
            token: None,
        });
    }
    // The call's own blocks must not count against its new time.
    calendar::release(&txn, current.id).await?;
    ensure_free(&txn, &link, start, now).await?;
    let call = calls::move_to(&txn, current, start, Some(link.duration_minutes)).await?;
    db.commit(txn).await?;
    Ok(Booking {
        call,
        link,
        token: None,
    })
}

/// Cancels a booked call and frees its time. Cancelling twice is harmless.
#[tracing::instrument(name = "service.booking.cancel", skip_all)]
pub async fn cancel(db: &Database, token: &str, reason: Option<&str>) -> AppResult<Booking> {
    let reason = optional_text("reason", reason, 1000)?;
    let txn = db.begin_write().await?;
    let current = call_by_token(&txn, token).await?;
    let link = link_of(&txn, &current).await?;
    let call = calls::cancel_in(
        &txn,
        current,
        reason.map(|r| format!("Canceled by the lead: {r}")),
        Some("canceled_by_lead"),
    )
    .await?;
    db.commit(txn).await?;
    Ok(Booking {
        call,
        link,
        token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        name: &str,
        email: &str,
        phone: Option<&str>,
        answers: Option<serde_json::Value>,
    ) -> BookerInput {
        BookerInput {
            name: name.into(),
            email: email.into(),
            phone: phone.map(str::to_owned),
            answers,
            utm: None,
        }
    }

    #[test]
    fn booker_validation_names_fields() {
        assert!(
            booker(input("Ava", "Ava@Example.com ", None, None))
                .is_ok_and(|b| b.email.as_str() == "ava@example.com")
        );
        let field = |r: AppResult<Booker>| r.err().and_then(|e| e.field().map(str::to_owned));
        assert_eq!(
            field(booker(input(" ", "a@b.co", None, None))),
            Some("name".into())
        );
        assert_eq!(
            field(booker(input("A\0", "a@b.co", None, None))),
            Some("name".into())
        );
        assert_eq!(
            field(booker(input("A", "not-an-email", None, None))),
            Some("email".into())
        );
        assert_eq!(
            field(booker(input("A", "a@b.co", Some("call me"), None))),
            Some("phone".into())
        );
        assert_eq!(
            field(booker(input(
                "A",
                "a@b.co",
                None,
                Some(serde_json::json!([1]))
            ))),
            Some("answers".into())
        );
    }
}
