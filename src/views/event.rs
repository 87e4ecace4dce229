//! Events on the wire: the one list of event types with their names, the scope reading
//! each needs, and the event object that webhooks, `GET /v1/events` and live
//! subscriptions carry.

use std::borrow::Cow;
use std::sync::OnceLock;

use entities::event;
use poem_openapi::Object;
use poem_openapi::registry::{MetaDiscriminatorObject, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::{Deserialize, Serialize};

use super::enums::{Names, Wire, WireEnum, graphql_spelling, wire_enum};
use super::resources::{BookingLink, Call, Lead, Payment, Product, TeamMember};
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

/// What an event is about: its resource, whose REST object is the event's `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSubject {
    Lead,
    Call,
    Payment,
    TeamMember,
    Product,
    BookingLink,
    WebhookTest,
}

impl EventSubject {
    pub const ALL: [EventSubject; 7] = [
        EventSubject::Lead,
        EventSubject::Call,
        EventSubject::Payment,
        EventSubject::TeamMember,
        EventSubject::Product,
        EventSubject::BookingLink,
        EventSubject::WebhookTest,
    ];

    /// The event types about this subject.
    pub fn types(self) -> impl Iterator<Item = EventType> {
        EventType::values().filter(move |t| t.subject() == self)
    }

    /// The scope reading its events needs: its resource's read scope.
    pub fn read_scope(self) -> Scope {
        match self {
            EventSubject::Lead => Scope::LeadsRead,
            EventSubject::Call => Scope::CallsRead,
            EventSubject::Payment => Scope::PaymentsRead,
            EventSubject::TeamMember => Scope::TeamRead,
            EventSubject::Product => Scope::ProductsRead,
            EventSubject::BookingLink => Scope::BookingLinksRead,
            EventSubject::WebhookTest => Scope::WebhooksRead,
        }
    }

    /// Its name in schema names (`LeadEvent`, `LeadWebhookPayload`).
    fn schema_prefix(self) -> &'static str {
        match self {
            EventSubject::Lead => "Lead",
            EventSubject::Call => "Call",
            EventSubject::Payment => "Payment",
            EventSubject::TeamMember => "TeamMember",
            EventSubject::Product => "Product",
            EventSubject::BookingLink => "BookingLink",
            EventSubject::WebhookTest => "WebhookTest",
        }
    }

    /// What its `data` is, in words.
    fn data_description(self) -> &'static str {
        match self {
            EventSubject::Lead => {
                "The lead as `GET /v1/leads/{id}` returned it at the time of the event."
            }
            EventSubject::Call => {
                "The call as `GET /v1/calls/{id}` returned it at the time of the event."
            }
            EventSubject::Payment => {
                "The payment as `GET /v1/payments/{id}` returned it at the time of the event."
            }
            EventSubject::TeamMember => {
                "The team member as `GET /v1/team/{id}` returned it at the time of the event."
            }
            EventSubject::Product => {
                "The product as `GET /v1/products/{id}` returned it at the time of the event."
            }
            EventSubject::BookingLink => {
                "The booking link as `GET /v1/booking-links/{id}` returned it at the time of the event."
            }
            EventSubject::WebhookTest => "Which webhook the test was sent to, and a message.",
        }
    }

    /// Registers the view its `data` holds and returns a reference to it.
    fn data_schema(self, registry: &mut Registry) -> MetaSchemaRef {
        fn view<T: Type>(registry: &mut Registry) -> MetaSchemaRef {
            T::register(registry);
            T::schema_ref()
        }
        match self {
            EventSubject::Lead => view::<Lead>(registry),
            EventSubject::Call => view::<Call>(registry),
            EventSubject::Payment => view::<Payment>(registry),
            EventSubject::TeamMember => view::<TeamMember>(registry),
            EventSubject::Product => view::<Product>(registry),
            EventSubject::BookingLink => view::<BookingLink>(registry),
            EventSubject::WebhookTest => view::<WebhookTestData>(registry),
        }
    }

    /// A realistic `data` of this subject.
    fn example_data(self) -> serde_json::Value {
        match self {
            EventSubject::Lead => super::to_json(&Lead::example()),
            EventSubject::Call => super::to_json(&Call::example()),
            EventSubject::Payment => super::to_json(&Payment::example()),
            EventSubject::TeamMember => super::to_json(&TeamMember::example()),
            EventSubject::Product => super::to_json(&Product::example()),
            EventSubject::BookingLink => super::to_json(&BookingLink::example()),
            EventSubject::WebhookTest => super::to_json(&WebhookTestData::example()),
        }
    }
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        self.wire_name()
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::from_wire(text)
    }

    /// What the event is about, and so what its `data` holds.
    pub fn subject(self) -> EventSubject {
        match self {
            EventType::LeadCreated | EventType::LeadUpdated => EventSubject::Lead,
            EventType::CallBooked | EventType::CallUpdated | EventType::CallCanceled => {
                EventSubject::Call
            }
            EventType::PaymentCreated | EventType::PaymentUpdated | EventType::PaymentRefunded => {
                EventSubject::Payment
            }
            EventType::TeamMemberCreated | EventType::TeamMemberUpdated => EventSubject::TeamMember,
            EventType::ProductCreated | EventType::ProductUpdated => EventSubject::Product,
            EventType::BookingLinkCreated | EventType::BookingLinkUpdated => {
                EventSubject::BookingLink
            }
            EventType::WebhookTest => EventSubject::WebhookTest,
        }
    }

    /// The scope that reading an event of this type needs: the read scope of its resource,
    /// since the event carries the resource's object.
    pub fn read_scope(self) -> Scope {
        self.subject().read_scope()
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

/// Something that happened, as `GET /v1/events` lists it. In the OpenAPI document it is a
/// `oneOf` discriminated by `type`: one variant per [`EventSubject`] (`LeadEvent`,
/// `PaymentEvent`, …) whose `data` references that resource's schema. `data` is kept as
/// the JSON recorded with the event: it was written from the view when the event
/// committed (`views::to_json`), so it already has the view's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: Wire<EventType>,
    pub created_at: Timestamp,
    /// The resource's REST object at the time of the event.
    pub data: serde_json::Value,
}

