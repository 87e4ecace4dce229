//! `/v1/webhooks…` and `/v1/events…`: thin resolvers over the webhook operations of the
//! GraphQL schema, like every other endpoint.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::views::enums::DeliveryStatus;
use poem_openapi::Object;
use poem_openapi::types::Example;

use super::body::Typed;
use super::operations::{self as ops, ItemResult, PageResult};
use super::resources::{BearerAuth, Filter, Tag, caller, default_limit, get, list, wire_graphql};
use super::responses::*;
use crate::graphql::{Core, RestSchema};
use crate::views::{
    Deleted, Delivery, EventSelector, Succeeded, Webhook, WebhookTestResult, WebhookWithSecret,
    Wire, WireEnum,
};

/// A new webhook.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct CreateWebhookBody {
    /// An `https://` (or `http://`) URL that resolves to a public address. (The example,
    /// on this machine, is accepted only by a server started with
    /// `AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true`, as the demo setup is.)
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: String,
    /// What the webhook is for, at most 500 characters.
    pub description: Option<String>,
    /// Event types to send (`lead.created`, …), or `["*"]` for all.
    #[oai(validator(min_items = 1, max_items = 32))]
    pub event_types: Vec<Wire<EventSelector>>,
    /// `true` when omitted.
    pub enabled: Option<bool>,
}

/// Changes to a webhook. Omitted fields keep their value; `"description": null` clears it.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct UpdateWebhookBody {
    /// A new URL; it must resolve to a public address.
    #[oai(validator(max_length = 2048))]
    pub url: Option<String>,
    /// A new description, at most 500 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// The event types to send from now on, or `["*"]`.
    #[oai(validator(min_items = 1, max_items = 32))]
    pub event_types: Option<Vec<Wire<EventSelector>>>,
    /// `true` re-enables a disabled webhook (and forgets its failures).
    pub enabled: Option<bool>,
}

impl Example for CreateWebhookBody {
    fn example() -> Self {
        CreateWebhookBody {
            url: EXAMPLE_TARGET.into(),
            description: Some("Commission sync".into()),
            event_types: vec![
                Wire(EventSelector::Type(crate::views::EventType::PaymentCreated)),
                Wire(EventSelector::Type(
                    crate::views::EventType::PaymentRefunded,
                )),
            ],
            enabled: None,
        }
    }
}

impl Example for UpdateWebhookBody {
    fn example() -> Self {
        UpdateWebhookBody {
            url: None,
            description: MaybeUndefined::Undefined,
            event_types: Some(vec![Wire(EventSelector::All)]),
            enabled: Some(true),
        }
    }
}

/// The example webhook URL: a receiver on the caller's own machine. It resolves everywhere
/// (the newman run's machines resolve no public names), and a server started with
/// `AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS=true` (`aura serve --demo` in `.ci/newman.sh`)
/// accepts it; production refuses loopback targets, so there a partner puts their own
/// public URL. Nothing need listen: a delivery that finds no receiver is recorded as a
/// failed attempt, and every webhook operation still succeeds.
pub const EXAMPLE_TARGET: &str = "http://localhost:8080/aura/webhooks";

#[derive(Deserialize)]
struct SecretResult {
    secret: String,
    webhook: Webhook,
}

/// Ties a retried POST or PATCH to its first attempt (see "Idempotency" in the API
/// description). Read by the idempotency middleware; declared here for the document.
type IdempotencyKey = Header<Option<String>>;

/// Event selectors as GraphQL variables (`lead.created` → `LEAD_CREATED`, `*` → `ALL`).
fn names(types: &[Wire<EventSelector>]) -> Vec<&'static str> {
    types.iter().map(|t| t.get().graphql_name()).collect()
}

fn with_secret(result: SecretResult) -> Json<WebhookWithSecretEnvelope> {
    Json(WebhookWithSecretEnvelope {
        success: Succeeded,
        data: WebhookWithSecret {
            webhook: result.webhook,
            secret: result.secret,
        },
    })
}

pub struct WebhooksApi;

