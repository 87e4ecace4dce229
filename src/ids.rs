//! Public identifiers: a type prefix plus the row's UUIDv7 in lower-case Crockford
//! base32 (`lead_01jdq3…`). The prefix tells partners and `node(id:)` what an id names;
//! the encoding keeps ids short, URL-safe and sortable by creation time.

use std::fmt;

use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const ENCODED_LEN: usize = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Organization,
    ApiKey,
    TeamMember,
    Lead,
    Call,
    BookingLink,
    Product,
    Payment,
    Webhook,
    Event,
    Delivery,
}

impl IdKind {
    pub const ALL: [IdKind; 11] = [
        IdKind::Organization,
        IdKind::ApiKey,
        IdKind::TeamMember,
        IdKind::Lead,
        IdKind::Call,
        IdKind::BookingLink,
        IdKind::Product,
        IdKind::Payment,
        IdKind::Webhook,
        IdKind::Event,
        IdKind::Delivery,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Organization => "org",
            IdKind::ApiKey => "key",
            IdKind::TeamMember => "tm",
            IdKind::Lead => "lead",
            IdKind::Call => "call",
            IdKind::BookingLink => "bl",
            IdKind::Product => "prod",
            IdKind::Payment => "pay",
            IdKind::Webhook => "wh",
            IdKind::Event => "evt",
            IdKind::Delivery => "dlv",
        }
    }

    /// What the id names, for error messages ("lead", "team member").
    pub const fn noun(self) -> &'static str {
        match self {
            IdKind::Organization => "organization",
            IdKind::ApiKey => "API key",
            IdKind::TeamMember => "team member",
            IdKind::Lead => "lead",
            IdKind::Call => "call",
            IdKind::BookingLink => "booking link",
            IdKind::Product => "product",
            IdKind::Payment => "payment",
            IdKind::Webhook => "webhook",
            IdKind::Event => "event",
            IdKind::Delivery => "delivery",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    pub expected: IdKind,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "is not a valid {} id (expected `{}_…`)",
            self.expected.noun(),
            self.expected.prefix()
        )
    }
}

pub fn encode(kind: IdKind, id: Uuid) -> String {
    encode_with_prefix(kind.prefix(), id)
}

/// The same encoding under any prefix, for ids that name no row (request ids).
pub fn encode_with_prefix(prefix: &str, id: Uuid) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + ENCODED_LEN);
    out.push_str(prefix);
    out.push('_');
    let value = id.as_u128();
    for i in 0..ENCODED_LEN {
        let shift = 5 * (ENCODED_LEN - 1 - i);
        out.push(ALPHABET[((value >> shift) & 31) as usize] as char);
    }
    out
}

/// Decodes an id of the given kind. Only the canonical spelling is accepted, so one row
/// never has two ids.
pub fn decode(kind: IdKind, text: &str) -> Result<Uuid, InvalidId> {
    let invalid = InvalidId { expected: kind };
    let body = text
        .strip_prefix(kind.prefix())
        .and_then(|rest| rest.strip_prefix('_'))
        .ok_or_else(|| invalid.clone())?;
    decode_body(body).ok_or(invalid)
}

/// Splits any public id into its kind and row id.
pub fn parse_any(text: &str) -> Option<(IdKind, Uuid)> {
    let (prefix, body) = text.split_once('_')?;
    let kind = IdKind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
    Some((kind, decode_body(body)?))
}

fn decode_body(body: &str) -> Option<Uuid> {
    let bytes = body.as_bytes();
    if bytes.len() != ENCODED_LEN || bytes[0] > b'7' {
        return None;
    }
    let mut value: u128 = 0;
    for &byte in bytes {
        let digit = ALPHABET.iter().position(|&c| c == byte)? as u128;
        value = (value << 5) | digit;
    }
    Some(Uuid::from_u128(value))
}

/// A new time-ordered row id.
pub fn new_uuid() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for kind in IdKind::ALL {
            for raw in [Uuid::nil(), Uuid::max(), Uuid::now_v7()] {
                let text = encode(kind, raw);
                assert!(text.starts_with(&format!("{}_", kind.prefix())));
                assert_eq!(decode(kind, &text), Ok(raw));
                assert_eq!(parse_any(&text), Some((kind, raw)));
            }
        }
    }

    #[test]
    fn encoding_preserves_order() {
        let a = Uuid::from_u128(1 << 100);
        let b = Uuid::from_u128((1 << 100) + 1);
        assert!(encode(IdKind::Lead, a) < encode(IdKind::Lead, b));
    }

    #[test]
    fn rejects_wrong_prefix_and_garbage() {
        let lead = encode(IdKind::Lead, Uuid::now_v7());
        assert!(decode(IdKind::Call, &lead).is_err());
        assert!(decode(IdKind::Lead, "lead_").is_err());
        assert!(decode(IdKind::Lead, "lead_zzzzzzzzzzzzzzzzzzzzzzzzzz").is_err());
        assert!(decode(IdKind::Lead, &lead.to_uppercase()).is_err());
        assert!(decode(IdKind::Lead, &format!("{lead}0")).is_err());
        assert!(decode(IdKind::Lead, "lead_0000000000000000000000000u").is_err());
        assert_eq!(parse_any("nope_123"), None);
    }
}
