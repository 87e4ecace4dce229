//! Rate limits: exact sliding logs over a rolling window, per API key (or Clerk user), per
//! organization, and per client IP for requests without valid credentials. This module
//! owns the arithmetic (which buckets a caller draws on, what the headers say); the two
//! backends behind [`Backend`] own the atomic check-and-record: [`memory`] in-process (the
//! default) and [`redis`] shared by every instance, falling back to in-process when Redis
//! is unreachable. The HTTP guard (`crate::http::ApiGuard`) applies it to every request.
//!
//! A request passes only if every bucket it draws on has fewer than `limit` requests in the
//! window `(now - window, now]`; then it is recorded in all of them, otherwise in none (a
//! refused request does not extend the wait). So no bucket ever holds more than `limit`
//! passed requests in any window, which is what the contract promises.

pub mod memory;
pub mod redis;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::domain::{Actor, Credential};

pub const LIMIT_HEADER: &str = "x-ratelimit-limit";
pub const REMAINING_HEADER: &str = "x-ratelimit-remaining";
pub const RESET_HEADER: &str = "x-ratelimit-reset";

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Per API key, and per Clerk user.
    pub per_key: u32,
    /// Per organization: all its keys and users together.
    pub per_org: u32,
    /// Per client IP, for requests without valid credentials.
    pub per_ip: u32,
    pub window: Duration,
    /// Shared limits; in-process when `None`.
    pub redis: Option<RedisConfig>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_key: 100,
            per_org: 1000,
            per_ip: 100,
            window: Duration::from_secs(60),
            redis: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Every key the limiter writes starts with `{prefix}:`.
    pub prefix: String,
}

/// One counter a request draws on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `key:…`, `user:…`, `org:…` or `ip:…`; backends may add a namespace.
    pub key: String,
    pub limit: u32,
}

/// What a backend saw, for every bucket of one check, in the order given.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub allowed: bool,
    /// The backend's clock, Unix microseconds.
    pub now_us: u64,
    pub buckets: Vec<BucketState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketState {
    pub limit: u32,
    /// Requests counted in the window, this one included when it passed.
    pub count: u32,
    /// Unix microseconds at which `count` next drops: when it is at (or over) the limit,
    /// the moment a request will pass again.
    pub reset_us: u64,
}

/// An atomic check-and-record over several buckets.
pub trait Backend: Send + Sync {
    fn check<'a>(&'a self, buckets: &'a [Bucket], window: Duration) -> BoxFuture<'a, Outcome>;
    fn name(&self) -> &'static str;
    /// Whether a shared store behind it answers, and how fast (for readiness); `None` when
    /// there is no store to ask.
    fn ping(&self) -> BoxFuture<'_, Option<Result<Duration, String>>> {
        Box::pin(std::future::ready(None))
    }
}

/// Who a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    ApiKey {
        key_id: Uuid,
        organization_id: Uuid,
    },
    User {
        user_id: String,
        organization_id: Uuid,
    },
    /// No valid credentials: the client's address.
    Ip(IpAddr),
}

impl Subject {
    pub fn of(principal: &Actor) -> Self {
        match &principal.credential {
            Credential::ApiKey { key_id } => Subject::ApiKey {
                key_id: *key_id,
                organization_id: principal.organization_id,
            },
            Credential::ClerkUser { user_id, .. } => Subject::User {
                user_id: user_id.clone(),
                organization_id: principal.organization_id,
            },
            // The operator works at the command line, never through the API; should one
            // ever arrive, it counts as one user of the organization.
            Credential::Operator => Subject::User {
                user_id: "operator".to_owned(),
                organization_id: principal.organization_id,
            },
        }
    }

    fn buckets(&self, config: &RateLimitConfig) -> Vec<Bucket> {
        let org = |id: &Uuid| Bucket {
            key: format!("org:{}", id.simple()),
            limit: config.per_org,
        };
        match self {
            Subject::ApiKey {
                key_id,
                organization_id,
            } => vec![
                Bucket {
                    key: format!("key:{}", key_id.simple()),
                    limit: config.per_key,
                },
                org(organization_id),
            ],
            Subject::User {
                user_id,
                organization_id,
            } => vec![
                Bucket {
                    key: format!("user:{user_id}"),
                    limit: config.per_key,
                },
                org(organization_id),
            ],
            Subject::Ip(ip) => vec![Bucket {
                key: format!("ip:{ip}"),
                limit: config.per_ip,
            }],
        }
    }
}

impl Bucket {
    /// What the bucket limits: `key`, `user`, `org` or `ip` (its key's prefix).
    pub fn kind(&self) -> &'static str {
        match self.key.split(':').next() {
            Some("key") => "key",
            Some("user") => "user",
            Some("org") => "org",
            _ => "ip",
        }
    }
}

/// The verdict on one request and the headers that report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The reported bucket: whichever is closest to exhaustion.
    pub limit: u32,
    pub remaining: u32,
    pub reset_us: u64,
    /// Whole seconds until a request will pass, when this one was refused.
    pub retry_after_secs: Option<u64>,
}

