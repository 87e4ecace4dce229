//! Closed sets of values, each defined once. A stored status is the entities crate's enum
//! (its stored value is its wire name: `no_show`); the others (event types, commission
//! roles, key states, weekdays) are defined here. [`WireEnum`] maps every one of them to
//! the names each document uses — REST and webhooks write the wire name (`no_show`,
//! `lead.created`), GraphQL the upper-case name (`NO_SHOW`, `LEAD_CREATED`) — and to the
//! descriptions both documents show. [`Wire`] is how REST objects hold them; the GraphQL
//! schema has its own wrapper over the same trait.

use std::borrow::Cow;
use std::sync::OnceLock;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One value's names and description.
#[derive(Debug, Clone, Copy)]
pub struct Names<E: 'static> {
    pub value: E,
    /// REST and webhooks.
    pub wire: &'static str,
    /// GraphQL.
    pub graphql: &'static str,
    pub description: &'static str,
}

pub trait WireEnum: Copy + Eq + Send + Sync + 'static {
    /// The type's name in the OpenAPI document and the GraphQL schema.
    const NAME: &'static str;
    const DESCRIPTION: &'static str;

    /// Every value, in documentation order.
    fn names() -> &'static [Names<Self>];

    fn wire_name(self) -> &'static str {
        Self::entry(self).map_or("", |n| n.wire)
    }

    fn graphql_name(self) -> &'static str {
        Self::entry(self).map_or("", |n| n.graphql)
    }

    fn description(self) -> &'static str {
        Self::entry(self).map_or("", |n| n.description)
    }

    fn from_wire(text: &str) -> Option<Self> {
        Self::names()
            .iter()
            .find(|n| n.wire == text)
            .map(|n| n.value)
    }

    fn from_graphql(text: &str) -> Option<Self> {
        Self::names()
            .iter()
            .find(|n| n.graphql == text)
            .map(|n| n.value)
    }

    fn values() -> impl Iterator<Item = Self> {
        Self::names().iter().map(|n| n.value)
    }

    #[doc(hidden)]
    fn entry(self) -> Option<&'static Names<Self>> {
        Self::names().iter().find(|n| n.value == self)
    }
}

/// The upper-case GraphQL spelling of a wire name (`no_show` → `NO_SHOW`,
/// `lead.created` → `LEAD_CREATED`).
pub fn graphql_spelling(wire: &str) -> String {
    wire.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Builds the name table of an enum stored by sea-orm: the wire name is the stored value.
/// Leaked once per type (a handful of short strings).
pub fn stored_names<E>(describe: fn(E) -> &'static str) -> Vec<Names<E>>
where
    E: sea_orm::ActiveEnum<Value = String> + sea_orm::Iterable + Copy,
{
    <E as sea_orm::Iterable>::iter()
        .map(|value| {
            let wire: &'static str = Box::leak(value.to_value().into_boxed_str());
            let graphql: &'static str = Box::leak(graphql_spelling(wire).into_boxed_str());
            Names {
                value,
                wire,
                graphql,
                description: describe(value),
            }
        })
        .collect()
}

/// Implements [`WireEnum`] for an enum of the entities crate, with a description per value
/// (the `match` is exhaustive: a new stored value does not compile until it is described).
macro_rules! stored_enum {
    ($ty:ty, $name:literal, $description:literal, { $($variant:ident => $doc:literal),+ $(,)? }) => {
        impl WireEnum for $ty {
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $description;

            fn names() -> &'static [Names<Self>] {
                static TABLE: OnceLock<Vec<Names<$ty>>> = OnceLock::new();
                TABLE.get_or_init(|| {
                    stored_names::<$ty>(|value| match value {
                        $(<$ty>::$variant => $doc),+
                    })
                })
            }
        }
    };
}

/// Defines an enum that is not stored, with its wire names and descriptions, once.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident = $name:literal, $description:literal,
     { $($variant:ident = $wire:literal => $doc:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty { $($variant),+ }

        impl WireEnum for $ty {
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $description;

            fn names() -> &'static [Names<Self>] {
                static TABLE: OnceLock<Vec<Names<$ty>>> = OnceLock::new();
                TABLE.get_or_init(|| {
                    vec![$(Names {
                        value: $ty::$variant,
                        wire: $wire,
                        graphql: Box::leak(graphql_spelling($wire).into_boxed_str()),
                        description: $doc,
                    }),+]
                })
            }
        }
    };
}

