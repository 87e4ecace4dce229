//! Database faults: a reset that kills every pooled connection costs no request; an
//! outage answers 503 `SERVICE_UNAVAILABLE` with `Retry-After` on REST, GraphQL and
//! WebSockets alike, charges no one's budget, and ends when the database is back; a
//! worker logs an outage once, not once per poll.

use std::time::{Duration, Instant};

use aura::domain::ScopeSet;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

use super::support::{
    FaultApp, ProxiedPostgres, SERVER_KEY, Socket, client_from, database_name, postgres,
};
use crate::factory::{org_with_key, seed};
use crate::helpers::{Process, assert_error};

const LEADS: &str = "{ leads(first: 10) { nodes { id } } }";
/// Leads each test seeds.
const SEEDED: usize = 3;
/// The anonymous budget the outage tests measure.
const PER_IP: u32 = 10;

#[derive(Clone, Copy, Debug)]
enum Probe {
    Rest,
    Graphql,
    Health,
}

const PROBES: [Probe; 3] = [Probe::Rest, Probe::Graphql, Probe::Health];

/// One request of `kind`; `Err` describes anything but a full, correct answer.
async fn probe(client: &reqwest::Client, base: &str, key: &str, kind: Probe) -> Result<(), String> {
    let request = match kind {
        Probe::Rest => client
            .get(format!("{base}/v1/leads?limit=10"))
            .bearer_auth(key),
        Probe::Graphql => client
            .post(format!("{base}/graphql"))
            .bearer_auth(key)
            .json(&json!({"query": LEADS})),
        Probe::Health => client.get(format!("{base}/health")),
    };
    let response = request.send().await.map_err(|e| format!("{kind:?}: {e}"))?;
    let status = response.status().as_u16();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{kind:?} {status}: {e}"))?;
    let complete = match kind {
        Probe::Rest => body["data"].as_array().map(Vec::len) == Some(SEEDED),
        Probe::Graphql => {
            body["data"]["leads"]["nodes"].as_array().map(Vec::len) == Some(SEEDED)
                && body.get("errors").is_none()
        }
        Probe::Health => body["database"] == json!("ok"),
    };
    if status != 200 || !complete {
        return Err(format!("{kind:?} {status}: {body}"));
    }
    Ok(())
}

/// Terminates every backend of `database` but the caller's; how many.
async fn terminate_backends(admin: &DatabaseConnection, database: &str) -> i64 {
    let row = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n \
                 FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            ),
        ))
        .await
        .expect("terminate backends")
        .expect("a row");
    row.try_get::<i64>("", "n").unwrap()
}

/// Issue 13 §6: after a backend reset every pooled connection is dead; each used to fail
/// one request (up to 20 per instance) and `/health` flapped to 503. The server runs as
/// its own process: the pool's "check connections after a fault" mode is process-wide,
/// and other tests in this binary note faults of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_reset_costs_no_request() {
    let Some(admin_url) = postgres() else {
        println!("skipped: PostgreSQL only (set TEST_DATABASE_URL)");
        return;
    };
    aura::crypto::tls::install_crypto_provider();
    let database = crate::helpers::test_database(false).await;
    let url = database.url().to_owned();
    let setup = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&setup).await.unwrap();
    let org = org_with_key(&setup, "reset", ScopeSet::all()).await;
    seed(&setup, org.id, "reset", SEEDED).await;
    setup.close().await.unwrap();
    let mut server = Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", &url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            // Its polls would meet the dead connections first.
            ("AURA_WEBHOOK_DISPATCHER", "false"),
        ],
    );
    let base = tokio::task::block_in_place(|| server.address("listening"));
    let database = database_name(&url);
    let admin = aura::db::connect(&admin_url).await.expect("connect admin");
    let client = reqwest::Client::new();

    // Warm the pool: concurrent requests open several connections.
    let warm = join_all((0..24).map(|n| {
        let client = reqwest::Client::new();
        let (base, key) = (base.clone(), org.key.clone());
        async move { probe(&client, &base, &key, PROBES[n % 3]).await }
    }))
    .await;
    assert!(warm.iter().all(Result::is_ok), "{warm:?}");

    let mut answered = 0;
    for round in 0..3 {
        let killed = terminate_backends(&admin, &database).await;
        assert!(killed >= 2, "round {round}: only {killed} backends to kill");
        let outcomes: Vec<Result<(), String>> = if round == 1 {
            // One at a time: each request meets the dead connections first.
            let mut outcomes = Vec::new();
            for n in 0..15 {
                outcomes.push(probe(&client, &base, &org.key, PROBES[n % 3]).await);
            }
            outcomes
        } else {
            // All at once, each on its own connection to the server.
            join_all((0..30).map(|n| {
                let client = reqwest::Client::new();
                let (base, key) = (base.clone(), org.key.clone());
                async move { probe(&client, &base, &key, PROBES[n % 3]).await }
            }))
            .await
        };
        let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} of {} requests failed after {killed} backends were terminated: {failed:#?}",
            failed.len(),
            outcomes.len()
        );
        answered += outcomes.len();
        println!(
            "reset round {round}: {killed} backends terminated, {} requests, 0 failed",
            outcomes.len()
        );
    }
    println!("database reset: {answered} requests after 3 resets, none failed");
    server.signal("TERM");
}

