//! The GraphQL operations behind the REST endpoints, one per endpoint, kept together.
//! Each selection is generated from the REST object's view (`crate::views`): every field
//! of the view, its GraphQL camelCase name aliased into the view's snake_case, nested
//! objects and lists of objects selected the same way. So a REST object is exactly the
//! GraphQL object renamed, and a field added to a view and to its GraphQL type appears in
//! REST with no change here.

use std::sync::LazyLock;

use async_graphql::{Request, Variables};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::Actor;
use crate::error::AppError;
use crate::graphql::{self, AuraSchema, Core};
use crate::views;

/// `snake_case` → `camelCase`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.push(ch.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// The object schema a reference (or an array of references) names, if any.
fn object_behind<'a>(registry: &'a Registry, schema: &MetaSchemaRef) -> Option<&'a str> {
    match schema {
        MetaSchemaRef::Reference(name) => registry
            .schemas
            .get(name)
            .filter(|s| s.ty == "object")
            .map(|_| {
            registry
                .schemas
                .get_key_value(name)
                .map(|(k, _)| k.as_str())
        })?,
        MetaSchemaRef::Inline(inline) => {
            if let Some(items) = &inline.items {
                return object_behind(registry, items);
            }
            inline
                .all_of
                .iter()
                .find_map(|s| object_behind(registry, s))
        }
    }
}

/// The properties of a schema: its own, or, for a `oneOf` (an event: one variant per
/// resource), the first variant's, where a property whose object differs between the
/// variants (an event's `data`) is selected whole (a JSON scalar in GraphQL).
fn properties_of<'a>(
    registry: &'a Registry,
    schema_name: &str,
) -> Vec<(&'static str, Option<&'a str>)> {
    let Some(schema) = registry.schemas.get(schema_name) else {
        return Vec::new();
    };
    if schema.one_of.is_empty() {
        return schema
            .properties
            .iter()
            .map(|(name, property)| (*name, object_behind(registry, property)))
            .collect();
    }
    let variants: Vec<&MetaSchemaRef> = schema.one_of.iter().collect();
    let variant_name = |variant: &MetaSchemaRef| match variant {
        MetaSchemaRef::Reference(name) => Some(name.clone()),
        MetaSchemaRef::Inline(_) => None,
    };
    let Some(first) = variants.first().and_then(|v| variant_name(v)) else {
        return Vec::new();
    };
    properties_of(registry, &first)
        .into_iter()
        .map(|(name, object)| {
            let same_everywhere = variants.iter().all(|variant| {
                variant_name(variant).is_some_and(|v| {
                    properties_of(registry, &v)
                        .iter()
                        .any(|(n, o)| *n == name && *o == object)
                })
            });
            (name, object.filter(|_| same_everywhere))
        })
        .collect()
}

fn select(registry: &Registry, schema_name: &str, out: &mut String) {
    for (name, object) in properties_of(registry, schema_name) {
        let graphql = camel(name);
        out.push(' ');
        if graphql != name {
            out.push_str(name);
            out.push_str(": ");
        }
        out.push_str(&graphql);
        if let Some(object) = object {
            out.push_str(" {");
            select(registry, object, out);
            out.push_str(" }");
        }
    }
}

/// Every field of the view `T` as a GraphQL selection (without braces).
pub fn selection<T: Type>() -> String {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let mut out = String::new();
    select(&registry, &T::name(), &mut out);
    out
}

/// `fragment <name> on <on> { … }` selecting every field of the view `T`.
fn fragment<T: Type>(name: &str, on: &str) -> String {
    format!("fragment {name} on {on} {{{} }}", selection::<T>())
}

fn list_op(name: &str, field: &str, filter: &str, fragment_name: &str, fragment: &str) -> String {
    format!(
        "query {name}($first: Int!, $after: String, $filter: {filter}) {{ page: {field}(first: $first, after: $after, filter: $filter) {{ nodes {{ ...{fragment_name} }} pageInfo {{ hasNextPage endCursor }} }} }} {fragment}"
    )
}

