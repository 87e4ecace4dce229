//! `createCall`, `rescheduleCall`, `cancelCall`, `logCallOutcome` and `updateCall`.
//!
//! A scheduled call with a closer holds the closer's calendar (`booking::claims`), the
//! same blocks public booking checks, so a call made in the app and a widget booking can
//! never overlap: whoever claims a block second gets CONFLICT. Every change that creates,
//! moves or reassigns a scheduled call claims again; every change that takes a call out of
//! `SCHEDULED` releases its blocks.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::Duration;
use entities::{booking_link, call, lead};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::{active_member, clearable, minutes, optional_text, reference, target, writer};
use crate::auth::Action;
use crate::booking::claims;
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::graphql::resources::call::Call;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;
use crate::rest::representation::Resource;

const NOTES_MAX: usize = 10_000;
const DEFAULT_DURATION: i32 = 30;

#[derive(InputObject)]
pub struct CreateCallInput {
    /// A lead of your organization.
    pub lead_id: ID,
    /// Who runs the call (an active team member); their calendar must be free.
    pub closer_id: Option<ID>,
    /// Who set the call up (an active team member).
    pub setter_id: Option<ID>,
    pub scheduled_at: DateTime,
    /// A multiple of 5 between 5 and 480; 30 when omitted.
    pub duration_minutes: Option<i32>,
    /// At most 10,000 characters.
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct RescheduleCallInput {
    pub scheduled_at: DateTime,
    /// A multiple of 5 between 5 and 480; unchanged when omitted.
    pub duration_minutes: Option<i32>,
}

/// How a call ended.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CallOutcomeStatus {
    Completed,
    NoShow,
}

#[derive(InputObject)]
pub struct LogCallOutcomeInput {
    pub status: CallOutcomeStatus,
    /// What came of it (`closed_won`, `follow_up`, …), at most 200 characters; unchanged
    /// when omitted.
    pub outcome: Option<String>,
    /// Replaces the notes (at most 10,000 characters); unchanged when omitted.
    pub notes: Option<String>,
}

/// Omitted fields keep their value; `null` clears one.
#[derive(InputObject)]
pub struct UpdateCallInput {
    /// Moves a scheduled call to another closer, whose calendar must be free.
    pub closer_id: MaybeUndefined<ID>,
    pub setter_id: MaybeUndefined<ID>,
    pub notes: MaybeUndefined<String>,
}

fn notes(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("notes", value, NOTES_MAX)
}

/// The buffer a call keeps after it: its booking link's, if it was booked through one.
async fn buffer_of<C: ConnectionTrait>(db: &C, call: &call::Model) -> AppResult<Duration> {
    let Some(link_id) = call.booking_link_id else {
        return Ok(Duration::zero());
    };
    let link = booking_link::Entity::find_by_id(link_id).one(db).await?;
    Ok(link.map_or(Duration::zero(), |l| {
        Duration::minutes(i64::from(l.buffer_minutes))
    }))
}

/// A team member id from an input, checked unless it is the one already there (a client
/// re-sending the current closer is not reassigning, even if the closer left since).
async fn member_change<C: ConnectionTrait>(
    db: &C,
    org: uuid::Uuid,
    field: &str,
    value: MaybeUndefined<ID>,
    current: Option<uuid::Uuid>,
) -> AppResult<Option<Option<uuid::Uuid>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(id) => {
            let decoded = crate::ids::decode(IdKind::TeamMember, id.as_str()).ok();
            if current.is_some() && decoded == current {
                return Ok(None);
            }
            Ok(Some(Some(active_member(db, org, field, &id).await?.id)))
        }
    }
}

fn conflict(message: &str) -> AppError {
    AppError::Conflict(message.to_owned())
}

#[derive(Default)]
pub struct CallMutation;

#[Object]
impl CallMutation {
    /// Schedules a call with a lead, holding the closer's calendar (CONFLICT if any of it
    /// is taken). A lead still `NEW`, `CONTACTED` or `QUALIFIED` becomes `BOOKED`, as with
    /// public booking. Records `call.booked` (and `lead.updated`). Organization members
    /// and admins (Clerk).
    async fn create_call(&self, ctx: &Context<'_>, input: CreateCallInput) -> Result<Call> {
        Ok(create_call(ctx, input).await?)
    }

    /// Moves a scheduled call (and its hold on the closer's calendar) to another time,
    /// whatever the booking link's hours: CONFLICT only if the closer's calendar is taken
    /// then. Records `call.updated`. Organization members and admins (Clerk).
    async fn reschedule_call(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: RescheduleCallInput,
    ) -> Result<Call> {
        Ok(reschedule_call(ctx, id, input).await?)
    }

    /// Cancels a scheduled call and frees the closer's time; `reason` is added to the
    /// notes. Cancelling a canceled call changes nothing. Records `call.canceled`.
    /// Organization members and admins (Clerk).
    async fn cancel_call(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(desc = "Why, at most 1000 characters.")] reason: Option<String>,
    ) -> Result<Call> {
        Ok(cancel_call(ctx, id, reason).await?)
    }

    /// Records how a call went: `COMPLETED` or `NO_SHOW`, with an outcome and notes. A
    /// scheduled call frees the closer's calendar; a logged one can be corrected; a
    /// canceled one is CONFLICT. Records `call.updated`. Organization members and admins
    /// (Clerk).
    async fn log_call_outcome(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: LogCallOutcomeInput,
    ) -> Result<Call> {
        Ok(log_call_outcome(ctx, id, input).await?)
    }

    /// Reassigns a call's closer or setter, or changes its notes. A scheduled call moves
    /// to the new closer's calendar (CONFLICT if it is taken). Records `call.updated`.
    /// Organization members and admins (Clerk).
    async fn update_call(&self, ctx: &Context<'_>, id: ID, input: UpdateCallInput) -> Result<Call> {
        Ok(update_call(ctx, id, input).await?)
    }
}

