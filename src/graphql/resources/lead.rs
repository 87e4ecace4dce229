use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use entities::lead;
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::call::Call;
use super::payment::Payment;
use super::team_member::TeamMember;
use super::{TimeRange, optional_public_id, parse_id, public_id};
use crate::domain::Scope;
use crate::graphql::enums::Gql;
use crate::graphql::scalars::DateTime;
use crate::ids::IdKind;

pub type LeadStatus = Gql<lead::LeadStatus>;

/// A prospect in the sales pipeline.
pub struct Lead(pub lead::Model);

/// Marketing attribution captured with the lead.
#[derive(SimpleObject)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

#[Object(serial)]
impl Lead {
    pub async fn id(&self) -> ID {
        public_id(IdKind::Lead, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Where the lead came from (`facebook_ads`, `referral`, …).
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
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
    /// The lead's newest calls. Needs `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25)] first: i32,
    ) -> Result<Vec<Call>> {
        let (id, scope) = (self.0.id, Scope::CallsRead);
        if super::selects(ctx, "closer", Scope::TeamRead) {
            super::children(
                ctx,
                scope,
                |l| &l.calls_by_lead_with_closer,
                id,
                first,
                Call::from,
            )
            .await
        } else {
            super::children(ctx, scope, |l| &l.calls_by_lead, id, first, Call::from).await
        }
    }
    /// The lead's newest payments. Needs `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25)] first: i32,
    ) -> Result<Vec<Payment>> {
        let (id, scope) = (self.0.id, Scope::PaymentsRead);
        if super::selects(ctx, "product", Scope::ProductsRead) {
            super::children(
                ctx,
                scope,
                |l| &l.payments_by_lead_with_product,
                id,
                first,
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
                Payment::from,
            )
            .await
        }
    }
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

#[derive(InputObject, Default)]
pub struct LeadFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
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
