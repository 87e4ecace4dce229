//! Rate limits: exact counts under concurrency, per key, per organization, per Clerk user
//! and per IP; headers on every response; `X-RateLimit-Reset` is when a request passes
//! again; Redis shared by two `aura serve` processes; and Redis being unreachable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::factory::keys;
use aura::domain::ScopeSet;
use aura::ratelimit::{RateLimitConfig, RedisConfig};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::json;

use crate::factory::org_with_key;
use crate::helpers::{Process, TestApp, assert_error, closed_port, test_database};

const QUERY: &str = r#"{"query":"{ __typename }"}"#;

async fn post(client: &reqwest::Client, base: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(QUERY);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.expect("request failed")
}

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing ({})", response.status()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn sleep_until_unix(at: f64) {
    let wait = at - unix_now();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

fn limits(per_key: u32, per_org: u32, per_ip: u32, window: Duration) -> RateLimitConfig {
    RateLimitConfig {
        per_key,
        per_org,
        per_ip,
        window,
        redis: None,
    }
}

#[tokio::test]
async fn concurrent_requests_on_one_key_pass_exactly_the_limit() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let mut requests: FuturesUnordered<_> = (0..150)
        .map(|_| post(&app.client, &app.address, Some(&org.key)))
        .collect();
    let (mut passed, mut limited) = (0, 0);
    while let Some(response) = requests.next().await {
        match response.status().as_u16() {
            200 => passed += 1,
            429 => {
                limited += 1;
                let retry_after = header(&response, "retry-after");
                assert!((1..=60).contains(&retry_after), "{retry_after}");
                assert_eq!(header(&response, "x-ratelimit-remaining"), 0);
                assert_eq!(header(&response, "x-ratelimit-limit"), 100);
                assert_error(response, 429, "RATE_LIMITED").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((passed, limited), (100, 50));
}

#[tokio::test]
async fn an_organization_passes_exactly_its_limit_across_eleven_keys() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let mut secrets = vec![org.key.clone()];
    for n in 1..11 {
        let created = keys::create(&app.db, org.id, &format!("key {n}"), ScopeSet::all(), None)
            .await
            .unwrap();
        secrets.push(created.secret);
    }
    // 11 keys × 100 requests, 64 in flight at a time: the organization's 1000 is the cap.
    let requests = secrets
        .iter()
        .flat_map(|secret| (0..100).map(move |_| secret.clone()))
        .map(|secret| {
            let client = app.client.clone();
            let base = app.address.clone();
            async move { post(&client, &base, Some(&secret)).await.status().as_u16() }
        });
    let statuses: Vec<u16> = futures_util::stream::iter(requests)
        .buffer_unordered(64)
        .collect()
        .await;
    let passed = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((passed, limited), (1000, 100));
}

#[tokio::test]
async fn remaining_counts_down_and_reset_is_when_the_next_request_passes() {
    let app = TestApp::builder()
        .configure(|c| c.rate_limits = limits(3, 1000, 100, Duration::from_secs(2)))
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    // Warm up the connection and the key, then wait out that request's window.
    post(&app.client, &app.address, Some(&org.key)).await;
    // Start late in a second, so rounding Reset up to whole seconds adds little.
    let second = unix_now().floor();
    sleep_until_unix(second + 2.0 + 2.8).await;

    let sent = unix_now();
    let mut resets = Vec::new();
    for expected in [2, 1, 0] {
        let response = post(&app.client, &app.address, Some(&org.key)).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit"), 3);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
        resets.push(header(&response, "x-ratelimit-reset"));
    }
    let received = unix_now();
    // Reset is when the oldest request in the window leaves it: the first of the three.
    let reset = resets[0];
    assert!(resets.iter().all(|r| *r == reset), "{resets:?}");
    assert!(
        (sent + 2.0).ceil() as u64 <= reset && reset <= (received + 2.0).ceil() as u64,
        "reset {reset}, first request between {sent} and {received}"
    );

    let refused = post(&app.client, &app.address, Some(&org.key)).await;
    assert_eq!(header(&refused, "x-ratelimit-reset"), reset);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), 0);
    let retry_after = header(&refused, "retry-after");
    assert!(retry_after >= 1 && retry_after as f64 <= reset as f64 - sent + 0.001);
    assert_error(refused, 429, "RATE_LIMITED").await;

    // Shortly before the first request leaves the window: still refused.
    sleep_until_unix(sent + 2.0 - 0.3).await;
    let early = post(&app.client, &app.address, Some(&org.key)).await;
    assert_eq!(early.status().as_u16(), 429);
    // At Reset: passes.
    sleep_until_unix(reset as f64).await;
    let on_time = post(&app.client, &app.address, Some(&org.key)).await;
    assert_eq!(on_time.status().as_u16(), 200);
}

