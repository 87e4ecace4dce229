//! The read endpoints: a list and a get per resource. Each is a thin resolver: it turns
//! query parameters into variables, runs the resource's GraphQL operation as the caller,
//! and wraps the result in the REST envelope.

use async_graphql::Value as GraphqlValue;
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{OpenApi, SecurityScheme, Tags, auth::Bearer};
use serde_json::{Map, Value, json};

use super::body::FromGraphql;
use super::operations::{self as ops, Caller, ItemResult};
use super::responses::*;
use crate::domain::Actor;
use crate::error::AppError;
use crate::graphql::{AuraSchema, Core, RestSchema};
use crate::views::enums::{Billing, CallStatus, LeadStatus, PaymentStatus, TeamRole};
use crate::views::{self, Succeeded, Wire, WireEnum};

#[derive(Tags)]
pub enum Tag {
    /// Prospects in the pipeline.
    Leads,
    /// Sales calls.
    Calls,
    /// Team members with roles and commission rates.
    Team,
    /// Bookable calendars.
    BookingLinks,
    /// The product catalog.
    Products,
    /// Payment records.
    Payments,
    /// Subscriptions that receive events, signed per Standard Webhooks, and their
    /// delivery log.
    Webhooks,
    /// What happened, as webhooks deliver it; kept for 30 days.
    Events,
}

