//! The bench-only routes behind `AURA_BENCH_ROUTES` (see `bench/run.py`).

use serde_json::Value;

use crate::factory::demo_with_leads;
use crate::helpers::TestApp;

#[tokio::test]
async fn bench_routes_are_absent_unless_enabled() {
    let app = TestApp::spawn().await;
    for path in [
        "/bench/noop",
        "/bench/leads",
        "/bench/statements",
        "/bench/depth",
    ] {
        assert_eq!(app.get(path, None).await.status(), 404, "{path}");
    }
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(!doc.to_string().contains("/bench"));
}

#[tokio::test]
async fn the_database_floor_serves_the_rest_list_page() {
    let app = TestApp::builder()
        .configure(|config| config.bench_routes = true)
        .build()
        .await;
    let demo = demo_with_leads(&app.db, 60).await;
    let json = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(
        json(app.get("/bench/noop", None).await).await["success"],
        true
    );

    let rest = json(app.get("/v1/leads?limit=25", Some(&demo.api_key)).await).await;
    let floor = json(app.get("/bench/leads", None).await).await;
    assert_eq!(floor["data"].as_array().unwrap().len(), 25);
    assert_eq!(floor["data"], rest["data"]);
    assert_eq!(floor["pagination"], rest["pagination"]);

    let cursor = rest["pagination"]["next_cursor"].as_str().unwrap();
    let rest = json(
        app.get(
            &format!("/v1/leads?limit=25&cursor={cursor}"),
            Some(&demo.api_key),
        )
        .await,
    )
    .await;
    let floor = json(app.get(&format!("/bench/leads?after={cursor}"), None).await).await;
    assert_eq!(floor["data"], rest["data"]);
    assert_eq!(floor["pagination"], rest["pagination"]);

    let depth = json(app.get(&format!("/bench/depth?after={cursor}"), None).await).await;
    // The cursor is the page's 25th row: 24 rows come before it.
    assert_eq!(depth["rows_before"], 24);

    let before = json(app.get("/bench/statements", None).await).await["statements"]
        .as_u64()
        .unwrap();
    app.get("/bench/leads", None).await;
    let after = json(app.get("/bench/statements", None).await).await["statements"]
        .as_u64()
        .unwrap();
    assert!(after > before, "{before} -> {after}");
}