fn get_op(name: &str, field: &str, fragment_name: &str, fragment: &str) -> String {
    format!(
        "query {name}($id: ID!) {{ item: {field}(id: $id) {{ ...{fragment_name} }} }} {fragment}"
    )
}

macro_rules! resource_ops {
    ($view:ty, $on:literal, $fragment:literal, $list:ident = $list_name:literal / $list_field:literal / $filter:literal, $get:ident = $get_name:literal / $get_field:literal) => {
        pub static $list: LazyLock<String> = LazyLock::new(|| {
            list_op(
                $list_name,
                $list_field,
                $filter,
                $fragment,
                &fragment::<$view>($fragment, $on),
            )
        });
        pub static $get: LazyLock<String> = LazyLock::new(|| {
            get_op(
                $get_name,
                $get_field,
                $fragment,
                &fragment::<$view>($fragment, $on),
            )
        });
    };
}

resource_ops!(
    views::Lead,
    "Lead",
    "LeadFields",
    LIST_LEADS = "ListLeads" / "leads" / "LeadFilter",
    GET_LEAD = "GetLead" / "lead"
);
resource_ops!(
    views::Call,
    "Call",
    "CallFields",
    LIST_CALLS = "ListCalls" / "calls" / "CallFilter",
    GET_CALL = "GetCall" / "call"
);
resource_ops!(
    views::TeamMember,
    "TeamMember",
    "TeamMemberFields",
    LIST_TEAM = "ListTeamMembers" / "teamMembers" / "TeamMemberFilter",
    GET_TEAM_MEMBER = "GetTeamMember" / "teamMember"
);
resource_ops!(
    views::BookingLink,
    "BookingLink",
    "BookingLinkFields",
    LIST_BOOKING_LINKS = "ListBookingLinks" / "bookingLinks" / "BookingLinkFilter",
    GET_BOOKING_LINK = "GetBookingLink" / "bookingLink"
);
resource_ops!(
    views::Product,
    "Product",
    "ProductFields",
    LIST_PRODUCTS = "ListProducts" / "products" / "ProductFilter",
    GET_PRODUCT = "GetProduct" / "product"
);
resource_ops!(
    views::Payment,
    "Payment",
    "PaymentFields",
    LIST_PAYMENTS = "ListPayments" / "payments" / "PaymentFilter",
    GET_PAYMENT = "GetPayment" / "payment"
);
resource_ops!(
    views::Webhook,
    "Webhook",
    "WebhookFields",
    LIST_WEBHOOKS = "ListWebhooks" / "webhooks" / "WebhookFilter",
    GET_WEBHOOK = "GetWebhook" / "webhook"
);
resource_ops!(
    views::Event,
    "LiveEvent",
    "EventFields",
    LIST_EVENTS = "ListEvents" / "events" / "EventFilter",
    GET_EVENT = "GetEvent" / "event"
);

pub static TEAM_MEMBER_COMMISSIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "query TeamMemberCommissions($id: ID!, $after: DateTime, $before: DateTime) {{ item: teamMember(id: $id) {{ totals: commissionTotals(paidAfter: $after, paidBefore: $before) {{{} }} }} }}",
        selection::<views::CommissionTotal>()
    )
});

fn webhook_fields() -> String {
    fragment::<views::Webhook>("WebhookFields", "Webhook")
}

fn delivery_fields() -> String {
    fragment::<views::Delivery>("DeliveryFields", "Delivery")
}

