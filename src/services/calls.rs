//! Calls: create, reschedule, cancel, log an outcome, reassign.
//!
//! A scheduled call with a closer holds the closer's calendar (`calendar::hold`), the same
//! blocks public booking checks, so a call made in the app and a widget booking can never
//! overlap: whoever holds a block second gets CONFLICT. Every change that creates, moves
//! or reassigns a scheduled call holds again; every change that takes a call out of
//! `SCHEDULED` releases its blocks. The status moves are `domain::status`'s.

use chrono::{DateTime, Duration, Utc};
use entities::{call, lead};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};

use super::{Patch, active_member, calendar, leads, member_change};
use crate::db::Database;
use crate::db::lookup::{reference, target};
use crate::domain::calendar::minutes;
use crate::domain::calendar::schedule::MAX_DURATION_MINUTES;
use crate::domain::status::{call_may_cancel, call_may_log_outcome, call_may_move};
use crate::domain::text::optional_text;
use crate::domain::{Action, Actor};
use crate::error::AppResult;
use crate::events::{self, EventType};
use crate::views;
use crate::views::enums::{Names, WireEnum, graphql_spelling, wire_enum};
use std::sync::OnceLock;

const NOTES_MAX: usize = 10_000;
const DEFAULT_DURATION: i32 = 30;

pub struct NewCall {
    pub lead_id: String,
    pub closer_id: Option<String>,
    pub setter_id: Option<String>,
    pub scheduled_at: DateTime<Utc>,
    /// 30 when omitted.
    pub duration_minutes: Option<i32>,
    pub notes: Option<String>,
}

wire_enum!(
    /// How a call ended.
    pub enum Outcome = "CallOutcomeStatus", "How a call ended.", {
        Completed = "completed" => "The call took place.",
        NoShow = "no_show" => "The lead did not attend.",
    }
);

pub struct OutcomeInput {
    pub status: Outcome,
    /// Unchanged when omitted.
    pub outcome: Option<String>,
    /// Replaces the notes; unchanged when omitted.
    pub notes: Option<String>,
}

#[derive(Default)]
pub struct CallChanges {
    pub closer_id: Patch<String>,
    pub setter_id: Patch<String>,
    pub notes: Patch<String>,
}

fn notes(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("notes", value, NOTES_MAX)
}

fn duration(value: i32) -> AppResult<i32> {
    minutes("durationMinutes", value, 5, MAX_DURATION_MINUTES)
}

/// Records `event` for `call` in the transaction.
async fn record<C: ConnectionTrait>(db: &C, event: EventType, call: &call::Model) -> AppResult<()> {
    events::record(db, call.organization_id, event, &views::Call::from(call)).await?;
    Ok(())
}

