//! The REST objects: snake_case views of the GraphQL types. Each is filled from the
//! GraphQL operation's result (its selection set aliases fields into these names), never
//! from entity models, so REST shows exactly what GraphQL shows.

use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use super::types::{DecimalString, Timestamp};

macro_rules! rest_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
        #[oai(rename_all = "snake_case")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The GraphQL spelling (`WON`), for operation variables.
            pub fn graphql(self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or_default()
            }
        }
    };
}

rest_enum!(
    /// Where a lead is in the pipeline.
    LeadStatus { New, Contacted, Qualified, Booked, Won, Lost }
);
rest_enum!(
    /// What happened to a call.
    CallStatus { Scheduled, Completed, NoShow, Canceled, Rescheduled }
);
rest_enum!(
    /// A team member's role.
    TeamRole { Owner, Admin, Manager, Closer, Setter }
);
rest_enum!(
    /// How a product is billed.
    Billing { OneTime, Recurring, PaymentPlan }
);
rest_enum!(
    /// Where a payment stands.
    PaymentStatus { Pending, Succeeded, Failed, Refunded }
);
rest_enum!(
    /// Which side of a sale a team member was on.
    CommissionRole { Closer, Setter }
);

/// What a payment earns one team member.
#[derive(Object, Debug, Clone, Deserialize)]
pub struct Commission {
    /// `tm_…`
    pub team_member_id: String,
    pub role: CommissionRole,
    /// The member's rate when the payment was paid.
    pub rate: DecimalString,
    /// `amount × rate` in minor units of `currency`, exact; `"0"` unless the payment
    /// succeeded.
    pub amount: DecimalString,
    pub currency: String,
}

/// Commissions earned in one currency over a period.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct CommissionTotal {
    pub currency: String,
    /// Minor units of `currency`, exact.
    pub amount: DecimalString,
    /// Succeeded payments counted.
    pub payments: i64,
}

impl Example for CommissionTotal {
    fn example() -> Self {
        CommissionTotal {
            currency: "USD".into(),
            amount: DecimalString("187462.5".into()),
            payments: 14,
        }
    }
}

/// Marketing attribution captured with the lead.
#[derive(Object, Debug, Clone, Deserialize)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

