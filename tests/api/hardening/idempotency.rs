//! Idempotency keys belong to the credential that used them, not to the organization.
//! `webhooks::api` covers a weaker and a stronger key in both directions; this covers
//! credentials with the same rights: two API keys, two Clerk users, and a key and a user,
//! none of which is ever handed another's replay (and its webhook secret).

use aura::domain::ScopeSet;
use serde_json::{Value, json};

use crate::clerk_support::{claims, token};
use crate::factory::keys;
use crate::writes::support::world;

#[tokio::test]
async fn credentials_with_the_same_rights_never_share_a_replay() {
    let w = world().await;
    let sibling = keys::create(&w.app.db, w.org, "sibling", ScopeSet::all(), None)
        .await
        .expect("create a key")
        .secret;
    let other_admin = token(&claims("user_other_admin", "org_acme", "admin"));
    let body = json!({"url": "http://127.0.0.1:9999/hook", "event_types": ["lead.created"]});
    let create = |bearer: String| {
        let request = w
            .app
            .client
            .post(w.app.url("/v1/webhooks"))
            .bearer_auth(bearer)
            .header("Idempotency-Key", "same-key")
            .json(&body);
        async move {
            let response = request.send().await.expect("POST /v1/webhooks");
            assert_eq!(response.status().as_u16(), 201);
            let replayed = response.headers().contains_key("idempotent-replayed");
            let body: Value = response.json().await.expect("the created webhook");
            (
                replayed,
                body["data"]["id"].clone(),
                body["data"]["secret"].clone(),
            )
        }
    };

    let mut seen = Vec::new();
    for bearer in [&w.key, &sibling, &w.admin, &other_admin] {
        let (replayed, id, secret) = create(bearer.clone()).await;
        assert!(!replayed, "a first request of its own runs");
        assert!(
            !seen.iter().any(|(i, s)| *i == id || *s == secret),
            "{id} was handed to another credential"
        );
        seen.push((id, secret));
    }
    // Each credential still gets its own replay.
    for (n, bearer) in [&w.key, &sibling, &w.admin, &other_admin]
        .into_iter()
        .enumerate()
    {
        let (replayed, id, secret) = create(bearer.clone()).await;
        assert!(replayed, "credential {n} replays its own first answer");
        assert_eq!((&id, &secret), (&seen[n].0, &seen[n].1));
    }
    let listed: Value = w
        .app
        .get("/v1/webhooks", Some(&w.key))
        .await
        .json()
        .await
        .expect("the webhooks");
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(4));
}
