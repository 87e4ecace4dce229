//! Scalar types of the wire objects, printed exactly as GraphQL prints them.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::Deserialize;
use serde_json::Value;

macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident, $format:literal, $example:literal, $validate:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                concat!("string_", $format).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let mut schema = MetaSchema::new_with_format("string", $format);
                schema.example = Some(Value::String($example.to_owned()));
                MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => {
                        let check: fn(&str) -> bool = $validate;
                        if check(&text) {
                            Ok($name(text))
                        } else {
                            Err(ParseError::custom(concat!("not a valid ", $format)))
                        }
                    }
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }
    };
}

string_type!(
    /// An RFC 3339 timestamp in UTC.
    Timestamp,
    "date-time",
    "2026-01-31T09:30:00Z",
    |text| crate::time::parse_rfc3339(text).is_ok()
);

string_type!(
    /// An exact decimal number written as a string, e.g. `"0.125"`.
    DecimalString,
    "decimal",
    "0.125",
    |text| text.parse::<rust_decimal::Decimal>().is_ok()
);

impl Timestamp {
    pub fn from_utc(at: chrono::DateTime<chrono::Utc>) -> Self {
        Timestamp(crate::time::format_rfc3339(at))
    }

    pub fn optional(at: Option<chrono::DateTime<chrono::Utc>>) -> Option<Self> {
        at.map(Self::from_utc)
    }
}

impl DecimalString {
    /// An exact decimal as GraphQL's `Decimal` prints it (normalized: `0.1`, not `0.100`).
    pub fn from_decimal(value: rust_decimal::Decimal) -> Self {
        DecimalString(value.normalize().to_string())
    }
}

/// `success` of a body: a boolean that is always `true` (every success envelope) or
/// always `false` (`ErrorBody`), documented as `enum: [true]` / `enum: [false]`, so a
/// client tells the two bodies apart by their schema.
macro_rules! constant_bool {
    ($(#[$doc:meta])* $name:ident = $value:literal, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                concat!("boolean_", stringify!($value)).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let mut schema = MetaSchema::new("boolean");
                schema.enum_items = vec![Value::Bool($value)];
                schema.description = Some($description);
                schema.example = Some(Value::Bool($value));
                MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::Bool($value))
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::Bool($value)) => Ok($name),
                    other => Err(ParseError::custom(format!(
                        concat!("expected `", stringify!($value), "`, got {}"),
                        other.unwrap_or_default()
                    ))),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bool($value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match bool::deserialize(deserializer)? {
                    $value => Ok($name),
                    _ => Err(serde::de::Error::custom(concat!(
                        "expected `",
                        stringify!($value),
                        "`"
                    ))),
                }
            }
        }
    };
}

constant_bool!(
    /// `success` of every success envelope.
    Succeeded = true,
    "Always `true` in a success body."
);

constant_bool!(
    /// `success` of the error body.
    Failed = false,
    "Always `false` in an error body."
);
