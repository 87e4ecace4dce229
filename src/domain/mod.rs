//! Value types that can only hold valid values. Parsing happens once, at the edge; the
//! rest of the code takes these types and never re-checks.

mod contact;
mod rate;
mod slug;

pub use contact::{Email, Phone};
pub use rate::CommissionRate;
pub use slug::Slug;

/// An ISO 4217 currency code, upper case (`USD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an ISO 4217 currency code (three upper-case letters, e.g. USD)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_only_iso_shapes() {
        assert!(Currency::parse("USD").is_ok());
        for bad in ["usd", "US", "USDD", "U$D", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
