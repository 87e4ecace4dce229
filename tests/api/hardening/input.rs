//! Input the domain refuses, the same on both databases: NUL characters in any text
//! (VALIDATION_ERROR naming the field, nothing stored), currencies outside ISO 4217,
//! webhook ports other than 80, 443 and 1024–65535, and SSRF refusals that never say
//! which address a name resolves to.

use aura::domain::ScopeSet;
use entities::{call, lead, product, webhook_subscription};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::{BOOK, anonymous, code, field, open_link, slot};
use crate::factory::org_with_key;
use crate::helpers::{TestApp, assert_error};
use crate::writes::support::world;

const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { id } }";
const CREATE_PRODUCT: &str =
    "mutation($input: CreateProductInput!) { createProduct(input: $input) { id currency } }";
const CREATE_WEBHOOK: &str =
    "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }";

/// Asserts a GraphQL refusal: VALIDATION_ERROR naming `expected_field`, no data.
#[track_caller]
fn refused(body: &Value, expected_field: &str) {
    assert_eq!(code(body), "VALIDATION_ERROR", "{body}");
    assert_eq!(field(body), expected_field, "{body}");
    assert!(body["data"].is_null(), "{body}");
}

async fn rows<E: EntityTrait>(app: &TestApp) -> u64
where
    E::Model: Sync,
{
    E::find().count(&app.db).await.expect("count rows")
}

#[tokio::test]
async fn nul_characters_are_validation_errors_naming_the_field() {
    let w = world().await;
    open_link(&w.app, w.org, &w.own.team_member, "acme-open").await;
    let (leads, calls, products) = (
        rows::<lead::Entity>(&w.app).await,
        rows::<call::Entity>(&w.app).await,
        rows::<product::Entity>(&w.app).await,
    );

    // Public booking, without a credential.
    for (name, email, expected) in [
        ("Ann\u{0}Lee", "ann@example.com", "name"),
        ("Ann Lee", "ann\u{0}@example.com", "email"),
    ] {
        let (status, body) = anonymous(
            &w.app,
            BOOK,
            json!({"slug": "acme-open", "start": slot(1), "name": name, "email": email}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        refused(&body, expected);
    }
    let (_, body) = anonymous(
        &w.app,
        "mutation($start: DateTime!) { bookCall(slug: \"acme-open\", start: $start, name: \"Ann\", email: \"ann@example.com\", answers: {goal: \"a\\u0000b\"}) { status } }",
        json!({"start": slot(1)}),
    )
    .await;
    refused(&body, "answers");

    // The app's writes.
    for (input, expected) in [
        (json!({"name": "Nul\u{0}Lead"}), "name"),
        (json!({"name": "Lead", "source": "ads\u{0}"}), "source"),
        (
            json!({"name": "Lead", "customFields": {"note": "a\u{0}b"}}),
            "customFields",
        ),
        (
            json!({"name": "Lead", "customFields": {"k\u{0}": 1}}),
            "customFields",
        ),
    ] {
        let (_, body) = w
            .app
            .graphql(&w.member, CREATE_LEAD, json!({"input": input}))
            .await;
        refused(&body, expected);
    }
    let (_, body) = w
        .app
        .graphql(
            &w.member,
            "mutation($id: ID!) { updateLead(id: $id, input: {name: \"a\\u0000b\"}) { id } }",
            json!({"id": w.own.leads[0]}),
        )
        .await;
    refused(&body, "name");
    for (input, expected) in [
        (
            json!({"name": "Pro\u{0}gram", "priceAmount": 100, "currency": "USD", "billing": "ONE_TIME"}),
            "name",
        ),
        (
            json!({"name": "Program", "description": "\u{0}", "priceAmount": 100, "currency": "USD", "billing": "ONE_TIME"}),
            "description",
        ),
    ] {
        let (_, body) = w
            .app
            .graphql(&w.admin, CREATE_PRODUCT, json!({"input": input}))
            .await;
        refused(&body, expected);
    }

    // REST: a webhook's description.
    let response = w
        .app
        .client
        .post(w.app.url("/v1/webhooks"))
        .bearer_auth(&w.key)
        .json(&json!({"url": "http://127.0.0.1:9999/hook", "event_types": ["*"], "description": "a\u{0}b"}))
        .send()
        .await
        .expect("POST /v1/webhooks");
    let body = assert_error(response, 400, "VALIDATION_ERROR").await;
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("description"),
        "{body}"
    );

    assert_eq!(rows::<lead::Entity>(&w.app).await, leads, "no lead stored");
    assert_eq!(rows::<call::Entity>(&w.app).await, calls, "no call booked");
    assert_eq!(
        rows::<product::Entity>(&w.app).await,
        products,
        "no product stored"
    );
    assert_eq!(rows::<webhook_subscription::Entity>(&w.app).await, 0);
}

#[tokio::test]
async fn currencies_must_be_iso_4217() {
    let w = world().await;
    let product = |currency: &str| json!({"input": {"name": "Program", "priceAmount": 100, "currency": currency, "billing": "ONE_TIME"}});
    for currency in ["ZZZ", "ABC", "usd", "US", "USDT", "U\u{0}D"] {
        let (_, body) = w
            .app
            .graphql(&w.admin, CREATE_PRODUCT, product(currency))
            .await;
        refused(&body, "currency");
    }
    for currency in ["USD", "EUR", "JPY"] {
        let data = w.ok(&w.admin, CREATE_PRODUCT, product(currency)).await;
        assert_eq!(data["createProduct"]["currency"], json!(currency));
    }
    // Wherever a currency is taken.
    let (_, body) = w
        .app
        .graphql(
            &w.admin,
            "mutation($id: ID!) { updateProduct(id: $id, input: {currency: \"ZZZ\"}) { id } }",
            json!({"id": w.own.product}),
        )
        .await;
    refused(&body, "currency");
    let (_, body) = w
        .app
        .graphql(
            &w.admin,
            "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }",
            json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "amount": 100, "currency": "ZZZ"}}),
        )
        .await;
    refused(&body, "currency");
}

