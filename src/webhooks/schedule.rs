//! When to try again. The contract's schedule (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
//! 10 h) with ±10 % jitter so that a partner coming back up is not hit by every retry at
//! once; a `Retry-After` longer than the next step is honoured (up to a day).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// Delays before retries 1..=7; the first attempt is immediate.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// Attempts a delivery gets before it is marked failed: the first and seven retries.
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS.len() as i32 + 1;

/// A subscription that has failed without a success for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);

const MAX_RETRY_AFTER: Duration = Duration::days(1);

/// The time, injectable so retry timing is tested without sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, at microsecond precision like every stored timestamp.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::time::now()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// A fraction in [-1, 1] that spreads retries; injectable for tests.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

pub fn random_jitter() -> Jitter {
    Arc::new(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            return 0.0;
        }
        let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        unit * 2.0 - 1.0
    })
}

/// The delay after failed attempt number `attempt` (1-based), or `None` when it was the
/// last. `jitter` in [-1, 1] moves the delay by up to 10 %.
pub fn next_delay(attempt: i32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    let base = *RETRY_DELAYS.get(index)?;
    let spread = base.num_milliseconds() as f64 * 0.1 * jitter.clamp(-1.0, 1.0);
    let delay = base + Duration::milliseconds(spread as i64);
    Some(match retry_after {
        Some(wanted) if wanted > delay => wanted.min(MAX_RETRY_AFTER),
        _ => delay,
    })
}

/// Reads `Retry-After`: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return Some(Duration::seconds(i64::from(seconds)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).max(Duration::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_contract_schedule_within_ten_percent() {
        let expected = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
        for (i, seconds) in expected.into_iter().enumerate() {
            let attempt = i as i32 + 1;
            let base = Duration::seconds(seconds);
            assert_eq!(next_delay(attempt, 0.0, None), Some(base));
            let low = next_delay(attempt, -1.0, None).unwrap();
            let high = next_delay(attempt, 1.0, None).unwrap();
            assert_eq!(low, base - base / 10);
            assert_eq!(high, base + base / 10);
        }
        assert_eq!(next_delay(MAX_ATTEMPTS, 0.0, None), None);
        assert_eq!(next_delay(0, 0.0, None), None);
    }

    #[test]
    fn retry_after_stretches_but_never_shortens_the_schedule() {
        let long = Duration::minutes(2);
        assert_eq!(next_delay(1, 0.0, Some(long)), Some(long));
        assert_eq!(
            next_delay(3, 0.0, Some(Duration::seconds(1))),
            Some(Duration::minutes(30))
        );
        assert_eq!(
            next_delay(1, 0.0, Some(Duration::days(30))),
            Some(Duration::days(1))
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 10:01:00 GMT", now),
            Some(Duration::seconds(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn random_jitter_stays_in_range() {
        let jitter = random_jitter();
        for _ in 0..1_000 {
            let j = jitter();
            assert!((-1.0..=1.0).contains(&j));
        }
    }
}
