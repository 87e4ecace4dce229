//! Settings. Every setting is a flag and an environment variable; a bad value stops the
//! process with a one-line reason before anything starts.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::auth::clerk::{ClerkConfig, KeySource};
use crate::crypto::SecretBox;
use crate::http::guard::Cidr;
use crate::ratelimit::{RateLimitConfig, RedisConfig};
use crate::telemetry::LogFormat;
use crate::webhooks::WebhookConfig;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://aura.db?mode=rwc";

/// What the server needs to run, independent of how it was given.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// The pool's size; `None` takes `db::connect`'s default for the database.
    pub database_max_connections: Option<u32>,
    pub bind: SocketAddr,
    /// Clerk sign-in; `None` answers every JWT with 401.
    pub clerk: Option<ClerkConfig>,
    pub rate_limits: RateLimitConfig,
    pub webhooks: WebhookConfig,
    /// Mount the bench-only routes (`/bench/…`, see `crate::bench_routes`).
    pub bench_routes: bool,
    /// Proxies whose forwarded client address is believed (`X-Forwarded-For`, `Forwarded`).
    pub trusted_proxies: Vec<Cidr>,
    /// After SIGTERM, how long the server keeps serving (readiness already 503) so a load
    /// balancer stops routing to it, before it stops accepting and drains.
    pub shutdown_delay: Duration,
    /// Bounds on WebSocket use.
    pub websockets: WebSocketLimits,
    /// Where `GET /metrics` listens; off when `None`.
    pub metrics_bind: Option<SocketAddr>,
}

pub use crate::http::ws::WebSocketLimits;

impl Config {
    /// A server on an ephemeral port over `database_url`, for tests and tools.
    pub fn ephemeral(database_url: &str) -> Self {
        Config {
            database_url: database_url.to_owned(),
            database_max_connections: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            clerk: None,
            rate_limits: RateLimitConfig::default(),
            webhooks: WebhookConfig::ephemeral(),
            bench_routes: false,
            trusted_proxies: Vec::new(),
            shutdown_delay: Duration::ZERO,
            websockets: WebSocketLimits::default(),
            metrics_bind: None,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Database URL: `sqlite://path.db?mode=rwc` (embedded) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, value_parser = parse_database_url)]
    pub database_url: String,
    /// Most connections in the database pool [default on PostgreSQL: 16 for `serve`, 4 for
    /// `worker`, 2 for other commands; on a SQLite file 8, 4 and 2; SQLite in memory
    /// always uses one].
    #[arg(long, env = "AURA_DB_MAX_CONNECTIONS", global = true, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: Option<u32>,
    /// Log format: `text` (readable) or `json`.
    #[arg(long, env = "AURA_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `aura=debug,info`.
    #[arg(long, env = "AURA_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AURA_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Seed the demo organization if the database is empty, and print an API key for it.
    #[arg(long, env = "AURA_DEMO")]
    pub demo: bool,
    #[command(flatten)]
    pub clerk: ClerkArgs,
    #[command(flatten)]
    pub rate_limits: RateLimitArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Comma-separated proxies (CIDR networks or addresses) whose `X-Forwarded-For` or
    /// `Forwarded` header names the client; unset: the TCP peer is the client.
    #[arg(long, env = "AURA_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr)]
    pub trusted_proxies: Vec<Cidr>,
    /// After SIGTERM, keep serving this long (readiness already 503) before draining.
    #[arg(long, env = "AURA_SHUTDOWN_DELAY", default_value = "5s", value_parser = parse_std_duration)]
    pub shutdown_delay: Duration,
    /// Subscriptions one WebSocket connection may run at once.
    #[arg(long, env = "AURA_WS_MAX_SUBSCRIPTIONS", default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_max_subscriptions: u32,
    /// WebSocket connections one API key or Clerk user may hold open at once.
    #[arg(long, env = "AURA_WS_MAX_CONNECTIONS_PER_KEY", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ws_max_connections_per_key: u32,
    /// WebSocket connections one client address may hold open at once.
    #[arg(long, env = "AURA_WS_MAX_CONNECTIONS_PER_IP", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ws_max_connections_per_ip: u32,
    /// Events a subscription's `since` replay sends at most.
    #[arg(long, env = "AURA_WS_MAX_REPLAY", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ws_max_replay: u32,
    /// Mount the bench-only routes under `/bench` (no auth; for `bench/run.py` only).
    /// Exists only in builds with the `bench` feature.
    #[cfg(feature = "bench")]
    #[arg(long, env = "AURA_BENCH_ROUTES", hide = true)]
    pub bench_routes: bool,
}