async fn create_webhook(app: &TestApp, key: &str, url: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(key)
        .json(&json!({"url": url, "event_types": ["lead.created"]}))
        .send()
        .await
        .expect("POST /v1/webhooks")
}

#[tokio::test]
async fn webhook_ports_are_80_443_or_above_1023() {
    // Private targets are allowed here (as in every TestApp), so only the port decides.
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    for url in [
        "http://127.0.0.1:22/hook",
        "https://127.0.0.1:25/hook",
        "http://127.0.0.1:1023/hook",
        "http://127.0.0.1:0/hook",
    ] {
        let body = assert_error(
            create_webhook(&app, &org.key, url).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("url") && message.contains("port"),
            "{url}: {message}"
        );
        let (_, body) = app
            .graphql(
                &org.key,
                CREATE_WEBHOOK,
                json!({"input": {"url": url, "eventTypes": ["LEAD_CREATED"]}}),
            )
            .await;
        refused(&body, "url");
    }
    for url in [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "http://127.0.0.1:1024/hook",
        "https://127.0.0.1:8443/hook",
        "http://127.0.0.1:65535/hook",
    ] {
        let response = create_webhook(&app, &org.key, url).await;
        assert_eq!(response.status().as_u16(), 201, "{url}");
    }
}

/// Finding 9 names port 6379 (Redis): beside the port range, the well-known ports of
/// internal services are refused whatever the address (`domain::webhook_target`).
#[tokio::test]
async fn well_known_internal_service_ports_are_refused() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    for url in ["http://127.0.0.1:6379/hook", "http://127.0.0.1:5432/hook"] {
        assert_error(
            create_webhook(&app, &org.key, url).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
    }
}

#[tokio::test]
async fn ssrf_refusals_never_name_the_address() {
    let app = TestApp::builder()
        .configure(|c| c.webhooks.allow_private_targets = false)
        .build()
        .await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    for url in [
        "http://localhost:8080/",
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://[::1]:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
    ] {
        let body = assert_error(
            create_webhook(&app, &org.key, url).await,
            400,
            "VALIDATION_ERROR",
        )
        .await;
        let (_, graphql) = app
            .graphql(
                &org.key,
                CREATE_WEBHOOK,
                json!({"input": {"url": url, "eventTypes": ["LEAD_CREATED"]}}),
            )
            .await;
        refused(&graphql, "url");
        for message in [
            body["error"].as_str().unwrap_or_default(),
            graphql["errors"][0]["message"].as_str().unwrap_or_default(),
        ] {
            assert!(
                message.contains("resolves to a non-public address"),
                "{url}: {message}"
            );
            for leak in [
                "127.0.0.1",
                "::1",
                "10.1.2.3",
                "169.254",
                "loopback",
                "private",
                "link-local",
            ] {
                assert!(!message.contains(leak), "{url}: `{leak}` in {message}");
            }
        }
    }
    assert_eq!(rows::<webhook_subscription::Entity>(&app).await, 0);
}