impl From<&event::Model> for Event {
    fn from(m: &event::Model) -> Self {
        Event {
            id: encode(IdKind::Event, m.id),
            // Events are recorded only with an `EventType` (`events::record`).
            event_type: Wire(EventType::parse(&m.event_type).unwrap_or(EventType::WebhookTest)),
            created_at: Timestamp::from_utc(m.created_at),
            data: m.data.clone(),
        }
    }
}

/// The body of a webhook delivery: `{"type", "timestamp", "data"}` (CONTRACT.md,
/// "Webhooks"); the event's id travels in the `webhook-id` header. Documented like
/// [`Event`], as a `oneOf` discriminated by `type` (`LeadWebhookPayload`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    pub event_type: Wire<EventType>,
    /// When the event happened (not when this attempt was made).
    pub timestamp: Timestamp,
    /// The resource's REST object at the time of the event.
    pub data: serde_json::Value,
}

impl From<&event::Model> for WebhookPayload {
    fn from(m: &event::Model) -> Self {
        let event = Event::from(m);
        WebhookPayload {
            event_type: event.event_type,
            timestamp: event.created_at,
            data: event.data,
        }
    }
}

pub const EXAMPLE_EVENT_ID: &str = "evt_01mbx7q2r0f4k8n3p5s9t2v6w8";

fn example_event(subject: EventSubject) -> Event {
    let event_type = subject.types().next().unwrap_or(EventType::WebhookTest);
    Event {
        id: EXAMPLE_EVENT_ID.into(),
        event_type: Wire(event_type),
        created_at: Timestamp("2026-11-28T10:00:00Z".into()),
        data: subject.example_data(),
    }
}

impl Example for Event {
    fn example() -> Self {
        example_event(EventSubject::Payment)
    }
}

impl Example for WebhookPayload {
    fn example() -> Self {
        let event = Event::example();
        WebhookPayload {
            event_type: event.event_type,
            timestamp: event.created_at,
            data: event.data,
        }
    }
}

/// A variant's description ("An event of type `lead.created`, `lead.updated`. `data`: the
/// lead as …"), made once per process: the registry keeps `&'static str`s, and the
/// document is built more than once (`/docs` builds it per request).
fn variant_description(subject: EventSubject, event: bool) -> &'static str {
    static TEXTS: OnceLock<Vec<(EventSubject, bool, String)>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let mut texts = Vec::new();
        for subject in EventSubject::ALL {
            let types: Vec<&str> = subject.types().map(|t| t.wire_name()).collect();
            for event in [true, false] {
                let what = if event { "An event" } else { "A webhook body" };
                let text = format!(
                    "{what} of type `{}`. `data`: {}",
                    types.join("`, `"),
                    lowercase_first(subject.data_description())
                );
                texts.push((subject, event, text));
            }
        }
        texts
    });
    texts
        .iter()
        .find(|(s, e, _)| *s == subject && *e == event)
        .map_or("", |(_, _, text)| text.as_str())
}

