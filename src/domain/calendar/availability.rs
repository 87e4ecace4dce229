//! Free slots, computed from a link's weekly hours in its own IANA time zone (DST
//! included), its duration, buffer, minimum notice and horizon, and the times its
//! owner's calendar is busy. Pure: the caller supplies "now" and the busy intervals.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::schedule::{GRANULARITY_MINUTES, WeeklyHours};

#[derive(Debug, Clone)]
pub struct Rules {
    pub timezone: Tz,
    pub hours: WeeklyHours,
    pub duration: Duration,
    pub buffer: Duration,
    pub min_notice: Duration,
    pub horizon: Duration,
}

pub fn block() -> Duration {
    Duration::minutes(i64::from(GRANULARITY_MINUTES))
}

/// The calendar blocks a call starting at `start` holds: the call and the buffer after it,
/// rounded out to whole blocks.
pub fn blocks_for(
    start: DateTime<Utc>,
    duration: Duration,
    buffer: Duration,
) -> Vec<DateTime<Utc>> {
    let first = start.duration_trunc(block()).unwrap_or(start);
    let end = start + duration + buffer;
    let mut out = Vec::new();
    let mut at = first;
    while at < end {
        out.push(at);
        at += block();
    }
    out
}

/// When a calendar is taken: half-open `[start, end)` intervals on whole blocks, sorted
/// and merged, so a candidate is checked with one binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Busy(Vec<(DateTime<Utc>, DateTime<Utc>)>);

impl Busy {
    /// Merges `intervals` (in any order, overlapping or touching).
    pub fn new(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Self {
        intervals.retain(|(start, end)| start < end);
        intervals.sort_unstable();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Busy(merged)
    }

    /// The intervals covered by held blocks (each `block()` long).
    pub fn from_blocks<'a>(blocks: impl IntoIterator<Item = &'a DateTime<Utc>>) -> Self {
        Busy::new(blocks.into_iter().map(|b| (*b, *b + block())).collect())
    }

    /// Whether anything in `[start, end)` is taken.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        // The first interval ending after `start` is the only one that can overlap first.
        let index = self.0.partition_point(|(_, busy_end)| *busy_end <= start);
        self.0
            .get(index)
            .is_some_and(|(busy_start, _)| *busy_start < end)
    }
}

/// The UTC instant of a local wall-clock time. Ambiguous times (the repeated hour when
/// clocks go back) take their first occurrence; times that do not exist (skipped when
/// clocks go forward) move to the first instant after the gap.
fn to_utc(zone: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let mut local = date.and_time(time);
    for _ in 0..(24 * 60 / GRANULARITY_MINUTES) {
        match zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(at) => return Some(at.with_timezone(&Utc)),
            chrono::LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            chrono::LocalResult::None => local += block(),
        }
    }
    None
}