/// Clerk sign-in. Set `CLERK_JWKS_URL` or `CLERK_JWT_KEY`, and `CLERK_ISSUER`.
#[derive(Args, Debug, Clone)]
pub struct ClerkArgs {
    /// Clerk's JWKS endpoint (`https://<instance>/.well-known/jwks.json`); plain http only
    /// on loopback.
    #[arg(long, env = "CLERK_JWKS_URL", value_parser = parse_jwks_url, conflicts_with = "clerk_jwt_key")]
    pub clerk_jwks_url: Option<reqwest::Url>,
    /// Clerk's PEM public key (networkless verification); `\n` escapes are accepted.
    // Validated in `config()`: clap would echo a bad value, and a private key pasted here
    // by mistake must not end up in logs.
    #[arg(long, env = "CLERK_JWT_KEY", hide_env_values = true)]
    pub clerk_jwt_key: Option<String>,
    /// The `iss` every Clerk token must carry (your Clerk Frontend API URL).
    #[arg(long, env = "CLERK_ISSUER")]
    pub clerk_issuer: Option<String>,
    /// Comma-separated origins allowed in `azp` (a token without `azp` is accepted).
    #[arg(long, env = "CLERK_AUTHORIZED_PARTIES", value_delimiter = ',')]
    pub clerk_authorized_parties: Vec<String>,
    /// How long fetched JWKS keys are trusted before they are fetched again.
    #[arg(long, env = "CLERK_JWKS_TTL", default_value = "1h", value_parser = parse_std_duration)]
    pub clerk_jwks_ttl: Duration,
}

/// Rate limits: rolling windows, per API key (and per Clerk user), per organization, and
/// per client IP for requests without valid credentials.
#[derive(Args, Debug, Clone)]
pub struct RateLimitArgs {
    /// Requests per window for one API key (and for one Clerk user).
    #[arg(long, env = "AURA_RATE_LIMIT_PER_KEY", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_key: u32,
    /// Requests per window for one organization, all its keys and users together.
    #[arg(long, env = "AURA_RATE_LIMIT_PER_ORG", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_org: u32,
    /// Requests per window from one IP address without valid credentials.
    #[arg(long, env = "AURA_RATE_LIMIT_PER_IP", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_ip: u32,
    /// The rolling window, e.g. `60s` or `1m`.
    #[arg(long, env = "AURA_RATE_LIMIT_WINDOW", default_value = "60s", value_parser = parse_std_duration)]
    pub rate_limit_window: Duration,
    /// Redis for limits shared by every instance (`redis://host:6379/0`); in-process when unset.
    // Validated in `config()`, so a URL with a password is never echoed.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key the limiter writes.
    #[arg(long, env = "AURA_REDIS_PREFIX", default_value = "aura:ratelimit")]
    pub redis_prefix: String,
}

impl ServeArgs {
    /// The settings, or a one-line reason they do not fit together.
    pub fn config(&self, global: &GlobalArgs) -> Result<Config, String> {
        Ok(Config {
            database_url: global.database_url.clone(),
            database_max_connections: global.db_max_connections,
            bind: self.bind,
            clerk: self.clerk.config()?,
            rate_limits: self.rate_limits.config()?,
            webhooks: self.webhooks.config(global)?,
            #[cfg(feature = "bench")]
            bench_routes: self.bench_routes,
            #[cfg(not(feature = "bench"))]
            bench_routes: false,
            trusted_proxies: self.trusted_proxies.clone(),
            shutdown_delay: self.shutdown_delay,
            websockets: WebSocketLimits {
                subscriptions_per_connection: self.ws_max_subscriptions as usize,
                connections_per_credential: self.ws_max_connections_per_key as usize,
                connections_per_ip: self.ws_max_connections_per_ip as usize,
                max_replay: self.ws_max_replay as usize,
            },
            metrics_bind: self.metrics.metrics_bind,
        })
    }
}

/// The Prometheus listener, for `aura serve` and `aura worker` alike.
#[derive(Args, Debug, Clone, Default)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics on `GET /metrics` at this address (e.g. `0.0.0.0:9090`);
    /// off when unset. A listener of its own, so metrics are never exposed with the API.
    #[arg(long, env = "AURA_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