impl Decision {
    /// Picks the bucket to report: fewest remaining; on a tie the later reset, so an
    /// exhausted request reports the moment every blocking bucket has room again.
    pub fn from_outcome(outcome: &Outcome) -> Decision {
        let remaining = |b: &BucketState| b.limit.saturating_sub(b.count);
        let reported = outcome
            .buckets
            .iter()
            .min_by(|a, b| {
                remaining(a)
                    .cmp(&remaining(b))
                    .then(b.reset_us.cmp(&a.reset_us))
            })
            .copied()
            .unwrap_or(BucketState {
                limit: 0,
                count: 0,
                reset_us: outcome.now_us,
            });
        let retry_after_secs = (!outcome.allowed).then(|| {
            let wait_us = outcome
                .buckets
                .iter()
                .filter(|b| b.count >= b.limit)
                .map(|b| b.reset_us.saturating_sub(outcome.now_us))
                .max()
                .unwrap_or(0);
            wait_us.div_ceil(1_000_000).max(1)
        });
        Decision {
            allowed: outcome.allowed,
            limit: reported.limit,
            remaining: remaining(&reported),
            reset_us: reported.reset_us,
            retry_after_secs,
        }
    }

    /// `X-RateLimit-Reset`: rounded up, so a request sent at that second passes.
    pub fn reset_unix_secs(&self) -> u64 {
        self.reset_us.div_ceil(1_000_000)
    }

    /// The rate-limit headers every response carries, as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, u64); 3] {
        [
            (LIMIT_HEADER, u64::from(self.limit)),
            (REMAINING_HEADER, u64::from(self.remaining)),
            (RESET_HEADER, self.reset_unix_secs()),
        ]
    }
}

/// The limits of this process: configuration plus a backend.
pub struct RateLimiter {
    backend: Arc<dyn Backend>,
    config: RateLimitConfig,
}

impl RateLimiter {
    /// Redis when configured (connected lazily, so start-up never waits on it), else
    /// in-process. Needs a Tokio runtime.
    pub fn new(config: RateLimitConfig) -> Result<Self, String> {
        let backend: Arc<dyn Backend> = match &config.redis {
            Some(redis) => Arc::new(redis::RedisBackend::new(redis)?),
            None => Arc::new(memory::MemoryBackend::new()),
        };
        Ok(RateLimiter { backend, config })
    }

    pub fn with_backend(config: RateLimitConfig, backend: Arc<dyn Backend>) -> Self {
        RateLimiter { backend, config }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The shared store's answer to a ping, when there is one (see [`Backend::ping`]).
    pub async fn ping(&self) -> Option<Result<Duration, String>> {
        self.backend.ping().await
    }

    pub async fn check(&self, subject: &Subject) -> Decision {
        let buckets = subject.buckets(&self.config);
        let outcome = self.backend.check(&buckets, self.config.window).await;
        // Counted against the subject's own bucket when it passed, the bucket that was
        // full when it did not.
        let decided_by = if outcome.allowed {
            buckets.first()
        } else {
            buckets
                .iter()
                .zip(&outcome.buckets)
                .find(|(_, state)| state.count >= state.limit)
                .map(|(bucket, _)| bucket)
        };
        crate::meter::rate_limit_decision(decided_by.map_or("ip", Bucket::kind), outcome.allowed);
        Decision::from_outcome(&outcome)
    }
}

/// Unix microseconds from a monotonic source: wall-clock steps cannot shrink or stretch a
/// window of the in-process limiter.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
    started_unix_us: u64,
}

impl Clock {
    pub fn new() -> Self {
        let started_unix_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        Clock {
            started: Instant::now(),
            started_unix_us,
        }
    }

    pub fn now_us(&self) -> u64 {
        self.started_unix_us + self.started.elapsed().as_micros() as u64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(limit: u32, count: u32, reset_us: u64) -> BucketState {
        BucketState {
            limit,
            count,
            reset_us,
        }
    }

    #[test]
    fn reports_the_bucket_closest_to_exhaustion() {
        let outcome = Outcome {
            allowed: true,
            now_us: 1_000_000,
            buckets: vec![state(100, 60, 5_000_000), state(1000, 965, 7_000_000)],
        };
        let decision = Decision::from_outcome(&outcome);
        assert_eq!((decision.limit, decision.remaining), (1000, 35));
        assert_eq!(decision.reset_unix_secs(), 7);
        assert_eq!(decision.retry_after_secs, None);
    }

    #[test]
    fn a_refusal_reports_when_every_blocking_bucket_has_room() {
        let outcome = Outcome {
            allowed: false,
            now_us: 10_000_000,
            buckets: vec![state(100, 100, 12_500_000), state(1000, 1000, 40_000_001)],
        };
        let decision = Decision::from_outcome(&outcome);
        assert_eq!((decision.limit, decision.remaining), (1000, 0));
        assert_eq!(decision.reset_unix_secs(), 41);
        assert_eq!(decision.retry_after_secs, Some(31));
        assert_eq!(
            decision.headers(),
            [
                (LIMIT_HEADER, 1000),
                (REMAINING_HEADER, 0),
                (RESET_HEADER, 41)
            ]
        );
    }
}
