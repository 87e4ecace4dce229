//! A webhook reads what it carries: creating or changing one needs the read scope of every
//! event type it names (`*` needs all of them), over REST and GraphQL alike; a test event
//! needs only the webhook scopes; re-sending a delivery needs its event type's read scope;
//! and a webhook refused at create never receives a lead.

use aura::domain::ScopeSet;
use entities::webhook_subscription;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::code;
use crate::factory::{keys, org_with_key};
use crate::helpers::{TestApp, assert_error};
use crate::webhooks::receiver::Receiver;
use crate::webhooks::{create_webhook, record_event};

const WEBHOOK_SCOPES: &str = "webhooks:read,webhooks:write";
/// A target nobody listens on: creating a webhook does not call it.
const TARGET: &str = "http://127.0.0.1:9999/hook";
const CREATE: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id eventTypes } secret } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(id: $id, input: $input) { id eventTypes url } }";

async fn key_with(app: &TestApp, org: uuid::Uuid, scopes: &str) -> String {
    keys::create(
        &app.db,
        org,
        scopes,
        ScopeSet::parse_list(scopes).expect("scopes"),
        None,
    )
    .await
    .expect("create a key")
    .secret
}

async fn rest_create(app: &TestApp, key: &str, types: &[&str]) -> reqwest::Response {
    app.client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(key)
        .json(&json!({"url": TARGET, "event_types": types}))
        .send()
        .await
        .expect("POST /v1/webhooks")
}

async fn rest_patch(app: &TestApp, key: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/v1/webhooks/{id}")))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("PATCH /v1/webhooks/{id}")
}

/// Event types as GraphQL's `EventTypeName` spells them (`lead.created` → `LEAD_CREATED`,
/// `*` → `ALL`).
fn graphql_names(types: &Value) -> Value {
    let names: Vec<String> = types
        .as_array()
        .expect("a list of types")
        .iter()
        .map(|t| match t.as_str().expect("a type") {
            "*" => "ALL".to_owned(),
            name => name.replace('.', "_").to_uppercase(),
        })
        .collect();
    json!(names)
}

