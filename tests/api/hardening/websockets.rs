//! `/graphql/ws` holds a socket to the rules of HTTP, operation by operation: queries and
//! mutations run as the socket's key; every `subscribe` re-verifies it, and a revoked key's
//! socket is closed (`4401`) within seconds, on this instance or another; every operation
//! draws on the key's budget, shared with HTTP; and subscriptions per connection,
//! connections per key and per address, and `since` replays are capped.

use std::time::{Duration, Instant};

use aura::domain::ScopeSet;
use aura::ratelimit::RateLimitConfig;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::socket::{EVENTS, Socket};
use crate::factory::{keys, org_with_key, seed};
use crate::helpers::{TestApp, assert_error};
use crate::webhooks::record_event;

/// How soon an open socket of a revoked key must be closed.
const REVOCATION_DEADLINE: Duration = Duration::from_secs(5);

fn since_now() -> String {
    aura::time::format_rfc3339(aura::time::now())
}

/// The first error of an operation's payload: `(code, message)`.
fn error(payload: &Value) -> (&str, &str) {
    let error = &payload["errors"][0];
    (
        error["extensions"]["code"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
    )
}

/// Skips messages of other operations until one of `id` arrives.
async fn message_for(socket: &mut Socket, id: &str) -> Value {
    loop {
        let message = socket.receive().await.expect("an open connection");
        if message["id"] == json!(id) {
            return message;
        }
    }
}

/// A key of `org` with every scope: its id and secret.
async fn full_key(app: &TestApp, org: uuid::Uuid, name: &str) -> (uuid::Uuid, String) {
    let created = keys::create(&app.db, org, name, ScopeSet::all(), None)
        .await
        .expect("create a key");
    (created.key.id, created.secret)
}

#[tokio::test]
async fn queries_and_mutations_over_a_socket_run_as_its_key() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    seed(&app.db, org.id, "acme", 2).await;
    let mut socket = Socket::connect_as(&app, &org.key).await;

    let read = socket.run("q", "{ leads { count } }", json!({})).await;
    assert!(read["errors"].is_null(), "{read}");
    assert_eq!(read["data"]["leads"]["count"], json!(2));

    let written = socket
        .run(
            "m",
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }",
            json!({"input": {"url": "http://127.0.0.1:9999/hook", "eventTypes": ["LEAD_CREATED"]}}),
        )
        .await;
    assert!(written["errors"].is_null(), "{written}");
    let id = written["data"]["createWebhook"]["webhook"]["id"]
        .as_str()
        .expect("the webhook's id");
    let listed: Value = app
        .get("/v1/webhooks", Some(&org.key))
        .await
        .json()
        .await
        .expect("the webhooks");
    assert_eq!(
        listed["data"][0]["id"],
        json!(id),
        "made in the key's organization"
    );

    // The key's scopes, not more.
    let narrow = keys::create(
        &app.db,
        org.id,
        "leads only",
        ScopeSet::parse_list("leads:read").expect("scopes"),
        None,
    )
    .await
    .expect("create a key")
    .secret;
    let mut socket = Socket::connect_as(&app, &narrow).await;
    let read = socket.run("q", "{ leads { count } }", json!({})).await;
    assert_eq!(read["data"]["leads"]["count"], json!(2), "{read}");
    let refused = socket.run("p", "{ payments { count } }", json!({})).await;
    assert_eq!(error(&refused).0, "FORBIDDEN", "{refused}");
}

