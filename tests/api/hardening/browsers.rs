//! What browsers can do to `/graphql`: no cross-site "simple" POST reaches the schema
//! (415 unless JSON), reflected CORS origins come with `Vary: Origin`, and the schema is
//! not discoverable without a credential (no introspection, no "did you mean"), while the
//! public booking operations keep working anonymously.

use aura::domain::ScopeSet;
use entities::call;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::{BOOK, anonymous, code, open_link, slot};
use crate::factory::{org_with_key, seed};
use crate::helpers::{TestApp, assert_error};

const ORIGIN: &str = "https://client.example";

fn varies_on_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn graphql_posts_without_a_json_content_type_are_415_and_run_nothing() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &seeded.team_member, "acme-open").await;
    // What a cross-site form or `fetch(…, {mode: "no-cors"})` can send without a preflight.
    let booking = json!({
        "query": BOOK,
        "variables": {"slug": "acme-open", "start": slot(1), "name": "Forged", "email": "forged@example.com"},
    })
    .to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=xyz"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header("origin", ORIGIN)
            .body(booking.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("POST /graphql");
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
    }
    // The contract's error body (see the ignored test below for one sent with `Origin`).
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body(booking.clone())
        .send()
        .await
        .expect("POST /graphql");
    let body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("application/json"),
        "{body}"
    );
    // A credential does not make another content type acceptable.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ leads { count } }"}"#)
        .send()
        .await
        .expect("POST /graphql");
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    assert_eq!(
        call::Entity::find()
            .count(&app.db)
            .await
            .expect("count calls"),
        0,
        "no forged booking was made"
    );

    // JSON, with or without parameters, runs.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json; charset=utf-8")
        .body(booking)
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        body["data"]["bookCall"]["status"],
        json!("SCHEDULED"),
        "{body}"
    );
}

#[tokio::test]
async fn a_reflected_cors_origin_varies_on_origin() {
    let app = TestApp::spawn().await;
    let post = app
        .client
        .post(app.url("/graphql"))
        .header("origin", ORIGIN)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("POST /graphql");
    let get = app
        .client
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .header("origin", ORIGIN)
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET /graphql");
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .expect("OPTIONS /graphql");
    let refused = app
        .client
        .post(app.url("/graphql"))
        .header("origin", ORIGIN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("POST /graphql");
    for (case, response) in [
        ("POST", post),
        ("GET", get),
        ("preflight", preflight),
        ("415", refused),
    ] {
        assert!(
            response.status().is_success() || case == "415",
            "{case}: {}",
            response.status()
        );
        assert_eq!(
            response
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some(ORIGIN),
            "{case}: the origin is reflected"
        );
        assert!(
            varies_on_origin(&response),
            "{case}: Vary is {:?}",
            response.headers().get_all("vary")
        );
    }
}

/// A cacheable anonymous GET varies on `Accept` and `Authorization`; reflecting an origin
/// must add `Origin` to that list, not replace it (a shared cache would otherwise hand
/// one representation, or an anonymous answer, to a caller that asked for another).
#[tokio::test]
async fn a_cacheable_get_from_another_origin_keeps_its_vary_list() {
    let app = TestApp::spawn().await;
    let get = app
        .client
        .get(app.url("/graphql?query=%7B__typename%7D"))
        .header("origin", ORIGIN)
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(get.status().as_u16(), 200);
    assert!(
        get.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("public")),
        "a public answer: {:?}",
        get.headers()
    );
    let vary: Vec<String> = get
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    for name in ["accept", "authorization", "origin"] {
        assert!(vary.iter().any(|v| v == name), "Vary {vary:?} lacks {name}");
    }
}

#[tokio::test]
async fn introspection_needs_a_credential() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    for document in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"Lead\") { name fields { name } } }",
    ] {
        // Answered as if the schema had nothing to show.
        let (_, body) = anonymous(&app, document, json!({})).await;
        let data = &body["data"];
        assert!(
            data.is_null()
                || data
                    .as_object()
                    .is_some_and(|d| d.values().all(Value::is_null)),
            "{document}: {body}"
        );
        let text = body.to_string();
        assert!(
            !text.contains("LeadStatus") && !text.contains("createLead"),
            "{text}"
        );

        let data = app.graphql_ok(&org.key, document, json!({})).await;
        assert!(data.to_string().contains("Lead"), "{data}");
    }
}

#[tokio::test]
async fn field_suggestions_are_for_authenticated_callers_only() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let misspelled = "{ publicBookingLnk(slug: \"x\") { slug } }";
    let (_, stranger) = anonymous(&app, misspelled, json!({})).await;
    assert_eq!(code(&stranger), "VALIDATION_ERROR", "{stranger}");
    let message = stranger["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(!message.contains("Did you mean"), "{message}");
    assert!(!message.contains("publicBookingLink"), "{message}");

    let (_, keyed) = app.graphql(&org.key, misspelled, json!({})).await;
    let message = keyed["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Did you mean"), "{message}");
    assert!(message.contains("publicBookingLink"), "{message}");
}