/// `Authorization: Bearer aura_pk_live_…` (an API key from Settings > Integrations) or
/// `Authorization: Bearer <Clerk JWT>` with organization claims.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "aura_pk_live_… API key or Clerk JWT")]
pub struct BearerAuth(#[allow(dead_code)] Bearer);

pub(super) fn default_limit() -> i32 {
    25
}

/// The request's caller, built from what the middleware put on the request.
pub(super) fn caller<'a>(req: &Request, schema: &'a AuraSchema, core: &'a Core) -> Caller<'a> {
    Caller {
        schema,
        core,
        actor: req.extensions().get::<Actor>().cloned(),
    }
}

/// A REST enum parameter as a GraphQL variable (`no_show` → `"NO_SHOW"`).
pub(super) fn wire_graphql<E: WireEnum>(value: Wire<E>) -> Value {
    Value::String(value.get().graphql_name().to_owned())
}

/// Filters as GraphQL variables: only the ones given.
#[derive(Default)]
pub(super) struct Filter(Map<String, Value>);

impl Filter {
    pub(super) fn time(
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        updated_after: Option<DateTime<Utc>>,
    ) -> Self {
        let mut filter = Filter::default();
        let format = |at: DateTime<Utc>| Value::String(crate::time::format_rfc3339(at));
        filter.set("createdAfter", created_after.map(format));
        filter.set("createdBefore", created_before.map(format));
        filter.set("updatedAfter", updated_after.map(format));
        filter
    }

    pub(super) fn set(&mut self, name: &str, value: Option<Value>) -> &mut Self {
        if let Some(value) = value {
            self.0.insert(name.to_owned(), value);
        }
        self
    }

    pub(super) fn variables(self, limit: i32, cursor: Option<String>) -> Value {
        json!({"first": limit, "after": cursor, "filter": Value::Object(self.0)})
    }
}

pub(super) async fn list<T>(
    caller: Caller<'_>,
    document: &'static str,
    variables: Value,
) -> Result<(FromGraphql<Vec<T>>, bool, Option<String>), ApiError> {
    let mut data = caller.run_value(document, variables).await?;
    let mut page = take(&mut data, "page")?;
    let mut page_info = take(&mut page, "pageInfo")?;
    let nodes = take(&mut page, "nodes")?;
    let has_more = matches!(
        take(&mut page_info, "hasNextPage")?,
        GraphqlValue::Boolean(true)
    );
    let next_cursor = match take(&mut page_info, "endCursor")? {
        GraphqlValue::String(cursor) => Some(cursor),
        _ => None,
    };
    Ok((FromGraphql::new(nodes), has_more, next_cursor))
}

pub(super) async fn get<T>(
    caller: Caller<'_>,
    document: &'static str,
    id: String,
) -> Result<FromGraphql<T>, ApiError> {
    let mut data = caller.run_value(document, json!({ "id": id })).await?;
    Ok(FromGraphql::new(take(&mut data, "item")?))
}

/// `value.name`, taken out of an object the operation's selection guarantees.
fn take(value: &mut GraphqlValue, name: &str) -> Result<GraphqlValue, AppError> {
    match value {
        GraphqlValue::Object(fields) => fields.shift_remove(name),
        _ => None,
    }
    .ok_or_else(|| AppError::internal(format!("REST mapping: no `{name}` in the result")))
}

pub struct ResourcesApi;

#[OpenApi]
impl ResourcesApi {
    /// List leads
    ///
    /// Leads, newest first, a page at a time. Needs `leads:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/leads",
        method = "get",
        operation_id = "listLeads",
        tag = "Tag::Leads"
    )]
    async fn list_leads(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only leads created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only leads created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only leads changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only leads with this status.
        status: Query<Option<Wire<LeadStatus>>>,
        /// Only leads assigned to this team member (`tm_…`).
        assigned_team_member_id: Query<Option<String>>,
    ) -> Result<LeadListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter.set("status", status.0.map(wire_graphql)).set(
            "assignedTeamMemberId",
            assigned_team_member_id.0.map(Value::String),
        );
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_LEADS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(LeadListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a lead
    ///
    /// Needs `leads:read`.
    #[oai(
        path = "/leads/:id",
        method = "get",
        operation_id = "getLead",
        tag = "Tag::Leads"
    )]
    async fn get_lead(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The lead's id (`lead_…`).
        id: Path<String>,
    ) -> Result<LeadResponse, ApiError> {
        let lead = get(caller(req, &schema, &core), ops::GET_LEAD.as_str(), id.0).await?;
        Ok(LeadResponse::item(lead)?)
    }

    /// List calls
    ///
    /// Calls, newest first. Needs `calls:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/calls",
        method = "get",
        operation_id = "listCalls",
        tag = "Tag::Calls"
    )]
    async fn list_calls(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only calls created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only calls created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only calls changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only calls with this status.
        status: Query<Option<Wire<CallStatus>>>,
        /// Only calls with this lead (`lead_…`).
        lead_id: Query<Option<String>>,
        /// Only calls this team member closes or set (`tm_…`).
        team_member_id: Query<Option<String>>,
        /// Only calls booked through this link (`bl_…`).
        booking_link_id: Query<Option<String>>,
    ) -> Result<CallListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter
            .set("status", status.0.map(wire_graphql))
            .set("leadId", lead_id.0.map(Value::String))
            .set("teamMemberId", team_member_id.0.map(Value::String))
            .set("bookingLinkId", booking_link_id.0.map(Value::String));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_CALLS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(CallListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a call
    ///
    /// Needs `calls:read`.
    #[oai(
        path = "/calls/:id",
        method = "get",
        operation_id = "getCall",
        tag = "Tag::Calls"
    )]
    async fn get_call(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The call's id (`call_…`).
        id: Path<String>,
    ) -> Result<CallResponse, ApiError> {
        let call = get(caller(req, &schema, &core), ops::GET_CALL.as_str(), id.0).await?;
        Ok(CallResponse::item(call)?)
    }

    /// List team members
    ///
    /// Team members with their roles and commission rates, newest first. Needs `team:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/team",
        method = "get",
        operation_id = "listTeamMembers",
        tag = "Tag::Team"
    )]
    async fn list_team(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only members created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only members created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only members changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only members with this role.
        role: Query<Option<Wire<TeamRole>>>,
        /// Only members still on the team (`true`) or gone (`false`).
        active: Query<Option<bool>>,
    ) -> Result<TeamMemberListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter
            .set("role", role.0.map(wire_graphql))
            .set("active", active.0.map(Value::Bool));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_TEAM.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(TeamMemberListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a team member
    ///
    /// Needs `team:read`.
    #[oai(
        path = "/team/:id",
        method = "get",
        operation_id = "getTeamMember",
        tag = "Tag::Team"
    )]
    async fn get_team_member(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The team member's id (`tm_…`).
        id: Path<String>,
    ) -> Result<TeamMemberResponse, ApiError> {
        let member = get(
            caller(req, &schema, &core),
            ops::GET_TEAM_MEMBER.as_str(),
            id.0,
        )
        .await?;
        Ok(TeamMemberResponse::item(member)?)
    }

    /// Get a team member's commissions
    ///
    /// What the member earned, as closer and as setter, on payments that succeeded and were
    /// paid in `[paid_after, paid_before)`, one total per currency, exact in minor units.
    /// Needs `team:read` and `payments:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/team/:id/commissions",
        method = "get",
        operation_id = "getTeamMemberCommissions",
        tag = "Tag::Team"
    )]
    async fn get_team_member_commissions(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The team member's id (`tm_…`).
        id: Path<String>,
        /// Only payments paid at or after this instant (RFC 3339).
        paid_after: Query<Option<DateTime<Utc>>>,
        /// Only payments paid before this instant (RFC 3339).
        paid_before: Query<Option<DateTime<Utc>>>,
    ) -> Result<CommissionTotalsResponse, ApiError> {
        #[derive(serde::Deserialize)]
        struct Totals {
            totals: Vec<views::CommissionTotal>,
        }
        let format = |at: DateTime<Utc>| crate::time::format_rfc3339(at);
        let result: ItemResult<Totals> = caller(req, &schema, &core)
            .run(
                ops::TEAM_MEMBER_COMMISSIONS.as_str(),
                json!({"id": id.0, "after": paid_after.0.map(format), "before": paid_before.0.map(format)}),
            )
            .await?;
        Ok(CommissionTotalsResponse::Ok(poem_openapi::payload::Json(
            CommissionTotals {
                success: Succeeded,
                data: result.item.totals,
            },
        )))
    }

    /// List booking links
    ///
    /// Booking links, newest first. Needs `booking_links:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/booking-links",
        method = "get",
        operation_id = "listBookingLinks",
        tag = "Tag::BookingLinks"
    )]
    async fn list_booking_links(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only links created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only links created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only links changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only links owned by this team member (`tm_…`).
        owner_id: Query<Option<String>>,
        /// Only links that take bookings (`true`) or not (`false`).
        active: Query<Option<bool>>,
    ) -> Result<BookingLinkListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter
            .set("ownerId", owner_id.0.map(Value::String))
            .set("active", active.0.map(Value::Bool));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_BOOKING_LINKS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(BookingLinkListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a booking link
    ///
    /// Needs `booking_links:read`.
    #[oai(
        path = "/booking-links/:id",
        method = "get",
        operation_id = "getBookingLink",
        tag = "Tag::BookingLinks"
    )]
    async fn get_booking_link(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The booking link's id (`bl_…`).
        id: Path<String>,
    ) -> Result<BookingLinkResponse, ApiError> {
        let link = get(
            caller(req, &schema, &core),
            ops::GET_BOOKING_LINK.as_str(),
            id.0,
        )
        .await?;
        Ok(BookingLinkResponse::item(link)?)
    }

    /// List products
    ///
    /// The product catalog, newest first. Needs `products:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/products",
        method = "get",
        operation_id = "listProducts",
        tag = "Tag::Products"
    )]
    async fn list_products(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only products created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only products created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only products changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only products still sold (`true`) or retired (`false`).
        active: Query<Option<bool>>,
        /// Only products billed this way.
        billing: Query<Option<Wire<Billing>>>,
    ) -> Result<ProductListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter
            .set("active", active.0.map(Value::Bool))
            .set("billing", billing.0.map(wire_graphql));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_PRODUCTS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(ProductListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a product
    ///
    /// Needs `products:read`.
    #[oai(
        path = "/products/:id",
        method = "get",
        operation_id = "getProduct",
        tag = "Tag::Products"
    )]
    async fn get_product(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The product's id (`prod_…`).
        id: Path<String>,
    ) -> Result<ProductResponse, ApiError> {
        let product = get(caller(req, &schema, &core), ops::GET_PRODUCT.as_str(), id.0).await?;
        Ok(ProductResponse::item(product)?)
    }

    /// List payments
    ///
    /// Payment records, newest first. Needs `payments:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/payments",
        method = "get",
        operation_id = "listPayments",
        tag = "Tag::Payments"
    )]
    async fn list_payments(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only payments created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only payments created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only payments changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only payments with this status.
        status: Query<Option<Wire<PaymentStatus>>>,
        /// Only payments by this lead (`lead_…`).
        lead_id: Query<Option<String>>,
        /// Only payments for this product (`prod_…`).
        product_id: Query<Option<String>>,
        /// Only payments this team member closed or set (`tm_…`).
        team_member_id: Query<Option<String>>,
    ) -> Result<PaymentListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter
            .set("status", status.0.map(wire_graphql))
            .set("leadId", lead_id.0.map(Value::String))
            .set("productId", product_id.0.map(Value::String))
            .set("teamMemberId", team_member_id.0.map(Value::String));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_PAYMENTS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(PaymentListResponse::page(data, limit.0, more, next)?)
    }

    /// Get a payment
    ///
    /// Needs `payments:read`.
    #[oai(
        path = "/payments/:id",
        method = "get",
        operation_id = "getPayment",
        tag = "Tag::Payments"
    )]
    async fn get_payment(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The payment's id (`pay_…`).
        id: Path<String>,
    ) -> Result<PaymentResponse, ApiError> {
        let payment = get(caller(req, &schema, &core), ops::GET_PAYMENT.as_str(), id.0).await?;
        Ok(PaymentResponse::item(payment)?)
    }
}