/// A key that expires 1.5 s from now, and a socket made with it while it still works,
/// with an event recorded for a replay to find. Returns once the key has expired, long
/// before the socket's periodic check (every 3 s), so only a `subscribe`'s own
/// re-verification can notice.
async fn socket_of_an_expired_key(app: &TestApp) -> (Socket, String) {
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let expires = aura::time::now() + chrono::Duration::milliseconds(1500);
    let key = keys::create(
        &app.db,
        org.id,
        "short-lived",
        ScopeSet::all(),
        Some(expires),
    )
    .await
    .expect("create a key")
    .secret;
    let since = since_now();
    let socket = Socket::connect_as(app, &key).await;
    record_event(app, org.id, 1).await;
    let left = (expires - aura::time::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
    (socket, since)
}

#[tokio::test]
async fn a_subscribe_with_an_expired_key_never_runs_and_the_socket_closes_with_4401() {
    let app = TestApp::spawn().await;
    let (mut socket, since) = socket_of_an_expired_key(&app).await;
    let subscribed = Instant::now();
    socket
        .subscribe("late", EVENTS, json!({"since": since}))
        .await;
    let closed = loop {
        match socket.receive().await {
            Ok(message) => assert!(
                message["payload"]["data"].is_null(),
                "an expired key got data: {message}"
            ),
            Err(closed) => break closed,
        }
    };
    assert_eq!(closed.code, 4401, "{closed:?}");
    assert!(closed.reason.contains("expired"), "{closed:?}");
    assert!(
        subscribed.elapsed() < Duration::from_secs(1),
        "closed by the subscribe, not a later check: {:?}",
        subscribed.elapsed()
    );
}

#[tokio::test]
async fn a_subscribe_with_an_expired_key_gets_an_error_then_a_4401_close() {
    let app = TestApp::spawn().await;
    let (mut socket, since) = socket_of_an_expired_key(&app).await;
    socket
        .subscribe("late", EVENTS, json!({"since": since}))
        .await;
    let answer = socket
        .receive()
        .await
        .unwrap_or_else(|closed| panic!("closed before the error: {closed:?}"));
    assert_eq!(
        (&answer["id"], &answer["type"]),
        (&json!("late"), &json!("next")),
        "{answer}"
    );
    assert_eq!(error(&answer["payload"]).0, "UNAUTHORIZED", "{answer}");
    let closed = socket
        .closed_within(Duration::from_secs(2))
        .await
        .expect("the socket is closed");
    assert_eq!(closed.code, 4401, "{closed:?}");
}

#[tokio::test]
async fn a_subscribe_after_revocation_never_runs_and_the_socket_closes_with_4401() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let (key_id, key) = full_key(&app, org.id, "soon revoked").await;
    let since = since_now();
    let mut socket = Socket::connect_as(&app, &key).await;
    record_event(&app, org.id, 1).await;
    keys::revoke_on(&app.database, org.id, key_id)
        .await
        .expect("revoke the key");
    let revoked = Instant::now();
    socket
        .subscribe("late", EVENTS, json!({"since": since}))
        .await;
    let closed = loop {
        match socket.receive().await {
            Ok(message) => assert!(
                message["payload"]["data"].is_null(),
                "a revoked key got data: {message}"
            ),
            Err(closed) => break closed,
        }
    };
    assert_eq!(closed.code, 4401, "{closed:?}");
    assert!(closed.reason.starts_with("UNAUTHORIZED"), "{closed:?}");
    assert!(
        revoked.elapsed() < Duration::from_secs(1),
        "{:?}",
        revoked.elapsed()
    );
}

#[tokio::test]
async fn an_open_subscription_of_a_revoked_key_ends_within_seconds() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let (key_id, key) = full_key(&app, org.id, "soon revoked").await;
    let mut socket = Socket::connect_as(&app, &key).await;
    socket.subscribe("live", EVENTS, json!({})).await;
    // The subscription is running once an operation after it has been answered.
    let ping = socket.run("q", "{ leads { count } }", json!({})).await;
    assert!(ping["errors"].is_null(), "{ping}");

    let revoked_at = Instant::now();
    keys::revoke_on(&app.database, org.id, key_id)
        .await
        .expect("revoke the key");
    let closed = socket
        .closed_within(REVOCATION_DEADLINE)
        .await
        .expect("the socket of a revoked key is closed within 5 s");
    assert_eq!(closed.code, 4401, "{closed:?}");
    assert!(revoked_at.elapsed() < REVOCATION_DEADLINE);
}

