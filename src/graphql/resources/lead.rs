//! `Lead`: a prospect, with its calls and payments as connections, and its filter.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use entities::{call, lead, payment};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::call::Call;
use super::payment::Payment;
use super::team_member::TeamMember;
use super::{TimeRange, optional_public_id, parse_id, public_id};
use crate::db::page::Cursor;
use crate::domain::Scope;
use crate::graphql::enums::Gql;
use crate::graphql::pagination::PageConnection;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;

pub type LeadStatus = Gql<lead::LeadStatus>;

/// A prospect in the sales pipeline.
pub struct Lead(pub lead::Model);

/// Marketing attribution captured with the lead.
#[derive(SimpleObject)]
pub struct Utm {
    /// `utm_source`: the site or platform (`facebook_ads`).
    pub source: Option<String>,
    /// `utm_medium`: the channel (`cpc`, `email`).
    pub medium: Option<String>,
    /// `utm_campaign`: the campaign's name.
    pub campaign: Option<String>,
    /// `utm_term`: the paid keyword.
    pub term: Option<String>,
    /// `utm_content`: which ad or link.
    pub content: Option<String>,
}

/// A prospect in the sales pipeline.
#[Object(serial)]
impl Lead {
    /// `lead_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Lead, self.0.id)
    }
    /// The lead's full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// E-mail address, lower-case.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Phone number, as given.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Where the lead came from (`facebook_ads`, `referral`, …).
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Where the lead is in the pipeline.
    async fn status(&self) -> LeadStatus {
        Gql(self.0.status)
    }
    /// The id of the team member who owns the lead.
    async fn assigned_team_member_id(&self) -> Option<ID> {
        optional_public_id(IdKind::TeamMember, self.0.assigned_team_member_id)
    }
    /// The team member who owns the lead. Needs `team:read`.
    async fn assigned_to(&self, ctx: &Context<'_>) -> Result<Option<TeamMember>> {
        super::member(ctx, self.0.assigned_team_member_id).await
    }
    /// Marketing attribution captured with the lead.
    async fn utm(&self) -> Utm {
        Utm {
            source: self.0.utm_source.clone(),
            medium: self.0.utm_medium.clone(),
            campaign: self.0.utm_campaign.clone(),
            term: self.0.utm_term.clone(),
            content: self.0.utm_content.clone(),
        }
    }
    /// Free-form answers and fields collected with the lead.
    async fn custom_fields(&self) -> Json<&serde_json::Value> {
        Json(&self.0.custom_fields)
    }
    /// The lead's calls, newest first. Needs `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<Call>> {
        let (id, scope) = (self.0.id, Scope::CallsRead);
        if super::selects(ctx, "closer", Scope::TeamRead) {
            super::children(
                ctx,
                scope,
                |l| &l.calls_by_lead_with_closer,
                id,
                first,
                after,
                |(row, _)| Cursor::of::<call::Entity>(row),
                Call::from,
            )
            .await
        } else {
            super::children(
                ctx,
                scope,
                |l| &l.calls_by_lead,
                id,
                first,
                after,
                Cursor::of::<call::Entity>,
                Call::from,
            )
            .await
        }
    }
    /// The lead's payments, newest first. Needs `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<Payment>> {
        let (id, scope) = (self.0.id, Scope::PaymentsRead);
        if super::selects(ctx, "product", Scope::ProductsRead) {
            super::children(
                ctx,
                scope,
                |l| &l.payments_by_lead_with_product,
                id,
                first,
                after,
                |(row, _)| Cursor::of::<payment::Entity>(row),
                Payment::from,
            )
            .await
        } else {
            super::children(
                ctx,
                scope,
                |l| &l.payments_by_lead,
                id,
                first,
                after,
                Cursor::of::<payment::Entity>,
                Payment::from,
            )
            .await
        }
    }
    /// When the lead was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the lead last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// Narrows `leads`: every field given must match.
#[derive(InputObject, Default)]
pub struct LeadFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only leads with this status.
    pub status: Option<LeadStatus>,
    /// Only leads assigned to this team member.
    pub assigned_team_member_id: Option<ID>,
}

impl LeadFilter {
    pub fn apply(
        self,
        mut select: Select<lead::Entity>,
    ) -> crate::error::AppResult<Select<lead::Entity>> {
        select = self.time.apply(select);
        if let Some(status) = self.status {
            select = select.filter(lead::Column::Status.eq(status.get()));
        }
        if let Some(id) = &self.assigned_team_member_id {
            let id = parse_id(IdKind::TeamMember, "assignedTeamMemberId", id)?;
            select = select.filter(lead::Column::AssignedTeamMemberId.eq(id));
        }
        Ok(select)
    }
}
