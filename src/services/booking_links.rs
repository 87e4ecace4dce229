//! Booking links: the calendars widgets book. Slugs are unique across Aura (widgets
//! address a link by slug alone); the database's unique constraint decides, so two admins
//! racing for one slug get one link and one CONFLICT. Changes apply to bookings made from
//! then on; calls already booked keep their time and hold.

use entities::booking_link;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, SqlErr};

use super::active_member;
use crate::db::Database;
use crate::db::lookup::target;
use crate::domain::booking_form::{BookingForm, QuestionInput};
use crate::domain::calendar::minutes;
use crate::domain::calendar::schedule::{
    MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES, WeeklyHours, WeeklyIntervalJson,
};
use crate::domain::text::{required_text, timezone};
use crate::domain::{Action, Actor, Slug};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::ids::IdKind;
use crate::views;

const DEFAULT_HORIZON_DAYS: i32 = 60;

/// One stretch of bookable time in a week, in the link's time zone, as given.
pub struct WeeklyIntervalInput {
    pub day: String,
    pub start: String,
    pub end: String,
}

pub struct NewBookingLink {
    pub slug: String,
    pub name: String,
    pub owner_id: String,
    pub duration_minutes: i32,
    pub timezone: String,
    pub weekly_hours: Vec<WeeklyIntervalInput>,
    pub buffer_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    /// What the booking form asks beside name, e-mail and phone; none when omitted.
    pub questions: Option<Vec<QuestionInput>>,
    pub active: Option<bool>,
}

/// Omitted (`None`) fields keep their value.
#[derive(Default)]
pub struct BookingLinkChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub owner_id: Option<String>,
    pub duration_minutes: Option<i32>,
    pub timezone: Option<String>,
    pub weekly_hours: Option<Vec<WeeklyIntervalInput>>,
    pub buffer_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub horizon_days: Option<i32>,
    /// Replaces every question.
    pub questions: Option<Vec<QuestionInput>>,
    pub active: Option<bool>,
}

fn slug(value: &str) -> AppResult<String> {
    Slug::parse(value.trim())
        .map(|s| s.as_str().to_owned())
        .map_err(|message| AppError::validation("slug", message))
}

fn hours(items: Vec<WeeklyIntervalInput>) -> AppResult<serde_json::Value> {
    if items.len() > 100 {
        return Err(AppError::validation("weeklyHours", "at most 100 intervals"));
    }
    let items: Vec<WeeklyIntervalJson> = items
        .into_iter()
        .map(|i| WeeklyIntervalJson {
            day: i.day.trim().to_lowercase(),
            start: i.start.trim().to_owned(),
            end: i.end.trim().to_owned(),
        })
        .collect();
    WeeklyHours::parse(&items)
        .map(|h| h.to_json())
        .map_err(|message| AppError::validation("weeklyHours", message.replace('\0', "")))
}

fn duration(value: i32) -> AppResult<i32> {
    minutes("durationMinutes", value, 5, MAX_DURATION_MINUTES)
}

fn buffer(value: i32) -> AppResult<i32> {
    minutes("bufferMinutes", value, 0, MAX_BUFFER_MINUTES)
}

fn notice(value: i32) -> AppResult<i32> {
    if !(0..=43_200).contains(&value) {
        return Err(AppError::validation(
            "minNoticeMinutes",
            "must be between 0 and 43200 (30 days)",
        ));
    }
    Ok(value)
}

fn horizon(value: i32) -> AppResult<i32> {
    if !(1..=365).contains(&value) {
        return Err(AppError::validation(
            "horizonDays",
            "must be between 1 and 365",
        ));
    }
    Ok(value)
}

/// A taken slug is CONFLICT; the unique constraint is the judge, not a prior look-up.
fn taken(err: DbErr, slug: &str) -> AppError {
    if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        AppError::Conflict(format!("the slug `{slug}` is taken; choose another"))
    } else {
        err.into()
    }
}