/// On PostgreSQL the other instance hears the revocation through `NOTIFY`: within 1 s,
/// as the contract says. On SQLite (one process in production; here two apps on one
/// file, with no notifications) its periodic check finds it, within 5 s.
#[tokio::test]
async fn a_key_revoked_on_another_instance_loses_its_sockets_within_seconds() {
    let app = TestApp::spawn().await;
    let other = app.second_instance().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let (key_id, key) = full_key(&app, org.id, "soon revoked").await;
    let mut socket = Socket::connect_as(&other, &key).await;
    socket.subscribe("live", EVENTS, json!({})).await;
    let ping = socket.run("q", "{ leads { count } }", json!({})).await;
    assert!(ping["errors"].is_null(), "{ping}");

    let revoked_at = Instant::now();
    keys::revoke_on(&app.database, org.id, key_id)
        .await
        .expect("revoke the key on the first instance");
    let closed = socket
        .closed_within(REVOCATION_DEADLINE)
        .await
        .expect("the other instance closes the socket within 5 s");
    assert_eq!(closed.code, 4401, "{closed:?}");
    let deadline = if app.database.backend() == sea_orm::DbBackend::Postgres {
        Duration::from_secs(1)
    } else {
        REVOCATION_DEADLINE
    };
    let took = revoked_at.elapsed();
    assert!(took < deadline, "closed after {took:?}");
}

