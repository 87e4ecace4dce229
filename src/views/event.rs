//! Events on the wire: the one list of event types with their names, the scope reading
//! each needs, and the event object that webhooks, `GET /v1/events` and live
//! subscriptions carry.

use std::sync::OnceLock;

use entities::event;
use poem_openapi::Object;
use poem_openapi::types::Example;
use serde::{Deserialize, Serialize};

use super::enums::{Names, WireEnum, graphql_spelling, wire_enum};
use super::scalars::Timestamp;
use crate::domain::Scope;
use crate::ids::{IdKind, encode};

wire_enum!(
    /// Every event type Aura publishes.
    pub enum EventType = "EventType", "What happened: `<resource>.<change>`.", {
        LeadCreated = "lead.created" => "A lead was created (in the app, or by a booking).",
        LeadUpdated = "lead.updated" => "A lead's fields, status or owner changed.",
        CallBooked = "call.booked" => "A call was booked (in the app, or through a booking link).",
        CallUpdated = "call.updated" => "A call moved, changed hands, or got its outcome.",
        CallCanceled = "call.canceled" => "A call was canceled.",
        PaymentCreated = "payment.created" => "A payment was recorded.",
        PaymentUpdated = "payment.updated" => "A payment's status, time or people changed.",
        PaymentRefunded = "payment.refunded" => "A payment was refunded in full.",
        TeamMemberCreated = "team_member.created" => "A team member was added.",
        TeamMemberUpdated = "team_member.updated" => "A team member's details or rate changed.",
        ProductCreated = "product.created" => "A product was added to the catalog.",
        ProductUpdated = "product.updated" => "A product changed.",
        BookingLinkCreated = "booking_link.created" => "A booking link was created.",
        BookingLinkUpdated = "booking_link.updated" => "A booking link changed.",
        WebhookTest = "webhook.test" => "A test event sent to one webhook on request.",
    }
);

impl EventType {
    pub fn as_str(self) -> &'static str {
        self.wire_name()
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::from_wire(text)
    }

    /// The scope that reading an event of this type needs: the read scope of its resource,
    /// since the event carries the resource's object.
    pub fn read_scope(self) -> Scope {
        match self {
            EventType::LeadCreated | EventType::LeadUpdated => Scope::LeadsRead,
            EventType::CallBooked | EventType::CallUpdated | EventType::CallCanceled => {
                Scope::CallsRead
            }
            EventType::PaymentCreated | EventType::PaymentUpdated | EventType::PaymentRefunded => {
                Scope::PaymentsRead
            }
            EventType::TeamMemberCreated | EventType::TeamMemberUpdated => Scope::TeamRead,
            EventType::ProductCreated | EventType::ProductUpdated => Scope::ProductsRead,
            EventType::BookingLinkCreated | EventType::BookingLinkUpdated => {
                Scope::BookingLinksRead
            }
            EventType::WebhookTest => Scope::WebhooksRead,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// What a webhook subscribes to: one event type, or `*` for all of them. Its names are
/// [`EventType`]'s plus `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventSelector {
    All,
    Type(EventType),
}

impl WireEnum for EventSelector {
    const NAME: &'static str = "EventTypeName";
    const DESCRIPTION: &'static str = "An event type a webhook can ask for, or `*` for every type.";

    fn names() -> &'static [Names<Self>] {
        static TABLE: OnceLock<Vec<Names<EventSelector>>> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut names = vec![Names {
                value: EventSelector::All,
                wire: "*",
                graphql: "ALL",
                description: "Every event type, present and future.",
            }];
            names.extend(EventType::names().iter().map(|n| Names {
                value: EventSelector::Type(n.value),
                wire: n.wire,
                graphql: n.graphql,
                description: n.description,
            }));
            names
        })
    }
}

impl EventSelector {
    pub fn as_str(self) -> &'static str {
        self.wire_name()
    }
}

/// Something that happened, as webhooks deliver it.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl From<&event::Model> for Event {
    fn from(m: &event::Model) -> Self {
        Event {
            id: encode(IdKind::Event, m.id),
            event_type: m.event_type.clone(),
            created_at: Timestamp::from_utc(m.created_at),
            data: m.data.clone(),
        }
    }
}

pub const EXAMPLE_EVENT_ID: &str = "evt_01jdq7m8n9p0q1r2s3t4v5w6x7";

impl Example for Event {
    fn example() -> Self {
        Event {
            id: EXAMPLE_EVENT_ID.into(),
            event_type: "payment.created".into(),
            created_at: Timestamp("2026-11-28T10:00:00Z".into()),
            data: serde_json::json!({"id": "pay_01jdq5p6q7r8s9t0v1w2x3y4z5", "amount": 150000, "currency": "USD"}),
        }
    }
}

/// The data of a `webhook.test` event.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTestData {
    /// The webhook the test was sent to (`wh_…`).
    pub webhook_id: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip_and_the_selector_adds_only_the_wildcard() {
        for t in EventType::values() {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(t.graphql_name(), graphql_spelling(t.as_str()));
        }
        assert_eq!(EventType::parse("lead.deleted"), None);
        assert_eq!(EventType::LeadCreated.graphql_name(), "LEAD_CREATED");
        assert_eq!(
            EventSelector::values().count(),
            EventType::values().count() + 1
        );
        assert_eq!(EventSelector::from_wire("*"), Some(EventSelector::All));
        assert_eq!(
            EventSelector::from_wire("call.booked"),
            Some(EventSelector::Type(EventType::CallBooked))
        );
    }
}
