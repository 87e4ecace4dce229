//! `createCall`, `rescheduleCall`, `cancelCall`, `logCallOutcome` and `updateCall`:
//! adapters over `services::calls`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::{patch, patch_id};
use crate::graphql::context::{actor, core};
use crate::graphql::enums::Gql;
use crate::graphql::resources::call::Call;
use crate::graphql::scalars::DateTime;
use crate::services::calls::{self, CallChanges, NewCall, Outcome, OutcomeInput};

/// A new call.
#[derive(InputObject)]
pub struct CreateCallInput {
    /// A lead of your organization.
    pub lead_id: ID,
    /// Who runs the call (an active team member); their calendar must be free.
    pub closer_id: Option<ID>,
    /// Who set the call up (an active team member).
    pub setter_id: Option<ID>,
    /// When the call starts.
    pub scheduled_at: DateTime,
    /// A multiple of 5 between 5 and 480; 30 when omitted.
    pub duration_minutes: Option<i32>,
    /// At most 10,000 characters.
    pub notes: Option<String>,
}

/// Where a call moves to.
#[derive(InputObject)]
pub struct RescheduleCallInput {
    /// The new start.
    pub scheduled_at: DateTime,
    /// A multiple of 5 between 5 and 480; unchanged when omitted.
    pub duration_minutes: Option<i32>,
}

/// How a call went.
#[derive(InputObject)]
pub struct LogCallOutcomeInput {
    /// Whether it took place.
    pub status: Gql<Outcome>,
    /// What came of it (`closed_won`, `follow_up`, …), at most 200 characters; unchanged
    /// when omitted.
    pub outcome: Option<String>,
    /// Replaces the notes (at most 10,000 characters); unchanged when omitted.
    pub notes: Option<String>,
}

/// Changes to a call. Omitted fields keep their value; `null` clears one.
#[derive(InputObject)]
pub struct UpdateCallInput {
    /// Moves a scheduled call to another closer, whose calendar must be free.
    pub closer_id: MaybeUndefined<ID>,
    /// Who set the call up (an active team member); `null` clears it.
    pub setter_id: MaybeUndefined<ID>,
    /// Replaces the notes (at most 10,000 characters); `null` clears them.
    pub notes: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct CallMutation;

#[Object]
impl CallMutation {
    /// Schedules a call with a lead, holding the closer's calendar (CONFLICT if any of it
    /// is taken). A lead still `NEW`, `CONTACTED` or `QUALIFIED` becomes `BOOKED`, as with
    /// public booking. Records `call.booked` (and `lead.updated`). Organization members
    /// and admins (Clerk).
    async fn create_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call to create.")] input: CreateCallInput,
    ) -> Result<Call> {
        let input = NewCall {
            lead_id: input.lead_id.0,
            closer_id: input.closer_id.map(|id| id.0),
            setter_id: input.setter_id.map(|id| id.0),
            scheduled_at: input.scheduled_at.0,
            duration_minutes: input.duration_minutes,
            notes: input.notes,
        };
        Ok(calls::create(&core(ctx).db, actor(ctx)?, input)
            .await?
            .into())
    }

    /// Moves a scheduled call (and its hold on the closer's calendar) to another time,
    /// whatever the booking link's hours: CONFLICT only if the closer's calendar is taken
    /// then. Records `call.updated`. Organization members and admins (Clerk).
    async fn reschedule_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id (`call_…`).")] id: ID,
        #[graphql(desc = "When the call moves to.")] input: RescheduleCallInput,
    ) -> Result<Call> {
        let db = &core(ctx).db;
        let at = input.scheduled_at.0;
        Ok(
            calls::reschedule(db, actor(ctx)?, id.as_str(), at, input.duration_minutes)
                .await?
                .into(),
        )
    }

    /// Cancels a scheduled call and frees the closer's time; `reason` is added to the
    /// notes. Cancelling a canceled call changes nothing. Records `call.canceled`.
    /// Organization members and admins (Clerk).
    async fn cancel_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id (`call_…`).")] id: ID,
        #[graphql(desc = "Why, at most 1000 characters.")] reason: Option<String>,
    ) -> Result<Call> {
        Ok(
            calls::cancel(&core(ctx).db, actor(ctx)?, id.as_str(), reason)
                .await?
                .into(),
        )
    }

    /// Records how a call went: `COMPLETED` or `NO_SHOW`, with an outcome and notes. A
    /// scheduled call frees the closer's calendar; a logged one can be corrected; a
    /// canceled one is CONFLICT. Records `call.updated`. Organization members and admins
    /// (Clerk).
    async fn log_call_outcome(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id (`call_…`).")] id: ID,
        #[graphql(desc = "How the call went.")] input: LogCallOutcomeInput,
    ) -> Result<Call> {
        let input = OutcomeInput {
            status: input.status.get(),
            outcome: input.outcome,
            notes: input.notes,
        };
        Ok(
            calls::log_outcome(&core(ctx).db, actor(ctx)?, id.as_str(), input)
                .await?
                .into(),
        )
    }

    /// Reassigns a call's closer or setter, or changes its notes. A scheduled call moves
    /// to the new closer's calendar (CONFLICT if it is taken). Records `call.updated`.
    /// Organization members and admins (Clerk).
    async fn update_call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id (`call_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdateCallInput,
    ) -> Result<Call> {
        let changes = CallChanges {
            closer_id: patch_id(input.closer_id),
            setter_id: patch_id(input.setter_id),
            notes: patch(input.notes),
        };
        Ok(
            calls::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes)
                .await?
                .into(),
        )
    }
}