/// Schedules a call with a lead, holding the closer's calendar (CONFLICT if any of it is
/// taken). An open lead becomes BOOKED. Records `call.booked` (and `lead.updated`).
#[tracing::instrument(name = "service.calls.create", skip_all)]
pub async fn create(db: &Database, actor: &Actor, input: NewCall) -> AppResult<call::Model> {
    actor.require_action(Action::WriteCalls)?;
    let org = actor.organization_id;
    let duration = duration(input.duration_minutes.unwrap_or(DEFAULT_DURATION))?;
    let notes = notes(input.notes.as_deref())?;

    let txn = db.begin_write().await?;
    let lead = reference::<lead::Entity, _>(&txn, org, "leadId", &input.lead_id).await?;
    let closer = match &input.closer_id {
        Some(id) => Some(active_member(&txn, org, "closerId", id).await?.id),
        None => None,
    };
    let setter = match &input.setter_id {
        Some(id) => Some(active_member(&txn, org, "setterId", id).await?.id),
        None => None,
    };
    let at = crate::time::now();
    let created = call::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        lead_id: Set(lead.id),
        closer_id: Set(closer),
        setter_id: Set(setter),
        booking_link_id: Set(None),
        scheduled_at: Set(input.scheduled_at),
        duration_minutes: Set(duration),
        status: Set(call::CallStatus::Scheduled),
        outcome: Set(None),
        notes: Set(notes),
        booking_token_hash: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    calendar::hold(&txn, &created, Duration::zero()).await?;
    leads::mark_booked(&txn, lead).await?;
    record(&txn, EventType::CallBooked, &created).await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Moves a scheduled call (and its hold on the closer's calendar) to `start`, keeping
/// its booking link's buffer: CONFLICT if the closer's calendar is taken then. `duration`
/// replaces the length when given. Records `call.updated`. Shared by the app's
/// `rescheduleCall` and the booker's `rescheduleBooking`, which checks the link's hours
/// first.
#[tracing::instrument(name = "service.calls.move_to", skip_all)]
pub async fn move_to<C: ConnectionTrait>(
    txn: &C,
    current: call::Model,
    start: DateTime<Utc>,
    duration: Option<i32>,
) -> AppResult<call::Model> {
    call_may_move(current.status)?;
    let mut active: call::ActiveModel = current.clone().into();
    active.scheduled_at.set_ne(start);
    if let Some(duration) = duration {
        active.duration_minutes.set_ne(duration);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    // The call's own blocks must not count against its new time.
    calendar::release(txn, current.id).await?;
    active.updated_at = Set(crate::time::now());
    let updated = active.update(txn).await?;
    calendar::hold(txn, &updated, calendar::buffer_of(txn, &updated).await?).await?;
    record(txn, EventType::CallUpdated, &updated).await?;
    Ok(updated)
}

/// Moves a scheduled call to another time, whatever the booking link's hours: CONFLICT
/// only if the closer's calendar is taken then. Records `call.updated`.
#[tracing::instrument(name = "service.calls.reschedule", skip_all)]
pub async fn reschedule(
    db: &Database,
    actor: &Actor,
    id: &str,
    scheduled_at: DateTime<Utc>,
    duration_minutes: Option<i32>,
) -> AppResult<call::Model> {
    actor.require_action(Action::WriteCalls)?;
    let duration = duration_minutes.map(duration).transpose()?;
    let txn = db.begin_write().await?;
    let current = target::<call::Entity, _>(&txn, actor.organization_id, id).await?;
    let updated = move_to(&txn, current, scheduled_at, duration).await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// Cancels a scheduled call and frees the closer's time; `note` is added to the notes (and
/// `outcome` set, when given). Cancelling a canceled call changes nothing. Records
/// `call.canceled`. Shared by the app's `cancelCall` and the booker's `cancelBooking`.
#[tracing::instrument(name = "service.calls.cancel_in", skip_all)]
pub async fn cancel_in<C: ConnectionTrait>(
    txn: &C,
    current: call::Model,
    note: Option<String>,
    outcome: Option<&str>,
) -> AppResult<call::Model> {
    if !call_may_cancel(current.status)? {
        return Ok(current);
    }
    calendar::release(txn, current.id).await?;
    let mut active: call::ActiveModel = current.clone().into();
    active.status = Set(call::CallStatus::Canceled);
    if let Some(note) = note {
        let notes = match &current.notes {
            Some(existing) => format!("{existing}\n\n{note}"),
            None => note,
        };
        active.notes = Set(Some(notes.chars().take(NOTES_MAX).collect()));
        if let Some(outcome) = outcome {
            active.outcome = Set(Some(outcome.to_owned()));
        }
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(txn).await?;
    record(txn, EventType::CallCanceled, &updated).await?;
    Ok(updated)
}

/// Cancels a scheduled call; `reason` is added to the notes. Records `call.canceled`.
#[tracing::instrument(name = "service.calls.cancel", skip_all)]
pub async fn cancel(
    db: &Database,
    actor: &Actor,
    id: &str,
    reason: Option<String>,
) -> AppResult<call::Model> {
    actor.require_action(Action::WriteCalls)?;
    let reason = optional_text("reason", reason.as_deref(), 1000)?;
    let txn = db.begin_write().await?;
    let current = target::<call::Entity, _>(&txn, actor.organization_id, id).await?;
    let updated = cancel_in(
        &txn,
        current,
        reason.map(|r| format!("Canceled: {r}")),
        None,
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// Records how a call went. A scheduled call frees the closer's calendar; a logged one
/// can be corrected; a canceled one is CONFLICT. Records `call.updated`.
#[tracing::instrument(name = "service.calls.log_outcome", skip_all)]
pub async fn log_outcome(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: OutcomeInput,
) -> AppResult<call::Model> {
    actor.require_action(Action::WriteCalls)?;
    let outcome = optional_text("outcome", input.outcome.as_deref(), 200)?;
    let notes = input.notes.as_deref().map(|n| notes(Some(n))).transpose()?;
    let status = match input.status {
        Outcome::Completed => call::CallStatus::Completed,
        Outcome::NoShow => call::CallStatus::NoShow,
    };

    let txn = db.begin_write().await?;
    let current = target::<call::Entity, _>(&txn, actor.organization_id, id).await?;
    call_may_log_outcome(current.status)?;
    let mut active: call::ActiveModel = current.clone().into();
    active.status.set_ne(status);
    if outcome.is_some() {
        active.outcome.set_ne(outcome);
    }
    if let Some(notes) = notes {
        active.notes.set_ne(notes);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    calendar::release(&txn, current.id).await?;
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    record(&txn, EventType::CallUpdated, &updated).await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// Reassigns a call's closer or setter, or changes its notes. A scheduled call moves to
/// the new closer's calendar (CONFLICT if it is taken). Records `call.updated`.
#[tracing::instrument(name = "service.calls.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: CallChanges,
) -> AppResult<call::Model> {
    actor.require_action(Action::WriteCalls)?;
    let org = actor.organization_id;
    let notes = input.notes.parse(|n| notes(Some(&n)))?;

    let txn = db.begin_write().await?;
    let current = target::<call::Entity, _>(&txn, org, id).await?;
    let closer = member_change(&txn, org, "closerId", input.closer_id, current.closer_id).await?;
    let setter = member_change(&txn, org, "setterId", input.setter_id, current.setter_id).await?;
    let mut active: call::ActiveModel = current.clone().into();
    if let Some(closer) = closer {
        active.closer_id.set_ne(closer);
    }
    if let Some(setter) = setter {
        active.setter_id.set_ne(setter);
    }
    if let Some(notes) = notes {
        active.notes.set_ne(notes);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    let moves_calendar = active.closer_id.is_set();
    if moves_calendar {
        calendar::release(&txn, current.id).await?;
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    if moves_calendar {
        calendar::hold(&txn, &updated, calendar::buffer_of(&txn, &updated).await?).await?;
    }
    record(&txn, EventType::CallUpdated, &updated).await?;
    db.commit(txn).await?;
    Ok(updated)
}
