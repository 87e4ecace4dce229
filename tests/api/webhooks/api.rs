//! The webhook API over REST (and so over GraphQL): lifecycle, validation, the SSRF
//! guard, test events, rotation, the delivery log, and tenancy.

use aura::crypto::SigningSecret;
use aura::domain::ScopeSet;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use super::receiver::Receiver;
use super::{create_webhook, record_event};
use crate::factory::org_with_key;
use crate::helpers::{TestApp, assert_error};

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn lifecycle_over_rest_shows_the_secret_once() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    let (id, secret) = create_webhook(
        &app,
        &org.key,
        &receiver.url,
        &["lead.created", "payment.created"],
    )
    .await;
    assert!(id.starts_with("wh_"), "{id}");
    assert!(SigningSecret::parse(&secret).is_some(), "{secret}");

    let got: Value = app
        .get(&format!("/v1/webhooks/{id}"), Some(&org.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["data"]["url"], json!(receiver.url));
    assert_eq!(
        got["data"]["event_types"],
        json!(["lead.created", "payment.created"])
    );
    assert_eq!(got["data"]["enabled"], json!(true));
    assert!(got["data"].get("secret").is_none(), "{got}");
    assert!(!got.to_string().contains(&secret[6..]));

    let listed: Value = app
        .get("/v1/webhooks", Some(&org.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["pagination"]["has_more"], json!(false));

    let patched = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        &org.key,
        Some(json!({"event_types": ["*"], "enabled": false, "description": null})),
    )
    .await;
    assert_eq!(patched.status().as_u16(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["data"]["event_types"], json!(["*"]));
    assert_eq!(patched["data"]["enabled"], json!(false));
    assert_eq!(patched["data"]["description"], Value::Null);
    assert_eq!(
        patched["data"]["disabled_reason"],
        json!("disabled by the organization")
    );

    let deleted = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        &org.key,
        None,
    )
    .await;
    assert_eq!(deleted.status().as_u16(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(deleted["data"], json!({"id": id, "deleted": true}));
    assert_error(
        app.get(&format!("/v1/webhooks/{id}"), Some(&org.key)).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_in_the_contract_shape() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "hooks", ScopeSet::all()).await;
    let post = |body: Value| {
        send(
            &app,
            reqwest::Method::POST,
            "/v1/webhooks",
            &org.key,
            Some(body),
        )
    };

    let body = assert_error(
        post(json!({"url": "https://example.com/h", "event_types": ["lead.deleted"]})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(
        body["error"].as_str().unwrap().contains("lead.deleted"),
        "{body}"
    );
    let body = assert_error(
        post(json!({"url": "ftp://example.com/h", "event_types": ["*"]})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert!(body["error"].as_str().unwrap().starts_with("url"), "{body}");
    assert_error(
        post(json!({"url": "https://example.com/h", "event_types": []})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    assert_error(
        post(json!({"event_types": ["*"]})).await,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    // A key that may only read webhooks cannot create one.
    let reader = org_with_key(
        &app.db,
        "reader",
        ScopeSet::parse_list("webhooks:read").unwrap(),
    )
    .await;
    assert_error(
        send(
            &app,
            reqwest::Method::POST,
            "/v1/webhooks",
            &reader.key,
            Some(json!({"url": "https://example.com/h", "event_types": ["*"]})),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
}

#[tokio::test]
async fn internal_targets_are_refused_with_a_clear_message() {
    let app = TestApp::builder()
        .configure(|config| config.webhooks.allow_private_targets = false)
        .build()
        .await;
    let org = org_with_key(&app.db, "ssrf", ScopeSet::all()).await;
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://[fd00::1]/hook",
        "http://localhost:8080/hook",
    ] {
        let response = send(
            &app,
            reqwest::Method::POST,
            "/v1/webhooks",
            &org.key,
            Some(json!({"url": url, "event_types": ["*"]})),
        )
        .await;
        let body = assert_error(response, 400, "VALIDATION_ERROR").await;
        let message = body["error"].as_str().unwrap();
        assert!(
            message.contains("public addresses only"),
            "{url}: {message}"
        );
    }
    // The same guard holds at delivery time: a target that turned internal after it was
    // saved (here: written straight into the table) is refused without a request.
    let receiver = Receiver::start().await;
    let created = aura::services::webhooks::create(
        &app.database,
        &aura::webhooks::Webhooks::new(aura::webhooks::WebhookConfig {
            allow_private_targets: true,
            ..app.webhook_config()
        })
        .unwrap()
        .policy(),
        &aura::domain::Actor::operator(org.id),
        aura::services::webhooks::NewSubscription {
            url: receiver.url.clone(),
            description: None,
            event_types: vec!["*".into()],
            enabled: None,
        },
    )
    .await
    .unwrap();
    let id = aura::ids::encode(aura::ids::IdKind::Webhook, created.0.id);
    let tested: Value = send(
        &app,
        reqwest::Method::POST,
        &format!("/v1/webhooks/{id}/test"),
        &org.key,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(tested["data"]["succeeded"], json!(false), "{tested}");
    let error = tested["data"]["attempt"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused:") && error.contains("non-public address"),
        "{error}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn test_events_report_the_outcome_and_rotation_signs_with_both_secrets() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "tester", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    let (id, secret) = create_webhook(&app, &org.key, &receiver.url, &["*"]).await;
    let test_path = format!("/v1/webhooks/{id}/test");
    let test = || send(&app, reqwest::Method::POST, &test_path, &org.key, None);

    receiver.answer(500, vec![]);
    let failed: Value = test().await.json().await.unwrap();
    assert_eq!(failed["data"]["succeeded"], json!(false), "{failed}");
    assert_eq!(failed["data"]["attempt"]["status_code"], json!(500));
    assert_eq!(
        failed["data"]["attempt"]["response_excerpt"],
        json!("receiver says 500")
    );
    assert_eq!(failed["data"]["delivery"]["status"], json!("failed"));
    assert_eq!(
        failed["data"]["delivery"]["event_type"],
        json!("webhook.test")
    );

    let ok: Value = test().await.json().await.unwrap();
    assert_eq!(ok["data"]["succeeded"], json!(true), "{ok}");
    let received = receiver.wait_for(2).await;
    let first = &received[1];
    assert_eq!(
        first.id,
        ok["data"]["delivery"]["event_id"].as_str().unwrap()
    );
    first.assert_verified(&secret);
    assert_eq!(first.json()["type"], json!("webhook.test"));
    assert_eq!(first.json()["data"]["webhook_id"], json!(id));

    let rotated = send(
        &app,
        reqwest::Method::POST,
        &format!("/v1/webhooks/{id}/rotate-secret"),
        &org.key,
        None,
    )
    .await;
    assert_eq!(rotated.status().as_u16(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["data"]["secret"].as_str().unwrap().to_owned();
    assert!(SigningSecret::parse(&new_secret).is_some(), "{new_secret}");
    assert_ne!(new_secret, secret);
    assert!(
        rotated["data"]["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );

    test().await;
    let received = receiver.wait_for(3).await;
    let after = &received[2];
    assert_eq!(after.signature.split(' ').count(), 2, "{}", after.signature);
    // During the rotation a receiver holding either secret accepts it; a stranger's
    // secret, or a changed body, does not pass.
    after.assert_verified(&secret);
    after.assert_verified(&new_secret);
    let stranger = SigningSecret::generate().unwrap().expose();
    assert!(after.verify_standard(&stranger).is_err());
    let mut tampered = after.clone();
    tampered.body.extend_from_slice(b" ");
    assert!(tampered.verify_standard(&new_secret).is_err());

    // The log lists both tests, newest first, each with its attempt.
    let log: Value = app
        .get(
            &format!("/v1/webhooks/{id}/deliveries?limit=2"),
            Some(&org.key),
        )
        .await
        .json()
        .await
        .unwrap();
    let deliveries = log["data"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(log["pagination"]["has_more"], json!(true));
    assert_eq!(deliveries[0]["status"], json!("succeeded"));
    assert_eq!(deliveries[0]["attempts"][0]["status_code"], json!(200));
    assert!(deliveries[0]["attempts"][0]["latency_ms"].as_i64().unwrap() >= 0);
    let failed_only: Value = app
        .get(
            &format!("/v1/webhooks/{id}/deliveries?status=failed"),
            Some(&org.key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed_only["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        failed_only["data"][0]["attempts"][0]["status_code"],
        json!(500)
    );
}

#[tokio::test]
async fn events_are_listed_and_other_organizations_see_nothing() {
    let app = TestApp::spawn().await;
    let ours = org_with_key(&app.db, "ours", ScopeSet::all()).await;
    let theirs = org_with_key(&app.db, "theirs", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    let (id, _) = create_webhook(&app, &ours.key, &receiver.url, &["lead.created"]).await;
    let mut event_ids = Vec::new();
    for n in 0..3 {
        event_ids.push(record_event(&app, ours.id, n).await);
    }

    let listed: Value = app
        .get("/v1/events?limit=2", Some(&ours.key))
        .await
        .json()
        .await
        .unwrap();
    let page = listed["data"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], json!(event_ids[2]));
    assert_eq!(page[0]["type"], json!("lead.created"));
    assert_eq!(page[0]["data"]["name"], json!("Lead 2"));
    let cursor = listed["pagination"]["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(
            &format!("/v1/events?limit=2&cursor={cursor}"),
            Some(&ours.key),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"][0]["id"], json!(event_ids[0]));
    let one: Value = app
        .get(&format!("/v1/events/{}", event_ids[1]), Some(&ours.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["data"]["id"], json!(event_ids[1]));
    let typed: Value = app
        .get("/v1/events?type=payment.created", Some(&ours.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(typed["data"], json!([]));
    assert_error(
        app.get("/v1/events?type=lead.exploded", Some(&ours.key))
            .await,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    // Each event was queued for the webhook in its own transaction.
    let log: Value = app
        .get(&format!("/v1/webhooks/{id}/deliveries"), Some(&ours.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"].as_array().unwrap().len(), 3);
    assert_eq!(log["data"][0]["status"], json!("pending"));

    // Another organization: nothing of ours, by list or by id.
    let their_events: Value = app
        .get("/v1/events", Some(&theirs.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(their_events["data"], json!([]));
    let their_hooks: Value = app
        .get("/v1/webhooks", Some(&theirs.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(their_hooks["data"], json!([]));
    assert_error(
        app.get(&format!("/v1/events/{}", event_ids[0]), Some(&theirs.key))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get(&format!("/v1/webhooks/{id}"), Some(&theirs.key))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get(&format!("/v1/webhooks/{id}/deliveries"), Some(&theirs.key))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    for (method, path) in [
        (reqwest::Method::PATCH, format!("/v1/webhooks/{id}")),
        (reqwest::Method::DELETE, format!("/v1/webhooks/{id}")),
        (reqwest::Method::POST, format!("/v1/webhooks/{id}/test")),
        (
            reqwest::Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
        ),
    ] {
        let body = (method == reqwest::Method::PATCH).then(|| json!({"enabled": false}));
        assert_error(
            send(&app, method, &path, &theirs.key, body).await,
            404,
            "NOT_FOUND",
        )
        .await;
    }
    assert!(
        receiver.received().is_empty(),
        "their test must not reach our receiver"
    );

    // A key of ours with webhooks:read but not leads:read sees no lead events.
    let narrow = crate::factory::keys::create(
        &app.db,
        ours.id,
        "narrow",
        ScopeSet::parse_list("webhooks:read").unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret;
    let narrow_events: Value = app
        .get("/v1/events", Some(&narrow))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow_events["data"], json!([]));
    assert_error(
        app.get(&format!("/v1/events/{}", event_ids[0]), Some(&narrow))
            .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_error(
        app.get("/v1/events?type=lead.created", Some(&narrow)).await,
        403,
        "FORBIDDEN",
    )
    .await;
}

#[tokio::test]
async fn an_idempotent_create_replays_the_secret_but_never_stores_it_in_plain_text() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "idem", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    let body = json!({"url": receiver.url, "event_types": ["lead.created"]});
    let create = |body: Value| {
        app.client
            .post(app.url("/v1/webhooks"))
            .bearer_auth(&org.key)
            .header("Idempotency-Key", "create-hook-1")
            .json(&body)
            .send()
    };
    let first = create(body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/webhooks/{}", first["data"]["id"].as_str().unwrap())
    );
    let second = create(body.clone()).await.unwrap();
    assert_eq!(second.status().as_u16(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    // The replay restores the first response's meaningful headers.
    assert_eq!(second.headers()["location"], location.as_str());
    assert!(
        second.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["data"]["id"], first["data"]["id"]);
    assert_eq!(second["data"]["secret"], first["data"]["secret"]);
    let listed: Value = app
        .get("/v1/webhooks", Some(&org.key))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "created once");

    // Another body under the same key is a conflict.
    let other = create(json!({"url": receiver.url, "event_types": ["*"]}))
        .await
        .unwrap();
    assert_error(other, 409, "CONFLICT").await;

    // The key belongs to the credential that used it: a weaker key of the same
    // organization sending the same key and body gets its own answer (403), never the
    // stored 201 with its secret; and its 403 is never replayed to anyone else.
    let weak = crate::factory::keys::create(
        &app.db,
        org.id,
        "leads only",
        ScopeSet::parse_list("leads:read").unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret;
    let send_as = |key: String, idempotency: &'static str| {
        app.client
            .post(app.url("/v1/webhooks"))
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency)
            .json(&body)
            .send()
    };
    let weak_try = send_as(weak.clone(), "create-hook-1").await.unwrap();
    assert!(weak_try.headers().get("idempotent-replayed").is_none());
    let refused = assert_error(weak_try, 403, "FORBIDDEN").await;
    assert!(!refused.to_string().contains("whsec_"), "{refused}");
    assert_error(send_as(weak, "shared-key").await.unwrap(), 403, "FORBIDDEN").await;
    let full = send_as(org.key.clone(), "shared-key").await.unwrap();
    assert_eq!(
        full.status().as_u16(),
        201,
        "the full key's own request runs"
    );
    assert!(full.headers().get("idempotent-replayed").is_none());

    // At rest: neither the stored response nor the subscription holds the secret.
    let secret = first["data"]["secret"].as_str().unwrap();
    let encoded = &secret["whsec_".len()..];
    for row in entities::idempotency_key::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        assert!(!row.response_body.unwrap_or_default().contains(encoded));
    }
    for row in entities::webhook_subscription::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
    {
        assert!(!row.secret_sealed.contains(encoded));
    }
}