#[tokio::test]
async fn every_response_carries_the_headers() {
    let app = TestApp::spawn().await;
    let org = org_with_key(
        &app.db,
        "acme",
        [aura::domain::Scope::LeadsRead].into_iter().collect(),
    )
    .await;
    let base = &app.address;
    let bad_json = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let forbidden = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .json(&json!({"query": "{ payments { count } }"}))
        .send()
        .await
        .unwrap();
    let cases = vec![
        ("ok", post(&app.client, base, Some(&org.key)).await, 200),
        ("graphql error", forbidden, 200),
        ("bad json", bad_json, 400),
        (
            "missing key",
            app.client
                .post(app.url("/graphql"))
                .json(&json!({"query": "{ leads { count } }"}))
                .send()
                .await
                .unwrap(),
            401,
        ),
        ("anonymous public", post(&app.client, base, None).await, 200),
        (
            "bad key",
            post(&app.client, base, Some("aura_pk_live_nope")).await,
            401,
        ),
    ];
    for (case, response, status) in cases {
        assert_eq!(response.status().as_u16(), status, "{case}");
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(response.headers().contains_key(name), "{case}: {name}");
        }
        assert!(response.headers().contains_key("x-request-id"), "{case}");
    }
    // A key's own budget is reported: 100 per key is closer to exhaustion than 1000 per org.
    let response = post(&app.client, base, Some(&org.key)).await;
    assert_eq!(header(&response, "x-ratelimit-limit"), 100);
    // Without credentials, the address's budget.
    let response = post(&app.client, base, None).await;
    assert_eq!(header(&response, "x-ratelimit-limit"), 100);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 96);
}

#[tokio::test]
async fn failed_credentials_count_per_ip_and_never_lock_out_a_valid_key() {
    let app = TestApp::builder()
        .configure(|c| c.rate_limits = limits(100, 1000, 5, Duration::from_secs(60)))
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let base = &app.address;
    let guess = || aura::crypto::api_key::generate().unwrap().secret;

    for expected in (0..5).rev() {
        let response = post(&app.client, base, Some(&guess())).await;
        assert_eq!(header(&response, "x-ratelimit-limit"), 5);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    // The address is spent: more guesses and anonymous calls from it are refused ...
    let response = post(&app.client, base, Some(&guess())).await;
    assert!(header(&response, "retry-after") >= 1);
    assert_error(response, 429, "RATE_LIMITED").await;
    let response = post(&app.client, base, None).await;
    assert_error(response, 429, "RATE_LIMITED").await;
    // ... but a valid key from the same address is never refused for it (a database
    // blip, or a load balancer without a trusted-proxy setting, would otherwise lock
    // every client out): it draws on its own budget.
    let response = post(&app.client, base, Some(&org.key)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "x-ratelimit-limit"), 100);
    assert_eq!(header(&response, "x-ratelimit-remaining"), 99);
}