/// A well-formed API key nobody was issued: only the database can say it is unknown.
fn guess() -> String {
    aura::crypto::api_key::generate().unwrap().secret
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on a {}", response.status()))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn remaining(response: &reqwest::Response) -> (u64, u64) {
    let header = |name: &str| -> u64 {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name} on a {}", response.status()))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    (header("x-ratelimit-limit"), header("x-ratelimit-remaining"))
}

/// A 503 with `Retry-After` and `SERVICE_UNAVAILABLE`: in the contract's error body, or,
/// for a GraphQL operation that ran and failed, on every error.
async fn assert_unavailable(what: &str, response: reqwest::Response) {
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let request_id = response.headers().contains_key("x-request-id");
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 503, "{what}: {body}");
    assert!(retry >= Some(1), "{what}: Retry-After {retry:?}");
    assert!(request_id, "{what}: no X-Request-Id");
    let contract = body["success"] == json!(false) && body["code"] == json!("SERVICE_UNAVAILABLE");
    let graphql = body["errors"].as_array().is_some_and(|errors| {
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e["extensions"]["code"] == json!("SERVICE_UNAVAILABLE"))
    });
    assert!(contract || graphql, "{what}: {body}");
}

/// While the database cannot be reached: REST, GraphQL over HTTP (the guard's check and a
/// resolver's read), a WebSocket operation and both health checks answer 503
/// `SERVICE_UNAVAILABLE` with a retry delay, never 500; a credential that cannot be
/// checked is charged to no one (more guesses than the address's budget, none 429).
async fn assert_unavailable_everywhere(app: &FaultApp, key: &str, slug: &str, socket: &mut Socket) {
    let response = app
        .client
        .get(app.url("/v1/leads"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_unavailable("REST", response).await;

    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(key)
        .json(&json!({"query": LEADS}))
        .send()
        .await
        .unwrap();
    assert_unavailable("GraphQL with a key", response).await;

    // A public operation passes the guard and fails in its resolver. It is sent from
    // another address: anonymous requests are charged to theirs.
    let response = client_from([127, 0, 0, 2])
        .post(app.url("/graphql"))
        .json(
            &json!({"query": format!("{{ publicBookingLink(slug: \"{slug}\") {{ slug name }} }}")}),
        )
        .send()
        .await
        .unwrap();
    assert_unavailable("anonymous GraphQL", response).await;

    let payload = socket.run("during-outage", LEADS).await;
    let error = &payload["errors"][0];
    assert_eq!(
        error["extensions"]["code"],
        json!("SERVICE_UNAVAILABLE"),
        "WebSocket: {payload}"
    );
    assert!(
        error["extensions"]["retryAfter"].as_u64() >= Some(1),
        "WebSocket: {payload}"
    );

    for n in 0..PER_IP + 5 {
        let response = app
            .client
            .get(app.url("/v1/leads"))
            .bearer_auth(guess())
            .send()
            .await
            .unwrap();
        assert_unavailable(&format!("unknown key #{n}"), response).await;
    }

    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503, "/health");
    assert!(retry_after(&response) >= 1);
    let response = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503, "/health/ready");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["checks"]["database"]["status"],
        json!("unavailable"),
        "{body}"
    );
    assert_eq!(body["code"], json!("SERVICE_UNAVAILABLE"), "{body}");
}

fn outage_limits(config: &mut aura::config::Config) {
    config.rate_limits.per_ip = PER_IP;
    config.rate_limits.per_key = 1000;
    config.rate_limits.per_org = 1000;
}

