//! The read side of the schema: a get and a connection for every resource, and `node`.

use async_graphql::{Context, ID, Interface, Object, Result};
use entities::{
    api_key, booking_link, call, event, lead, payment, product, team_member, webhook_delivery,
    webhook_subscription,
};

use super::api_keys::ApiKey;
use super::context::{actor, authorize};
use super::pagination::PageConnection;
use super::resources::booking_link::{BookingLink, BookingLinkFilter};
use super::resources::call::{Call, CallFilter};
use super::resources::lead::{Lead, LeadFilter};
use super::resources::payment::{Payment, PaymentFilter};
use super::resources::product::{Product, ProductFilter};
use super::resources::team_member::{TeamMember, TeamMemberFilter};
use super::resources::{find_in_org, get, list};
use super::subscription::LiveEvent;
use super::webhooks::{Delivery, Webhook};
use crate::domain::Scope;
use crate::ids::{self, IdKind};
use crate::services::events::may_read;

/// An object with a global id: `node(id:)` fetches any of them again by it (what Relay
/// and normalizing caches such as Apollo's and urql's rely on).
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The object's id, unique across Aura and stable: its prefix (`lead_`, `pay_`, …) names its type."
))]
pub enum Node {
    Lead(Lead),
    Call(Call),
    TeamMember(TeamMember),
    BookingLink(BookingLink),
    Product(Product),
    Payment(Payment),
    Webhook(Webhook),
    Delivery(Delivery),
    LiveEvent(LiveEvent),
    ApiKey(ApiKey),
}

#[derive(Default)]
pub struct ResourceQuery;