#[tokio::test]
async fn clerk_users_count_toward_their_own_limit_and_their_organization() {
    use crate::clerk_support::{claims, clerk_org, pem_config, token};
    let app = TestApp::builder()
        .configure(|c| {
            c.clerk = Some(pem_config());
            c.rate_limits = limits(3, 5, 100, Duration::from_secs(60));
        })
        .build()
        .await;
    let org = clerk_org(&app.db, "acme", "org_acme").await;
    let key = keys::create(&app.db, org, "k", ScopeSet::all(), None)
        .await
        .unwrap()
        .secret;
    let alice = token(&claims("user_alice", "org_acme", "member"));
    let bob = token(&claims("user_bob", "org_acme", "member"));
    let base = &app.address;

    for expected in [2, 1, 0] {
        let response = post(&app.client, base, Some(&alice)).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
    }
    // Alice's own limit is spent; the organization (5) still has room for Bob.
    assert_eq!(
        post(&app.client, base, Some(&alice))
            .await
            .status()
            .as_u16(),
        429
    );
    for expected in [1, 0] {
        let response = post(&app.client, base, Some(&bob)).await;
        assert_eq!(response.status().as_u16(), 200);
        // The organization is now the closer limit.
        assert_eq!(header(&response, "x-ratelimit-limit"), 5);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
    }
    // Users and keys share the organization's budget.
    let response = post(&app.client, base, Some(&key)).await;
    assert_eq!(header(&response, "x-ratelimit-limit"), 5);
    assert_error(response, 429, "RATE_LIMITED").await;
}

/// The Redis the tests share: `TEST_REDIS_URL`. A test that needs it is skipped only when
/// it is unset; when it is set (as `.ci/run` does), an unreachable Redis fails the test.
fn test_redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => {
            assert!(!url.trim().is_empty(), "TEST_REDIS_URL is set but empty");
            Some(url)
        }
        Err(_) => {
            eprintln!("skipped: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run");
            None
        }
    }
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_in_process_limits() {
    // A port held by this test and never listened on: connections to it are refused.
    let (_held, port) = closed_port();
    let app = TestApp::builder()
        .configure(move |c| {
            let mut config = limits(3, 1000, 100, Duration::from_secs(60));
            config.redis = Some(RedisConfig {
                url: format!("redis://127.0.0.1:{port}"),
                prefix: "aura-test-down".to_owned(),
            });
            c.rate_limits = config;
        })
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let started = std::time::Instant::now();
    for expected in [2, 1, 0] {
        let response = post(&app.client, &app.address, Some(&org.key)).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "x-ratelimit-remaining"), expected);
    }
    let response = post(&app.client, &app.address, Some(&org.key)).await;
    assert_error(response, 429, "RATE_LIMITED").await;
    // Falling back costs at most one short connection attempt per second.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A running `aura serve` on a port of its own choosing, killed on drop.
struct Server {
    _process: Process,
    base: String,
}