pub static LIST_DELIVERIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "query ListDeliveries($id: ID!, $first: Int!, $after: String, $status: DeliveryStatus) {{ item: webhook(id: $id) {{ page: deliveries(first: $first, after: $after, status: $status) {{ nodes {{ ...DeliveryFields }} pageInfo {{ hasNextPage endCursor }} }} }} }} {}",
        delivery_fields()
    )
});
pub static CREATE_WEBHOOK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation CreateWebhook($input: CreateWebhookInput!) {{ item: createWebhook(input: $input) {{ secret webhook {{ ...WebhookFields }} }} }} {}",
        webhook_fields()
    )
});
pub static UPDATE_WEBHOOK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation UpdateWebhook($id: ID!, $input: UpdateWebhookInput!) {{ item: updateWebhook(id: $id, input: $input) {{ ...WebhookFields }} }} {}",
        webhook_fields()
    )
});
pub static DELETE_WEBHOOK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation DeleteWebhook($id: ID!) {{ item: deleteWebhook(id: $id) {{{} }} }}",
        selection::<views::Deleted>()
    )
});
pub static ROTATE_WEBHOOK_SECRET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation RotateWebhookSecret($id: ID!) {{ item: rotateWebhookSecret(id: $id) {{ secret webhook {{ ...WebhookFields }} }} }} {}",
        webhook_fields()
    )
});
pub static TEST_WEBHOOK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation TestWebhook($id: ID!) {{ item: testWebhook(id: $id) {{{} }} }}",
        selection::<views::WebhookTestResult>()
    )
});
pub static RETRY_WEBHOOK_DELIVERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "mutation RetryWebhookDelivery($webhookId: ID!, $deliveryId: ID!) {{ item: retryWebhookDelivery(webhookId: $webhookId, deliveryId: $deliveryId) {{ ...DeliveryFields }} }} {}",
        delivery_fields()
    )
});

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
    pub core: &'a Core,
    pub actor: Option<Actor>,
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
        let response = graphql::execute(self.schema, self.core, self.actor.clone(), request).await;
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
    fn run_by_endpoints() -> Vec<&'static str> {
        [
            &LIST_LEADS,
            &GET_LEAD,
            &LIST_CALLS,
            &GET_CALL,
            &LIST_TEAM,
            &GET_TEAM_MEMBER,
            &TEAM_MEMBER_COMMISSIONS,
            &LIST_BOOKING_LINKS,
            &GET_BOOKING_LINK,
            &LIST_PRODUCTS,
            &GET_PRODUCT,
            &LIST_WEBHOOKS,
            &GET_WEBHOOK,
            &LIST_EVENTS,
            &GET_EVENT,
            &LIST_DELIVERIES,
            &CREATE_WEBHOOK,
            &UPDATE_WEBHOOK,
            &DELETE_WEBHOOK,
            &ROTATE_WEBHOOK_SECRET,
            &TEST_WEBHOOK,
            &RETRY_WEBHOOK_DELIVERY,
            &LIST_PAYMENTS,
            &GET_PAYMENT,
        ]
        .into_iter()
        .map(|document: &'static LazyLock<String>| document.as_str())
        .collect()
    }

    #[test]
    fn every_operation_parses() {
        for document in run_by_endpoints() {
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
        for document in run_by_endpoints() {
            let errors = strict_validation_errors(&schema, document).await;
            assert!(errors.is_empty(), "{document}: {errors:?}");
        }
        let broken = LIST_LEADS.replace("pageInfo", "pageInformation");
        assert!(!strict_validation_errors(&schema, &broken).await.is_empty());
        // A view field the GraphQL type lacks is caught here too.
        let broken = GET_LEAD.replace("phone", "phone_number: phoneNumber");
        assert!(!strict_validation_errors(&schema, &broken).await.is_empty());
    }

    #[test]
    fn selections_alias_every_view_field() {
        let lead = selection::<views::Lead>();
        assert!(
            lead.contains(" assigned_team_member_id: assignedTeamMemberId"),
            "{lead}"
        );
        assert!(
            lead.contains(" utm { source medium campaign term content }"),
            "{lead}"
        );
        let payment = selection::<views::Payment>();
        assert!(
            payment.contains(" commissions { team_member_id: teamMemberId role rate amount amount_decimal: amountDecimal currency }"),
            "{payment}"
        );
        assert_eq!(
            camel("previous_secret_expires_at"),
            "previousSecretExpiresAt"
        );
        // An event's variants differ in `data`, which is selected whole.
        assert_eq!(
            selection::<views::Event>(),
            " id type created_at: createdAt data"
        );
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
