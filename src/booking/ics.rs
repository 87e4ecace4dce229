//! A booking as an iCalendar file (RFC 5545), for the booker to add to their calendar.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{IdKind, encode};
use crate::services::booking::Booking;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT values: backslash, semicolon, comma and newlines (RFC 5545 3.3.11).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, as the format asks, without splitting a character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out
}

/// The booking's calendar file. A canceled booking is a cancelled event, so a calendar
/// that imported it before drops it.
pub fn render(booking: &Booking, now: DateTime<Utc>) -> String {
    let start = booking.call.scheduled_at;
    let end = start + Duration::minutes(i64::from(booking.call.duration_minutes));
    let canceled = booking.call.status == entities::call::CallStatus::Canceled;
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Aura//Booking//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("METHOD:{}", if canceled { "CANCEL" } else { "PUBLISH" }),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@aura", encode(IdKind::Call, booking.call.id)),
        format!("DTSTAMP:{}", stamp(now)),
        format!("DTSTART:{}", stamp(start)),
        format!("DTEND:{}", stamp(end)),
        format!("SUMMARY:{}", text(&booking.link.name)),
        format!(
            "STATUS:{}",
            if canceled { "CANCELLED" } else { "CONFIRMED" }
        ),
        format!("SEQUENCE:{}", booking.call.updated_at.timestamp().max(0)),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let mut out = String::new();
    for line in lines {
        out.push_str(&fold(&line));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_folded() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let folded = fold(&format!("SUMMARY:{}", "é".repeat(60)));
        assert!(folded.split("\r\n").all(|line| line.len() <= 75));
        assert_eq!(
            folded.replace("\r\n ", ""),
            format!("SUMMARY:{}", "é".repeat(60))
        );
    }
}
