//! Bounds on what one GraphQL request may cost: the document's size by caller (413), the
//! number of errors in an answer, directives per field, and every public booking in a
//! request charged to the caller's budget.

use std::time::Duration;

use aura::domain::ScopeSet;
use aura::ratelimit::RateLimitConfig;
use entities::call;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use super::{aliased_bookings, anonymous, code, open_link};
use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;

/// `{ __typename }` padded with a comment to exactly `len` bytes.
fn document_of(len: usize) -> String {
    let head = "{ __typename } #";
    format!("{head}{}", "x".repeat(len - head.len()))
}

#[tokio::test]
async fn documents_over_the_callers_size_limit_are_413() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let (anonymous_max, authenticated_max) = (32 * 1024, 256 * 1024);

    let (status, body) = anonymous(&app, &document_of(anonymous_max), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], json!("Query"));
    let (status, body) = anonymous(&app, &document_of(anonymous_max + 1), json!({})).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("32 KiB"), "{message}");

    // A credential buys a larger document, up to its own limit.
    let (status, body) = app
        .graphql(&org.key, &document_of(anonymous_max + 1), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .graphql(&org.key, &document_of(authenticated_max), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .graphql(&org.key, &document_of(authenticated_max + 1), json!({}))
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE", "{body}");
}

#[tokio::test]
async fn an_answer_carries_at_most_a_hundred_errors_and_says_how_many_were_cut() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let fields: String = (0..150).map(|n| format!("nope{n} ")).collect();
    let document = format!("{{ {fields} }}");

    let (_, keyed) = app.graphql(&org.key, &document, json!({})).await;
    let (_, stranger) = anonymous(&app, &document, json!({})).await;
    for body in [keyed, stranger] {
        let errors = body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 101, "{body}");
        assert!(
            errors[..100]
                .iter()
                .all(|e| e["message"].as_str().unwrap_or_default().contains("nope")),
            "the first hundred are the document's own"
        );
        let last = errors[100]["message"].as_str().unwrap_or_default();
        assert!(last.contains("50 more errors were left out"), "{last}");
        assert_eq!(errors[100]["extensions"]["code"], json!("VALIDATION_ERROR"));
    }
}

#[tokio::test]
async fn a_field_carries_at_most_five_directives() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let two = "{ __typename @include(if: true) @skip(if: false) }";
    let (status, body) = anonymous(&app, two, json!({})).await;
    assert_eq!(
        (status, &body["data"]["__typename"]),
        (200, &json!("Query")),
        "{body}"
    );

    let six = format!("{{ __typename {} }}", "@include(if: true) ".repeat(6));
    let fragment = format!(
        "{{ ... on Query {} {{ __typename }} }}",
        "@skip(if: false) ".repeat(6)
    );
    for document in [six, fragment] {
        let (_, stranger) = anonymous(&app, &document, json!({})).await;
        let (_, keyed) = app.graphql(&org.key, &document, json!({})).await;
        for body in [stranger, keyed] {
            assert_eq!(code(&body), "VALIDATION_ERROR", "{body}");
            let errors = body["errors"].as_array().expect("errors");
            assert_eq!(errors.len(), 1, "refused before validation: {body}");
            let message = errors[0]["message"].as_str().unwrap_or_default();
            assert!(message.contains("more than 5 directives"), "{message}");
        }
    }
}

fn budget_of(per_ip: u32) -> RateLimitConfig {
    RateLimitConfig {
        per_key: 100,
        per_org: 1000,
        per_ip,
        window: Duration::from_secs(60),
        redis: None,
    }
}

async fn booking_app(per_ip: u32) -> (TestApp, uuid::Uuid) {
    let app = TestApp::builder()
        .configure(move |c| c.rate_limits = budget_of(per_ip))
        .build()
        .await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    open_link(&app, org.id, &seeded.team_member, "acme-open").await;
    (app, org.id)
}

async fn calls(app: &TestApp, org: uuid::Uuid) -> u64 {
    call::Entity::find()
        .filter(call::Column::OrganizationId.eq(org))
        .count(&app.db)
        .await
        .expect("count calls")
}

#[tokio::test]
async fn each_aliased_booking_is_charged_to_the_callers_budget() {
    // Four bookings on a budget of three: refused whole, nothing booked.
    let (app, org) = booking_app(3).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": aliased_bookings(4)}))
        .send()
        .await
        .expect("POST /graphql");
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .is_some(),
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(calls(&app, org).await, 0, "no call was booked");

    // Three bookings on a budget of three: booked, and the budget is spent.
    let (app, org) = booking_app(3).await;
    let (status, body) = anonymous(&app, &aliased_bookings(3), json!({})).await;
    assert_eq!(status, 200, "{body}");
    for i in 0..3 {
        assert_eq!(
            body["data"][format!("b{i}")]["status"],
            json!("SCHEDULED"),
            "{body}"
        );
    }
    assert_eq!(calls(&app, org).await, 3);
    let (status, body) = anonymous(
        &app,
        "{ publicBookingLink(slug: \"acme-open\") { slug } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 429, "three bookings cost three units: {body}");
}