pub(crate) use wire_enum;

/// The stored statuses, defined once in the entities crate, as the transports name them.
pub use entities::call::CallStatus;
pub use entities::lead::LeadStatus;
pub use entities::payment::PaymentStatus;
pub use entities::product::Billing;
pub use entities::team_member::TeamRole;
pub use entities::webhook_delivery::DeliveryStatus;

stored_enum!(entities::lead::LeadStatus, "LeadStatus", "Where a lead is in the pipeline.", {
    New => "Just arrived; nobody has contacted the lead yet.",
    Contacted => "Someone on the team has reached out.",
    Qualified => "The lead fits the offer and is worth a call.",
    Booked => "A call with the lead is booked.",
    Won => "The lead bought.",
    Lost => "The lead will not buy.",
});

stored_enum!(entities::call::CallStatus, "CallStatus", "What happened to a call.", {
    Scheduled => "Booked for a time that holds the closer's calendar.",
    Completed => "The call took place.",
    NoShow => "The lead did not attend.",
    Canceled => "Called off; the calendar is free again.",
    Rescheduled => "Moved (historical records only: a move now keeps the call scheduled).",
});

stored_enum!(entities::team_member::TeamRole, "TeamRole", "A team member's role (a sales label; it grants no permissions).", {
    Owner => "Owns the business.",
    Admin => "Runs the team's tools.",
    Manager => "Leads the sales team.",
    Closer => "Runs sales calls and closes deals.",
    Setter => "Qualifies leads and books their calls.",
});

stored_enum!(entities::product::Billing, "Billing", "How a product is billed.", {
    OneTime => "Paid once.",
    Recurring => "Paid every period until canceled.",
    PaymentPlan => "Paid in a fixed number of instalments.",
});

stored_enum!(entities::payment::PaymentStatus, "PaymentStatus", "Where a payment stands.", {
    Pending => "Started but not settled.",
    Succeeded => "The money arrived; it earns commission.",
    Failed => "It did not go through.",
    Refunded => "Returned in full; it earns no commission.",
});

stored_enum!(entities::webhook_delivery::DeliveryStatus, "DeliveryStatus", "Where a webhook delivery stands.", {
    Pending => "Waiting for its next attempt.",
    Succeeded => "The endpoint answered 2xx.",
    Failed => "Every attempt failed (or the endpoint answered 410); it can be re-sent.",
});

wire_enum!(
    /// Which side of a call or a sale a team member was on.
    pub enum Participation = "Participation", "Which side of a call or a sale a team member was on.", {
        Closer = "closer" => "Ran the call, or closed the sale.",
        Setter = "setter" => "Set the call or the sale up.",
    }
);

wire_enum!(
    /// Whether an API key works.
    pub enum ApiKeyStatus = "ApiKeyStatus", "Whether an API key works.", {
        Active = "active" => "It authenticates requests.",
        Expired = "expired" => "Its expiry passed; it no longer works.",
        Revoked = "revoked" => "It was revoked; it no longer works.",
    }
);

wire_enum!(
    /// A day of the week.
    pub enum Weekday = "Weekday", "A day of the week.", {
        Mon = "mon" => "Monday.",
        Tue = "tue" => "Tuesday.",
        Wed = "wed" => "Wednesday.",
        Thu = "thu" => "Thursday.",
        Fri = "fri" => "Friday.",
        Sat = "sat" => "Saturday.",
        Sun = "sun" => "Sunday.",
    }
);

