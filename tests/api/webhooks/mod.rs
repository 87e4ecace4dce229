//! Webhooks: the API, signed delivery, retry timing on an injected clock, two
//! dispatchers on one database, and delivery across a killed server.

mod api;
mod delivery;
mod dispatchers;
mod kill;
pub mod receiver;

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Creates a webhook over REST; returns its id and secret.
pub async fn create_webhook(
    app: &TestApp,
    key: &str,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let response = app
        .client
        .post(app.url("/v1/webhooks"))
        .bearer_auth(key)
        .json(&json!({"url": url, "event_types": types, "description": "test receiver"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    (
        body["data"]["id"].as_str().unwrap().to_owned(),
        body["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

/// Records an event the way every change does (in a transaction, with its fan-out).
pub async fn record_event(app: &TestApp, org: uuid::Uuid, n: usize) -> String {
    let txn = aura::db::begin_write(&app.db).await.unwrap();
    let event = aura::events::record(
        &txn,
        org,
        aura::events::EventType::LeadCreated,
        &json!({"id": format!("lead_{n}"), "name": format!("Lead {n}")}),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    aura::ids::encode(aura::ids::IdKind::Event, event.id)
}
