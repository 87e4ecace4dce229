//! Depth, complexity and alias limits refuse an operation before it runs: no statement
//! beyond the credential look-up, and a VALIDATION_ERROR code. Batches are refused.

use aura::domain::ScopeSet;
use serde_json::{Value, json};

use crate::factory::org_with_key;
use crate::helpers::{TestApp, assert_error};

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn operations_over_the_limits_are_refused_before_touching_the_database() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    // The first request also records the key's first use.
    app.graphql_ok(&org.key, "{ leads { count } }", json!({}))
        .await;
    app.await_key_use_recorded(org.id).await;

    let too_deep = nested(16);
    let too_complex = "{ leads(first: 100) { edges { node { calls(first: 100) { nodes { lead { calls(first: 100) { nodes { id } } } } } } } } }";
    let aliases: String = (0..31)
        .map(|i| format!("a{i}: leads {{ count }} "))
        .collect();
    let too_many_aliases = format!("{{ {aliases} }}");
    // Baseline: with the key cached, an operation refused by ordinary validation runs no
    // SQL at all.
    app.warm_key(&org.key).await;
    let before = app.statements();
    let (_, body) = app.graphql(&org.key, "{ nope }", json!({})).await;
    assert_eq!(code(&body), "VALIDATION_ERROR");
    let baseline = app.statements() - before;
    assert_eq!(baseline, 0);

    for (case, query, says) in [
        ("depth", too_deep, "nested too deep"),
        ("complexity", too_complex.to_owned(), "too complex"),
        ("aliases", too_many_aliases, "aliases"),
    ] {
        app.warm_key(&org.key).await;
        let before = app.statements();
        let (status, body) = app.graphql(&org.key, &query, json!({})).await;
        assert_eq!(status, 200, "{case}");
        assert_eq!(code(&body), "VALIDATION_ERROR", "{case}: {body}");
        assert!(body["data"].is_null(), "{case}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{case}: {message}");
        assert_eq!(app.statements() - before, baseline, "{case}: ran SQL");
    }
}

#[tokio::test]
async fn operations_within_the_limits_run() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let thirty: String = (0..30)
        .map(|i| format!("a{i}: leads {{ count }} "))
        .collect();
    app.graphql_ok(&org.key, &format!("{{ {thirty} }}"), json!({}))
        .await;
    app.graphql_ok(&org.key, &nested(15), json!({})).await;
    // The playground's introspection query.
    let data = app.graphql_ok(&org.key, INTROSPECTION, json!({})).await;
    assert!(data["__schema"]["types"].as_array().unwrap().len() > 20);
}

#[tokio::test]
async fn batched_requests_are_refused() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .json(&json!([{"query": "{ leads { count } }"}, {"query": "{ calls { count } }"}]))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-ratelimit-remaining"));
    assert_error(response, 400, "VALIDATION_ERROR").await;
}

/// A query `depth` fields deep (at least 4), one item per list so only depth counts:
/// `lead.calls(first: 1) { nodes { lead { calls … } } }`.
fn nested(depth: usize) -> String {
    let mut inner = "id".to_owned();
    for level in (4..depth).rev() {
        let field = ["calls(first: 1)", "nodes", "lead"][(level - 4) % 3];
        inner = format!("{field} {{ {inner} }}");
    }
    format!("{{ leads(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}")
}

const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;