wire_enum!(
    /// The machine-readable code of an error (CONTRACT.md, "Errors").
    pub enum ErrorCode = "ErrorCode", "A stable, machine-readable error code; each goes with one HTTP status.", {
        ValidationError = "VALIDATION_ERROR" => "400: invalid input; the message names the field.",
        BadRequest = "BAD_REQUEST" => "400: the request is malformed (bad JSON, for one).",
        Unauthorized = "UNAUTHORIZED" => "401: missing, malformed, unknown, revoked or expired credentials.",
        Forbidden = "FORBIDDEN" => "403: the credential lacks the scope or role the operation needs.",
        NotFound = "NOT_FOUND" => "404: no such object in your organization, or no such route.",
        MethodNotAllowed = "METHOD_NOT_ALLOWED" => "405: the path does not take this method; `Allow` lists those it does.",
        Conflict = "CONFLICT" => "409: the request conflicts with the current state (an `Idempotency-Key` reused with another body, a slot just taken).",
        PayloadTooLarge = "PAYLOAD_TOO_LARGE" => "413: the body or document is over its size limit.",
        UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE" => "415: the body is not `application/json`.",
        RateLimited = "RATE_LIMITED" => "429: a rate limit is exhausted; retry after `Retry-After` seconds.",
        InternalError = "INTERNAL_ERROR" => "500: something went wrong on our side; quote the `request_id`.",
        ServiceUnavailable = "SERVICE_UNAVAILABLE" => "503: a dependency (the database) is down; retry after `Retry-After` seconds.",
    }
);

/// The scopes a credential may hold, as REST and GraphQL name them (`leads:read`,
/// `LEADS_READ`). The set itself is the domain's.
pub use crate::domain::Scope;

impl WireEnum for Scope {
    const NAME: &'static str = "Scope";
    const DESCRIPTION: &'static str = "What a credential may read or write.";

    fn names() -> &'static [Names<Self>] {
        static TABLE: OnceLock<Vec<Names<Scope>>> = OnceLock::new();
        TABLE.get_or_init(|| {
            Scope::ALL
                .into_iter()
                .map(|scope| Names {
                    value: scope,
                    wire: scope.as_str(),
                    graphql: Box::leak(graphql_spelling(scope.as_str()).into_boxed_str()),
                    description: match scope {
                        Scope::LeadsRead => "Read leads (and `lead.*` events).",
                        Scope::CallsRead => "Read calls (and `call.*` events).",
                        Scope::TeamRead => "Read team members (and `team_member.*` events).",
                        Scope::BookingLinksRead => {
                            "Read booking links (and `booking_link.*` events)."
                        }
                        Scope::ProductsRead => "Read products (and `product.*` events).",
                        Scope::PaymentsRead => "Read payments (and `payment.*` events).",
                        Scope::WebhooksRead => "Read webhooks, their deliveries and events.",
                        Scope::WebhooksWrite => {
                            "Create, change, test and delete webhooks, and re-send deliveries."
                        }
                    },
                })
                .collect()
        })
    }
}

/// The REST spelling of a GraphQL enum value, for REST bodies written straight from
/// GraphQL results (`rest::body`). Most values are their wire name upper-cased (`NO_SHOW`
/// for `no_show`); the event types and their selector are not (`TEAM_MEMBER_CREATED` for
/// `team_member.created`, `ALL` for `*`), so those are looked up. A test checks every enum
/// REST writes.
pub fn rest_spelling(graphql: &str) -> std::borrow::Cow<'static, str> {
    static IRREGULAR: OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        OnceLock::new();
    let irregular = IRREGULAR.get_or_init(|| {
        super::event::EventSelector::names()
            .iter()
            .map(|n| (n.graphql, n.wire))
            .filter(|(graphql, wire)| graphql.to_ascii_lowercase() != *wire)
            .collect()
    });
    match irregular.get(graphql) {
        Some(wire) => std::borrow::Cow::Borrowed(wire),
        None => std::borrow::Cow::Owned(graphql.to_ascii_lowercase()),
    }
}

/// A [`WireEnum`] as REST objects and parameters hold it: its wire name in JSON and in the
/// OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Wire<E>(pub E);

impl<E: WireEnum> Wire<E> {
    pub fn get(self) -> E {
        self.0
    }
}

impl<E: WireEnum> From<E> for Wire<E> {
    fn from(value: E) -> Self {
        Wire(value)
    }
}

