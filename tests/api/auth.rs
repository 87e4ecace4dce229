use crate::factory::keys;
use aura::domain::ScopeSet;
use chrono::Duration;
use serde_json::json;

use crate::factory::org_with_key;
use crate::helpers::{TestApp, assert_error};

const QUERY: &str = r#"{"query":"{ leads(first: 1) { count } }"}"#;

async fn post_graphql(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(QUERY);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_valid_key_is_accepted() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let response = post_graphql(&app, Some(&format!("Bearer {}", org.key))).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["leads"]["count"], json!(0));
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_401() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let mut typo = org.key.clone().into_bytes();
    typo[20] = if typo[20] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = aura::crypto::api_key::generate().unwrap().secret;

    // No credential at all: GraphQL answers anonymously, and every field here needs one.
    let response = post_graphql(&app, None).await;
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("UNAUTHORIZED")
    );
    assert_eq!(body["data"], serde_json::Value::Null);

    let cases = [
        Some("Basic dXNlcjpwYXNz".to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer aura_pk_live_short".to_owned()),
        Some(format!("Bearer {typo}")),
        Some(format!("Bearer {unknown}")),
        Some("Bearer not-a-key-at-all".to_owned()),
    ];
    let before = app.statements();
    for authorization in &cases {
        let response = post_graphql(&app, authorization.as_deref()).await;
        assert_error(response, 401, "UNAUTHORIZED").await;
    }
    // Only the well-formed unknown key reaches the database; typos are refused by checksum.
    assert_eq!(app.statements() - before, 1);
}

#[tokio::test]
async fn revoked_and_expired_keys_stop_working_on_the_next_request() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let auth = format!("Bearer {}", org.key);
    assert_eq!(post_graphql(&app, Some(&auth)).await.status().as_u16(), 200);

    let listed = keys::list(&app.db, org.id).await.unwrap();
    keys::revoke_on(&app.database, org.id, listed[0].id)
        .await
        .unwrap();
    let body = assert_error(post_graphql(&app, Some(&auth)).await, 401, "UNAUTHORIZED").await;
    assert!(body["error"].as_str().unwrap().contains("revoked"));

    // A key created to expire in a moment, then left to: the service refuses an expiry
    // that has already passed.
    let expired = keys::create(
        &app.db,
        org.id,
        "short-lived",
        ScopeSet::all(),
        Some(aura::time::now() + Duration::milliseconds(300)),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let body = assert_error(
        post_graphql(&app, Some(&format!("Bearer {}", expired.secret))).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn last_used_at_is_recorded() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    assert!(
        keys::list(&app.db, org.id).await.unwrap()[0]
            .last_used_at
            .is_none()
    );
    post_graphql(&app, Some(&format!("Bearer {}", org.key))).await;
    let mut recorded = None;
    for _ in 0..50 {
        recorded = keys::list(&app.db, org.id).await.unwrap()[0].last_used_at;
        if recorded.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(recorded.is_some());
}

#[tokio::test]
async fn only_a_hash_of_the_key_is_stored() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let stored = &keys::list(&app.db, org.id).await.unwrap()[0];
    let secret_part = &org.key["aura_pk_live_".len()..];
    assert!(!stored.secret_hash.contains(secret_part));
    assert_eq!(stored.secret_hash, aura::crypto::api_key::hash(&org.key));
    assert!(org.key.starts_with(&stored.display_prefix));
    assert!(stored.display_prefix.len() < 20);
}
