//! The GraphQL operations behind the REST endpoints, one per endpoint, kept together.
//! Each selection aliases GraphQL's camelCase fields into the REST objects' snake_case,
//! so a REST object is exactly the GraphQL object, renamed.

use async_graphql::{Request, Variables};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::Principal;
use crate::error::AppError;
use crate::graphql::{self, AuraSchema};
use crate::state::AppState;

macro_rules! lead_fields {
    () => {
        "fragment LeadFields on Lead { id name email phone source status \
         assigned_team_member_id: assignedTeamMemberId \
         utm { source medium campaign term content } \
         custom_fields: customFields created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! call_fields {
    () => {
        "fragment CallFields on Call { id lead_id: leadId closer_id: closerId \
         setter_id: setterId booking_link_id: bookingLinkId scheduled_at: scheduledAt \
         duration_minutes: durationMinutes status outcome notes \
         created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! team_member_fields {
    () => {
        "fragment TeamMemberFields on TeamMember { id name email role \
         commission_rate: commissionRate active timezone \
         created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! booking_link_fields {
    () => {
        "fragment BookingLinkFields on BookingLink { id slug name owner_id: ownerId \
         duration_minutes: durationMinutes timezone weekly_hours: weeklyHours { day start end } \
         buffer_minutes: bufferMinutes min_notice_minutes: minNoticeMinutes \
         horizon_days: horizonDays active created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! product_fields {
    () => {
        "fragment ProductFields on Product { id name description price_amount: priceAmount \
         currency billing active created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! payment_fields {
    () => {
        "fragment PaymentFields on Payment { id lead_id: leadId product_id: productId \
         closer_id: closerId setter_id: setterId amount currency status processor \
         external_id: externalId paid_at: paidAt \
         commissions { team_member_id: teamMemberId role rate amount currency } \
         created_at: createdAt updated_at: updatedAt }"
    };
}

macro_rules! list_op {
    ($name:literal, $field:literal, $filter:literal, $fragment:literal, $fields:expr) => {
        concat!(
            "query ",
            $name,
            "($first: Int!, $after: String, $filter: ",
            $filter,
            ") { page: ",
            $field,
            "(first: $first, after: $after, filter: $filter) { nodes { ...",
            $fragment,
            " } pageInfo { hasNextPage endCursor } } } ",
            $fields
        )
    };
}
macro_rules! get_op {
    ($name:literal, $field:literal, $fragment:literal, $fields:expr) => {
        concat!(
            "query ",
            $name,
            "($id: ID!) { item: ",
            $field,
            "(id: $id) { ...",
            $fragment,
            " } } ",
            $fields
        )
    };
}

pub const LIST_LEADS: &str = list_op!(
    "ListLeads",
    "leads",
    "LeadFilter",
    "LeadFields",
    lead_fields!()
);
pub const GET_LEAD: &str = get_op!("GetLead", "lead", "LeadFields", lead_fields!());
pub const LIST_CALLS: &str = list_op!(
    "ListCalls",
    "calls",
    "CallFilter",
    "CallFields",
    call_fields!()
);
pub const GET_CALL: &str = get_op!("GetCall", "call", "CallFields", call_fields!());
pub const LIST_TEAM: &str = list_op!(
    "ListTeamMembers",
    "teamMembers",
    "TeamMemberFilter",
    "TeamMemberFields",
    team_member_fields!()
);
pub const GET_TEAM_MEMBER: &str = get_op!(
    "GetTeamMember",
    "teamMember",
    "TeamMemberFields",
    team_member_fields!()
);
pub const LIST_BOOKING_LINKS: &str = list_op!(
    "ListBookingLinks",
    "bookingLinks",
    "BookingLinkFilter",
    "BookingLinkFields",
    booking_link_fields!()
);
pub const GET_BOOKING_LINK: &str = get_op!(
    "GetBookingLink",
    "bookingLink",
    "BookingLinkFields",
    booking_link_fields!()
);
pub const LIST_PRODUCTS: &str = list_op!(
    "ListProducts",
    "products",
    "ProductFilter",
    "ProductFields",
    product_fields!()
);
pub const GET_PRODUCT: &str = get_op!("GetProduct", "product", "ProductFields", product_fields!());
pub const LIST_PAYMENTS: &str = list_op!(
    "ListPayments",
    "payments",
    "PaymentFilter",
    "PaymentFields",
    payment_fields!()
);
pub const GET_PAYMENT: &str = get_op!("GetPayment", "payment", "PaymentFields", payment_fields!());

pub const TEAM_MEMBER_COMMISSIONS: &str = "query TeamMemberCommissions($id: ID!, $after: DateTime, $before: DateTime) { item: teamMember(id: $id) { totals: commissionTotals(paidAfter: $after, paidBefore: $before) { currency amount payments } } }";

macro_rules! webhook_fields {
    () => {
        "fragment WebhookFields on Webhook { id url description event_types: eventTypes \
         enabled disabled_reason: disabledReason \
         previous_secret_expires_at: previousSecretExpiresAt failing_since: failingSince \
         created_at: createdAt updated_at: updatedAt }"
    };
}
macro_rules! delivery_fields {
    () => {
        "fragment DeliveryFields on Delivery { id webhook_id: webhookId event_id: eventId \
         event_type: eventType status attempt_count: attemptCount \
         next_attempt_at: nextAttemptAt last_attempt_at: lastAttemptAt \
         attempts { ...AttemptFields } created_at: createdAt updated_at: updatedAt } \
         fragment AttemptFields on DeliveryAttempt { attempt attempted_at: attemptedAt \
         succeeded status_code: statusCode error latency_ms: latencyMs \
         response_excerpt: responseExcerpt }"
    };
}
macro_rules! event_fields {
    () => {
        "fragment EventFields on LiveEvent { id type created_at: createdAt data }"
    };
}

pub const LIST_WEBHOOKS: &str = list_op!(
    "ListWebhooks",
    "webhooks",
    "WebhookFilter",
    "WebhookFields",
    webhook_fields!()
);
pub const GET_WEBHOOK: &str = get_op!("GetWebhook", "webhook", "WebhookFields", webhook_fields!());
pub const LIST_EVENTS: &str = list_op!(
    "ListEvents",
    "events",
    "EventFilter",
    "EventFields",
    event_fields!()
);
pub const GET_EVENT: &str = get_op!("GetEvent", "event", "EventFields", event_fields!());
pub const LIST_DELIVERIES: &str = concat!(
    "query ListDeliveries($id: ID!, $first: Int!, $after: String, $status: DeliveryStatus) { \
     item: webhook(id: $id) { page: deliveries(first: $first, after: $after, status: $status) { \
     nodes { ...DeliveryFields } pageInfo { hasNextPage endCursor } } } } ",
    delivery_fields!()
);
pub const CREATE_WEBHOOK: &str = concat!(
    "mutation CreateWebhook($input: CreateWebhookInput!) { item: createWebhook(input: $input) \
     { secret webhook { ...WebhookFields } } } ",
    webhook_fields!()
);
pub const UPDATE_WEBHOOK: &str = concat!(
    "mutation UpdateWebhook($id: ID!, $input: UpdateWebhookInput!) { \
     item: updateWebhook(id: $id, input: $input) { ...WebhookFields } } ",
    webhook_fields!()
);
pub const DELETE_WEBHOOK: &str =
    "mutation DeleteWebhook($id: ID!) { item: deleteWebhook(id: $id) { id deleted } }";
pub const ROTATE_WEBHOOK_SECRET: &str = concat!(
    "mutation RotateWebhookSecret($id: ID!) { item: rotateWebhookSecret(id: $id) \
     { secret webhook { ...WebhookFields } } } ",
    webhook_fields!()
);
pub const TEST_WEBHOOK: &str = concat!(
    "mutation TestWebhook($id: ID!) { item: testWebhook(id: $id) { succeeded \
     attempt { ...AttemptFields } delivery { ...DeliveryFields } } } ",
    delivery_fields!()
);
pub const RETRY_WEBHOOK_DELIVERY: &str = concat!(
    "mutation RetryWebhookDelivery($webhookId: ID!, $deliveryId: ID!) { \
     item: retryWebhookDelivery(webhookId: $webhookId, deliveryId: $deliveryId) \
     { ...DeliveryFields } } ",
    delivery_fields!()
);

macro_rules! render_op {
    ($field:literal, $fragment:literal, $fields:expr) => {
        concat!(
            "query Render { item: ",
            $field,
            " { ...",
            $fragment,
            " } } ",
            $fields
        )
    };
}

// The same selections over the in-memory render schema (see `representation`).
pub const RENDER_LEAD: &str = render_op!("lead", "LeadFields", lead_fields!());
pub const RENDER_CALL: &str = render_op!("call", "CallFields", call_fields!());
pub const RENDER_TEAM_MEMBER: &str =
    render_op!("teamMember", "TeamMemberFields", team_member_fields!());
pub const RENDER_BOOKING_LINK: &str =
    render_op!("bookingLink", "BookingLinkFields", booking_link_fields!());
pub const RENDER_PRODUCT: &str = render_op!("product", "ProductFields", product_fields!());
pub const RENDER_PAYMENT: &str = render_op!("payment", "PaymentFields", payment_fields!());

/// One page of a list operation's result.
#[derive(Deserialize)]
pub struct PageResult<T> {
    pub page: PageNodes<T>,
}

#[derive(Deserialize)]
pub struct PageNodes<T> {
    pub nodes: Vec<T>,
    #[serde(rename = "pageInfo")]
    pub page_info: PageInfo,
}

#[derive(Deserialize)]
pub struct PageInfo {
    #[serde(rename = "hasNextPage")]
    pub has_next_page: bool,
    #[serde(rename = "endCursor")]
    pub end_cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct ItemResult<T> {
    pub item: T,
}

/// Who is calling and with what: everything a REST handler needs to run an operation.
pub struct Caller<'a> {
    pub schema: &'a AuraSchema,
    pub state: &'a AppState,
    pub principal: Option<Principal>,
}

impl Caller<'_> {
    /// Runs `document` with `variables` and reads the result into `T`. The first GraphQL
    /// error becomes the REST error, its field renamed into the REST spelling.
    pub async fn run<T: DeserializeOwned>(
        &self,
        document: &'static str,
        variables: serde_json::Value,
    ) -> Result<T, AppError> {
        let data = self.run_value(document, variables).await?;
        async_graphql::from_value(data)
            .map_err(|err| AppError::internal(format!("REST mapping of {document:.40}: {err}")))
    }

    /// Like [`run`](Self::run), but returns the `data` as GraphQL produced it.
    pub async fn run_value(
        &self,
        document: &'static str,
        variables: serde_json::Value,
    ) -> Result<async_graphql::Value, AppError> {
        let request = Request::new(document).variables(Variables::from_json(variables));
        let response =
            graphql::execute(self.schema, self.state, self.principal.clone(), request).await;
        if let Some(error) = response.errors.first() {
            return Err(rest_error(error));
        }
        Ok(response.data)
    }
}

fn rest_error(error: &async_graphql::ServerError) -> AppError {
    let extension = |name: &str| {
        error
            .extensions
            .as_ref()
            .and_then(|ext| ext.get(name))
            .and_then(|value| match value {
                async_graphql::Value::String(text) => Some(text.clone()),
                _ => None,
            })
    };
    let code = extension("code").unwrap_or_else(|| "INTERNAL_ERROR".to_owned());
    let field = extension("field").map(|f| rest_field_name(&f));
    let mut message = error.message.clone();
    if let Some(field) = &field
        && let Some(graphql_field) = extension("field")
    {
        message = message.replace(&graphql_field, field);
    }
    AppError::from_code(&code, message, field)
}

/// `first` → `limit`, `after` → `cursor`, `teamMemberId` → `team_member_id`.
pub fn rest_field_name(graphql: &str) -> String {
    match graphql {
        "first" => "limit".to_owned(),
        "after" => "cursor".to_owned(),
        other => {
            let mut out = String::with_capacity(other.len() + 4);
            for ch in other.chars() {
                if ch.is_ascii_uppercase() {
                    out.push('_');
                    out.push(ch.to_ascii_lowercase());
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the REST endpoints run (the `RENDER_*` ones run on their own schema).
    const RUN_BY_ENDPOINTS: &[&str] = &[
        LIST_LEADS,
        GET_LEAD,
        LIST_CALLS,
        GET_CALL,
        LIST_TEAM,
        GET_TEAM_MEMBER,
        TEAM_MEMBER_COMMISSIONS,
        LIST_BOOKING_LINKS,
        GET_BOOKING_LINK,
        LIST_PRODUCTS,
        GET_PRODUCT,
        LIST_WEBHOOKS,
        GET_WEBHOOK,
        LIST_EVENTS,
        GET_EVENT,
        LIST_DELIVERIES,
        CREATE_WEBHOOK,
        UPDATE_WEBHOOK,
        DELETE_WEBHOOK,
        ROTATE_WEBHOOK_SECRET,
        TEST_WEBHOOK,
        RETRY_WEBHOOK_DELIVERY,
        LIST_PAYMENTS,
        GET_PAYMENT,
    ];

    #[test]
    fn every_operation_parses() {
        for document in RUN_BY_ENDPOINTS {
            let parsed = async_graphql::parser::parse_query(document);
            assert!(parsed.is_ok(), "{document}");
        }
    }

    /// Errors a document gets from the strict schema before any resolver runs: validation
    /// errors carry no path. Run anonymously, a valid document reaches its resolvers and
    /// is refused there (UNAUTHORIZED, with a path). No variables are sent, so execution
    /// also reports each required one as missing (`Variable first is not defined.`, a
    /// different text from the validation rule's); those are expected.
    async fn strict_validation_errors(schema: &AuraSchema, document: &str) -> Vec<String> {
        let declared: Vec<String> = async_graphql::parser::parse_query(document)
            .map(|parsed| {
                parsed
                    .operations
                    .iter()
                    .flat_map(|(_, op)| op.node.variable_definitions.clone())
                    .map(|var| format!("Variable {} is not defined.", var.node.name.node))
                    .collect()
            })
            .unwrap_or_default();
        let response = schema.execute(document).await;
        assert!(!response.errors.is_empty(), "an anonymous run is refused");
        response
            .errors
            .iter()
            .filter(|error| error.path.is_empty() && !declared.contains(&error.message))
            .map(|error| error.message.clone())
            .collect()
    }

    #[tokio::test]
    async fn every_operation_passes_the_strict_validation_rules() {
        // The REST schema skips the per-document rules (`graphql::build_rest_schema`);
        // this is where its documents are held to them.
        let schema = graphql::build_schema(None);
        for document in RUN_BY_ENDPOINTS {
            let errors = strict_validation_errors(&schema, document).await;
            assert!(errors.is_empty(), "{document}: {errors:?}");
        }
        let broken = LIST_LEADS.replace("pageInfo", "pageInformation");
        assert!(!strict_validation_errors(&schema, &broken).await.is_empty());
    }

    #[test]
    fn field_names_follow_rest_spelling() {
        assert_eq!(rest_field_name("first"), "limit");
        assert_eq!(rest_field_name("after"), "cursor");
        assert_eq!(
            rest_field_name("assignedTeamMemberId"),
            "assigned_team_member_id"
        );
    }
}