/// Issue 13 §5 and §6 on PostgreSQL, through a proxy the test stops: the outage is 503 on
/// every transport and charges no one; when the database is back, a valid key works at
/// once and the address's anonymous budget is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_503_everywhere_charges_no_one_and_ends_with_it() {
    if postgres().is_none() {
        println!(
            "skipped: PostgreSQL through a proxy (set TEST_DATABASE_URL); see the pool-closed test for SQLite"
        );
        return;
    }
    let (pg, app, org) = proxied_app("outage").await;
    // The upgrade carries the key, so it is charged to the key, not the address.
    let mut socket = Socket::connect(&app.address, Some(&org.key), json!({})).await;
    let before = socket.run("before", LEADS).await;
    assert_eq!(
        before["data"]["leads"]["nodes"].as_array().map(Vec::len),
        Some(SEEDED),
        "{before}"
    );

    pg.proxy.cut();
    assert_unavailable_everywhere(&app, &org.key, "outage-call", &mut socket).await;

    pg.proxy.restore().await;
    // A valid key works at once: not refused for its address, nor by a stale connection.
    let started = Instant::now();
    probe(&app.client, &app.address, &org.key, Probe::Rest)
        .await
        .expect("a valid key right after the database is back");
    let recovered_in = started.elapsed();
    // Nothing during the outage was charged to this address: an unknown key is its
    // first charge.
    let response = app
        .client
        .get(app.url("/v1/leads"))
        .bearer_auth(guess())
        .send()
        .await
        .unwrap();
    assert_eq!(
        remaining(&response),
        (u64::from(PER_IP), u64::from(PER_IP) - 1)
    );
    assert_error(response, 401, "UNAUTHORIZED").await;
    for kind in PROBES {
        probe(&app.client, &app.address, &org.key, kind)
            .await
            .unwrap();
    }
    let after = socket.run("after", LEADS).await;
    assert_eq!(
        after["data"]["leads"]["nodes"].as_array().map(Vec::len),
        Some(SEEDED),
        "the same socket works again: {after}"
    );
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    println!("database outage: first request after recovery answered in {recovered_in:?}");
}

/// The same on either database, with the pool closed under the app (SQLite cannot be
/// unplugged): 503 everywhere, and the unknown keys sent meanwhile cost the address
/// nothing.
#[tokio::test]
async fn a_closed_pool_is_503_everywhere_and_charges_no_one() {
    let database = crate::helpers::test_database(false).await;
    let url = database.url().to_owned();
    let conn = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&conn).await.unwrap();
    let org = org_with_key(&conn, "closed", ScopeSet::all()).await;
    seed(&conn, org.id, "closed", SEEDED).await;
    let app = FaultApp::start(conn, &url, outage_limits).await;
    let mut socket = Socket::connect(&app.address, Some(&org.key), json!({})).await;

    app.conn.clone().close().await.unwrap();
    assert_unavailable_everywhere(&app, &org.key, "closed-call", &mut socket).await;

    // A request without credentials needs no database: the address's first charge.
    let response = app.client.get(app.url("/v1/leads")).send().await.unwrap();
    assert_eq!(
        remaining(&response),
        (u64::from(PER_IP), u64::from(PER_IP) - 1)
    );
    assert_error(response, 401, "UNAUTHORIZED").await;
}

/// An app over its own PostgreSQL database behind a proxy, seeded, answering.
async fn proxied_app(tag: &str) -> (ProxiedPostgres, FaultApp, crate::factory::TestOrg) {
    let pg = ProxiedPostgres::create().await;
    let setup = aura::db::connect(&pg.direct_url).await.unwrap();
    aura::db::migrate(&setup).await.unwrap();
    let org = org_with_key(&setup, tag, ScopeSet::all()).await;
    seed(&setup, org.id, tag, SEEDED).await;
    setup.close().await.unwrap();
    let conn = aura::db::connect(&pg.proxied_url).await.unwrap();
    let app = FaultApp::start(conn, &pg.proxied_url, outage_limits).await;
    for kind in PROBES {
        probe(&app.client, &app.address, &org.key, kind)
            .await
            .unwrap();
    }
    (pg, app, org)
}

async fn timed(request: reqwest::RequestBuilder) -> (u16, Duration) {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    (response.status().as_u16(), started.elapsed())
}

/// When nothing listens where the database was (connections refused, the usual outage),
/// readiness still answers within its per-dependency bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_answers_promptly_when_the_database_refuses_connections() {
    if postgres().is_none() {
        println!("skipped: PostgreSQL through a proxy (set TEST_DATABASE_URL)");
        return;
    }
    let (pg, app, _org) = proxied_app("refused-ready").await;
    pg.proxy.refuse().await;
    let (status, took) = timed(app.client.get(app.url("/health/ready"))).await;
    println!("refused database: /health/ready {status} in {took:?}");
    assert_eq!(status, 503);
    // Two checks (database, migrations), each bounded by 2 s.
    assert!(took < Duration::from_secs(5), "readiness took {took:?}");
}