/// `aura worker`: webhook delivery and, optionally, its metrics.
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// Webhook delivery. The dispatcher runs in `aura serve` unless turned off, and alone in
/// `aura worker`.
#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
    /// The key that encrypts webhook signing secrets at rest: 32 random bytes in base64
    /// (`openssl rand -base64 32`). Required with PostgreSQL; with SQLite it defaults to a
    /// key kept in `aura-webhook.key` beside the database, created on first start.
    // Validated in `config()`, so the key is never echoed.
    #[arg(long, env = "AURA_WEBHOOK_SECRET_KEY", hide_env_values = true)]
    pub webhook_secret_key: Option<String>,
    /// Lets webhook targets resolve to loopback and private addresses. Development and
    /// tests only: it opens the SSRF guard.
    #[arg(long, env = "AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private_targets: bool,
    /// A delivery succeeds with a 2xx within this.
    #[arg(long, env = "AURA_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = parse_std_duration)]
    pub webhook_timeout: Duration,
    /// How long a dispatcher holds a delivery it claimed; must exceed the timeout. A
    /// dispatcher that dies releases its deliveries this long after it claimed them.
    #[arg(long, env = "AURA_WEBHOOK_LEASE", default_value = "60s", value_parser = parse_std_duration)]
    pub webhook_lease: Duration,
    /// Requests in flight per dispatcher.
    #[arg(long, env = "AURA_WEBHOOK_CONCURRENCY", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub webhook_concurrency: u32,
    /// Requests in flight per webhook and dispatcher (a slow endpoint takes no more).
    #[arg(long, env = "AURA_WEBHOOK_PER_ENDPOINT", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub webhook_per_endpoint: u32,
    /// Run the dispatcher in `aura serve` (turn off when `aura worker`s deliver).
    #[arg(long, env = "AURA_WEBHOOK_DISPATCHER", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhook_dispatcher: bool,
}

pub const WEBHOOK_KEY_FILE: &str = "aura-webhook.key";

impl WebhookArgs {
    pub fn config(&self, global: &GlobalArgs) -> Result<WebhookConfig, String> {
        if self.webhook_timeout.is_zero() {
            return Err("AURA_WEBHOOK_TIMEOUT must be longer than zero".to_owned());
        }
        if self.webhook_lease <= self.webhook_timeout {
            return Err("AURA_WEBHOOK_LEASE must be longer than AURA_WEBHOOK_TIMEOUT".to_owned());
        }
        let secret_box = match &self.webhook_secret_key {
            Some(key) => SecretBox::from_base64(key)?,
            None if crate::db::is_sqlite(&global.database_url) => {
                load_or_create_key_file(&key_file_beside(&global.database_url))?
            }
            None => {
                return Err(
                    "AURA_WEBHOOK_SECRET_KEY is required with PostgreSQL (32 random bytes in base64: `openssl rand -base64 32`)"
                        .to_owned(),
                );
            }
        };
        Ok(WebhookConfig {
            secret_box,
            allow_private_targets: self.webhook_allow_private_targets,
            timeout: self.webhook_timeout,
            lease: self.webhook_lease,
            concurrency: self.webhook_concurrency as usize,
            per_subscription: self.webhook_per_endpoint as usize,
            poll_interval: Duration::from_secs(1),
            run_dispatcher: self.webhook_dispatcher,
        })
    }
}

/// `aura-webhook.key` in the SQLite database's directory (the working directory for an
/// in-memory database).
fn key_file_beside(database_url: &str) -> std::path::PathBuf {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    let dir = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !path.contains(":memory:"))
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    dir.join(WEBHOOK_KEY_FILE)
}

fn load_or_create_key_file(path: &std::path::Path) -> Result<SecretBox, String> {
    use base64::Engine;
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => SecretBox::from_base64(&text).map_err(|e| format!("{shown}: {e}")),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| format!("no randomness for {shown}: {e}"))?;
            let text = base64::engine::general_purpose::STANDARD.encode(key);
            write_private(path, &text).map_err(|e| format!("cannot create {shown}: {e}"))?;
            tracing::warn!(file = %shown, "created a webhook secret key file; set AURA_WEBHOOK_SECRET_KEY in production");
            Ok(SecretBox::new(&key))
        }
        Err(err) => Err(format!("cannot read {shown}: {err}")),
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