/// `The lead …` → `the lead …`, to continue a sentence.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The members every variant of a body has besides `type` and `data`: those before `type`
/// and those after it (`data` comes last).
type Members = fn(&mut Registry) -> (Properties, Properties);
type Properties = Vec<(&'static str, MetaSchemaRef)>;

/// Registers `name` as a `oneOf` of one variant per subject (`<Subject><suffix>`), each an
/// object with `members`, `type` (its subject's types) and `data` (its subject's view),
/// discriminated by `type`.
fn register_union(
    registry: &mut Registry,
    name: &'static str,
    suffix: &'static str,
    description: &'static str,
    members: Members,
    example: serde_json::Value,
) {
    registry.create_schema::<Event, _>(name.to_owned(), |registry| {
        let mut variants = Vec::new();
        let mut mapping = Vec::new();
        for subject in EventSubject::ALL {
            // `WebhookTestEvent`, but `TestWebhookPayload` (not `WebhookTestWebhookPayload`).
            let variant = match (subject, suffix) {
                (EventSubject::WebhookTest, "WebhookPayload") => "TestWebhookPayload".to_owned(),
                _ => format!("{}{suffix}", subject.schema_prefix()),
            };
            let types: Vec<EventType> = subject.types().collect();
            let (mut properties, after_type) = members(registry);
            let mut type_schema = MetaSchema::new("string");
            type_schema.enum_items = types
                .iter()
                .map(|t| serde_json::Value::String(t.wire_name().to_owned()))
                .collect();
            type_schema.description = Some("What happened: `<resource>.<change>`.");
            properties.push(("type", MetaSchemaRef::Inline(Box::new(type_schema))));
            properties.extend(after_type);
            let data = subject.data_schema(registry);
            properties.push((
                "data",
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some(subject.data_description()),
                    all_of: vec![data],
                    ..MetaSchema::ANY
                })),
            ));
            let schema = MetaSchema {
                title: Some(variant.clone()),
                description: Some(variant_description(subject, suffix == "Event")),
                required: properties.iter().map(|(name, _)| *name).collect(),
                properties,
                ..MetaSchema::new("object")
            };
            for t in &types {
                mapping.push((
                    t.wire_name().to_owned(),
                    format!("#/components/schemas/{variant}"),
                ));
            }
            registry.schemas.insert(variant.clone(), schema);
            variants.push(MetaSchemaRef::Reference(variant));
        }
        MetaSchema {
            description: Some(description),
            one_of: variants,
            discriminator: Some(MetaDiscriminatorObject {
                property_name: "type",
                mapping,
            }),
            example: Some(example),
            ..MetaSchema::ANY
        }
    });
}

fn event_members(registry: &mut Registry) -> (Properties, Properties) {
    Timestamp::register(registry);
    let mut id = MetaSchema::new("string");
    id.description = Some("`evt_…`; also the `webhook-id` header of its deliveries.");
    id.example = Some(serde_json::Value::String(EXAMPLE_EVENT_ID.to_owned()));
    (
        vec![("id", MetaSchemaRef::Inline(Box::new(id)))],
        vec![("created_at", Timestamp::schema_ref())],
    )
}

fn payload_members(registry: &mut Registry) -> (Properties, Properties) {
    Timestamp::register(registry);
    let mut timestamp = MetaSchema::new_with_format("string", "date-time");
    timestamp.description = Some("When the event happened (RFC 3339), the same on every attempt.");
    timestamp.example = Some(serde_json::Value::String("2026-11-28T10:00:00Z".to_owned()));
    (
        vec![],
        vec![("timestamp", MetaSchemaRef::Inline(Box::new(timestamp)))],
    )
}

macro_rules! union_type {
    ($ty:ty, $name:literal, $suffix:literal, $description:literal, $members:expr) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Reference($name.to_owned())
            }

            fn register(registry: &mut Registry) {
                register_union(
                    registry,
                    $name,
                    $suffix,
                    $description,
                    $members,
                    super::to_json(&<$ty>::example()),
                );
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl ToJSON for $ty {
            fn to_json(&self) -> Option<serde_json::Value> {
                serde_json::to_value(self).ok()
            }
        }

        impl ParseFromJSON for $ty {
            fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
                let value = value.unwrap_or_default();
                serde_json::from_value(value).map_err(|err| ParseError::custom(err.to_string()))
            }
        }
    };
}

union_type!(
    Event,
    "Event",
    "Event",
    "Something that happened, as `GET /v1/events` lists it: one variant per resource, told apart by `type`; `data` is that resource's REST object at the time of the event.",
    event_members
);

union_type!(
    WebhookPayload,
    "WebhookPayload",
    "WebhookPayload",
    "The body of a webhook delivery: one variant per resource, told apart by `type`; `data` is that resource's REST object at the time of the event. The event's id is the `webhook-id` header.",
    payload_members
);

/// The data of a `webhook.test` event.
#[derive(Object, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[oai(example)]
pub struct WebhookTestData {
    /// The webhook the test was sent to (`wh_…`).
    pub webhook_id: String,
    /// What the test says.
    pub message: String,
}

impl Example for WebhookTestData {
    fn example() -> Self {
        WebhookTestData {
            webhook_id: super::webhooks::EXAMPLE_WEBHOOK_ID.to_owned(),
            message: "This is a test event from Aura. It carries no data.".to_owned(),
        }
    }
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
