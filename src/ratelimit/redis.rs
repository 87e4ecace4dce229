//! The shared backend: one Redis sorted set per bucket (scores are the passed requests'
//! times), checked and recorded for all of a request's buckets by one Lua script, so a
//! check is one round trip and atomic across every instance. Time comes from Redis
//! (`TIME`), so instances with skewed clocks still share one window.
//!
//! When Redis cannot be reached (or answers slower than [`TIMEOUT`]) the check falls back
//! to an in-process limiter, so the API stays up with per-instance limits; Redis is tried
//! again at most once per [`RETRY_AFTER`], and the outage is logged at most every
//! [`WARN_EVERY`]. The in-process limiter is a shadow: every request Redis passed is
//! recorded in it too, so on failover an instance carries on from what it already let
//! through in the window instead of a fresh budget, and never passes more than a limit in
//! any window by itself.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::memory::MemoryBackend;
use super::{Backend, Bucket, BucketState, Outcome, RedisConfig};

/// The longest a request waits on Redis before using the in-process limiter instead.
pub const TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, Redis is skipped (in-process limits apply) for this long.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
const WARN_EVERY: Duration = Duration::from_secs(30);

/// KEYS: the buckets. ARGV: window (µs), a unique member for this request, then each
/// bucket's limit. Returns `allowed, now_us`, then `count, reset_us` per bucket.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local counts = {}
local allowed = 1
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  counts[i] = redis.call('ZCARD', KEYS[i])
  if counts[i] >= tonumber(ARGV[i + 2]) then allowed = 0 end
end
local out = {allowed, now}
for i = 1, #KEYS do
  local count = counts[i]
  if allowed == 1 then
    redis.call('ZADD', KEYS[i], now, ARGV[2])
    redis.call('PEXPIRE', KEYS[i], math.ceil(window / 1000) + 1000)
    count = count + 1
  end
  local limit = tonumber(ARGV[i + 2])
  local index = 0
  if count > limit then index = count - limit end
  local entry = redis.call('ZRANGE', KEYS[i], index, index, 'WITHSCORES')
  local reset = now
  if entry[2] then reset = tonumber(entry[2]) + window end
  out[#out + 1] = count
  out[#out + 1] = reset
end
return out
"#;

pub struct RedisBackend {
    connection: ConnectionManager,
    prefix: String,
    script: redis::Script,
    fallback: MemoryBackend,
    health: Mutex<Health>,
}

#[derive(Default)]
struct Health {
    down_since: Option<Instant>,
    retry_at: Option<Instant>,
    warned_at: Option<Instant>,
}

impl RedisBackend {
    /// Connects lazily: start-up never waits on Redis, and a Redis that is down at start
    /// behaves like one that went down later. Needs a Tokio runtime.
    pub fn new(config: &RedisConfig) -> Result<Self, String> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| format!("REDIS_URL is not a Redis URL: {e}"))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| format!("cannot set up the Redis connection: {e}"))?;
        Ok(RedisBackend {
            connection,
            prefix: config.prefix.clone(),
            script: redis::Script::new(SCRIPT),
            fallback: MemoryBackend::new(),
            health: Mutex::new(Health::default()),
        })
    }

    /// True while Redis answers (or has not been tried since its last failure expired).
    pub fn is_healthy(&self) -> bool {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .down_since
            .is_none()
    }

    async fn check_redis(
        &self,
        buckets: &[Bucket],
        window: Duration,
    ) -> Result<Outcome, redis::RedisError> {
        let member = uuid::Uuid::now_v7().simple().to_string();
        let mut invocation = self.script.prepare_invoke();
        for bucket in buckets {
            invocation.key(format!("{}:{}", self.prefix, bucket.key));
        }
        invocation.arg(window.as_micros() as u64).arg(member);
        for bucket in buckets {
            invocation.arg(bucket.limit);
        }
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation.invoke_async(&mut connection).await?;
        parse_reply(&reply, buckets).ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Parse,
                "unexpected reply from the rate limit script",
            ))
        })
    }

    fn skip_redis(&self) -> bool {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.retry_at.is_some_and(|at| Instant::now() < at)
    }

    fn mark_down(&self, error: &str) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        health.down_since.get_or_insert(now);
        health.retry_at = Some(now + RETRY_AFTER);
        if health
            .warned_at
            .is_none_or(|at| now.duration_since(at) >= WARN_EVERY)
        {
            health.warned_at = Some(now);
            tracing::warn!(
                error,
                "Redis rate limiter unreachable: using in-process limits on this instance until it answers"
            );
        }
    }

    fn mark_up(&self) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = health.down_since.take() {
            health.retry_at = None;
            health.warned_at = None;
            tracing::info!(
                down_for_secs = since.elapsed().as_secs(),
                "Redis rate limiter reachable again: limits are shared again"
            );
        }
    }
}

fn parse_reply(reply: &[i64], buckets: &[Bucket]) -> Option<Outcome> {
    let (&allowed, rest) = reply.split_first()?;
    let (&now, pairs) = rest.split_first()?;
    if pairs.len() != buckets.len() * 2 {
        return None;
    }
    let states = pairs
        .chunks_exact(2)
        .zip(buckets)
        .map(|(pair, bucket)| BucketState {
            limit: bucket.limit,
            count: pair[0].max(0) as u32,
            reset_us: pair[1].max(0) as u64,
        })
        .collect();
    Some(Outcome {
        allowed: allowed == 1,
        now_us: now.max(0) as u64,
        buckets: states,
    })
}

impl Backend for RedisBackend {
    fn check<'a>(&'a self, buckets: &'a [Bucket], window: Duration) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            if !self.skip_redis() {
                match tokio::time::timeout(TIMEOUT, self.check_redis(buckets, window)).await {
                    Ok(Ok(outcome)) => {
                        self.mark_up();
                        if outcome.allowed {
                            self.fallback.record(buckets, window);
                        }
                        return outcome;
                    }
                    Ok(Err(err)) => self.mark_down(&err.to_string()),
                    Err(_) => self.mark_down("no answer within the timeout"),
                }
            }
            self.fallback.check_now(buckets, window)
        })
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    fn ping(&self) -> BoxFuture<'_, Option<Result<Duration, String>>> {
        Box::pin(async move {
            let started = Instant::now();
            let mut connection = self.connection.clone();
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut connection);
            Some(match tokio::time::timeout(TIMEOUT, ping).await {
                Ok(Ok(_)) => Ok(started.elapsed()),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err("no answer within the timeout".to_owned()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_per_bucket() {
        let buckets = [
            Bucket {
                key: "key:a".into(),
                limit: 100,
            },
            Bucket {
                key: "org:o".into(),
                limit: 1000,
            },
        ];
        let outcome = parse_reply(&[1, 5_000, 3, 65_000, 40, 61_000], &buckets).unwrap();
        assert!(outcome.allowed);
        assert_eq!(outcome.now_us, 5_000);
        assert_eq!(outcome.buckets[0].count, 3);
        assert_eq!(outcome.buckets[1].reset_us, 61_000);
        assert!(parse_reply(&[1, 5_000, 3], &buckets).is_none());
        assert!(parse_reply(&[], &buckets).is_none());
    }
}