/// Start times in `[from, to)` at which a call fits the link's hours and the calendar.
pub fn free_slots(
    rules: &Rules,
    busy: &Busy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let lower = from.max(now + rules.min_notice);
    let upper = to.min(now + rules.horizon);
    if lower >= upper || rules.duration <= Duration::zero() {
        return Vec::new();
    }
    let zone = rules.timezone;
    let first_day = lower.with_timezone(&zone).date_naive() - Duration::days(1);
    let last_day = upper.with_timezone(&zone).date_naive() + Duration::days(1);
    let mut slots = BTreeSet::new();
    let mut day = first_day;
    while day <= last_day {
        for interval in rules.hours.on(chrono::Datelike::weekday(&day)) {
            let Some(open) = to_utc(zone, day, interval.start) else {
                continue;
            };
            let close = if interval.ends_at_midnight {
                to_utc(zone, day + Duration::days(1), NaiveTime::MIN)
            } else {
                to_utc(zone, day, interval.end)
            };
            let Some(close) = close else { continue };
            // Stepping in UTC keeps every slot exactly `duration` long in real time, even
            // on the day a window loses or gains an hour.
            let mut start = open;
            while start + rules.duration <= close {
                // The blocks the call would hold, as one interval.
                let held_from = start.duration_trunc(block()).unwrap_or(start);
                let held_to = start + rules.duration + rules.buffer;
                if start >= lower && start < upper && !busy.overlaps(held_from, held_to) {
                    slots.insert(start);
                }
                start += rules.duration;
            }
        }
        day += Duration::days(1);
    }
    slots.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::schedule::WeeklyIntervalJson;

    fn rules(zone: &str, hours: &[(&str, &str, &str)], minutes: i64, buffer: i64) -> Rules {
        let items: Vec<WeeklyIntervalJson> = hours
            .iter()
            .map(|(d, s, e)| WeeklyIntervalJson {
                day: (*d).into(),
                start: (*s).into(),
                end: (*e).into(),
            })
            .collect();
        Rules {
            timezone: zone.parse().unwrap(),
            hours: WeeklyHours::parse(&items).unwrap(),
            duration: Duration::minutes(minutes),
            buffer: Duration::minutes(buffer),
            min_notice: Duration::zero(),
            horizon: Duration::days(3650),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn busy_intervals_merge_and_answer_overlaps() {
        let busy = Busy::new(vec![
            (at("2026-03-02T10:30:00Z"), at("2026-03-02T11:00:00Z")),
            (at("2026-03-02T09:00:00Z"), at("2026-03-02T10:00:00Z")),
            (at("2026-03-02T10:00:00Z"), at("2026-03-02T10:15:00Z")),
        ]);
        assert_eq!(
            busy,
            Busy::new(vec![
                (at("2026-03-02T09:00:00Z"), at("2026-03-02T10:15:00Z")),
                (at("2026-03-02T10:30:00Z"), at("2026-03-02T11:00:00Z")),
            ])
        );
        let free = |from: &str, to: &str| !busy.overlaps(at(from), at(to));
        assert!(free("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"));
        assert!(!free("2026-03-02T08:00:00Z", "2026-03-02T09:05:00Z"));
        assert!(free("2026-03-02T10:15:00Z", "2026-03-02T10:30:00Z"));
        assert!(!free("2026-03-02T10:15:00Z", "2026-03-02T10:35:00Z"));
        assert!(!free("2026-03-02T10:50:00Z", "2026-03-02T12:00:00Z"));
        assert!(free("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"));
        let blocks = BTreeSet::from([at("2026-03-02T09:00:00Z"), at("2026-03-02T09:05:00Z")]);
        assert_eq!(
            Busy::from_blocks(&blocks),
            Busy::new(vec![(
                at("2026-03-02T09:00:00Z"),
                at("2026-03-02T09:10:00Z")
            )])
        );
    }

    const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    #[test]
    fn business_hours_follow_the_clock_change_in_new_york() {
        let hours: Vec<(&str, &str, &str)> =
            EVERY_DAY.iter().map(|d| (*d, "09:00", "10:00")).collect();
        let r = rules("America/New_York", &hours, 30, 0);
        let now = at("2026-01-01T00:00:00Z");
        // DST starts on Sunday 2026-03-08: 09:00 is 14:00Z the day before, 13:00Z after.
        let slots = free_slots(
            &r,
            &Busy::default(),
            at("2026-03-07T00:00:00Z"),
            at("2026-03-10T00:00:00Z"),
            now,
        );
        assert_eq!(
            slots,
            vec![
                at("2026-03-07T14:00:00Z"),
                at("2026-03-07T14:30:00Z"),
                at("2026-03-08T13:00:00Z"),
                at("2026-03-08T13:30:00Z"),
                at("2026-03-09T13:00:00Z"),
                at("2026-03-09T13:30:00Z"),
            ]
        );
        // DST ends on Sunday 2026-11-01: back to 14:00Z.
        let slots = free_slots(
            &r,
            &Busy::default(),
            at("2026-10-31T00:00:00Z"),
            at("2026-11-02T00:00:00Z"),
            now,
        );
        assert_eq!(
            slots,
            vec![
                at("2026-10-31T13:00:00Z"),
                at("2026-10-31T13:30:00Z"),
                at("2026-11-01T14:00:00Z"),
                at("2026-11-01T14:30:00Z"),
            ]
        );
    }

    #[test]
    fn a_window_across_the_gap_offers_only_real_time() {
        // 01:00–04:00 on the night the clocks skip 02:00–03:00: two real hours.
        let r = rules("America/New_York", &[("sun", "01:00", "04:00")], 30, 0);
        let slots = free_slots(
            &r,
            &Busy::default(),
            at("2026-03-08T00:00:00Z"),
            at("2026-03-09T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            slots,
            vec![
                at("2026-03-08T06:00:00Z"),
                at("2026-03-08T06:30:00Z"),
                at("2026-03-08T07:00:00Z"),
                at("2026-03-08T07:30:00Z"),
            ]
        );
        // The repeated hour when clocks go back: 01:00–02:00 is counted once, from its
        // first occurrence (05:00Z) to 02:00 EST (07:00Z): two real hours.
        let r = rules("America/New_York", &[("sun", "01:00", "02:00")], 60, 0);
        let slots = free_slots(
            &r,
            &Busy::default(),
            at("2026-11-01T00:00:00Z"),
            at("2026-11-02T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            slots,
            vec![at("2026-11-01T05:00:00Z"), at("2026-11-01T06:00:00Z")]
        );
    }

    #[test]
    fn claims_buffer_notice_and_horizon_remove_slots() {
        let r = Rules {
            min_notice: Duration::hours(1),
            horizon: Duration::days(2),
            ..rules(
                "UTC",
                &[
                    ("mon", "09:00", "12:00"),
                    ("tue", "09:00", "12:00"),
                    ("thu", "09:00", "12:00"),
                ],
                30,
                15,
            )
        };
        // Monday 2026-03-02 08:30Z: 09:00 is within the hour of notice.
        let now = at("2026-03-02T08:30:00Z");
        let mut claimed = BTreeSet::new();
        // A call 10:30–11:00 with its 15-minute buffer holds 10:30–11:15.
        claimed.extend(blocks_for(
            at("2026-03-02T10:30:00Z"),
            Duration::minutes(30),
            Duration::minutes(15),
        ));
        let slots = free_slots(
            &r,
            &Busy::from_blocks(&claimed),
            at("2026-03-02T00:00:00Z"),
            at("2026-03-06T00:00:00Z"),
            now,
        );
        let monday: Vec<_> = slots
            .iter()
            .filter(|s| s.date_naive() == at("2026-03-02T00:00:00Z").date_naive())
            .collect();
        // 09:30 ok; 10:00 would run into the call's blocks with its own buffer; 10:30 taken;
        // 11:00 overlaps the earlier call's buffer; 11:30 ok.
        assert_eq!(
            monday,
            vec![&at("2026-03-02T09:30:00Z"), &at("2026-03-02T11:30:00Z")]
        );
        // Tuesday is inside the horizon, Thursday is not.
        assert!(slots.iter().any(|s| *s == at("2026-03-03T09:00:00Z")));
        assert!(!slots.iter().any(|s| *s >= at("2026-03-05T00:00:00Z")));
    }

    #[test]
    fn blocks_cover_call_and_buffer() {
        let blocks = blocks_for(
            at("2026-03-02T10:00:00Z"),
            Duration::minutes(30),
            Duration::minutes(10),
        );
        assert_eq!(blocks.len(), 8);
        assert_eq!(blocks[0], at("2026-03-02T10:00:00Z"));
        assert_eq!(blocks[7], at("2026-03-02T10:35:00Z"));
    }
}