/// A prospect in the sales pipeline.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Lead {
    /// `lead_…`
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Where the lead came from (`facebook_ads`, `referral`, …).
    pub source: Option<String>,
    pub status: LeadStatus,
    /// The team member who owns the lead (`tm_…`).
    pub assigned_team_member_id: Option<String>,
    pub utm: Utm,
    /// Free-form answers and fields collected with the lead.
    pub custom_fields: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A sales call with a lead.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Call {
    /// `call_…`
    pub id: String,
    /// `lead_…`
    pub lead_id: String,
    /// The team member who runs the call (`tm_…`).
    pub closer_id: Option<String>,
    /// The team member who set the call up (`tm_…`).
    pub setter_id: Option<String>,
    /// The booking link it was booked through (`bl_…`).
    pub booking_link_id: Option<String>,
    pub scheduled_at: Timestamp,
    pub duration_minutes: i32,
    pub status: CallStatus,
    /// What came of the call (`closed_won`, `follow_up`, …), once logged.
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A member of the sales team.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct TeamMember {
    /// `tm_…`
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: TeamRole,
    /// The fraction of a payment this member earns, as an exact decimal string
    /// (`"0.1"` is 10 %).
    pub commission_rate: DecimalString,
    pub active: bool,
    /// IANA time zone.
    pub timezone: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One stretch of bookable time in a week, in the link's time zone.
#[derive(Object, Debug, Clone, Deserialize)]
pub struct WeeklyInterval {
    /// `mon` … `sun`.
    pub day: String,
    /// `HH:MM`, 24-hour.
    pub start: String,
    /// `HH:MM`, 24-hour.
    pub end: String,
}

/// A bookable calendar: widgets show its free slots and book calls through it.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct BookingLink {
    /// `bl_…`
    pub id: String,
    /// Unique across Aura; widgets address the link by it.
    pub slug: String,
    pub name: String,
    /// The team member whose calendar the link books (`tm_…`).
    pub owner_id: String,
    pub duration_minutes: i32,
    /// IANA time zone the weekly hours are written in.
    pub timezone: String,
    pub weekly_hours: Vec<WeeklyInterval>,
    /// Minutes kept free after each call.
    pub buffer_minutes: i32,
    /// How far ahead a slot must be booked, in minutes.
    pub min_notice_minutes: i32,
    /// How many days ahead slots are offered.
    pub horizon_days: i32,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Something the team sells.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Product {
    /// `prod_…`
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Price in minor units of `currency` (cents for USD).
    pub price_amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub billing: Billing,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Money received from a lead.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Payment {
    /// `pay_…`
    pub id: String,
    /// `lead_…`
    pub lead_id: String,
    /// `prod_…`
    pub product_id: Option<String>,
    /// `tm_…`
    pub closer_id: Option<String>,
    /// `tm_…`
    pub setter_id: Option<String>,
    /// Minor units of `currency` (cents for USD).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub status: PaymentStatus,
    /// `stripe`, `paypal`, `wire`, …
    pub processor: String,
    /// The processor's own id for the payment.
    pub external_id: Option<String>,
    pub paid_at: Option<Timestamp>,
    /// What the payment earns its closer and setter.
    pub commissions: Vec<Commission>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn ts(text: &str) -> Timestamp {
    Timestamp(text.to_owned())
}

impl Example for Lead {
    fn example() -> Self {
        Lead {
            id: "lead_01jdq3k7b8x9m2n4p5r6s7t8v9".into(),
            name: "Ava Nguyen".into(),
            email: Some("ava.nguyen@example.com".into()),
            phone: Some("+15550100123".into()),
            source: Some("facebook_ads".into()),
            status: LeadStatus::Booked,
            assigned_team_member_id: Some("tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into()),
            utm: Utm {
                source: Some("facebook_ads".into()),
                medium: Some("cpc".into()),
                campaign: Some("q4_scale".into()),
                term: None,
                content: Some("ad_3".into()),
            },
            custom_fields: serde_json::json!({"budget": "10k_25k", "team_size": "2_10"}),
            created_at: ts("2026-11-02T15:04:05Z"),
            updated_at: ts("2026-11-03T09:00:00Z"),
        }
    }
}

impl Example for Call {
    fn example() -> Self {
        Call {
            id: "call_01jdq4m0n1p2q3r4s5t6v7w8x9".into(),
            lead_id: "lead_01jdq3k7b8x9m2n4p5r6s7t8v9".into(),
            closer_id: Some("tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into()),
            setter_id: None,
            booking_link_id: Some("bl_01jdq1z9y8x7w6v5t4s3r2q1p0".into()),
            scheduled_at: ts("2026-11-05T16:00:00Z"),
            duration_minutes: 45,
            status: CallStatus::Completed,
            outcome: Some("closed_won".into()),
            notes: Some("Discussed goals, budget and timeline.".into()),
            created_at: ts("2026-11-02T15:10:00Z"),
            updated_at: ts("2026-11-05T17:00:00Z"),
        }
    }
}

impl Example for TeamMember {
    fn example() -> Self {
        TeamMember {
            id: "tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into(),
            name: "Riley Chen".into(),
            email: "riley.chen@acme.example".into(),
            role: TeamRole::Closer,
            commission_rate: DecimalString("0.125".into()),
            active: true,
            timezone: "America/New_York".into(),
            created_at: ts("2026-08-01T12:00:00Z"),
            updated_at: ts("2026-08-01T12:00:00Z"),
        }
    }
}

impl Example for BookingLink {
    fn example() -> Self {
        BookingLink {
            id: "bl_01jdq1z9y8x7w6v5t4s3r2q1p0".into(),
            slug: "acme-strategy-call".into(),
            name: "Strategy Call".into(),
            owner_id: "tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into(),
            duration_minutes: 45,
            timezone: "America/New_York".into(),
            weekly_hours: vec![WeeklyInterval {
                day: "mon".into(),
                start: "09:00".into(),
                end: "17:00".into(),
            }],
            buffer_minutes: 15,
            min_notice_minutes: 240,
            horizon_days: 30,
            active: true,
            created_at: ts("2026-08-02T12:00:00Z"),
            updated_at: ts("2026-08-02T12:00:00Z"),
        }
    }
}

impl Example for Product {
    fn example() -> Self {
        Product {
            id: "prod_01jdq0a0b0c0d0e0f0g0h0j0k0".into(),
            name: "Sales Accelerator Program".into(),
            description: Some("Eight-week group program with weekly live calls.".into()),
            price_amount: 499_700,
            currency: "USD".into(),
            billing: Billing::OneTime,
            active: true,
            created_at: ts("2026-08-03T12:00:00Z"),
            updated_at: ts("2026-08-03T12:00:00Z"),
        }
    }
}

impl Example for Payment {
    fn example() -> Self {
        Payment {
            id: "pay_01jdq5p6q7r8s9t0v1w2x3y4z5".into(),
            lead_id: "lead_01jdq3k7b8x9m2n4p5r6s7t8v9".into(),
            product_id: Some("prod_01jdq0a0b0c0d0e0f0g0h0j0k0".into()),
            closer_id: Some("tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into()),
            setter_id: None,
            amount: 150_000,
            currency: "USD".into(),
            status: PaymentStatus::Succeeded,
            processor: "stripe".into(),
            external_id: Some("pi_3Nq8f2eZvKYlo2C0".into()),
            paid_at: Some(ts("2026-11-05T17:30:00Z")),
            commissions: vec![Commission {
                team_member_id: "tm_01jdq2a1b2c3d4e5f6g7h8j9k0".into(),
                role: CommissionRole::Closer,
                rate: DecimalString("0.125".into()),
                amount: DecimalString("18750".into()),
                currency: "USD".into(),
            }],
            created_at: ts("2026-11-05T17:30:00Z"),
            updated_at: ts("2026-11-05T17:30:00Z"),
        }
    }
}

rest_enum!(
    /// Where a webhook delivery stands.
    DeliveryStatus { Pending, Succeeded, Failed }
);

/// A subscription: where events are sent, and which.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Webhook {
    /// `wh_…`
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    pub description: Option<String>,
    /// Event types sent here, or `["*"]` for all.
    pub event_types: Vec<String>,
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

/// A webhook with its signing secret, returned once: on create and on rotation.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct WebhookWithSecret {
    #[oai(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Shown only now.
    pub secret: String,
}

/// One HTTP request made for a delivery.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub attempted_at: Timestamp,
    /// Whether the endpoint answered 2xx in time.
    pub succeeded: bool,
    /// The response status; null when none came.
    pub status_code: Option<i32>,
    /// Why no usable response came (timeout, refused, DNS, …).
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The first kilobyte of the response body.
    pub response_excerpt: Option<String>,
}

/// One event on its way to one webhook, with every attempt.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Delivery {
    /// `dlv_…`
    pub id: String,
    /// `wh_…`
    pub webhook_id: String,
    /// `evt_…`, also the `webhook-id` header of every attempt.
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempt_count: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    /// Oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Something that happened, as webhooks deliver it.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Event {
    /// `evt_…`
    pub id: String,
    /// `lead.created`, `payment.refunded`, …
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: Timestamp,
    /// The resource's REST object at the time of the event.
    pub data: serde_json::Value,
}

/// What a test delivery came to.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct WebhookTestResult {
    /// Whether the endpoint answered 2xx within 15 s.
    pub succeeded: bool,
    pub attempt: DeliveryAttempt,
    pub delivery: Delivery,
}

/// A deleted object.
#[derive(Object, Debug, Clone, Deserialize)]
#[oai(example)]
pub struct Deleted {
    pub id: String,
    /// Always `true`.
    pub deleted: bool,
}

/// A new webhook.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct CreateWebhookBody {
    /// An `https://` (or `http://`) URL that resolves to a public address.
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// Event types to send (`lead.created`, …), or `["*"]` for all.
    #[oai(validator(min_items = 1, max_items = 32))]
    pub event_types: Vec<EventTypeName>,
    /// `true` when omitted.
    pub enabled: Option<bool>,
}

/// Changes to a webhook. Omitted fields keep their value; `"description": null` clears it.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct UpdateWebhookBody {
    #[oai(validator(max_length = 2048))]
    pub url: Option<String>,
    pub description: poem_openapi::types::MaybeUndefined<String>,
    #[oai(validator(min_items = 1, max_items = 32))]
    pub event_types: Option<Vec<EventTypeName>>,
    /// `true` re-enables a disabled webhook (and forgets its failures).
    pub enabled: Option<bool>,
}

/// An event type a webhook can ask for, or `*` for every type.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum EventTypeName {
    #[oai(rename = "*")]
    #[serde(rename = "*")]
    All,
    #[oai(rename = "lead.created")]
    #[serde(rename = "lead.created")]
    LeadCreated,
    #[oai(rename = "lead.updated")]
    #[serde(rename = "lead.updated")]
    LeadUpdated,
    #[oai(rename = "call.booked")]
    #[serde(rename = "call.booked")]
    CallBooked,
    #[oai(rename = "call.updated")]
    #[serde(rename = "call.updated")]
    CallUpdated,
    #[oai(rename = "call.canceled")]
    #[serde(rename = "call.canceled")]
    CallCanceled,
    #[oai(rename = "payment.created")]
    #[serde(rename = "payment.created")]
    PaymentCreated,
    #[oai(rename = "payment.updated")]
    #[serde(rename = "payment.updated")]
    PaymentUpdated,
    #[oai(rename = "payment.refunded")]
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    #[oai(rename = "team_member.created")]
    #[serde(rename = "team_member.created")]
    TeamMemberCreated,
    #[oai(rename = "team_member.updated")]
    #[serde(rename = "team_member.updated")]
    TeamMemberUpdated,
    #[oai(rename = "product.created")]
    #[serde(rename = "product.created")]
    ProductCreated,
    #[oai(rename = "product.updated")]
    #[serde(rename = "product.updated")]
    ProductUpdated,
    #[oai(rename = "booking_link.created")]
    #[serde(rename = "booking_link.created")]
    BookingLinkCreated,
    #[oai(rename = "booking_link.updated")]
    #[serde(rename = "booking_link.updated")]
    BookingLinkUpdated,
    #[oai(rename = "webhook.test")]
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventTypeName {
    /// The name as GraphQL takes it (`lead.created`, `*`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventTypeName::All => "*",
            EventTypeName::LeadCreated => "lead.created",
            EventTypeName::LeadUpdated => "lead.updated",
            EventTypeName::CallBooked => "call.booked",
            EventTypeName::CallUpdated => "call.updated",
            EventTypeName::CallCanceled => "call.canceled",
            EventTypeName::PaymentCreated => "payment.created",
            EventTypeName::PaymentUpdated => "payment.updated",
            EventTypeName::PaymentRefunded => "payment.refunded",
            EventTypeName::TeamMemberCreated => "team_member.created",
            EventTypeName::TeamMemberUpdated => "team_member.updated",
            EventTypeName::ProductCreated => "product.created",
            EventTypeName::ProductUpdated => "product.updated",
            EventTypeName::BookingLinkCreated => "booking_link.created",
            EventTypeName::BookingLinkUpdated => "booking_link.updated",
            EventTypeName::WebhookTest => "webhook.test",
        }
    }
}

