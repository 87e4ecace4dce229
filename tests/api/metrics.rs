//! `GET /metrics` on its own listener: after known traffic to a real `aura serve`, the
//! scraped families hold exactly those counts, with bounded labels (route templates,
//! known operation names); `aura worker` serves its own.

use std::collections::HashMap;

use serde_json::json;

use crate::cli::{SERVER_KEY, aura, last_line, temp_db};
use crate::helpers::Process;

/// `name{labels} value` lines of the Prometheus text format, keyed by `name{labels}` as
/// rendered (labels in the exporter's order).
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the one series of `name` whose labels include every `labels` pair.
fn value(samples: &HashMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| {
            series.split('{').next() == Some(name)
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| *v)
        .collect();
    match matching.as_slice() {
        [] => None,
        [one] => Some(*one),
        many => panic!("{name} {labels:?} matches {} series", many.len()),
    }
}

async fn scrape(client: &reqwest::Client, address: &str) -> HashMap<String, f64> {
    let response = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    samples(&response.text().await.expect("body"))
}

#[tokio::test]
async fn the_metrics_listener_counts_known_traffic() {
    let (_db, url) = temp_db().await;
    let key = last_line(&aura(&url, &["demo", "--leads", "5"]));
    let mut server = Process::start(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--metrics-bind",
            "127.0.0.1:0",
        ],
        &[
            ("DATABASE_URL", &url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            ("AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ],
    );
    let api = server.address("listening");
    let metrics = server.address("metrics listening");
    aura::crypto::tls::install_crypto_provider();
    let client = reqwest::Client::new();

    // Nothing is served on the API listener's /metrics: metrics are never public.
    let response = client.get(format!("{api}/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);

    for _ in 0..3 {
        let response = client
            .get(format!("{api}/v1/leads?limit=2"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let response = client
        .get(format!("{api}/v1/leads/lead_01jdq00000000000000000000"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let response = client.get(format!("{api}/v1/leads")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let graphql = |body: serde_json::Value, key: Option<&str>| {
        let mut request = client.post(format!("{api}/graphql")).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let response = graphql(
        json!({"query": "query DashboardLeads { leads(first: 1) { totalCount } }"}),
        Some(&key),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // A stranger's operation name never becomes a label.
    let response = graphql(
        json!({"query": "query Mint123 { publicBookingLink(slug: \"nope\") { slug } }"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // One webhook test attempt, answered 200.
    let receiver = crate::webhooks::receiver::Receiver::start().await;
    let created: serde_json::Value = client
        .post(format!("{api}/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver.url, "event_types": ["lead.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = created["data"]["id"]
        .as_str()
        .expect("webhook id")
        .to_owned();
    let response = client
        .post(format!("{api}/v1/webhooks/{webhook}/test"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let scraped = scrape(&client, &metrics).await;
    assert_eq!(
        value(
            &scraped,
            "aura_webhook_attempts_total",
            &[("outcome", "succeeded")]
        ),
        Some(1.0)
    );
    let http = |route: &str, status: &str| {
        value(
            &scraped,
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", "GET"),
                ("http_route", route),
                ("http_response_status_code", status),
            ],
        )
    };
    assert_eq!(http("/v1/leads", "200"), Some(3.0));
    assert_eq!(http("/v1/leads", "401"), Some(1.0));
    assert_eq!(http("/v1/leads/{id}", "404"), Some(1.0));
    assert!(
        !scraped.keys().any(|k| k.contains("lead_01jdq")),
        "a raw path became a label"
    );
    let operations = |name: &str| {
        value(
            &scraped,
            "graphql_server_operations_total",
            &[
                ("graphql_operation_type", "query"),
                ("graphql_operation_name", name),
            ],
        )
    };
    assert_eq!(operations("DashboardLeads"), Some(1.0));
    assert_eq!(
        operations("ListLeads"),
        Some(3.0),
        "REST runs named operations"
    );
    assert_eq!(operations("other"), Some(1.0));
    assert!(!scraped.keys().any(|k| k.contains("Mint123")));
    // 3 lists, 1 get, 1 GraphQL query, 2 webhook calls on the key; 1 anonymous and 1
    // failed on the address.
    assert_eq!(
        value(
            &scraped,
            "aura_rate_limit_decisions_total",
            &[("bucket", "key"), ("outcome", "allowed")]
        ),
        Some(7.0)
    );
    assert_eq!(
        value(
            &scraped,
            "aura_rate_limit_decisions_total",
            &[("bucket", "ip"), ("outcome", "allowed")]
        ),
        Some(2.0)
    );
    assert_eq!(value(&scraped, "aura_ready", &[]), Some(1.0));
    assert_eq!(
        value(&scraped, "http_server_active_requests", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&scraped, "aura_websocket_connections", &[]),
        Some(0.0)
    );
    assert_eq!(value(&scraped, "aura_live_subscriptions", &[]), Some(0.0));
    assert_eq!(
        value(&scraped, "aura_webhook_pending_deliveries", &[]),
        Some(0.0)
    );
    // Nothing pending: no age.
    assert_eq!(
        value(&scraped, "aura_webhook_oldest_pending_age_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &scraped,
            "db_client_connections_max",
            &[("pool_name", "main")]
        ),
        // `serve`'s default pool: 16 on PostgreSQL, 8 on a SQLite file.
        Some(if url.starts_with("postgres") {
            16.0
        } else {
            8.0
        })
    );
    assert!(
        value(
            &scraped,
            "db_client_connections_usage",
            &[("pool_name", "main"), ("state", "idle")]
        )
        .is_some()
    );
    assert_eq!(
        value(
            &scraped,
            "aura_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_worker_serves_its_own_metrics() {
    let (_db, url) = temp_db().await;
    aura(&url, &["migrate"]);
    let mut worker = Process::start(
        &["worker", "--metrics-bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", &url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
        ],
    );
    let metrics = worker.address("metrics listening");
    aura::crypto::tls::install_crypto_provider();
    let scraped = scrape(&reqwest::Client::new(), &metrics).await;
    assert_eq!(value(&scraped, "aura_ready", &[]), Some(1.0));
    assert_eq!(
        value(
            &scraped,
            "db_client_connections_max",
            &[("pool_name", "main")]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(&scraped, "aura_webhook_pending_deliveries", &[]),
        Some(0.0)
    );
}
