//! Key management over GraphQL: only a Clerk-signed organization admin may list, create
//! and revoke keys; members and API keys get 403; other organizations' keys are 404.

use crate::factory::keys;
use aura::domain::ScopeSet;
use serde_json::{Value, json};

use crate::clerk_support::{claims, clerk_org, pem_config, token};
use crate::factory::org_with_key;
use crate::helpers::TestApp;

const LIST: &str =
    "{ apiKeys { id name prefix scopes status expiresAt revokedAt lastUsedAt createdAt } }";
const CREATE: &str = r#"mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix scopes status expiresAt } }
}"#;
const REVOKE: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id status revokedAt } }";

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

async fn app() -> TestApp {
    TestApp::builder()
        .configure(|c| c.clerk = Some(pem_config()))
        .build()
        .await
}

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_keys() {
    let app = app().await;
    let org = clerk_org(&app.db, "acme", "org_acme").await;
    let admin = token(&claims("user_admin", "org_acme", "admin"));
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();

    let data = app
        .graphql_ok(
            &admin,
            CREATE,
            json!({"input": {"name": "Postman Testing", "scopes": ["LEADS_READ"], "expiresAt": expires}}),
        )
        .await;
    let created = &data["createApiKey"];
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["apiKey"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("aura_pk_live_"));
    assert!(id.starts_with("key_"));
    assert!(secret.starts_with(created["apiKey"]["prefix"].as_str().unwrap()));
    assert_eq!(created["apiKey"]["scopes"], json!(["LEADS_READ"]));
    assert_eq!(created["apiKey"]["status"], json!("ACTIVE"));
    assert!(created["apiKey"]["expiresAt"].is_string());

    // The new key works, within its scopes.
    app.graphql_ok(&secret, "{ leads { count } }", json!({}))
        .await;
    let (_, body) = app
        .graphql(&secret, "{ payments { count } }", json!({}))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("payments:read")
    );

    // Listed, without the secret anywhere.
    let listed = app.graphql_ok(&admin, LIST, json!({})).await;
    let keys = listed["apiKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], json!(id));
    assert_eq!(keys[0]["name"], json!("Postman Testing"));
    assert!(!listed.to_string().contains(&secret[13..]));
    // Only the hash is stored.
    let stored = keys::list(&app.db, org).await.unwrap();
    assert_eq!(stored[0].secret_hash, aura::crypto::api_key::hash(&secret));

    // Revoked: the very next request with it is refused.
    let revoked = app.graphql_ok(&admin, REVOKE, json!({"id": id})).await;
    assert_eq!(revoked["revokeApiKey"]["status"], json!("REVOKED"));
    let (status, _) = app.graphql(&secret, "{ leads { count } }", json!({})).await;
    assert_eq!(status, 401);
    let listed = app.graphql_ok(&admin, LIST, json!({})).await;
    assert_eq!(listed["apiKeys"][0]["status"], json!("REVOKED"));
}

#[tokio::test]
async fn members_and_api_keys_cannot_manage_keys() {
    let app = app().await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let member = token(&claims("user_member", "org_acme", "member"));
    let other = org_with_key(&app.db, "bravo", ScopeSet::all()).await;
    let input = json!({"input": {"name": "x", "scopes": ["LEADS_READ"]}});
    for (who, bearer) in [("member", &member), ("API key", &other.key)] {
        for (query, variables) in [
            (LIST, json!({})),
            (CREATE, input.clone()),
            (REVOKE, json!({"id": "key_01jdq3k7b8x9m2n4p5r6s7t8v9"})),
        ] {
            let (status, body) = app.graphql(bearer, query, variables).await;
            assert_eq!(status, 200, "{who}");
            assert_eq!(code(&body), "FORBIDDEN", "{who}: {body}");
        }
    }
    // Nothing was created.
    assert_eq!(keys::list(&app.db, other.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn another_organizations_key_is_not_found() {
    let app = app().await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let admin = token(&claims("user_admin", "org_acme", "admin"));
    let other = org_with_key(&app.db, "bravo", ScopeSet::all()).await;
    let other_key = keys::list(&app.db, other.id).await.unwrap()[0].id;
    let other_id = aura::ids::encode(aura::ids::IdKind::ApiKey, other_key);

    for id in [
        other_id.as_str(),
        "key_nope",
        "lead_01jdq3k7b8x9m2n4p5r6s7t8v9",
    ] {
        let (_, body) = app.graphql(&admin, REVOKE, json!({"id": id})).await;
        assert_eq!(code(&body), "NOT_FOUND", "{id}: {body}");
    }
    // Still usable: the other organization's key was not touched.
    app.graphql_ok(&other.key, "{ leads { count } }", json!({}))
        .await;
    let listed = app.graphql_ok(&admin, LIST, json!({})).await;
    assert_eq!(listed["apiKeys"], json!([]));
}

#[tokio::test]
async fn bad_input_is_a_validation_error() {
    let app = app().await;
    clerk_org(&app.db, "acme", "org_acme").await;
    let admin = token(&claims("user_admin", "org_acme", "admin"));
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    for (case, input) in [
        (
            "unknown scope",
            json!({"name": "k", "scopes": ["LEADS_WRITE"]}),
        ),
        ("no scope", json!({"name": "k", "scopes": []})),
        (
            "empty name",
            json!({"name": "  ", "scopes": ["LEADS_READ"]}),
        ),
        (
            "expired",
            json!({"name": "k", "scopes": ["LEADS_READ"], "expiresAt": past}),
        ),
    ] {
        let (_, body) = app.graphql(&admin, CREATE, json!({"input": input})).await;
        assert_eq!(code(&body), "VALIDATION_ERROR", "{case}: {body}");
        assert!(body["data"].is_null(), "{case}: {body}");
    }
    let listed = app.graphql_ok(&admin, LIST, json!({})).await;
    assert_eq!(listed["apiKeys"], json!([]));
}