fn serve(database_url: &str, redis_url: &str, prefix: &str) -> Server {
    let mut process = Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", database_url),
            ("REDIS_URL", redis_url),
            ("AURA_REDIS_PREFIX", prefix),
            (
                "AURA_WEBHOOK_SECRET_KEY",
                "cmF0ZS1saW1pdC10ZXN0LWtleS0zMi1ieXRlcy1sb24=",
            ),
        ],
    );
    let base = process.address("listening");
    let line = process
        .wait_for_line(Duration::from_secs(1), |l| l.contains("\"listening\""))
        .unwrap_or_default();
    assert!(
        line.contains("\"rate_limits\":\"redis\""),
        "the server limits through Redis: {line}"
    );
    Server {
        _process: process,
        base,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_redis_pass_exactly_the_limit_for_one_key() {
    let Some(redis_url) = test_redis_url() else {
        return;
    };
    let database = test_database(true).await;
    let url = database.url().to_owned();
    let db = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&db).await.unwrap();
    let org = org_with_key(&db, "acme", ScopeSet::all()).await;
    db.close().await.ok();
    let prefix = format!("aura-test:{}", uuid::Uuid::now_v7().simple());
    let servers = [
        serve(&url, &redis_url, &prefix),
        serve(&url, &redis_url, &prefix),
    ];
    aura::crypto::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    // Connections to both, open before the burst (anonymous: the address's budget).
    for server in &servers {
        assert_eq!(
            post(&client, &server.base, None).await.status().as_u16(),
            200
        );
    }

    // 150 requests at once, alternating between the servers.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most_in_flight = Arc::new(AtomicUsize::new(0));
    let requests = (0..150).map(|n| {
        let (client, base, key) = (client.clone(), servers[n % 2].base.clone(), org.key.clone());
        let (in_flight, most_in_flight) = (in_flight.clone(), most_in_flight.clone());
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most_in_flight.fetch_max(now, Ordering::SeqCst);
            let response = post(&client, &base, Some(&key)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            response
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    let most = most_in_flight.load(Ordering::SeqCst);
    assert!(
        most >= 100,
        "the requests overlapped: at most {most} in flight"
    );

    let mut remaining = Vec::new();
    let mut limited = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => remaining.push(header(&response, "x-ratelimit-remaining")),
            429 => {
                limited += 1;
                assert_error(response, 429, "RATE_LIMITED").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((remaining.len(), limited), (100, 50));
    // One budget: every pass took its own place in it, whichever server answered.
    remaining.sort_unstable();
    assert_eq!(remaining, (0..100).collect::<Vec<u64>>());

    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut connection = redis.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
    // The key's, the organization's and the address's logs.
    assert_eq!(keys.len(), 3, "{keys:?}");
}

/// A TCP proxy in front of Redis that a test can cut and restore. It keeps its listening
/// port throughout: while cut, it closes every connection it accepts.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    pipes: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let pipes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (refusing, owned, target) = (cut.clone(), pipes.clone(), upstream.to_owned());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if refusing.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                owned.lock().unwrap().push(pipe);
            }
        });
        Proxy {
            port,
            cut,
            pipes,
            accept,
        }
    }

    /// Closes every connection through it, and every new one from now on.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// Lets connections through again.
    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

#[tokio::test]
async fn the_redis_limiter_falls_back_while_redis_is_away_and_returns_to_it() {
    let Some(redis_url) = test_redis_url() else {
        return;
    };
    let upstream = redis_url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::start(&upstream).await;
    let prefix = format!("aura-test:{}", uuid::Uuid::now_v7().simple());
    let mut config = limits(1000, 1000, 100, Duration::from_secs(60));
    config.redis = Some(RedisConfig {
        url: format!("redis://127.0.0.1:{}", proxy.port),
        prefix: prefix.clone(),
    });
    let limiter = aura::ratelimit::RateLimiter::new(config).unwrap();
    let (key_id, organization_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let subject = aura::ratelimit::Subject::ApiKey {
        key_id,
        organization_id,
    };
    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut direct = redis.get_multiplexed_async_connection().await.unwrap();
    let log = format!("{prefix}:key:{}", key_id.simple());
    let mut recorded = async || -> u64 {
        redis::cmd("ZCARD")
            .arg(&log)
            .query_async(&mut direct)
            .await
            .unwrap()
    };

    for _ in 0..3 {
        assert!(limiter.check(&subject).await.allowed);
    }
    assert_eq!(recorded().await, 3, "checks go to Redis");

    proxy.cut();
    let started = std::time::Instant::now();
    for expected in [996, 995] {
        let decision = limiter.check(&subject).await;
        assert!(decision.allowed);
        // The in-process log is Redis's shadow: it carries on from the three Redis
        // passed, not from a fresh budget (limits are per instance meanwhile).
        assert_eq!(decision.remaining, expected);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(recorded().await, 3, "nothing reached Redis");

    proxy.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        limiter.check(&subject).await;
        if recorded().await > 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never returned to Redis"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _: () = redis::cmd("DEL")
        .arg(&log)
        .arg(format!("{prefix}:org:{}", organization_id.simple()))
        .query_async(&mut direct)
        .await
        .unwrap();
}
