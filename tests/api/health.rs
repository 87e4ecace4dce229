use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_the_database_without_auth() {
    let app = TestApp::spawn().await;
    let response = app.get("/health", None).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"success": true, "status": "ok", "database": "ok"})
    );
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.clone().close().await.unwrap();
    let response = app.get("/health", None).await;
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"], json!("unavailable"));
    assert_eq!(body["success"], json!(false));
}