impl<E: WireEnum> Type for Wire<E> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed(E::NAME)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(E::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(E::NAME.to_owned(), |_| MetaSchema {
            description: Some(E::DESCRIPTION),
            enum_items: E::names()
                .iter()
                .map(|n| Value::String(n.wire.to_owned()))
                .collect(),
            ..MetaSchema::new("string")
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

fn unknown<E: WireEnum>(text: &str) -> String {
    let known: Vec<&str> = E::names().iter().map(|n| n.wire).collect();
    let shown: String = text.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("`{shown}` is not one of: {}", known.join(", "))
}

impl<E: WireEnum> ParseFromJSON for Wire<E> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => E::from_wire(&text)
                .map(Wire)
                .ok_or_else(|| ParseError::custom(unknown::<E>(&text))),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<E: WireEnum> ParseFromParameter for Wire<E> {
    fn parse_from_parameter(text: &str) -> ParseResult<Self> {
        E::from_wire(text)
            .map(Wire)
            .ok_or_else(|| ParseError::custom(unknown::<E>(text)))
    }
}

impl<E: WireEnum> ToJSON for Wire<E> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.wire_name().to_owned()))
    }
}

impl<E: WireEnum> Serialize for Wire<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.wire_name())
    }
}

impl<'de, E: WireEnum> Deserialize<'de> for Wire<E> {
    /// Either spelling: the REST one, or GraphQL's (a REST body is checked against its
    /// typed object while it still holds GraphQL's enum names).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        E::from_wire(&text)
            .or_else(|| E::from_graphql(&text))
            .map(Wire)
            .ok_or_else(|| serde::de::Error::custom(unknown::<E>(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::call::CallStatus;

    #[test]
    fn stored_enums_take_their_names_from_the_stored_value() {
        assert_eq!(CallStatus::NoShow.wire_name(), "no_show");
        assert_eq!(CallStatus::NoShow.graphql_name(), "NO_SHOW");
        assert_eq!(
            CallStatus::from_graphql("NO_SHOW"),
            Some(CallStatus::NoShow)
        );
        assert_eq!(CallStatus::from_wire("no_show"), Some(CallStatus::NoShow));
        assert_eq!(CallStatus::values().count(), 5);
        assert!(!CallStatus::Canceled.description().is_empty());
        assert_eq!(Weekday::Mon.wire_name(), "mon");
        assert_eq!(Weekday::Mon.graphql_name(), "MON");
    }

    fn spelled_back<E: WireEnum>() {
        for n in E::names() {
            assert_eq!(rest_spelling(n.graphql), n.wire, "{}", E::NAME);
        }
    }

    #[test]
    fn every_enum_rest_writes_is_spelled_back_from_graphql() {
        spelled_back::<LeadStatus>();
        spelled_back::<CallStatus>();
        spelled_back::<TeamRole>();
        spelled_back::<Billing>();
        spelled_back::<PaymentStatus>();
        spelled_back::<DeliveryStatus>();
        spelled_back::<Participation>();
        spelled_back::<Weekday>();
        spelled_back::<super::super::event::EventType>();
        spelled_back::<super::super::event::EventSelector>();
    }

    #[test]
    fn every_error_code_the_errors_carry_is_a_contract_code() {
        use crate::error::AppError;
        for err in [
            AppError::validation("f", "bad"),
            AppError::BadRequest("x".into()),
            AppError::Unauthorized("x".into()),
            AppError::Forbidden("x".into()),
            AppError::NotFound("x".into()),
            AppError::MethodNotAllowed { allow: vec![] },
            AppError::Conflict("x".into()),
            AppError::PayloadTooLarge { limit: 1 },
            AppError::UnsupportedMediaType("x".into()),
            AppError::RateLimited {
                retry_after_secs: 1,
            },
            AppError::internal("x"),
        ] {
            assert!(ErrorCode::from_wire(err.code()).is_some(), "{}", err.code());
        }
        assert_eq!(ErrorCode::values().count(), 12);
    }

    #[test]
    fn the_rest_wrapper_reads_and_writes_wire_names() {
        let value = Wire(CallStatus::NoShow);
        assert_eq!(value.to_json(), Some(Value::String("no_show".into())));
        assert_eq!(serde_json::to_value(value).unwrap(), "no_show");
        let parsed: Wire<CallStatus> = serde_json::from_value("NO_SHOW".into()).unwrap();
        assert_eq!(parsed, value);
        assert!(Wire::<CallStatus>::parse_from_parameter("nope").is_err());
        assert!(Wire::<CallStatus>::parse_from_json(Some("no_show".into())).is_ok());
    }
}
