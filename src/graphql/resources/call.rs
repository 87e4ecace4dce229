//! `Call`: a sales call, its relations (loaded in batches) and its filter.

use async_graphql::{Context, ID, InputObject, Object, Result};
use entities::{call, team_member};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select};

use super::booking_link::BookingLink;
use super::lead::Lead;
use super::team_member::TeamMember;
use super::{TimeRange, optional_public_id, parse_id, public_id};
use crate::domain::Scope;
use crate::graphql::context::authorize;
use crate::graphql::enums::Gql;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;

pub type CallStatus = Gql<call::CallStatus>;

/// A sales call with a lead.
pub struct Call {
    pub row: call::Model,
    /// The closer, when it was loaded with the call (`lead.calls { closer }`); `Some(None)`
    /// when the call has none.
    closer: Option<Option<team_member::Model>>,
}

impl From<call::Model> for Call {
    fn from(row: call::Model) -> Self {
        Call { row, closer: None }
    }
}

impl From<(call::Model, Option<team_member::Model>)> for Call {
    fn from((row, closer): (call::Model, Option<team_member::Model>)) -> Self {
        Call {
            row,
            closer: Some(closer),
        }
    }
}

/// A sales call with a lead.
#[Object(serial)]
impl Call {
    /// `call_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Call, self.row.id)
    }
    /// The lead the call is with (`lead_…`).
    async fn lead_id(&self) -> ID {
        public_id(IdKind::Lead, self.row.lead_id)
    }
    /// The lead the call is with. Needs `leads:read`.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let request = authorize(ctx, Scope::LeadsRead)?;
        Ok(request
            .loaders
            .lead
            .load_one(self.row.lead_id)
            .await?
            .map(Lead))
    }
    /// The team member who runs the call (`tm_…`).
    async fn closer_id(&self) -> Option<ID> {
        optional_public_id(IdKind::TeamMember, self.row.closer_id)
    }
    /// The team member who runs the call. Needs `team:read`.
    async fn closer(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        match &self.closer {
            Some(closer) => {
                authorize(ctx, Scope::TeamRead)?;
                Ok(closer.clone().map(TeamMember))
            }
            None => super::member(ctx, self.row.closer_id).await,
        }
    }
    /// The team member who set the call up (`tm_…`).
    async fn setter_id(&self) -> Option<ID> {
        optional_public_id(IdKind::TeamMember, self.row.setter_id)
    }
    /// The team member who set the call up. Needs `team:read`.
    async fn setter(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, self.row.setter_id).await
    }
    /// The booking link it was booked through (`bl_…`).
    async fn booking_link_id(&self) -> Option<ID> {
        optional_public_id(IdKind::BookingLink, self.row.booking_link_id)
    }
    /// The booking link the call was booked through, if any. Needs `booking_links:read`.
    async fn booking_link(&self, ctx: &Context<'_>) -> Result<Option<BookingLink>> {
        let request = authorize(ctx, Scope::BookingLinksRead)?;
        let Some(id) = self.row.booking_link_id else {
            return Ok(None);
        };
        Ok(request
            .loaders
            .booking_link
            .load_one(id)
            .await?
            .map(BookingLink))
    }
    /// When the call starts.
    async fn scheduled_at(&self) -> DateTime {
        self.row.scheduled_at.into()
    }
    /// How long the call is booked for.
    async fn duration_minutes(&self) -> i32 {
        self.row.duration_minutes
    }
    /// What happened to the call.
    async fn status(&self) -> CallStatus {
        Gql(self.row.status)
    }
    /// What came of the call (`closed_won`, `follow_up`, …), once logged.
    async fn outcome(&self) -> Option<&str> {
        self.row.outcome.as_deref()
    }
    /// The closer's notes.
    async fn notes(&self) -> Option<&str> {
        self.row.notes.as_deref()
    }
    /// When the call was booked.
    async fn created_at(&self) -> DateTime {
        self.row.created_at.into()
    }
    /// When the call last changed.
    async fn updated_at(&self) -> DateTime {
        self.row.updated_at.into()
    }
}

/// Narrows `calls`: every field given must match.
#[derive(InputObject, Default)]
pub struct CallFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only calls with this status.
    pub status: Option<CallStatus>,
    /// Only calls with this lead (`lead_…`).
    pub lead_id: Option<ID>,
    /// Only calls this team member closes or set (`tm_…`).
    pub team_member_id: Option<ID>,
    /// Only calls booked through this link (`bl_…`).
    pub booking_link_id: Option<ID>,
}

impl CallFilter {
    pub fn apply(
        self,
        mut select: Select<call::Entity>,
    ) -> crate::error::AppResult<Select<call::Entity>> {
        select = self.time.apply(select);
        if let Some(status) = self.status {
            select = select.filter(call::Column::Status.eq(status.get()));
        }
        if let Some(id) = &self.lead_id {
            select = select.filter(call::Column::LeadId.eq(parse_id(IdKind::Lead, "leadId", id)?));
        }
        if let Some(id) = &self.team_member_id {
            let id = parse_id(IdKind::TeamMember, "teamMemberId", id)?;
            select = select.filter(
                Condition::any()
                    .add(call::Column::CloserId.eq(id))
                    .add(call::Column::SetterId.eq(id)),
            );
        }
        if let Some(id) = &self.booking_link_id {
            let id = parse_id(IdKind::BookingLink, "bookingLinkId", id)?;
            select = select.filter(call::Column::BookingLinkId.eq(id));
        }
        Ok(select)
    }
}
