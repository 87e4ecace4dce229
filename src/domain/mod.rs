//! The bottom of the core: value types that can only hold valid values, the actor and its
//! permissions, the calendar arithmetic, and the rules for webhook targets. Parsing happens
//! once, at the edge of a service; the rest of the code takes these types and never
//! re-checks. Nothing here knows a database, a transport or a request.

pub mod actor;
pub mod booking_form;
pub mod calendar;
pub mod commission;
mod contact;
mod rate;
pub mod scope;
mod slug;
pub mod status;
pub mod text;
pub mod webhook_target;

pub use actor::{Action, Actor, Credential};
pub use contact::{Email, Phone};
pub use rate::CommissionRate;
pub use scope::{Scope, ScopeSet};
pub use slug::Slug;

use crate::error::{AppError, AppResult};

/// A current ISO 4217 currency code, upper case (`USD`), checked against the standard's
/// list (the `iso_currency` crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim();
        let known = code.len() == 3
            && code.bytes().all(|b| b.is_ascii_uppercase())
            && iso_currency::Currency::from_code(code).is_some();
        if known {
            Ok(Currency(code.to_owned()))
        } else {
            Err(format!(
                "`{}` is not an ISO 4217 currency code (three upper-case letters, e.g. USD)",
                code.replace('\0', "")
            ))
        }
    }

    /// [`Currency::parse`], as a validation error naming `field`.
    pub fn parse_field(field: &str, text: &str) -> AppResult<Self> {
        Self::parse(text).map_err(|message| AppError::validation(field, message))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An amount of money in integer minor units of its currency (cents for USD), more than
/// zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveAmount(i64);

impl PositiveAmount {
    pub fn parse_field(field: &str, minor_units: i64) -> AppResult<Self> {
        if minor_units <= 0 {
            return Err(AppError::validation(
                field,
                "must be more than zero (minor units)",
            ));
        }
        Ok(PositiveAmount(minor_units))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_only_iso_4217_codes() {
        assert!(Currency::parse("USD").is_ok());
        assert!(Currency::parse(" EUR").is_ok());
        assert!(Currency::parse("IDR").is_ok());
        for bad in ["usd", "US", "USDD", "U$D", "", "ZZZ", "ABC"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Currency::parse_field("currency", "ZZZ")
                .unwrap_err()
                .field(),
            Some("currency")
        );
    }

    #[test]
    fn amounts_are_positive() {
        assert_eq!(
            PositiveAmount::parse_field("amount", 5_000_000_000)
                .unwrap()
                .get(),
            5_000_000_000
        );
        assert!(PositiveAmount::parse_field("amount", 0).is_err());
        assert!(PositiveAmount::parse_field("amount", -1).is_err());
    }
}
