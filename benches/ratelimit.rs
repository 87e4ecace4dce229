//! The rate limiter's added latency per request: one `RateLimiter::check` (building the
//! buckets, the atomic check-and-record, the decision), in-process and, when
//! `TEST_REDIS_URL` or `REDIS_URL` is set, through Redis. Realistic log sizes: checks
//! spread over 10,000 keys in 1,000 organizations under the default limits, so every
//! check passes and logs hold up to hundreds of entries.
//!
//! `cargo bench --bench ratelimit`

use std::time::{Duration, Instant};

use aura::ratelimit::{RateLimitConfig, RateLimiter, RedisConfig, Subject};
use uuid::Uuid;

const KEYS: usize = 10_000;
const KEYS_PER_ORG: usize = 10;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let subjects: Vec<Subject> = (0..KEYS)
            .map(|n| Subject::ApiKey {
                key_id: Uuid::from_u128(n as u128 + 1),
                organization_id: Uuid::from_u128((n / KEYS_PER_ORG) as u128 + 1_000_000),
            })
            .collect();

        let limiter = RateLimiter::new(RateLimitConfig::default()).expect("limiter");
        measure("in-process", &limiter, &subjects, 200_000).await;

        let redis_url = std::env::var("TEST_REDIS_URL").or_else(|_| std::env::var("REDIS_URL"));
        let Ok(url) = redis_url else {
            println!("redis: skipped (set TEST_REDIS_URL=redis://127.0.0.1:6379)");
            return;
        };
        let prefix = format!("aura-bench:{}", Uuid::now_v7().simple());
        let config = RateLimitConfig {
            redis: Some(RedisConfig {
                url: url.clone(),
                prefix: prefix.clone(),
            }),
            ..RateLimitConfig::default()
        };
        let limiter = RateLimiter::new(config).expect("redis limiter");
        measure("redis", &limiter, &subjects, 20_000).await;
        // Prove the checks went to Redis (not the in-process fallback), then clean up.
        let client = redis::Client::open(url.as_str()).expect("redis url");
        let mut connection = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        println!("redis: {} sorted sets written under {prefix}", keys.len());
        assert_eq!(keys.len(), KEYS + KEYS / KEYS_PER_ORG, "checks fell back");
        for chunk in keys.chunks(1000) {
            let _: () = redis::cmd("DEL")
                .arg(chunk)
                .query_async(&mut connection)
                .await
                .expect("DEL");
        }
    });
}

async fn measure(name: &str, limiter: &RateLimiter, subjects: &[Subject], checks: usize) {
    // Warm-up: connections, script load, allocations.
    for subject in subjects.iter().take(100) {
        limiter.check(subject).await;
    }
    let mut samples = Vec::with_capacity(checks);
    let started = Instant::now();
    for n in 0..checks {
        let subject = &subjects[(n * 7919) % subjects.len()];
        let at = Instant::now();
        let decision = limiter.check(subject).await;
        samples.push(at.elapsed());
        assert!(decision.allowed, "the benchmark never exhausts a limit");
    }
    let total = started.elapsed();
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    let mean = total / checks as u32;
    println!(
        "{name}: {checks} checks, mean {}, p50 {}, p99 {}, max {} per check ({:.0} checks/s on one task)",
        micros(mean),
        micros(pick(0.5)),
        micros(pick(0.99)),
        micros(pick(1.0)),
        checks as f64 / total.as_secs_f64()
    );
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