/// With connections refused (the usual outage), sqlx retries the connect until the
/// pool's acquire timeout (10 s) before a request gets its 503. A retry after that
/// (`read_twice`, `graphql::execute`'s re-run) would wait as long again for a database
/// that is plainly down: each request waits one acquire timeout at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_database_answers_503_within_one_acquire_timeout() {
    if postgres().is_none() {
        println!("skipped: PostgreSQL through a proxy (set TEST_DATABASE_URL)");
        return;
    }
    let (pg, app, org) = proxied_app("refused").await;
    pg.proxy.refuse().await;
    // At once: one of them meets the dead pooled connection first, the others none.
    let anonymous = client_from([127, 0, 0, 2]);
    let (rest, graphql, public, unknown, health) = tokio::join!(
        timed(app.client.get(app.url("/v1/leads")).bearer_auth(&org.key)),
        timed(
            app.client
                .post(app.url("/graphql"))
                .bearer_auth(&org.key)
                .json(&json!({"query": LEADS}))
        ),
        timed(
            anonymous
                .post(app.url("/graphql"))
                .json(&json!({"query": "{ publicBookingLink(slug: \"refused-call\") { slug } }"}))
        ),
        timed(app.client.get(app.url("/v1/leads")).bearer_auth(guess())),
        timed(app.client.get(app.url("/health"))),
    );
    println!(
        "refused database: REST {rest:?}, GraphQL {graphql:?}, public GraphQL {public:?}, unknown key {unknown:?}, /health {health:?}"
    );
    for (what, (status, took)) in [
        ("REST", rest),
        ("GraphQL", graphql),
        ("public GraphQL", public),
        ("unknown key", unknown),
        ("/health", health),
    ] {
        assert_eq!(status, 503, "{what}");
        assert!(
            took < Duration::from_secs(13),
            "{what} waited {took:?} for a database that refuses connections"
        );
    }
}

/// Issue 13 §14: a worker used to log one line per poll during an outage. Now it logs
/// the fault once, counts the repeats, and says when it works again; no warning of ours
/// repeats while the database is away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_logs_a_database_outage_once() {
    if postgres().is_none() {
        println!("skipped: PostgreSQL through a proxy (set TEST_DATABASE_URL)");
        return;
    }
    let pg = ProxiedPostgres::create().await;
    let mut worker = Process::start(
        &["worker"],
        &[
            ("DATABASE_URL", &pg.proxied_url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
        ],
    );
    let waited = tokio::task::block_in_place(|| {
        worker.wait_for_line(Duration::from_secs(30), |l| {
            l.contains("webhook dispatcher started")
        })
    });
    assert!(
        waited.is_some(),
        "the worker never started: {:?}",
        worker.seen
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = worker.seen.len();

    pg.proxy.cut();
    // Several polls' worth (the dispatcher polls every second at most).
    let outage = Duration::from_secs(5);
    tokio::time::sleep(outage).await;
    pg.proxy.restore().await;
    let back = tokio::task::block_in_place(|| {
        worker.wait_for_line(Duration::from_secs(15), |l| {
            l.contains("claiming webhook deliveries works again")
        })
    });
    let back = back.unwrap_or_else(|| panic!("no recovery line: {:#?}", &worker.seen[before..]));
    let during: Vec<Value> = worker.seen[before..]
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let loud: Vec<&Value> = during
        .iter()
        .filter(|l| l["level"] == json!("WARN") || l["level"] == json!("ERROR"))
        .collect();
    let failures = loud
        .iter()
        .filter(|l| l["message"] == json!("claiming webhook deliveries failed; retrying"))
        .count();
    let repeated = serde_json::from_str::<Value>(&back).unwrap()["repeated"]
        .as_u64()
        .unwrap_or(0);
    println!(
        "worker outage of {outage:?}: {failures} claim failure line(s) for {} failed claims, {} warnings/errors in all",
        repeated + 1,
        loud.len()
    );
    for line in &loud {
        println!("  {line}");
    }
    assert_eq!(failures, 1, "{loud:#?}");
    // It kept polling through the outage: the repeats were counted, not logged.
    assert!(repeated >= 3, "{back}");
    let mut ours = std::collections::BTreeMap::<String, usize>::new();
    for line in loud
        .iter()
        .filter(|l| l["target"].as_str().is_some_and(|t| t.starts_with("aura")))
    {
        *ours.entry(line["message"].to_string()).or_default() += 1;
    }
    assert!(
        ours.values().all(|n| *n == 1),
        "a warning repeated: {ours:#?}"
    );
    assert!(loud.len() <= 6, "{loud:#?}");
    worker.signal("TERM");
    let status = tokio::task::block_in_place(|| worker.wait(Duration::from_secs(10)));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
