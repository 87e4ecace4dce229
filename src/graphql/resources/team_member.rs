//! `TeamMember`: a member of the sales team, their calls, payments, leads and links as
//! connections, commission totals, and the filter.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object, Result};
use entities::{booking_link, call, lead, payment, team_member};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::booking_link::BookingLink;
use super::call::Call;
use super::lead::Lead;
use super::payment::Payment;
use super::{TimeRange, public_id};
use crate::db::page::Cursor;
use crate::domain::CommissionRate;
use crate::domain::Scope;
use crate::graphql::context::authorize;
use crate::graphql::enums::Gql;
use crate::graphql::loaders::{ByParent, Loaders};
use crate::graphql::pagination::PageConnection;
use crate::graphql::scalars::{DateTime, Decimal, Money};
use crate::ids::IdKind;
use crate::views::enums::Participation;

pub type TeamRole = Gql<team_member::TeamRole>;

/// A member of the sales team.
pub struct TeamMember(pub team_member::Model);

/// Commissions earned in one currency.
#[derive(async_graphql::SimpleObject)]
pub struct CommissionTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Whole minor units of `currency`, rounded half to even.
    pub amount: Money,
    /// The same total exactly, in minor units.
    pub amount_decimal: Decimal,
    /// Succeeded payments counted.
    pub payments: i64,
}

/// A member of the sales team.
#[Object(serial)]
impl TeamMember {
    /// `tm_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::TeamMember, self.0.id)
    }
    /// The member's full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Work e-mail address.
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// The member's role (a sales label; it grants no permissions).
    async fn role(&self) -> TeamRole {
        Gql(self.0.role)
    }
    /// The fraction of a payment this member earns, as an exact decimal (`"0.1"` is 10 %).
    async fn commission_rate(&self) -> Decimal {
        let rate = CommissionRate::from_ppm(self.0.commission_rate_ppm)
            .map(CommissionRate::to_decimal)
            .unwrap_or_default();
        Decimal(rate)
    }
    /// Whether the member is still on the team (members who left stay, inactive).
    async fn active(&self) -> bool {
        self.0.active
    }
    /// IANA time zone, e.g. `America/New_York`.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// The member's calls, newest first, as closer (default) or as setter. Needs
    /// `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(
            default_with = "Gql(Participation::Closer)",
            desc = "Calls the member runs (`CLOSER`) or set up (`SETTER`)."
        )]
        role: Gql<Participation>,
    ) -> Result<PageConnection<Call>> {
        let loader: fn(&Loaders) -> &DataLoader<ByParent<call::Entity>> = match role.get() {
            Participation::Closer => |l| &l.calls_by_closer,
            Participation::Setter => |l| &l.calls_by_setter,
        };
        super::children(
            ctx,
            Scope::CallsRead,
            loader,
            self.0.id,
            first,
            after,
            Cursor::of::<call::Entity>,
            Call::from,
        )
        .await
    }
    /// The member's payments, newest first, as closer (default) or as setter. Needs
    /// `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(
            default_with = "Gql(Participation::Closer)",
            desc = "Payments the member closed (`CLOSER`) or set up (`SETTER`)."
        )]
        role: Gql<Participation>,
    ) -> Result<PageConnection<Payment>> {
        let loader: fn(&Loaders) -> &DataLoader<ByParent<payment::Entity>> = match role.get() {
            Participation::Closer => |l| &l.payments_by_closer,
            Participation::Setter => |l| &l.payments_by_setter,
        };
        super::children(
            ctx,
            Scope::PaymentsRead,
            loader,
            self.0.id,
            first,
            after,
            Cursor::of::<payment::Entity>,
            Payment::from,
        )
        .await
    }
    /// Leads assigned to the member, newest first. Needs `leads:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn assigned_leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<Lead>> {
        super::children(
            ctx,
            Scope::LeadsRead,
            |l| &l.leads_by_assignee,
            self.0.id,
            first,
            after,
            Cursor::of::<lead::Entity>,
            Lead,
        )
        .await
    }
    /// Booking links the member owns, newest first. Needs `booking_links:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn booking_links(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<PageConnection<BookingLink>> {
        super::children(
            ctx,
            Scope::BookingLinksRead,
            |l| &l.booking_links_by_owner,
            self.0.id,
            first,
            after,
            Cursor::of::<booking_link::Entity>,
            BookingLink,
        )
        .await
    }
    /// What the member earned, as closer and as setter, on payments that succeeded and
    /// were paid in `[paidAfter, paidBefore)`, one total per currency (an empty range has
    /// none). Needs `payments:read`.
    async fn commission_totals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only payments paid at or after this instant.")] paid_after: Option<
            DateTime,
        >,
        #[graphql(desc = "Only payments paid before this instant.")] paid_before: Option<DateTime>,
    ) -> Result<Vec<CommissionTotal>> {
        let request = authorize(ctx, Scope::PaymentsRead)?;
        let totals = crate::services::commissions::earned(
            crate::graphql::context::core(ctx).db.conn(),
            request.actor.organization_id,
            self.0.id,
            paid_after.map(|d| d.0),
            paid_before.map(|d| d.0),
        )
        .await?;
        Ok(totals
            .into_iter()
            .map(|t| CommissionTotal {
                amount: Money(crate::domain::commission::whole_minor_units(t.amount)),
                amount_decimal: Decimal(t.amount),
                currency: t.currency,
                payments: t.payments,
            })
            .collect())
    }
    /// When the member was added.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the member last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// Narrows `teamMembers`: every field given must match.
#[derive(InputObject, Default)]
pub struct TeamMemberFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only members with this role.
    pub role: Option<TeamRole>,
    /// Only members still on the team (`true`) or gone (`false`).
    pub active: Option<bool>,
}

impl TeamMemberFilter {
    pub fn apply(
        self,
        mut select: Select<team_member::Entity>,
    ) -> crate::error::AppResult<Select<team_member::Entity>> {
        select = self.time.apply(select);
        if let Some(role) = self.role {
            select = select.filter(team_member::Column::Role.eq(role.get()));
        }
        if let Some(active) = self.active {
            select = select.filter(team_member::Column::Active.eq(active));
        }
        Ok(select)
    }
}