#[tokio::test]
async fn socket_operations_draw_on_the_keys_budget_shared_with_http() {
    let app = TestApp::builder()
        .configure(|c| {
            c.rate_limits = RateLimitConfig {
                per_key: 3,
                per_org: 1000,
                per_ip: 100,
                window: Duration::from_secs(60),
                redis: None,
            }
        })
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    // One unit over HTTP, two over the socket.
    app.graphql_ok(&org.key, "{ leads { count } }", json!({}))
        .await;
    let mut socket = Socket::connect_as(&app, &org.key).await;
    for id in ["q1", "q2"] {
        let answer = socket.run(id, "{ leads { count } }", json!({})).await;
        assert!(answer["errors"].is_null(), "{id}: {answer}");
    }
    // The budget is spent: queries and subscriptions alike are refused, with the delay.
    let refused = socket.run("q3", "{ leads { count } }", json!({})).await;
    assert_eq!(error(&refused).0, "RATE_LIMITED", "{refused}");
    assert!(refused["data"].is_null(), "{refused}");
    let retry_after = refused["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("retryAfter in {refused}"));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    socket.subscribe("s", EVENTS, json!({})).await;
    let refused = message_for(&mut socket, "s").await;
    assert_eq!(error(&refused["payload"]).0, "RATE_LIMITED", "{refused}");

    // And HTTP sees the same budget.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .json(&json!({"query": "{ leads { count } }"}))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status().as_u16(), 429);
    let response = app.get("/v1/leads", Some(&org.key)).await;
    assert_error(response, 429, "RATE_LIMITED").await;
}

/// Over HTTP a request booking four calls costs four units of its caller's budget; an
/// operation over the socket is held to the same count.
#[tokio::test]
async fn each_booking_in_a_socket_operation_is_charged_like_over_http() {
    let app = TestApp::builder()
        .configure(|c| {
            c.rate_limits = RateLimitConfig {
                per_key: 3,
                per_org: 1000,
                per_ip: 100,
                window: Duration::from_secs(60),
                redis: None,
            }
        })
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    super::open_link(&app, org.id, &seeded.team_member, "acme-open").await;
    let mut socket = Socket::connect_as(&app, &org.key).await;
    let answer = socket
        .run("book", &super::aliased_bookings(4), json!({}))
        .await;
    assert_eq!(error(&answer).0, "RATE_LIMITED", "{answer}");
    let calls = entities::call::Entity::find()
        .all(&app.db)
        .await
        .expect("the calls");
    assert!(calls.is_empty(), "{} calls were booked", calls.len());
}

#[tokio::test]
async fn a_connection_runs_at_most_its_subscriptions() {
    let app = TestApp::builder()
        .configure(|c| c.websockets.subscriptions_per_connection = 2)
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let since = since_now();
    record_event(&app, org.id, 1).await;
    let mut socket = Socket::connect_as(&app, &org.key).await;
    // Each running subscription replays the event: it is running.
    for id in ["s1", "s2"] {
        socket.subscribe(id, EVENTS, json!({"since": since})).await;
        let message = message_for(&mut socket, id).await;
        assert_eq!(message["type"], json!("next"), "{message}");
        assert_eq!(
            message["payload"]["data"]["events"]["type"],
            json!("LEAD_CREATED"),
            "{message}"
        );
    }
    socket
        .subscribe("s3", EVENTS, json!({"since": since}))
        .await;
    let refused = message_for(&mut socket, "s3").await;
    let (code, message) = error(&refused["payload"]);
    assert_eq!(code, "RATE_LIMITED", "{refused}");
    assert!(message.contains("at most 2"), "{message}");

    // Completing one makes room for another.
    socket.complete("s1").await;
    let completed = message_for(&mut socket, "s1").await;
    assert_eq!(completed["type"], json!("complete"), "{completed}");
    socket
        .subscribe("s4", EVENTS, json!({"since": since}))
        .await;
    let message = message_for(&mut socket, "s4").await;
    assert!(message["payload"]["errors"].is_null(), "{message}");
    assert_eq!(
        message["payload"]["data"]["events"]["type"],
        json!("LEAD_CREATED")
    );
}

#[tokio::test]
async fn a_key_holds_at_most_its_connections() {
    let app = TestApp::builder()
        .configure(|c| c.websockets.connections_per_credential = 1)
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let (_, other_key) = full_key(&app, org.id, "another key").await;
    let first = Socket::connect_as(&app, &org.key).await;
    let closed = Socket::init(&app, &org.key)
        .await
        .err()
        .expect("a second connection of the key is refused");
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(closed.reason.starts_with("RATE_LIMITED"), "{closed:?}");
    // Per key, not per organization.
    let _other = Socket::connect_as(&app, &other_key).await;

    // The place is given back when the connection ends.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Socket::init(&app, &org.key).await {
            Ok(_) => break,
            Err(closed) => {
                assert_eq!(closed.code, 4403, "{closed:?}");
                assert!(Instant::now() < deadline, "the key's place was never freed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn an_address_holds_at_most_its_connections() {
    let app = TestApp::builder()
        .configure(|c| c.websockets.connections_per_ip = 1)
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let first = Socket::connect_as(&app, &org.key).await;
    // Refused at the upgrade, whatever credential would follow.
    let refused = Socket::open(&app)
        .await
        .err()
        .expect("a second connection from the address is refused");
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.body["code"], json!("RATE_LIMITED"), "{refused:?}");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Socket::open(&app).await {
            Ok(_) => break,
            Err(refused) => {
                assert_eq!(refused.status, 429, "{refused:?}");
                assert!(
                    Instant::now() < deadline,
                    "the address's place was never freed"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_replay_longer_than_the_cap_is_refused_naming_since() {
    let app = TestApp::builder()
        .configure(|c| c.websockets.max_replay = 3)
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let since = since_now();
    for n in 0..3 {
        record_event(&app, org.id, n).await;
    }
    let mut socket = Socket::connect_as(&app, &org.key).await;
    // Exactly the cap: replayed whole.
    socket
        .subscribe("three", EVENTS, json!({"since": since}))
        .await;
    for _ in 0..3 {
        let message = message_for(&mut socket, "three").await;
        assert_eq!(message["type"], json!("next"), "{message}");
        assert!(message["payload"]["errors"].is_null(), "{message}");
    }
    socket.complete("three").await;

    record_event(&app, org.id, 3).await;
    socket
        .subscribe("four", EVENTS, json!({"since": since}))
        .await;
    let refused = message_for(&mut socket, "four").await;
    assert_eq!(refused["type"], json!("next"), "{refused}");
    let (code, message) = error(&refused["payload"]);
    assert_eq!(code, "VALIDATION_ERROR", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["field"],
        json!("since"),
        "{refused}"
    );
    assert!(message.contains("at most 3"), "{message}");
    assert!(
        refused["payload"]["data"].is_null(),
        "no event was sent: {refused}"
    );
    // The subscription is over; the connection goes on.
    let ended = message_for(&mut socket, "four").await;
    assert_eq!(ended["type"], json!("complete"), "{ended}");
    let answer = socket.run("q", "{ leads { count } }", json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
}