#[tokio::test]
async fn public_booking_still_works_without_a_credential() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &seeded.team_member, "acme-open").await;

    let (status, body) = anonymous(
        &app,
        "{ publicBookingLink(slug: \"acme-open\") { slug durationMinutes } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["publicBookingLink"]["durationMinutes"],
        json!(30)
    );
    let (status, body) = anonymous(
        &app,
        "query($from: DateTime!, $to: DateTime!) { availableSlots(slug: \"acme-open\", from: $from, to: $to) { start } }",
        json!({"from": slot(0), "to": slot(4)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["availableSlots"][0]["start"],
        json!(slot(0)),
        "{body}"
    );
    let (status, body) = anonymous(
        &app,
        BOOK,
        json!({"slug": "acme-open", "start": slot(1), "name": "Ann", "email": "ann@example.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["bookCall"]["status"],
        json!("SCHEDULED"),
        "{body}"
    );
}

/// A widget's browser always sends `Origin`: its errors must be the contract's, with the
/// headers that tell it when to retry.
#[tokio::test]
async fn cross_origin_errors_keep_the_contract_shape_and_headers() {
    let app = TestApp::builder()
        .configure(|c| {
            c.rate_limits = aura::ratelimit::RateLimitConfig {
                per_key: 100,
                per_org: 1000,
                per_ip: 1,
                window: std::time::Duration::from_secs(60),
                redis: None,
            }
        })
        .build()
        .await;
    let send = |content_type: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .header("origin", ORIGIN)
            .header("content-type", content_type)
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
    };
    let refused = send("text/plain").await.expect("POST /graphql");
    assert!(refused.headers().contains_key("x-ratelimit-limit"));
    assert_error(refused, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    // The address's budget (1) is spent: 429, with the delay.
    let limited = send("application/json").await.expect("POST /graphql");
    assert!(
        limited.headers().contains_key("retry-after"),
        "{:?}",
        limited.headers()
    );
    assert!(limited.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(
        limited
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(ORIGIN)
    );
    assert_error(limited, 429, "RATE_LIMITED").await;
}

/// The widget's persisted `AvailableSlots` over GET is a short-lived public answer with
/// an `ETag` (a repeat with `If-None-Match` is 304 with no body); the same GET with a key,
/// and a booking read by its token, are never stored.
#[tokio::test]
async fn the_widgets_public_gets_are_cached_briefly_and_nothing_else_is() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &s.team_member, "acme-open").await;
    let hashes = aura::graphql::persisted::widget_hashes();
    let get = |operation: &str, variables: Value| {
        let hash = hashes[operation].as_str().expect("a widget hash");
        let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
        let url = url::Url::parse_with_params(
            &app.url("/graphql"),
            [
                ("operationName", operation.to_owned()),
                ("variables", variables.to_string()),
                ("extensions", extensions.to_string()),
            ],
        )
        .expect("a URL");
        app.client.get(url).header("accept", "application/json")
    };
    let week = json!({"slug": "acme-open", "from": slot(0), "to": slot(48 * 7)});
    let first = get("AvailableSlots", week.clone())
        .send()
        .await
        .expect("GET");
    assert_eq!(first.status().as_u16(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(&first, "cache-control").as_deref(),
        Some("public, max-age=5")
    );
    let etag = header(&first, "etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let body: Value = first.json().await.expect("JSON");
    assert!(
        body["data"]["availableSlots"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{body}"
    );

    let again = get("AvailableSlots", week.clone())
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(again.status().as_u16(), 304);
    assert!(again.bytes().await.expect("body").is_empty());

    let keyed = get("AvailableSlots", week)
        .bearer_auth(&org.key)
        .send()
        .await
        .expect("GET");
    assert_eq!(keyed.status().as_u16(), 200);
    assert_eq!(header(&keyed, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(header(&keyed, "etag"), None);

    let (_, booked) = anonymous(
        &app,
        "mutation($slug: String!, $start: DateTime!) { bookCall(slug: $slug, start: $start, name: \"Ada\", email: \"ada@example.com\") { token } }",
        json!({"slug": "acme-open", "start": slot(3)}),
    )
    .await;
    let token = booked["data"]["bookCall"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{booked}"));
    let by_token = get("PublicBooking", json!({"token": token}))
        .send()
        .await
        .expect("GET");
    assert_eq!(by_token.status().as_u16(), 200);
    assert_eq!(
        header(&by_token, "cache-control").as_deref(),
        Some("no-store")
    );
}