async fn create_call(ctx: &Context<'_>, input: CreateCallInput) -> AppResult<Call> {
    let (state, org) = writer(ctx, Action::WriteCalls)?;
    let duration = minutes(
        "durationMinutes",
        input.duration_minutes.unwrap_or(DEFAULT_DURATION),
        5,
        480,
    )?;
    let notes = notes(input.notes.as_deref())?;

    let txn = crate::db::begin_write(&state.db).await?;
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
        scheduled_at: Set(input.scheduled_at.0),
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
    claims::claim(&txn, &created, Duration::zero()).await?;
    if matches!(
        lead.status,
        lead::LeadStatus::New | lead::LeadStatus::Contacted | lead::LeadStatus::Qualified
    ) {
        let mut active: lead::ActiveModel = lead.into();
        active.status = Set(lead::LeadStatus::Booked);
        active.updated_at = Set(at);
        let updated = active.update(&txn).await?;
        events::record(&txn, org, EventType::LeadUpdated, Resource::Lead(updated)).await?;
    }
    events::record(
        &txn,
        org,
        EventType::CallBooked,
        Resource::Call(created.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Call::from(created))
}

async fn reschedule_call(ctx: &Context<'_>, id: ID, input: RescheduleCallInput) -> AppResult<Call> {
    let (state, org) = writer(ctx, Action::WriteCalls)?;
    let duration = input
        .duration_minutes
        .map(|d| minutes("durationMinutes", d, 5, 480))
        .transpose()?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<call::Entity, _>(&txn, org, &id).await?;
    if current.status != call::CallStatus::Scheduled {
        return Err(conflict("only a scheduled call can be rescheduled"));
    }
    let mut active: call::ActiveModel = current.clone().into();
    active.scheduled_at.set_ne(input.scheduled_at.0);
    if let Some(duration) = duration {
        active.duration_minutes.set_ne(duration);
    }
    if !active.is_changed() {
        return Ok(Call::from(current));
    }
    // The call's own blocks must not count against its new time.
    claims::release(&txn, current.id).await?;
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    claims::claim(&txn, &updated, buffer_of(&txn, &updated).await?).await?;
    events::record(
        &txn,
        org,
        EventType::CallUpdated,
        Resource::Call(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Call::from(updated))
}

async fn cancel_call(ctx: &Context<'_>, id: ID, reason: Option<String>) -> AppResult<Call> {
    let (state, org) = writer(ctx, Action::WriteCalls)?;
    let reason = optional_text("reason", reason.as_deref(), 1000)?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<call::Entity, _>(&txn, org, &id).await?;
    match current.status {
        call::CallStatus::Canceled => return Ok(Call::from(current)),
        call::CallStatus::Scheduled => {}
        _ => return Err(conflict("only a scheduled call can be canceled")),
    }
    claims::release(&txn, current.id).await?;
    let mut active: call::ActiveModel = current.clone().into();
    active.status = Set(call::CallStatus::Canceled);
    if let Some(reason) = reason {
        let note = format!("Canceled: {reason}");
        let notes = match &current.notes {
            Some(existing) => format!("{existing}\n\n{note}"),
            None => note,
        };
        active.notes = Set(Some(notes.chars().take(NOTES_MAX).collect()));
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::CallCanceled,
        Resource::Call(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Call::from(updated))
}

async fn log_call_outcome(
    ctx: &Context<'_>,
    id: ID,
    input: LogCallOutcomeInput,
) -> AppResult<Call> {
    let (state, org) = writer(ctx, Action::WriteCalls)?;
    let outcome = optional_text("outcome", input.outcome.as_deref(), 200)?;
    let notes = input.notes.as_deref().map(|n| notes(Some(n))).transpose()?;
    let status = match input.status {
        CallOutcomeStatus::Completed => call::CallStatus::Completed,
        CallOutcomeStatus::NoShow => call::CallStatus::NoShow,
    };

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<call::Entity, _>(&txn, org, &id).await?;
    match current.status {
        call::CallStatus::Scheduled | call::CallStatus::Completed | call::CallStatus::NoShow => {}
        call::CallStatus::Canceled | call::CallStatus::Rescheduled => {
            return Err(conflict("a canceled or rescheduled call has no outcome"));
        }
    }
    let mut active: call::ActiveModel = current.clone().into();
    active.status.set_ne(status);
    if outcome.is_some() {
        active.outcome.set_ne(outcome);
    }
    if let Some(notes) = notes {
        active.notes.set_ne(notes);
    }
    if !active.is_changed() {
        return Ok(Call::from(current));
    }
    claims::release(&txn, current.id).await?;
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::CallUpdated,
        Resource::Call(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Call::from(updated))
}

async fn update_call(ctx: &Context<'_>, id: ID, input: UpdateCallInput) -> AppResult<Call> {
    let (state, org) = writer(ctx, Action::WriteCalls)?;
    let notes = clearable(input.notes, |n| notes(Some(&n)))?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<call::Entity, _>(&txn, org, &id).await?;
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
        return Ok(Call::from(current));
    }
    let moves_calendar = active.closer_id.is_set();
    if moves_calendar {
        claims::release(&txn, current.id).await?;
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    if moves_calendar {
        claims::claim(&txn, &updated, buffer_of(&txn, &updated).await?).await?;
    }
    events::record(
        &txn,
        org,
        EventType::CallUpdated,
        Resource::Call(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Call::from(updated))
}