/// Creates a booking link on a team member's calendar. A slug already used anywhere in
/// Aura is CONFLICT. Records `booking_link.created`.
#[tracing::instrument(name = "service.booking_links.create", skip_all)]
pub async fn create(
    db: &Database,
    actor: &Actor,
    input: NewBookingLink,
) -> AppResult<booking_link::Model> {
    actor.require_action(Action::ManageBookingLinks)?;
    let org = actor.organization_id;
    let slug = slug(&input.slug)?;
    let name = required_text("name", &input.name, 200)?;
    let duration = duration(input.duration_minutes)?;
    let timezone = timezone("timezone", &input.timezone)?.name().to_owned();
    let weekly_hours = hours(input.weekly_hours)?;
    let buffer = buffer(input.buffer_minutes.unwrap_or(0))?;
    let notice = notice(input.min_notice_minutes.unwrap_or(0))?;
    let horizon = horizon(input.horizon_days.unwrap_or(DEFAULT_HORIZON_DAYS))?;
    let questions = BookingForm::parse(input.questions.unwrap_or_default())?.to_json();

    let txn = db.begin_write().await?;
    let owner = active_member(&txn, org, "ownerId", &input.owner_id).await?;
    let at = crate::time::now();
    let created = booking_link::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        slug: Set(slug.clone()),
        name: Set(name),
        owner_id: Set(owner.id),
        duration_minutes: Set(duration),
        timezone: Set(timezone),
        weekly_hours: Set(weekly_hours),
        buffer_minutes: Set(buffer),
        min_notice_minutes: Set(notice),
        horizon_days: Set(horizon),
        questions: Set(questions),
        active: Set(input.active.unwrap_or(true)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .map_err(|err| taken(err, &slug))?;
    events::record(
        &txn,
        org,
        EventType::BookingLinkCreated,
        &views::BookingLink::from(&created),
    )
    .await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Changes a link's slug, owner, hours, duration, buffer, notice, horizon, or takes it off
/// the web. Records `booking_link.updated` when something changed.
#[tracing::instrument(name = "service.booking_links.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: BookingLinkChanges,
) -> AppResult<booking_link::Model> {
    actor.require_action(Action::ManageBookingLinks)?;
    let org = actor.organization_id;
    let new_slug = input.slug.as_deref().map(slug).transpose()?;
    let name = input
        .name
        .map(|n| required_text("name", &n, 200))
        .transpose()?;
    let duration = input.duration_minutes.map(duration).transpose()?;
    let timezone = input
        .timezone
        .as_deref()
        .map(|tz| timezone("timezone", tz).map(|tz| tz.name().to_owned()))
        .transpose()?;
    let weekly_hours = input.weekly_hours.map(hours).transpose()?;
    let buffer = input.buffer_minutes.map(buffer).transpose()?;
    let notice = input.min_notice_minutes.map(notice).transpose()?;
    let horizon = input.horizon_days.map(horizon).transpose()?;
    let questions = input
        .questions
        .map(|items| BookingForm::parse(items).map(|form| form.to_json()))
        .transpose()?;

    let txn = db.begin_write().await?;
    let current = target::<booking_link::Entity, _>(&txn, org, id).await?;
    let owner = match &input.owner_id {
        // Re-sending the current owner is no change, even if they left since.
        Some(owner_id)
            if crate::ids::decode(IdKind::TeamMember, owner_id).ok() == Some(current.owner_id) =>
        {
            None
        }
        Some(owner_id) => Some(active_member(&txn, org, "ownerId", owner_id).await?.id),
        None => None,
    };
    let mut active: booking_link::ActiveModel = current.clone().into();
    if let Some(slug) = &new_slug {
        active.slug.set_ne(slug.clone());
    }
    if let Some(name) = name {
        active.name.set_ne(name);
    }
    if let Some(owner) = owner {
        active.owner_id.set_ne(owner);
    }
    if let Some(duration) = duration {
        active.duration_minutes.set_ne(duration);
    }
    if let Some(timezone) = timezone {
        active.timezone.set_ne(timezone);
    }
    if let Some(hours) = weekly_hours {
        active.weekly_hours.set_ne(hours);
    }
    if let Some(buffer) = buffer {
        active.buffer_minutes.set_ne(buffer);
    }
    if let Some(notice) = notice {
        active.min_notice_minutes.set_ne(notice);
    }
    if let Some(horizon) = horizon {
        active.horizon_days.set_ne(horizon);
    }
    if let Some(questions) = questions {
        active.questions.set_ne(questions);
    }
    if let Some(is_active) = input.active {
        active.active.set_ne(is_active);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    active.updated_at = Set(crate::time::now());
    let updated = active
        .update(&txn)
        .await
        .map_err(|err| taken(err, new_slug.as_deref().unwrap_or_default()))?;
    events::record(
        &txn,
        org,
        EventType::BookingLinkUpdated,
        &views::BookingLink::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}