#[Object]
impl ResourceQuery {
    /// Fetches any object by its id (`lead_…`, `call_…`, `tm_…`, `bl_…`, `prod_…`,
    /// `pay_…`, `wh_…`, `dlv_…`, `evt_…`, `key_…`), with the permission reading it by its
    /// own field needs (its resource's read scope; `webhooks:read` and the resource's
    /// scope for an event; an organization admin for an API key). Null when it does not
    /// exist in your organization.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's id.")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((kind, uuid)) = ids::parse_any(id.as_str()) else {
            return Ok(None);
        };
        let scope = match kind {
            IdKind::Lead => Scope::LeadsRead,
            IdKind::Call => Scope::CallsRead,
            IdKind::TeamMember => Scope::TeamRead,
            IdKind::BookingLink => Scope::BookingLinksRead,
            IdKind::Product => Scope::ProductsRead,
            IdKind::Payment => Scope::PaymentsRead,
            IdKind::Webhook | IdKind::Delivery | IdKind::Event => Scope::WebhooksRead,
            IdKind::ApiKey => {
                actor(ctx)?.require_key_admin()?;
                let org = actor(ctx)?.organization_id;
                return Ok(find_in_org::<api_key::Entity>(ctx, org, uuid)
                    .await?
                    .map(|m| Node::ApiKey(ApiKey(m))));
            }
            IdKind::Organization => return Ok(None),
        };
        let caller = &authorize(ctx, scope)?.actor;
        let org = caller.organization_id;
        Ok(match kind {
            IdKind::Lead => find_in_org::<lead::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Lead(Lead(m))),
            IdKind::Call => find_in_org::<call::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Call(Call::from(m))),
            IdKind::TeamMember => find_in_org::<team_member::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::TeamMember(TeamMember(m))),
            IdKind::BookingLink => find_in_org::<booking_link::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::BookingLink(BookingLink(m))),
            IdKind::Product => find_in_org::<product::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Product(Product(m))),
            IdKind::Payment => find_in_org::<payment::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Payment(Payment::from(m))),
            IdKind::Webhook => find_in_org::<webhook_subscription::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Webhook(Webhook(m))),
            IdKind::Delivery => find_in_org::<webhook_delivery::Entity>(ctx, org, uuid)
                .await?
                .map(|m| Node::Delivery(Delivery(m))),
            // Like `event(id:)`: an event whose resource the caller may not read is not
            // theirs.
            IdKind::Event => find_in_org::<event::Entity>(ctx, org, uuid)
                .await?
                .filter(|m| may_read(caller, m))
                .map(|m| Node::LiveEvent(LiveEvent::from(&m))),
            IdKind::ApiKey | IdKind::Organization => None,
        })
    }

    /// A lead by id. Needs `leads:read`.
    async fn lead(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lead's id.")] id: ID,
    ) -> Result<Lead> {
        Ok(Lead(get::<lead::Entity>(ctx, Scope::LeadsRead, &id).await?))
    }

    /// Leads, newest first. Needs `leads:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only leads matching every field given.")] filter: Option<LeadFilter>,
    ) -> Result<PageConnection<Lead>> {
        Ok(list::<lead::Entity, _>(
            ctx,
            Scope::LeadsRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            Lead,
        )
        .await?)
    }

    /// A call by id. Needs `calls:read`.
    async fn call(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The call's id.")] id: ID,
    ) -> Result<Call> {
        Ok(Call::from(
            get::<call::Entity>(ctx, Scope::CallsRead, &id).await?,
        ))
    }

    /// Calls, newest first. Needs `calls:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only calls matching every field given.")] filter: Option<CallFilter>,
    ) -> Result<PageConnection<Call>> {
        Ok(list::<call::Entity, _>(
            ctx,
            Scope::CallsRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            Call::from,
        )
        .await?)
    }

    /// A team member by id. Needs `team:read`.
    async fn team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team member's id.")] id: ID,
    ) -> Result<TeamMember> {
        Ok(TeamMember(
            get::<team_member::Entity>(ctx, Scope::TeamRead, &id).await?,
        ))
    }

    /// Team members with their roles and commission rates, newest first. Needs `team:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn team_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only members matching every field given.")] filter: Option<
            TeamMemberFilter,
        >,
    ) -> Result<PageConnection<TeamMember>> {
        Ok(list::<team_member::Entity, _>(
            ctx,
            Scope::TeamRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            TeamMember,
        )
        .await?)
    }

    /// A booking link by id. Needs `booking_links:read`.
    async fn booking_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The booking link's id.")] id: ID,
    ) -> Result<BookingLink> {
        Ok(BookingLink(
            get::<booking_link::Entity>(ctx, Scope::BookingLinksRead, &id).await?,
        ))
    }

    /// Booking links, newest first. Needs `booking_links:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn booking_links(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only links matching every field given.")] filter: Option<
            BookingLinkFilter,
        >,
    ) -> Result<PageConnection<BookingLink>> {
        Ok(list::<booking_link::Entity, _>(
            ctx,
            Scope::BookingLinksRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            BookingLink,
        )
        .await?)
    }

    /// A product by id. Needs `products:read`.
    async fn product(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's id.")] id: ID,
    ) -> Result<Product> {
        Ok(Product(
            get::<product::Entity>(ctx, Scope::ProductsRead, &id).await?,
        ))
    }

    /// The product catalog, newest first. Needs `products:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only products matching every field given.")] filter: Option<
            ProductFilter,
        >,
    ) -> Result<PageConnection<Product>> {
        Ok(list::<product::Entity, _>(
            ctx,
            Scope::ProductsRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            Product,
        )
        .await?)
    }

    /// A payment by id. Needs `payments:read`.
    async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment's id.")] id: ID,
    ) -> Result<Payment> {
        Ok(Payment::from(
            get::<payment::Entity>(ctx, Scope::PaymentsRead, &id).await?,
        ))
    }

    /// Payment records, newest first. Needs `payments:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only payments matching every field given.")] filter: Option<
            PaymentFilter,
        >,
    ) -> Result<PageConnection<Payment>> {
        Ok(list::<payment::Entity, _>(
            ctx,
            Scope::PaymentsRead,
            first,
            after,
            |s| filter.unwrap_or_default().apply(s),
            Payment::from,
        )
        .await?)
    }
}