const EXAMPLE_WEBHOOK_ID: &str = "wh_01jdq7a8b9c0d1e2f3g4h5j6k7";
const EXAMPLE_EVENT_ID: &str = "evt_01jdq7m8n9p0q1r2s3t4v5w6x7";

impl Example for Webhook {
    fn example() -> Self {
        Webhook {
            id: EXAMPLE_WEBHOOK_ID.into(),
            url: "https://hooks.example.com/aura".into(),
            description: Some("Commission sync".into()),
            event_types: vec!["payment.created".into(), "payment.refunded".into()],
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
            id: "dlv_01jdq7p8q9r0s1t2v3w4x5y6z7".into(),
            webhook_id: EXAMPLE_WEBHOOK_ID.into(),
            event_id: EXAMPLE_EVENT_ID.into(),
            event_type: "payment.created".into(),
            status: DeliveryStatus::Succeeded,
            attempt_count: 1,
            next_attempt_at: None,
            last_attempt_at: Some(ts("2026-11-28T10:00:00Z")),
            attempts: vec![DeliveryAttempt::example()],
            created_at: ts("2026-11-28T10:00:00Z"),
            updated_at: ts("2026-11-28T10:00:00Z"),
        }
    }
}

impl Example for Event {
    fn example() -> Self {
        Event {
            id: EXAMPLE_EVENT_ID.into(),
            event_type: "payment.created".into(),
            created_at: ts("2026-11-28T10:00:00Z"),
            data: serde_json::json!({"id": "pay_01jdq5p6q7r8s9t0v1w2x3y4z5", "amount": 150000, "currency": "USD"}),
        }
    }
}

impl Example for WebhookTestResult {
    fn example() -> Self {
        WebhookTestResult {
            succeeded: true,
            attempt: DeliveryAttempt::example(),
            delivery: Delivery {
                event_type: "webhook.test".into(),
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

impl Example for CreateWebhookBody {
    fn example() -> Self {
        CreateWebhookBody {
            url: "https://hooks.example.com/aura".into(),
            description: Some("Commission sync".into()),
            event_types: vec![
                EventTypeName::PaymentCreated,
                EventTypeName::PaymentRefunded,
            ],
            enabled: None,
        }
    }
}

impl Example for UpdateWebhookBody {
    fn example() -> Self {
        UpdateWebhookBody {
            url: None,
            description: poem_openapi::types::MaybeUndefined::Undefined,
            event_types: Some(vec![EventTypeName::All]),
            enabled: Some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventTypeName;

    #[test]
    fn every_published_event_type_has_a_rest_name() {
        for event_type in crate::events::EventType::ALL {
            let name: EventTypeName =
                serde_json::from_value(serde_json::json!(event_type.as_str())).unwrap();
            assert_eq!(name.as_str(), event_type.as_str());
        }
    }
}
