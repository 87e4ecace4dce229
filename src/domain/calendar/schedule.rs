//! A booking link's weekly hours: when, in the link's own time zone, it can be booked.

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// Calendar blocks and slot starts are multiples of this many minutes.
pub const GRANULARITY_MINUTES: u32 = 5;
/// The longest a call (or a booking link's calls) may last, in minutes.
pub const MAX_DURATION_MINUTES: i32 = 480;
/// The longest buffer a booking link may keep after its calls, in minutes.
pub const MAX_BUFFER_MINUTES: i32 = 240;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyIntervalJson {
    pub day: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub day: Weekday,
    pub start: NaiveTime,
    /// Exclusive; `24:00` is written as end of day.
    pub end: NaiveTime,
    pub ends_at_midnight: bool,
}

/// Validated weekly hours: per day, sorted, non-overlapping intervals on a 5-minute grid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeeklyHours(Vec<Interval>);

pub fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn parse_day(text: &str) -> Option<Weekday> {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| day_name(*d) == text)
}

fn parse_time(text: &str) -> Option<(NaiveTime, bool)> {
    if text == "24:00" {
        return Some((NaiveTime::MIN, true));
    }
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let time = NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)?;
    Some((time, false))
}

impl WeeklyHours {
    pub fn parse(items: &[WeeklyIntervalJson]) -> Result<Self, String> {
        let mut intervals = Vec::with_capacity(items.len());
        for item in items {
            let day = parse_day(&item.day)
                .ok_or_else(|| format!("`{}` is not a day (mon, tue, … sun)", item.day))?;
            let (start, start_is_midnight) = parse_time(&item.start)
                .ok_or_else(|| format!("`{}` is not a time (HH:MM)", item.start))?;
            let (end, ends_at_midnight) = parse_time(&item.end)
                .ok_or_else(|| format!("`{}` is not a time (HH:MM or 24:00)", item.end))?;
            if start_is_midnight {
                return Err("an interval cannot start at 24:00".to_owned());
            }
            if !ends_at_midnight && end <= start {
                return Err(format!(
                    "{} {}–{} ends before it starts",
                    item.day, item.start, item.end
                ));
            }
            for time in [start, end] {
                if time.format("%M").to_string().parse::<u32>().unwrap_or(1) % GRANULARITY_MINUTES
                    != 0
                {
                    return Err(format!(
                        "times must be on a {GRANULARITY_MINUTES}-minute grid"
                    ));
                }
            }
            intervals.push(Interval {
                day,
                start,
                end,
                ends_at_midnight,
            });
        }
        intervals.sort_by_key(|i| (i.day.num_days_from_monday(), i.start));
        for pair in intervals.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.day == b.day && (a.ends_at_midnight || a.end > b.start) {
                return Err(format!("{} has overlapping intervals", day_name(a.day)));
            }
        }
        Ok(WeeklyHours(intervals))
    }

    /// Reads the stored JSON. Stored hours were validated on write; anything unreadable
    /// is treated as no hours at all rather than guessed at.
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value::<Vec<WeeklyIntervalJson>>(value.clone())
            .ok()
            .and_then(|items| Self::parse(&items).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let items: Vec<WeeklyIntervalJson> = self
            .0
            .iter()
            .map(|i| WeeklyIntervalJson {
                day: day_name(i.day).to_owned(),
                start: i.start.format("%H:%M").to_string(),
                end: if i.ends_at_midnight {
                    "24:00".to_owned()
                } else {
                    i.end.format("%H:%M").to_string()
                },
            })
            .collect();
        serde_json::to_value(items).unwrap_or_default()
    }

    pub fn on(&self, day: Weekday) -> impl Iterator<Item = &Interval> {
        self.0.iter().filter(move |i| i.day == day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(day: &str, start: &str, end: &str) -> WeeklyIntervalJson {
        WeeklyIntervalJson {
            day: day.into(),
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn parses_valid_hours_and_round_trips() {
        let hours = WeeklyHours::parse(&[
            item("tue", "13:00", "17:00"),
            item("mon", "09:00", "12:00"),
            item("mon", "13:00", "24:00"),
        ])
        .unwrap();
        assert_eq!(hours.on(Weekday::Mon).count(), 2);
        assert_eq!(WeeklyHours::from_json(&hours.to_json()), hours);
    }

    #[test]
    fn rejects_bad_hours() {
        for bad in [
            vec![item("funday", "09:00", "10:00")],
            vec![item("mon", "9:00", "10:00")],
            vec![item("mon", "10:00", "09:00")],
            vec![item("mon", "09:00", "09:00")],
            vec![item("mon", "09:03", "10:00")],
            vec![item("mon", "09:00", "12:00"), item("mon", "11:00", "13:00")],
            vec![item("mon", "24:00", "10:00")],
            vec![item("mon", "25:00", "26:00")],
        ] {
            assert!(WeeklyHours::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
