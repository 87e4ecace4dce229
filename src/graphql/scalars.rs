//! Scalars shared by GraphQL and the REST facade, so both print values identically.

use async_graphql::{InputValueError, InputValueResult, Number, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, Utc};

use crate::time::{format_rfc3339, parse_rfc3339};

/// An RFC 3339 timestamp in UTC, e.g. `2026-01-31T09:30:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub ChronoDateTime<Utc>);

/// An instant, written as an RFC 3339 timestamp in UTC with a `Z` (`2026-01-31T09:30:00Z`;
/// fractions of a second when there are some). Inputs may carry any offset.
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

/// An exact decimal number written as a string (`"0.125"`, `"12462.5"`), so that no client
/// reads it into a binary float by accident. Up to 28 significant digits.
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

/// An amount of money in minor units (cents for USD): GraphQL's `Int` is 32-bit, which
/// caps at 2,147,483,647 minor units (about IDR 21.5M), so amounts have their own scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i64);

/// An amount of money in minor units of its currency (cents for USD, rupiah for IDR), as a
/// JSON number holding a signed 64-bit integer: -9223372036854775808 to
/// 9223372036854775807, the same values REST writes as `int64`. JavaScript's `number` is
/// exact only up to ±9007199254740991 (2^53 - 1, `Number.MAX_SAFE_INTEGER`); clients that
/// may meet larger amounts should read them with a big-integer JSON parser. Inputs must be
/// whole numbers (no fraction, no exponent, no string).
#[Scalar(
    name = "Money",
    specified_by_url = "https://api.aura-app.ai/docs#section/Money"
)]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(number) => number.as_i64().map(Money).ok_or_else(|| {
                InputValueError::custom(format!(
                    "`{number}` is not a whole number of minor units in the 64-bit range"
                ))
            }),
            _ => Err(InputValueError::custom(
                "amounts are whole numbers of minor units, written as JSON numbers, e.g. 150000",
            )),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::Number(number) if number.is_i64())
    }

    fn to_value(&self) -> Value {
        Value::Number(Number::from(self.0))
    }
}

impl From<i64> for Money {
    fn from(minor_units: i64) -> Self {
        Money(minor_units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_a_64_bit_json_number() {
        let big = Money(5_000_000_000);
        assert_eq!(
            big.to_value(),
            Value::Number(Number::from(5_000_000_000i64))
        );
        assert_eq!(
            <Money as ScalarType>::parse(Value::Number(Number::from(i64::MAX))).unwrap(),
            Money(i64::MAX)
        );
        let fraction = Number::from_f64(1.5).unwrap();
        assert!(<Money as ScalarType>::parse(Value::Number(fraction)).is_err());
        assert!(<Money as ScalarType>::parse(Value::String("150000".into())).is_err());
        assert!(<Money as ScalarType>::parse(Value::Number(Number::from(u64::MAX))).is_err());
    }
}
