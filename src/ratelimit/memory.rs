//! The in-process backend: one sliding log (timestamps of passed requests) per bucket,
//! behind one mutex, so a check over several buckets is atomic.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::{Backend, Bucket, BucketState, Clock, Outcome};

/// Empty logs are dropped every this many checks, so addresses seen once do not stay.
const SWEEP_EVERY: u32 = 4096;

#[derive(Default)]
pub struct MemoryBackend {
    clock: Clock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    logs: HashMap<String, VecDeque<u64>>,
    checks_since_sweep: u32,
}

impl MemoryBackend {
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// The check itself, synchronous: it never waits on anything but the mutex.
    pub fn check_now(&self, buckets: &[Bucket], window: Duration) -> Outcome {
        let window_us = window.as_micros() as u64;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_us();
        let horizon = now.saturating_sub(window_us);

        state.checks_since_sweep += 1;
        if state.checks_since_sweep >= SWEEP_EVERY {
            state.checks_since_sweep = 0;
            state
                .logs
                .retain(|_, log| log.back().is_some_and(|last| *last > horizon));
        }

        let mut allowed = true;
        for bucket in buckets {
            let log = state.logs.entry(bucket.key.clone()).or_default();
            while log.front().is_some_and(|at| *at <= horizon) {
                log.pop_front();
            }
            if log.len() >= bucket.limit as usize {
                allowed = false;
            }
        }
        let mut reported = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            let log = state.logs.entry(bucket.key.clone()).or_default();
            if allowed {
                log.push_back(now);
            }
            let count = log.len();
            // The entry whose departure brings the count below the limit (or, with room
            // left, the oldest one).
            let index = count.saturating_sub(bucket.limit as usize);
            let reset_us = log.get(index).map_or(now, |at| at + window_us);
            reported.push(BucketState {
                limit: bucket.limit,
                count: count as u32,
                reset_us,
            });
        }
        Outcome {
            allowed,
            now_us: now,
            buckets: reported,
        }
    }
}

impl MemoryBackend {
    /// Records a request another backend passed, without checking: the shadow of what
    /// this instance let through, so falling back to it never hands out a fresh budget.
    /// A log never holds more than its bucket's limit.
    pub fn record(&self, buckets: &[Bucket], window: Duration) {
        let window_us = window.as_micros() as u64;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_us();
        let horizon = now.saturating_sub(window_us);
        for bucket in buckets {
            let log = state.logs.entry(bucket.key.clone()).or_default();
            while log.front().is_some_and(|at| *at <= horizon) || log.len() >= bucket.limit as usize
            {
                log.pop_front();
            }
            log.push_back(now);
        }
    }
}

impl Backend for MemoryBackend {
    fn check<'a>(&'a self, buckets: &'a [Bucket], window: Duration) -> BoxFuture<'a, Outcome> {
        let outcome = self.check_now(buckets, window);
        Box::pin(std::future::ready(outcome))
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(key: &str, limit: u32) -> Bucket {
        Bucket {
            key: key.to_owned(),
            limit,
        }
    }

    #[test]
    fn passes_exactly_the_limit_and_records_refusals_nowhere() {
        let backend = MemoryBackend::new();
        let window = Duration::from_secs(60);
        let buckets = [bucket("key:a", 3), bucket("org:o", 5)];
        let passed: Vec<bool> = (0..5)
            .map(|_| backend.check_now(&buckets, window).allowed)
            .collect();
        assert_eq!(passed, [true, true, true, false, false]);
        // Refused requests were not recorded, in the key's log or the org's.
        let other_key = [bucket("key:b", 3), bucket("org:o", 5)];
        let outcome = backend.check_now(&other_key, window);
        assert!(outcome.allowed);
        assert_eq!(outcome.buckets[1].count, 4);
        assert!(backend.check_now(&other_key, window).allowed);
        // The organization is now full for every key.
        let third = [bucket("key:c", 3), bucket("org:o", 5)];
        let refused = backend.check_now(&third, window);
        assert!(!refused.allowed);
        assert_eq!(refused.buckets[0].count, 0);
        assert_eq!(refused.buckets[1].count, 5);
    }

    #[test]
    fn recorded_passes_count_against_the_fallback() {
        let backend = MemoryBackend::new();
        let window = Duration::from_secs(60);
        let buckets = [bucket("key:a", 3)];
        backend.record(&buckets, window);
        backend.record(&buckets, window);
        assert!(backend.check_now(&buckets, window).allowed);
        assert!(!backend.check_now(&buckets, window).allowed);
        // The shadow never grows past the limit.
        for _ in 0..10 {
            backend.record(&buckets, window);
        }
        assert_eq!(backend.check_now(&buckets, window).buckets[0].count, 3);
    }

    #[test]
    fn the_window_slides() {
        let backend = MemoryBackend::new();
        let window = Duration::from_millis(500);
        let buckets = [bucket("ip:1", 2)];
        assert!(backend.check_now(&buckets, window).allowed);
        std::thread::sleep(Duration::from_millis(300));
        assert!(backend.check_now(&buckets, window).allowed);
        let refused = backend.check_now(&buckets, window);
        assert!(!refused.allowed);
        // The first request leaves the window first: that is when the next one passes.
        let wait = refused.buckets[0].reset_us - refused.now_us;
        assert!(wait <= 200_000, "{wait}");
        std::thread::sleep(Duration::from_micros(wait + 10_000));
        assert!(backend.check_now(&buckets, window).allowed);
        assert!(!backend.check_now(&buckets, window).allowed);
    }
}