async fn graphql_create(app: &TestApp, key: &str, types: &[&str]) -> Value {
    let (status, body) = app
        .graphql(
            key,
            CREATE,
            json!({"input": {"url": TARGET, "eventTypes": graphql_names(&json!(types))}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn subscriptions(app: &TestApp) -> u64 {
    webhook_subscription::Entity::find()
        .count(&app.db)
        .await
        .expect("count webhooks")
}

#[tokio::test]
async fn creating_a_webhook_needs_the_read_scope_of_every_event_type_it_names() {
    let app = TestApp::spawn().await;
    let org = org_with_key(
        &app.db,
        "hooks",
        ScopeSet::parse_list(WEBHOOK_SCOPES).expect("scopes"),
    )
    .await;
    let weak = org.key.clone();
    let leads = key_with(&app, org.id, &format!("{WEBHOOK_SCOPES},leads:read")).await;

    // Webhook scopes alone read no resource: no event type is theirs to subscribe to.
    for types in [
        &["lead.created"][..],
        &["*"],
        &["lead.created", "payment.created"],
    ] {
        let body = assert_error(rest_create(&app, &weak, types).await, 403, "FORBIDDEN").await;
        assert!(!body.to_string().contains("whsec_"), "{body}");
        let body = graphql_create(&app, &weak, types).await;
        assert_eq!(code(&body), "FORBIDDEN", "{types:?}: {body}");
        assert!(body["data"].is_null(), "{body}");
    }
    assert_eq!(subscriptions(&app).await, 0, "nothing was created");

    // `leads:read` opens the lead events, and only those.
    let created = rest_create(&app, &leads, &["lead.created"]).await;
    assert_eq!(created.status().as_u16(), 201);
    let data = app
        .graphql_ok(
            &leads,
            CREATE,
            json!({"input": {"url": TARGET, "eventTypes": ["LEAD_CREATED", "LEAD_UPDATED"]}}),
        )
        .await;
    assert_eq!(
        data["createWebhook"]["webhook"]["eventTypes"],
        json!(["LEAD_CREATED", "LEAD_UPDATED"])
    );
    for types in [
        &["payment.created"][..],
        &["lead.created", "payment.created"],
        &["*"],
    ] {
        let body = assert_error(rest_create(&app, &leads, types).await, 403, "FORBIDDEN").await;
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("payments:read") || types == ["*"],
            "{message}"
        );
        let body = graphql_create(&app, &leads, types).await;
        assert_eq!(code(&body), "FORBIDDEN", "{types:?}: {body}");
    }
    assert_eq!(subscriptions(&app).await, 2);
}

#[tokio::test]
async fn changing_a_webhook_to_types_the_key_cannot_read_is_refused() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let leads = key_with(&app, org.id, &format!("{WEBHOOK_SCOPES},leads:read")).await;
    let created: Value = rest_create(&app, &leads, &["lead.created"])
        .await
        .json()
        .await
        .expect("the created webhook");
    let id = created["data"]["id"].as_str().expect("an id").to_owned();

    for types in [json!(["lead.created", "payment.created"]), json!(["*"])] {
        assert_error(
            rest_patch(&app, &leads, &id, json!({"event_types": types})).await,
            403,
            "FORBIDDEN",
        )
        .await;
        let (_, body) = app
            .graphql(
                &leads,
                UPDATE,
                json!({"id": id, "input": {"eventTypes": graphql_names(&types)}}),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{types}: {body}");
    }
    let unchanged: Value = app
        .get(&format!("/v1/webhooks/{id}"), Some(&leads))
        .await
        .json()
        .await
        .expect("the webhook");
    assert_eq!(unchanged["data"]["event_types"], json!(["lead.created"]));

    // Types the key can read are fine.
    let changed = rest_patch(&app, &leads, &id, json!({"event_types": ["lead.updated"]})).await;
    assert_eq!(changed.status().as_u16(), 200);
}

/// Pointing an existing webhook somewhere else hands its data to the new URL: a key that
/// cannot read what the webhook carries must not be able to do that either.
#[tokio::test]
async fn redirecting_a_webhook_needs_the_read_scopes_of_what_it_carries() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let weak = key_with(&app, org.id, WEBHOOK_SCOPES).await;
    let (id, _) = create_webhook(&app, &org.key, TARGET, &["*"]).await;
    assert_error(
        rest_patch(
            &app,
            &weak,
            &id,
            json!({"url": "http://127.0.0.1:9998/attacker"}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    let (_, body) = app
        .graphql(
            &weak,
            UPDATE,
            json!({"id": id, "input": {"url": "http://127.0.0.1:9998/attacker"}}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn a_test_event_needs_only_the_webhook_scopes() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let weak = key_with(&app, org.id, WEBHOOK_SCOPES).await;
    let receiver = Receiver::start().await;
    let (id, _) = create_webhook(&app, &org.key, &receiver.url, &["*"]).await;

    let tested = app
        .client
        .post(app.url(&format!("/v1/webhooks/{id}/test")))
        .bearer_auth(&weak)
        .send()
        .await
        .expect("POST /v1/webhooks/{id}/test");
    assert_eq!(tested.status().as_u16(), 200);
    let tested: Value = tested.json().await.expect("the test result");
    assert_eq!(tested["data"]["succeeded"], json!(true), "{tested}");
    let data = app
        .graphql_ok(
            &weak,
            "mutation($id: ID!) { testWebhook(id: $id) { succeeded delivery { eventType } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data["testWebhook"]["succeeded"], json!(true));
    assert_eq!(
        data["testWebhook"]["delivery"]["eventType"],
        json!("WEBHOOK_TEST")
    );
    let received = receiver.wait_for(2).await;
    assert!(
        received
            .iter()
            .all(|r| r.json()["type"] == json!("webhook.test"))
    );
}

#[tokio::test]
async fn resending_a_delivery_needs_the_read_scope_of_its_event_type() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let weak = key_with(&app, org.id, WEBHOOK_SCOPES).await;
    let receiver = Receiver::start().await;
    let (id, _) = create_webhook(&app, &org.key, &receiver.url, &["lead.created"]).await;
    record_event(&app, org.id, 1).await;
    let log: Value = app
        .get(&format!("/v1/webhooks/{id}/deliveries"), Some(&org.key))
        .await
        .json()
        .await
        .expect("the delivery log");
    assert_eq!(log["data"][0]["event_type"], json!("lead.created"), "{log}");
    let lead_delivery = log["data"][0]["id"]
        .as_str()
        .expect("a delivery id")
        .to_owned();
    let retry = |key: String, delivery: String| {
        let url = app.url(&format!("/v1/webhooks/{id}/deliveries/{delivery}/retry"));
        let client = app.client.clone();
        async move {
            client
                .post(url)
                .bearer_auth(key)
                .send()
                .await
                .expect("POST …/retry")
        }
    };

    // A lead's data needs leads:read, whoever's webhook it is.
    assert_error(
        retry(weak.clone(), lead_delivery.clone()).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let (_, body) = app
        .graphql(
            &weak,
            "mutation($w: ID!, $d: ID!) { retryWebhookDelivery(webhookId: $w, deliveryId: $d) { id } }",
            json!({"w": id, "d": lead_delivery}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        retry(org.key.clone(), lead_delivery)
            .await
            .status()
            .as_u16(),
        202
    );

    // A test event carries no data: the webhook scopes re-send it.
    let tested: Value = app
        .client
        .post(app.url(&format!("/v1/webhooks/{id}/test")))
        .bearer_auth(&weak)
        .send()
        .await
        .expect("POST /v1/webhooks/{id}/test")
        .json()
        .await
        .expect("the test result");
    let test_delivery = tested["data"]["delivery"]["id"]
        .as_str()
        .expect("the test's delivery")
        .to_owned();
    assert_eq!(retry(weak, test_delivery).await.status().as_u16(), 202);
}

#[tokio::test]
async fn a_webhook_refused_at_create_never_receives_a_lead() {
    let app = TestApp::builder().with_dispatcher().build().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let weak = key_with(&app, org.id, WEBHOOK_SCOPES).await;
    let refused = Receiver::start().await;
    let sentinel = Receiver::start().await;
    for types in [json!(["lead.created", "payment.created"]), json!(["*"])] {
        let response = app
            .client
            .post(app.url("/v1/webhooks"))
            .bearer_auth(&weak)
            .json(&json!({"url": refused.url, "event_types": types}))
            .send()
            .await
            .expect("POST /v1/webhooks");
        assert_error(response, 403, "FORBIDDEN").await;
    }
    // A webhook the organization may have, so the lead is known to be delivered.
    create_webhook(&app, &org.key, &sentinel.url, &["lead.created"]).await;

    record_event(&app, org.id, 1).await;
    let delivered = sentinel.wait_for(1).await;
    assert_eq!(delivered[0].json()["type"], json!("lead.created"));
    assert!(
        refused.received().is_empty(),
        "the refused webhook's URL got {} deliveries",
        refused.received().len()
    );
    assert_eq!(subscriptions(&app).await, 1);
}
