//! Time as the API sees it: UTC, microsecond precision (what PostgreSQL stores, so a value
//! read back equals the value written and keyset cursors round-trip exactly), printed as
//! RFC 3339 with a `Z`.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};

pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

pub fn format_rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| truncate_to_micros(at.with_timezone(&Utc)))
        .map_err(|_| format!("`{text}` is not an RFC 3339 timestamp (e.g. 2026-01-31T09:30:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z_and_parses_offsets() {
        let at = parse_rfc3339("2026-03-08T02:30:00.123456789+02:00").unwrap();
        assert_eq!(format_rfc3339(at), "2026-03-08T00:30:00.123456Z");
        assert!(parse_rfc3339("2026-03-08 02:30").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
