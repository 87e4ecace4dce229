//! Webhook subscriptions, their deliveries and attempts, on the wire.

use entities::{webhook_attempt, webhook_delivery, webhook_subscription};
use poem_openapi::Object;
use poem_openapi::types::Example;
use serde::{Deserialize, Serialize};

use super::enums::{Wire, WireEnum};
use super::event::{EXAMPLE_EVENT_ID, EventSelector, EventType};
use super::scalars::Timestamp;
use crate::ids::{IdKind, encode};

/// Whether a response status counts as delivered: any 2xx.
pub fn is_success(status: Option<i32>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

/// A subscription: where events are sent, and which.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Webhook {
    /// `wh_…`
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// What the webhook is for, as you described it.
    pub description: Option<String>,
    /// Event types sent here, or `["*"]` for all.
    pub event_types: Vec<Wire<EventSelector>>,
    /// Whether deliveries are sent (a disabled webhook keeps its pending deliveries).
    pub enabled: bool,
    /// Why it is disabled: by the organization, a 410 Gone, or five days of failures.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation also signs.
    pub previous_secret_expires_at: Option<Timestamp>,
    /// Since when every attempt has failed; null while deliveries succeed.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A subscription's event types as stored (`*` or a comma list), one per item.
pub fn event_types(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The same, typed. Stored lists are validated when written, so nothing is dropped.
pub fn event_selectors(stored: &str) -> Vec<EventSelector> {
    stored
        .split(',')
        .filter_map(|t| EventSelector::from_wire(t.trim()))
        .collect()
}

/// A stored event type. Events are only recorded with an [`EventType`]
/// (`events::record`); `None` would mean a row written by something else.
pub fn event_type(stored: &str) -> Option<EventType> {
    EventType::from_wire(stored)
}

impl From<&webhook_subscription::Model> for Webhook {
    fn from(m: &webhook_subscription::Model) -> Self {
        let now = crate::time::now();
        Webhook {
            id: encode(IdKind::Webhook, m.id),
            url: m.url.clone(),
            description: m.description.clone(),
            event_types: event_selectors(&m.event_types)
                .into_iter()
                .map(Wire)
                .collect(),
            enabled: m.enabled,
            disabled_reason: m.disabled_reason.clone(),
            previous_secret_expires_at: Timestamp::optional(
                m.previous_secret_expires_at.filter(|until| *until > now),
            ),
            failing_since: Timestamp::optional(m.failing_since),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// A webhook with its signing secret, returned once: on create and on rotation.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct WebhookWithSecret {
    #[oai(flatten)]
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Shown only now.
    pub secret: String,
}

/// One HTTP request made for a delivery.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    /// When the request was sent.
    pub attempted_at: Timestamp,
    /// Whether the endpoint answered 2xx in time.
    pub succeeded: bool,
    /// The response status; null when none came.
    pub status_code: Option<i32>,
    /// Why no usable response came (timeout, refused, DNS, …).
    pub error: Option<String>,
    /// How long the endpoint took to answer, in milliseconds.
    pub latency_ms: i64,
    /// The first kilobyte of the response body.
    pub response_excerpt: Option<String>,
}

impl From<&webhook_attempt::Model> for DeliveryAttempt {
    fn from(m: &webhook_attempt::Model) -> Self {
        DeliveryAttempt {
            attempt: m.attempt_number,
            attempted_at: Timestamp::from_utc(m.created_at),
            succeeded: is_success(m.status_code),
            status_code: m.status_code,
            error: m.error.clone(),
            latency_ms: m.latency_ms,
            response_excerpt: m.response_excerpt.clone(),
        }
    }
}

/// One event on its way to one webhook, with every attempt.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Delivery {
    /// `dlv_…`
    pub id: String,
    /// `wh_…`
    pub webhook_id: String,
    /// `evt_…`, also the `webhook-id` header of every attempt.
    pub event_id: String,
    /// The event's type.
    pub event_type: Wire<EventType>,
    pub status: Wire<webhook_delivery::DeliveryStatus>,
    /// Attempts made so far.
    pub attempt_count: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// When the last attempt was made; null before the first.
    pub last_attempt_at: Option<Timestamp>,
    /// Oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Delivery {
    pub fn new(m: &webhook_delivery::Model, attempts: &[webhook_attempt::Model]) -> Self {
        Delivery {
            id: encode(IdKind::Delivery, m.id),
            webhook_id: encode(IdKind::Webhook, m.subscription_id),
            event_id: encode(IdKind::Event, m.event_id),
            event_type: Wire(event_type(&m.event_type).unwrap_or(EventType::WebhookTest)),
            status: Wire(m.status),
            attempt_count: m.attempt_count,
            next_attempt_at: Timestamp::optional(m.next_attempt_at),
            last_attempt_at: Timestamp::optional(m.last_attempt_at),
            attempts: attempts.iter().map(DeliveryAttempt::from).collect(),
            created_at: Timestamp::from_utc(m.created_at),
            updated_at: Timestamp::from_utc(m.updated_at),
        }
    }
}

/// What a test delivery came to.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct WebhookTestResult {
    /// Whether the endpoint answered 2xx within 15 s.
    pub succeeded: bool,
    /// The attempt made.
    pub attempt: DeliveryAttempt,
    /// The delivery of the `webhook.test` event the attempt belongs to.
    pub delivery: Delivery,
}

/// A deleted object.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct Deleted {
    /// The deleted object's id.
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

pub const EXAMPLE_WEBHOOK_ID: &str = "wh_01mbx6d9k0e5n2p8r4s7t1v3w6";
pub const EXAMPLE_DELIVERY_ID: &str = "dlv_01mbx7q2r8g3h5j7k9m1n3p5q7";

fn ts(text: &str) -> Timestamp {
    Timestamp(text.to_owned())
}

impl Example for Webhook {
    fn example() -> Self {
        Webhook {
            id: EXAMPLE_WEBHOOK_ID.into(),
            url: "https://hooks.example.com/aura".into(),
            description: Some("Commission sync".into()),
            event_types: vec![
                Wire(EventSelector::Type(EventType::PaymentCreated)),
                Wire(EventSelector::Type(EventType::PaymentRefunded)),
            ],
            enabled: true,
            disabled_reason: None,
            previous_secret_expires_at: None,
            failing_since: None,
            created_at: ts("2026-11-01T09:00:00Z"),
            updated_at: ts("2026-11-01T09:00:00Z"),
        }
    }
}

impl Example for WebhookWithSecret {
    fn example() -> Self {
        WebhookWithSecret {
            webhook: Webhook::example(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQzE1Zm9vYmFyYmF6".into(),
        }
    }
}

impl Example for DeliveryAttempt {
    fn example() -> Self {
        DeliveryAttempt {
            attempt: 1,
            attempted_at: ts("2026-11-28T10:00:00Z"),
            succeeded: true,
            status_code: Some(200),
            error: None,
            latency_ms: 84,
            response_excerpt: Some("ok".into()),
        }
    }
}

impl Example for Delivery {
    fn example() -> Self {
        Delivery {
            id: EXAMPLE_DELIVERY_ID.into(),
            webhook_id: EXAMPLE_WEBHOOK_ID.into(),
            event_id: EXAMPLE_EVENT_ID.into(),
            event_type: Wire(EventType::PaymentCreated),
            status: Wire(webhook_delivery::DeliveryStatus::Succeeded),
            attempt_count: 1,
            next_attempt_at: None,
            last_attempt_at: Some(ts("2026-11-28T10:00:00Z")),
            attempts: vec![DeliveryAttempt::example()],
            created_at: ts("2026-11-28T10:00:00Z"),
            updated_at: ts("2026-11-28T10:00:00Z"),
        }
    }
}

impl Example for WebhookTestResult {
    fn example() -> Self {
        WebhookTestResult {
            succeeded: true,
            attempt: DeliveryAttempt::example(),
            delivery: Delivery {
                event_type: Wire(EventType::WebhookTest),
                ..Delivery::example()
            },
        }
    }
}

impl Example for Deleted {
    fn example() -> Self {
        Deleted {
            id: EXAMPLE_WEBHOOK_ID.into(),
            deleted: true,
        }
    }
}
