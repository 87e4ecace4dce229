//! Whose address an anonymous request counts against: the TCP peer, unless the peer is a
//! configured trusted proxy, in which case the client address it forwarded
//! (`X-Forwarded-For` or `Forwarded: for=`, the right-most one that is not a proxy).

use std::time::Duration;

use aura::http::guard::Cidr;
use aura::ratelimit::RateLimitConfig;

use crate::helpers::TestApp;

async fn app_with(per_ip: u32, trusted: &[&str]) -> TestApp {
    let trusted: Vec<Cidr> = trusted
        .iter()
        .map(|net| Cidr::parse(net).expect("a CIDR"))
        .collect();
    TestApp::builder()
        .configure(move |c| {
            c.rate_limits = RateLimitConfig {
                per_key: 100,
                per_org: 1000,
                per_ip,
                window: Duration::from_secs(60),
                redis: None,
            };
            c.trusted_proxies = trusted;
        })
        .build()
        .await
}

/// An anonymous `{ __typename }` with `headers`: its status and remaining budget.
async fn send(app: &TestApp, headers: &[(&str, &str)]) -> (u16, Option<u64>) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(r#"{"query":"{ __typename }"}"#);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST /graphql");
    let remaining = response
        .headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status().as_u16(), remaining)
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let app = app_with(2, &[]).await;
    // Each request claims another client; all of them are the peer, 127.0.0.1.
    assert_eq!(
        send(&app, &[("x-forwarded-for", "203.0.113.1")]).await,
        (200, Some(1))
    );
    assert_eq!(
        send(&app, &[("x-forwarded-for", "203.0.113.2")]).await,
        (200, Some(0))
    );
    assert_eq!(send(&app, &[("forwarded", "for=203.0.113.3")]).await.0, 429);
    assert_eq!(send(&app, &[]).await.0, 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = app_with(2, &["127.0.0.1/32"]).await;
    let first = [("x-forwarded-for", "203.0.113.1")];
    assert_eq!(send(&app, &first).await, (200, Some(1)));
    assert_eq!(send(&app, &first).await, (200, Some(0)));
    assert_eq!(send(&app, &first).await.0, 429);
    // Another client behind the same proxy is not affected.
    assert_eq!(
        send(&app, &[("x-forwarded-for", "203.0.113.2")]).await,
        (200, Some(1))
    );
    // A client cannot escape its budget by writing its own entry first: the proxy
    // appends the address it saw, and that one counts.
    assert_eq!(
        send(&app, &[("x-forwarded-for", "198.51.100.7, 203.0.113.1")])
            .await
            .0,
        429
    );
    // Nor can a client forge a trusted hop after it: those are skipped.
    assert_eq!(
        send(&app, &[("x-forwarded-for", "203.0.113.1, 127.0.0.1")])
            .await
            .0,
        429
    );
    // A request with no forwarded address is the proxy's own.
    assert_eq!(send(&app, &[]).await, (200, Some(1)));
}

#[tokio::test]
async fn the_forwarded_header_names_the_client_too() {
    let app = app_with(2, &["127.0.0.1/32"]).await;
    let v4 = [("forwarded", "for=203.0.113.5;proto=https")];
    assert_eq!(send(&app, &v4).await, (200, Some(1)));
    assert_eq!(send(&app, &v4).await, (200, Some(0)));
    assert_eq!(send(&app, &v4).await.0, 429);
    // The same client through X-Forwarded-For: the same budget.
    assert_eq!(
        send(&app, &[("x-forwarded-for", "203.0.113.5")]).await.0,
        429
    );
    let v6 = [("forwarded", "for=\"[2001:db8::7]:4711\"")];
    assert_eq!(send(&app, &v6).await, (200, Some(1)));
}

#[tokio::test]
async fn websocket_connections_count_per_forwarded_client_behind_a_trusted_proxy() {
    use super::socket::Socket;
    let app = TestApp::builder()
        .configure(|c| {
            c.trusted_proxies = vec![Cidr::parse("127.0.0.1/32").expect("a CIDR")];
            c.websockets.connections_per_ip = 1;
        })
        .build()
        .await;
    let first = [("x-forwarded-for", "203.0.113.1")];
    let _held = Socket::open_with(&app, &first)
        .await
        .expect("the client's first connection");
    let refused = Socket::open_with(&app, &first)
        .await
        .err()
        .expect("the client's second connection is refused");
    assert_eq!(refused.status, 429, "{refused:?}");
    // Another client behind the same proxy has its own allowance.
    let _other = Socket::open_with(&app, &[("x-forwarded-for", "203.0.113.2")])
        .await
        .expect("another client's connection");
}