#[OpenApi]
impl WebhooksApi {
    /// List webhooks
    ///
    /// Your webhooks, newest first. Needs `webhooks:read`.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/webhooks",
        method = "get",
        operation_id = "listWebhooks",
        tag = "Tag::Webhooks"
    )]
    async fn list_webhooks(
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
        /// Only webhooks created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only webhooks created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only webhooks changed strictly after this instant (RFC 3339).
        updated_after: Query<Option<DateTime<Utc>>>,
        /// Only enabled (`true`) or disabled (`false`) webhooks.
        enabled: Query<Option<bool>>,
    ) -> Result<WebhookListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, updated_after.0);
        filter.set("enabled", enabled.0.map(Value::Bool));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_WEBHOOKS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(WebhookListResponse::page(data, limit.0, more, next)?)
    }

    /// Create a webhook
    ///
    /// Subscribes a URL to events. The URL must resolve to a public address. The response
    /// holds the signing secret (`whsec_…`), shown only this once. Needs `webhooks:write`.
    #[oai(
        path = "/webhooks",
        method = "post",
        operation_id = "createWebhook",
        tag = "Tag::Webhooks"
    )]
    async fn create_webhook(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(pattern = "^[!-~]{1,255}$"))]
        _idempotency_key: IdempotencyKey,
        body: Json<CreateWebhookBody>,
    ) -> Result<WebhookCreatedResponse, ApiError> {
        let body = body.0;
        let input = json!({
            "url": body.url,
            "description": body.description,
            "eventTypes": names(&body.event_types),
            "enabled": body.enabled,
        });
        let result: ItemResult<SecretResult> = caller(req, &schema, &core)
            .run(ops::CREATE_WEBHOOK.as_str(), json!({ "input": input }))
            .await?;
        let location = format!("/v1/webhooks/{}", result.item.webhook.id);
        Ok(WebhookCreatedResponse::Created(
            with_secret(result.item),
            location,
        ))
    }

    /// Get a webhook
    ///
    /// Needs `webhooks:read`.
    #[oai(
        path = "/webhooks/:id",
        method = "get",
        operation_id = "getWebhook",
        tag = "Tag::Webhooks"
    )]
    async fn get_webhook(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<WebhookResponse, ApiError> {
        let webhook = get(caller(req, &schema, &core), ops::GET_WEBHOOK.as_str(), id.0).await?;
        Ok(WebhookResponse::item(webhook)?)
    }

    /// Update a webhook
    ///
    /// Changes the URL, description, event types, or enables/disables it. Enabling a
    /// webhook that was disabled forgets its failures. Needs `webhooks:write`.
    #[oai(
        path = "/webhooks/:id",
        method = "patch",
        operation_id = "updateWebhook",
        tag = "Tag::Webhooks"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn update_webhook(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(pattern = "^[!-~]{1,255}$"))]
        _idempotency_key: IdempotencyKey,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        body: Json<UpdateWebhookBody>,
    ) -> Result<WebhookResponse, ApiError> {
        let body = body.0;
        let mut input = Map::new();
        if let Some(url) = body.url {
            input.insert("url".into(), Value::String(url));
        }
        match body.description {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => {
                input.insert("description".into(), Value::Null);
            }
            MaybeUndefined::Value(text) => {
                input.insert("description".into(), Value::String(text));
            }
        }
        if let Some(types) = body.event_types {
            input.insert("eventTypes".into(), json!(names(&types)));
        }
        if let Some(enabled) = body.enabled {
            input.insert("enabled".into(), Value::Bool(enabled));
        }
        let result: ItemResult<Webhook> = caller(req, &schema, &core)
            .run(
                ops::UPDATE_WEBHOOK.as_str(),
                json!({ "id": id.0, "input": input }),
            )
            .await?;
        Ok(WebhookResponse::item(Typed(result.item))?)
    }

    /// Delete a webhook
    ///
    /// Deletes the webhook and its delivery log; nothing more is sent to it. Needs
    /// `webhooks:write`.
    #[oai(
        path = "/webhooks/:id",
        method = "delete",
        operation_id = "deleteWebhook",
        tag = "Tag::Webhooks"
    )]
    async fn delete_webhook(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<DeletedResponse, ApiError> {
        let result: ItemResult<Deleted> = caller(req, &schema, &core)
            .run(ops::DELETE_WEBHOOK.as_str(), json!({ "id": id.0 }))
            .await?;
        Ok(DeletedResponse::Ok(Json(DeletedEnvelope {
            success: Succeeded,
            data: result.item,
        })))
    }

    /// Rotate a webhook's secret
    ///
    /// Returns a new signing secret, shown only now. For 24 hours every delivery carries
    /// two signatures, by the old and by the new secret, so receivers can switch without
    /// missing a delivery. Needs `webhooks:write`.
    #[oai(
        path = "/webhooks/:id/rotate-secret",
        method = "post",
        operation_id = "rotateWebhookSecret",
        tag = "Tag::Webhooks"
    )]
    async fn rotate_webhook_secret(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(pattern = "^[!-~]{1,255}$"))]
        _idempotency_key: IdempotencyKey,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<WebhookSecretResponse, ApiError> {
        let result: ItemResult<SecretResult> = caller(req, &schema, &core)
            .run(ops::ROTATE_WEBHOOK_SECRET.as_str(), json!({ "id": id.0 }))
            .await?;
        Ok(WebhookSecretResponse::Ok(with_secret(result.item)))
    }

    /// Send a test event
    ///
    /// Sends a signed `webhook.test` event to the webhook now (enabled or not) and
    /// answers with the attempt: status, latency and the start of the response body. A
    /// failed test is not retried. Needs `webhooks:write`.
    #[oai(
        path = "/webhooks/:id/test",
        method = "post",
        operation_id = "testWebhook",
        tag = "Tag::Webhooks"
    )]
    async fn test_webhook(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(pattern = "^[!-~]{1,255}$"))]
        _idempotency_key: IdempotencyKey,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
    ) -> Result<WebhookTestResponse, ApiError> {
        let result: ItemResult<WebhookTestResult> = caller(req, &schema, &core)
            .run(ops::TEST_WEBHOOK.as_str(), json!({ "id": id.0 }))
            .await?;
        Ok(WebhookTestResponse::Ok(Json(WebhookTestEnvelope {
            success: Succeeded,
            data: result.item,
        })))
    }

    /// List a webhook's deliveries
    ///
    /// Deliveries, newest first, each with every attempt (time, status, latency, an
    /// excerpt of the response). Needs `webhooks:read`.
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries",
        tag = "Tag::Webhooks"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list_deliveries(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i32>,
        /// `pagination.next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only deliveries with this status.
        status: Query<Option<Wire<DeliveryStatus>>>,
    ) -> Result<DeliveryListResponse, ApiError> {
        #[derive(Deserialize)]
        struct Deliveries {
            item: PageResult<Delivery>,
        }
        let result: Deliveries = caller(req, &schema, &core)
            .run(
                ops::LIST_DELIVERIES.as_str(),
                json!({
                    "id": id.0,
                    "first": limit.0,
                    "after": cursor.0,
                    "status": status.0.map(wire_graphql),
                }),
            )
            .await?;
        let page = result.item.page;
        Ok(DeliveryListResponse::page(
            Typed(page.nodes),
            limit.0,
            page.page_info.has_next_page,
            page.page_info.end_cursor,
        )?)
    }

    /// Re-send a delivery
    ///
    /// Queues another attempt at a delivery now, whatever its status; the dispatcher
    /// makes it within about a second. The `webhook-id` stays the same. Needs
    /// `webhooks:write`.
    #[oai(
        path = "/webhooks/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "retryWebhookDelivery",
        tag = "Tag::Webhooks"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn retry_delivery(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(pattern = "^[!-~]{1,255}$"))]
        _idempotency_key: IdempotencyKey,
        /// The webhook's id (`wh_…`).
        id: Path<String>,
        /// The delivery's id (`dlv_…`).
        delivery_id: Path<String>,
    ) -> Result<DeliveryQueuedResponse, ApiError> {
        let result: ItemResult<Delivery> = caller(req, &schema, &core)
            .run(
                ops::RETRY_WEBHOOK_DELIVERY.as_str(),
                json!({ "webhookId": id.0, "deliveryId": delivery_id.0 }),
            )
            .await?;
        Ok(DeliveryQueuedResponse::Accepted(Json(DeliveryEnvelope {
            success: Succeeded,
            data: result.item,
        })))
    }

    /// List events
    ///
    /// Events of the last 30 days, newest first: what webhooks deliver. Needs
    /// `webhooks:read`, and each type its resource's read scope (`payment.*` needs
    /// `payments:read`); types you may not read are left out.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/events",
        method = "get",
        operation_id = "listEvents",
        tag = "Tag::Events"
    )]
    async fn list_events(
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
        /// Only events created strictly after this instant (RFC 3339).
        created_after: Query<Option<DateTime<Utc>>>,
        /// Only events created strictly before this instant (RFC 3339).
        created_before: Query<Option<DateTime<Utc>>>,
        /// Only this event type, e.g. `payment.created`.
        #[oai(name = "type")]
        event_type: Query<Option<Wire<EventSelector>>>,
    ) -> Result<EventListResponse, ApiError> {
        let mut filter = Filter::time(created_after.0, created_before.0, None);
        let only = event_type.0.and_then(|t| match t.get() {
            EventSelector::All => None,
            EventSelector::Type(t) => Some(t),
        });
        filter.set("types", only.map(|t| json!([t.graphql_name()])));
        let (data, more, next) = list(
            caller(req, &schema, &core),
            ops::LIST_EVENTS.as_str(),
            filter.variables(limit.0, cursor.0),
        )
        .await?;
        Ok(EventListResponse::page(data, limit.0, more, next)?)
    }

    /// Get an event
    ///
    /// An event by id (`evt_…`, also the `webhook-id` of its deliveries). Needs
    /// `webhooks:read` and the read scope of the event's resource.
    #[oai(
        path = "/events/:id",
        method = "get",
        operation_id = "getEvent",
        tag = "Tag::Events"
    )]
    async fn get_event(
        &self,
        req: &Request,
        schema: Data<&RestSchema>,
        core: Data<&Core>,
        _auth: BearerAuth,
        /// The event's id (`evt_…`), also the `webhook-id` of its deliveries.
        id: Path<String>,
    ) -> Result<EventResponse, ApiError> {
        let event = get(caller(req, &schema, &core), ops::GET_EVENT.as_str(), id.0).await?;
        Ok(EventResponse::item(event)?)
    }
}
