//! Scalars shared by GraphQL and the REST facade, so both print values identically.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, Utc};

use crate::time::{format_rfc3339, parse_rfc3339};

/// An RFC 3339 timestamp in UTC, e.g. `2026-01-31T09:30:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => parse_rfc3339(text)
                .map(DateTime)
                .map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(format_rfc3339(self.0))
    }
}

impl From<ChronoDateTime<Utc>> for DateTime {
    fn from(at: ChronoDateTime<Utc>) -> Self {
        DateTime(at)
    }
}

/// An exact decimal number, as a string (`"0.125"`), so no client parses it into a
/// binary float by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(pub rust_decimal::Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => text
                .trim()
                .parse::<rust_decimal::Decimal>()
                .map(Decimal)
                .map_err(|_| InputValueError::custom(format!("`{text}` is not a decimal number"))),
            _ => Err(InputValueError::custom(
                "decimals are written as strings, e.g. \"0.125\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.normalize().to_string())
    }
}