impl ClerkArgs {
    fn config(&self) -> Result<Option<ClerkConfig>, String> {
        let source = match (&self.clerk_jwks_url, &self.clerk_jwt_key) {
            (Some(url), _) => KeySource::Jwks {
                url: url.clone(),
                ttl: self.clerk_jwks_ttl,
            },
            (None, Some(pem)) => KeySource::Pem(parse_pem_key(pem)?),
            (None, None) => {
                if self.clerk_issuer.is_some() || !self.clerk_authorized_parties.is_empty() {
                    return Err(
                        "CLERK_ISSUER/CLERK_AUTHORIZED_PARTIES need CLERK_JWKS_URL or CLERK_JWT_KEY"
                            .to_owned(),
                    );
                }
                return Ok(None);
            }
        };
        let issuer = self
            .clerk_issuer
            .as_deref()
            .map(str::trim)
            .filter(|iss| !iss.is_empty())
            .ok_or("Clerk sign-in needs CLERK_ISSUER (your Clerk Frontend API URL)")?;
        Ok(Some(ClerkConfig {
            source,
            issuer: issuer.to_owned(),
            authorized_parties: self
                .clerk_authorized_parties
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
        }))
    }
}

impl RateLimitArgs {
    fn config(&self) -> Result<RateLimitConfig, String> {
        let redis = match &self.redis_url {
            Some(url) => Some(RedisConfig {
                url: parse_redis_url(url)?,
                prefix: self.redis_prefix.clone(),
            }),
            None => None,
        };
        if self.rate_limit_window.is_zero() {
            return Err("AURA_RATE_LIMIT_WINDOW must be longer than zero".to_owned());
        }
        Ok(RateLimitConfig {
            per_key: self.rate_limit_per_key,
            per_org: self.rate_limit_per_org,
            per_ip: self.rate_limit_per_ip,
            window: self.rate_limit_window,
            redis,
        })
    }
}

fn parse_jwks_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("the JWKS URL must be https:// (plain http only on loopback)".to_owned()),
    }
}

fn parse_pem_key(text: &str) -> Result<String, String> {
    let pem = text.trim().replace("\\n", "\n");
    jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|_| "CLERK_JWT_KEY is not an RSA public key in PEM form".to_owned())?;
    Ok(pem)
}

fn parse_redis_url(text: &str) -> Result<String, String> {
    redis::Client::open(text)
        .map_err(|_| "REDIS_URL is not a Redis URL (redis://[:password@]host[:port][/db])")?;
    Ok(text.to_owned())
}

fn parse_std_duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)?
        .to_std()
        .map_err(|_| format!("`{text}` is out of range"))
}

fn parse_database_url(text: &str) -> Result<String, String> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|prefix| text.starts_with(prefix)) {
        Ok(text.to_owned())
    } else {
        Err("expected sqlite:… or postgres://…".to_owned())
    }
}

/// Parses `30d`, `12h`, `90m` or `3600s`.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("`{text}` is not a duration like 30d, 12h, 90m or 3600s");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    if number <= 0 {
        return Err(bad());
    }
    let duration = match unit {
        "d" => chrono::Duration::try_days(number),
        "h" => chrono::Duration::try_hours(number),
        "m" => chrono::Duration::try_minutes(number),
        "s" => chrono::Duration::try_seconds(number),
        _ => None,
    };
    duration.ok_or_else(bad)
}

fn parse_cidr(text: &str) -> Result<Cidr, String> {
    Cidr::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(
            parse_duration("90m").unwrap(),
            chrono::Duration::minutes(90)
        );
        for bad in ["", "d", "0d", "-1d", "5w", "1.5h", "99999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwks_urls_must_be_https_unless_loopback() {
        assert!(parse_jwks_url("https://clerk.example.com/.well-known/jwks.json").is_ok());
        assert!(parse_jwks_url("http://127.0.0.1:9999/jwks").is_ok());
        assert!(parse_jwks_url("http://localhost/jwks").is_ok());
        assert!(parse_jwks_url("http://clerk.example.com/jwks").is_err());
        assert!(parse_jwks_url("ftp://127.0.0.1/jwks").is_err());
        assert!(parse_jwks_url("not a url").is_err());
    }

    #[test]
    fn bad_pem_and_redis_urls_are_refused() {
        assert!(
            parse_pem_key("-----BEGIN PUBLIC KEY-----\\nnope\\n-----END PUBLIC KEY-----").is_err()
        );
        assert!(parse_redis_url("redis://127.0.0.1:6379/0").is_ok());
        assert!(parse_redis_url("http://127.0.0.1").is_err());
    }

    #[test]
    fn database_urls() {
        assert!(parse_database_url("sqlite::memory:").is_ok());
        assert!(parse_database_url("postgres://u@h/db").is_ok());
        assert!(parse_database_url("mysql://x").is_err());
    }
}
