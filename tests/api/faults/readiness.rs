//! `GET /health/ready`: each dependency's state, Redis only when configured, and the
//! draining state that shutdown turns on first.

use std::time::{Duration, Instant};

use aura::domain::ScopeSet;
use serde_json::{Value, json};

use super::support::{FaultApp, eventually};
use crate::factory::org_with_key;
use crate::helpers::TestApp;

async fn readiness(client: &reqwest::Client, base: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .expect("GET /health/ready (is the server still listening?)");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn readiness_reports_database_migrations_and_draining() {
    let app = TestApp::spawn().await;
    let (status, body) = readiness(&app.client, &app.address).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["status"], json!("ready"), "{body}");
    let checks = body["checks"].as_object().expect("checks");
    for name in ["database", "migrations", "draining"] {
        assert_eq!(checks[name]["status"], json!("ok"), "{name}: {body}");
    }
    assert!(checks["database"]["latency_ms"].is_number(), "{body}");
    assert!(checks["migrations"]["latency_ms"].is_number(), "{body}");
    assert!(
        !checks.contains_key("redis"),
        "no Redis configured, none reported: {body}"
    );
}

#[tokio::test]
async fn readiness_reports_a_configured_redis_without_naming_its_address() {
    // A port held by this test and never listened on: connections to it are refused.
    let (_held, port) = crate::helpers::closed_port();
    let app = TestApp::builder()
        .configure(move |c| {
            c.rate_limits.redis = Some(aura::ratelimit::RedisConfig {
                url: format!("redis://127.0.0.1:{port}"),
                prefix: "aura-faults-ready".to_owned(),
            });
        })
        .build()
        .await;
    let started = Instant::now();
    let (status, body) = readiness(&app.client, &app.address).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a down Redis answers fast"
    );
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["status"], json!("not_ready"), "{body}");
    assert_eq!(body["code"], json!("SERVICE_UNAVAILABLE"), "{body}");
    assert_eq!(
        body["checks"]["redis"]["status"],
        json!("unavailable"),
        "{body}"
    );
    assert_eq!(body["checks"]["database"]["status"], json!("ok"), "{body}");
    assert_eq!(body["checks"]["draining"]["status"], json!("ok"), "{body}");
    let text = body.to_string();
    assert!(
        !text.contains(&port.to_string()) && !text.contains("127.0.0.1"),
        "{text}"
    );
}

/// Shutdown, in-process: readiness turns 503 (`draining`) at once while `/health` and the
/// API still answer, each with `Connection: close`; the server stops after the delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_turns_readiness_503_while_the_api_still_answers() {
    let database = crate::helpers::test_database(false).await;
    let url = database.url().to_owned();
    let conn = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&conn).await.unwrap();
    let org = org_with_key(&conn, "draining", ScopeSet::all()).await;
    let delay = Duration::from_millis(1500);
    let mut app = FaultApp::start(conn, &url, |c| c.shutdown_delay = delay).await;
    // A fresh connection per request, so each sees the server as it is now.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert_eq!(readiness(&client, &app.address).await.0, 200);

    let signalled = Instant::now();
    app.begin_shutdown();
    let draining = eventually(Duration::from_millis(500), || async {
        readiness(&client, &app.address).await.0 == 503
    })
    .await;
    assert!(draining, "readiness still 200 after the shutdown signal");
    let (status, body) = readiness(&client, &app.address).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["checks"]["draining"]["status"],
        json!("draining"),
        "{body}"
    );
    assert_eq!(body["checks"]["database"]["status"], json!("ok"), "{body}");
    assert_eq!(
        body["error"],
        json!("this instance is shutting down"),
        "{body}"
    );

    let health = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.headers()["connection"], "close");
    let api = client
        .get(app.url("/v1/leads"))
        .bearer_auth(&org.key)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 200);
    assert_eq!(api.headers()["connection"], "close");
    assert!(
        signalled.elapsed() < delay,
        "the checks ran within the delay ({:?}); make the delay longer",
        signalled.elapsed()
    );

    app.stopped(delay + Duration::from_secs(5)).await;
    let stopped_after = signalled.elapsed();
    assert!(
        stopped_after >= delay,
        "stopped before the delay: {stopped_after:?}"
    );
    let refused = client.get(app.url("/health")).send().await;
    assert!(
        refused.as_ref().is_err_and(reqwest::Error::is_connect),
        "{refused:?}"
    );
}
