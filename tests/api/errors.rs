//! Every failure leaves in the contract's shape with the request id.

use aura::domain::ScopeSet;
use serde_json::json;

use crate::factory::org_with_key;
use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn unknown_routes_are_404_in_the_contract_shape() {
    let app = TestApp::spawn().await;
    let body = assert_error(app.get("/nope", None).await, 404, "NOT_FOUND").await;
    assert!(body["error"].as_str().unwrap().contains("/nope"));
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let response = app.client.delete(app.url("/graphql")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, POST");
    assert_error(response, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn bad_json_and_oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(response, 400, "BAD_REQUEST").await;

    let huge = format!(
        r#"{{"query":"{{ leads {{ count }} }}","x":"{}"}}"#,
        "a".repeat(2 << 20)
    );
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&org.key)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "PAYLOAD_TOO_LARGE").await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_minted() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "partner-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "partner-trace-42");
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let minted = response.headers()["x-request-id"].to_str().unwrap();
    assert!(minted.starts_with("req_"), "{minted}");
}

#[tokio::test]
async fn graphql_errors_carry_a_code() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let cases = [
        ("{ leads(first: 101) { count } }", "VALIDATION_ERROR"),
        (
            "{ leads(after: \"garbage\") { count } }",
            "VALIDATION_ERROR",
        ),
        (
            "{ leads(filter: {assignedTeamMemberId: \"lead_1\"}) { count } }",
            "VALIDATION_ERROR",
        ),
        ("{ lead(id: \"lead_nope\") { id } }", "NOT_FOUND"),
        ("{ nope }", "VALIDATION_ERROR"),
        ("{ leads(first: ", "VALIDATION_ERROR"),
    ];
    for (query, code) in cases {
        let (status, body) = app.graphql(&org.key, query, json!({})).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!(code),
            "{query}: {body}"
        );
    }
    let (_, body) = app
        .graphql(&org.key, "{ leads(first: 0) { count } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], json!("first"));

    crate::factory::seed(&app.db, org.id, "acme", 1).await;
    let (_, body) = app
        .graphql(
            &org.key,
            "{ leads { edges { node { calls(first: 0) { nodes { id } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("VALIDATION_ERROR"),
        "{body}"
    );
}

#[tokio::test]
async fn the_playground_is_served() {
    let app = TestApp::spawn().await;
    let response = app.get("/graphql", None).await;
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("graphiql"), "GraphiQL page expected");
}
