//! The metric families: each name, its labels and its unit, defined once, and the small
//! functions the layers call to record them. Names and labels follow the OpenTelemetry
//! semantic conventions as Prometheus renders them (`http.server.request.duration` →
//! `http_server_request_duration_seconds`). Recording goes through the `metrics` facade:
//! without an installed recorder (no `--metrics-bind`) every call is a no-op. Labels are
//! bounded: route templates, never paths; operation names from known documents, never
//! free text from anonymous callers.

use std::time::Duration;

pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub const HTTP_ACTIVE_REQUESTS: &str = "http_server_active_requests";
pub const GRAPHQL_OPERATIONS: &str = "graphql_server_operations_total";
pub const GRAPHQL_OPERATION_DURATION: &str = "graphql_server_operation_duration_seconds";
pub const RATE_LIMIT_DECISIONS: &str = "aura_rate_limit_decisions_total";
pub const WEBHOOK_ATTEMPTS: &str = "aura_webhook_attempts_total";
pub const WEBHOOK_PENDING: &str = "aura_webhook_pending_deliveries";
pub const WEBHOOK_OLDEST_PENDING_AGE: &str = "aura_webhook_oldest_pending_age_seconds";
pub const OUTBOX_LAG: &str = "aura_outbox_lag_seconds";
pub const WEBSOCKET_CONNECTIONS: &str = "aura_websocket_connections";
pub const LIVE_SUBSCRIPTIONS: &str = "aura_live_subscriptions";
pub const DB_CONNECTIONS_USAGE: &str = "db_client_connections_usage";
pub const DB_CONNECTIONS_MAX: &str = "db_client_connections_max";
pub const KEY_CACHE_REQUESTS: &str = "aura_key_cache_requests_total";
pub const READY: &str = "aura_ready";
pub const BUILD_INFO: &str = "aura_build_info";

/// Request and operation latencies: 5 ms to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Commit to first delivery attempt: 10 ms to 10 min (a backlog shows here).
pub const LAG_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

/// Describes every family (its HELP line and unit), once per process.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP requests by method, route template and status"
    );
    describe_gauge!(HTTP_ACTIVE_REQUESTS, "HTTP requests being served now");
    describe_counter!(
        GRAPHQL_OPERATIONS,
        "GraphQL operations run, by type and operation name (REST runs operations too)"
    );
    describe_histogram!(
        GRAPHQL_OPERATION_DURATION,
        Unit::Seconds,
        "GraphQL operation latency, by type and operation name"
    );
    describe_counter!(
        RATE_LIMIT_DECISIONS,
        "Rate-limit checks by the bucket closest to exhaustion (key, user, org, ip) and outcome"
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Webhook delivery attempts by outcome (succeeded, failed)"
    );
    describe_gauge!(
        WEBHOOK_PENDING,
        "Webhook deliveries waiting to be sent (the whole deployment's outbox)"
    );
    describe_gauge!(
        WEBHOOK_OLDEST_PENDING_AGE,
        Unit::Seconds,
        "Age of the oldest webhook delivery still waiting"
    );
    describe_histogram!(
        OUTBOX_LAG,
        Unit::Seconds,
        "From an event's commit to its delivery's first attempt"
    );
    describe_gauge!(WEBSOCKET_CONNECTIONS, "Open WebSocket connections");
    describe_gauge!(LIVE_SUBSCRIPTIONS, "Running live subscriptions");
    describe_gauge!(
        DB_CONNECTIONS_USAGE,
        "Database pool connections by state (used, idle)"
    );
    describe_gauge!(DB_CONNECTIONS_MAX, "Database pool size limit");
    describe_counter!(
        KEY_CACHE_REQUESTS,
        "Verified API key cache look-ups by result (hit, miss, bypass)"
    );
    describe_gauge!(READY, "1 when /health/ready would answer 200, else 0");
    describe_gauge!(BUILD_INFO, "Always 1; the labels name the build");
}

/// One HTTP request served.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        "http_request_method" => method.to_owned(),
        "http_route" => route.to_owned(),
        "http_response_status_code" => status.to_string(),
    )
    .record(elapsed.as_secs_f64());
}

/// One more (`+1.0`) or one fewer (`-1.0`) request in flight.
pub fn http_active(delta: f64) {
    metrics::gauge!(HTTP_ACTIVE_REQUESTS).increment(delta);
}

/// One GraphQL operation run.
pub fn graphql_operation(kind: &'static str, name: &str, elapsed: Duration) {
    let labels = [
        ("graphql_operation_type", kind.to_owned()),
        ("graphql_operation_name", name.to_owned()),
    ];
    metrics::counter!(GRAPHQL_OPERATIONS, &labels).increment(1);
    metrics::histogram!(GRAPHQL_OPERATION_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// One rate-limit decision, by the bucket that decided it (`key`, `user`, `org`, `ip`).
pub fn rate_limit_decision(bucket: &'static str, allowed: bool) {
    metrics::counter!(
        RATE_LIMIT_DECISIONS,
        "bucket" => bucket,
        "outcome" => if allowed { "allowed" } else { "refused" },
    )
    .increment(1);
}

/// One webhook attempt finished.
pub fn webhook_attempt(succeeded: bool) {
    metrics::counter!(
        WEBHOOK_ATTEMPTS,
        "outcome" => if succeeded { "succeeded" } else { "failed" },
    )
    .increment(1);
}

/// The outbox's backlog, as last sampled.
pub fn webhook_backlog(pending: u64, oldest_age: Duration) {
    metrics::gauge!(WEBHOOK_PENDING).set(pending as f64);
    metrics::gauge!(WEBHOOK_OLDEST_PENDING_AGE).set(oldest_age.as_secs_f64());
}

/// A delivery's first attempt, `lag` after its event committed.
pub fn outbox_lag(lag: Duration) {
    metrics::histogram!(OUTBOX_LAG).record(lag.as_secs_f64());
}

pub fn websocket_connections(delta: f64) {
    metrics::gauge!(WEBSOCKET_CONNECTIONS).increment(delta);
}

pub fn live_subscriptions(delta: f64) {
    metrics::gauge!(LIVE_SUBSCRIPTIONS).increment(delta);
}

/// A database pool's state, as last sampled.
pub fn db_pool(pool: &'static str, used: u32, idle: u32, max: u32) {
    metrics::gauge!(DB_CONNECTIONS_USAGE, "pool_name" => pool, "state" => "used").set(used);
    metrics::gauge!(DB_CONNECTIONS_USAGE, "pool_name" => pool, "state" => "idle").set(idle);
    metrics::gauge!(DB_CONNECTIONS_MAX, "pool_name" => pool).set(max);
}

/// One verified-key cache look-up: `hit`, `miss`, or `bypass` (the cache is off while
/// cross-instance invalidation cannot be heard).
pub fn key_cache(result: &'static str) {
    metrics::counter!(KEY_CACHE_REQUESTS, "result" => result).increment(1);
}

pub fn ready(ready: bool) {
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

/// The build's version and commit (`AURA_BUILD_COMMIT` at build time, else `unknown`).
pub fn build_info() {
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "commit" => option_env!("AURA_BUILD_COMMIT").unwrap_or("unknown"),
    )
    .set(1.0);
}
