//! What the published documents promise, checked against the running API: 64-bit money
//! over both transports, `node` for every type with an id, the event-type enum on both
//! transports' wire spellings, and path examples that are records of the demo.

use aura::domain::ScopeSet;
use serde_json::{Value, json};

use crate::factory::keys;
use crate::helpers::TestApp;
use crate::writes::support::{code, field, world};

/// 5,000,000,000 minor units: more than GraphQL's 32-bit `Int` holds (2,147,483,647).
const BIG: i64 = 5_000_000_000;

async fn rest_json(app: &TestApp, path: &str, key: &str) -> Value {
    let response = app.get(path, Some(key)).await;
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn an_amount_beyond_32_bits_round_trips_through_graphql_and_rest() {
    let w = world().await;
    let recorded = w
        .ok(
            &w.admin,
            "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id amount commissions { amount } } }",
            json!({"input": {"leadId": w.own.leads[0], "closerId": w.own.team_member, "amount": BIG, "currency": "IDR"}}),
        )
        .await;
    let payment = &recorded["recordPayment"];
    assert_eq!(payment["amount"], json!(BIG), "{payment}");
    let id = payment["id"].as_str().expect("an id");

    let read = w
        .ok(
            &w.key,
            "query($id: ID!) { payment(id: $id) { amount } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(read["payment"]["amount"], json!(BIG));
    let rest = rest_json(&w.app, &format!("/v1/payments/{id}"), &w.key).await;
    assert_eq!(rest["data"]["amount"], json!(BIG), "{rest}");
    // The closer's commission (12.5 % in the factory) is past 32 bits too.
    assert_eq!(
        rest["data"]["commissions"][0]["amount"],
        payment["commissions"][0]["amount"]
    );

    let product = w
        .ok(
            &w.admin,
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { id priceAmount } }",
            json!({"input": {"name": "Enterprise", "priceAmount": BIG, "currency": "IDR", "billing": "ONE_TIME"}}),
        )
        .await;
    assert_eq!(product["createProduct"]["priceAmount"], json!(BIG));
    let id = product["createProduct"]["id"].as_str().expect("an id");
    let rest = rest_json(&w.app, &format!("/v1/products/{id}"), &w.key).await;
    assert_eq!(rest["data"]["price_amount"], json!(BIG), "{rest}");

    // `Money` takes whole JSON numbers only.
    for amount in [json!("5000000000"), json!(12.5)] {
        let body = w
            .fails(
                &w.admin,
                "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }",
                json!({"input": {"leadId": w.own.leads[0], "amount": amount, "currency": "USD"}}),
            )
            .await;
        assert_eq!(
            (code(&body), field(&body)),
            ("VALIDATION_ERROR", "amount"),
            "{body}"
        );
    }
}

const NODE: &str = "query($id: ID!) { node(id: $id) { id __typename } }";

#[tokio::test]
async fn node_fetches_webhooks_deliveries_events_and_api_keys_within_org_and_scope() {
    let w = world().await;
    let created: Value = w
        .app
        .client
        .post(w.app.url("/v1/webhooks"))
        .bearer_auth(&w.key)
        .json(&json!({"url": "http://127.0.0.1:9999/hook", "event_types": ["payment.created"]}))
        .send()
        .await
        .expect("POST /v1/webhooks")
        .json()
        .await
        .expect("a body");
    let webhook = created["data"]["id"]
        .as_str()
        .expect("a webhook id")
        .to_owned();
    let tested: Value = w
        .app
        .client
        .post(w.app.url(&format!("/v1/webhooks/{webhook}/test")))
        .bearer_auth(&w.key)
        .send()
        .await
        .expect("POST …/test")
        .json()
        .await
        .expect("a body");
    let delivery = tested["data"]["delivery"]["id"]
        .as_str()
        .expect("a delivery id");
    let event = tested["data"]["delivery"]["event_id"]
        .as_str()
        .expect("an event id");
    let api_key = w
        .ok(
            &w.admin,
            "mutation { createApiKey(input: {name: \"Zapier\", scopes: [LEADS_READ]}) { apiKey { id } } }",
            json!({}),
        )
        .await["createApiKey"]["apiKey"]["id"]
        .as_str()
        .expect("a key id")
        .to_owned();

    for (id, typename) in [
        (webhook.as_str(), "Webhook"),
        (delivery, "Delivery"),
        (event, "LiveEvent"),
    ] {
        let data = w.ok(&w.key, NODE, json!({"id": id})).await;
        assert_eq!(data["node"], json!({"id": id, "__typename": typename}));
    }
    let data = w.ok(&w.admin, NODE, json!({"id": api_key})).await;
    assert_eq!(data["node"], json!({"id": api_key, "__typename": "ApiKey"}));

    // The permission reading each by its own field needs: an API key never reads keys;
    // a key without `webhooks:read` reads no webhook, delivery or event.
    assert_eq!(
        code(&w.fails(&w.key, NODE, json!({"id": api_key})).await),
        "FORBIDDEN"
    );
    let leads_only = keys::create(
        &w.app.db,
        w.org,
        "leads",
        ScopeSet::parse_list("leads:read").unwrap(),
        None,
    )
    .await
    .expect("a key")
    .secret;
    for id in [webhook.as_str(), delivery, event] {
        let body = w.fails(&leads_only, NODE, json!({"id": id})).await;
        assert_eq!(code(&body), "FORBIDDEN", "{id}: {body}");
    }
    // Another organization's ids are nothing, as ids that do not exist.
    let stranger = keys::create(&w.app.db, w.other_org, "all", ScopeSet::all(), None)
        .await
        .expect("a key")
        .secret;
    for id in [webhook.as_str(), delivery, event] {
        let data = w.ok(&stranger, NODE, json!({"id": id})).await;
        assert_eq!(data["node"], Value::Null, "{id}");
    }

    // The event-type enum in both spellings: GraphQL's names, REST's and webhooks' dots.
    let data = w
        .ok(
            &w.key,
            "query($id: ID!) { webhook(id: $id) { eventTypes deliveries { nodes { eventType } } } event: node(id: $id) { id } }",
            json!({"id": webhook}),
        )
        .await;
    assert_eq!(data["webhook"]["eventTypes"], json!(["PAYMENT_CREATED"]));
    assert_eq!(
        data["webhook"]["deliveries"]["nodes"][0]["eventType"],
        json!("WEBHOOK_TEST")
    );
    let listed = rest_json(&w.app, "/v1/webhooks", &w.key).await;
    assert_eq!(listed["data"][0]["event_types"], json!(["payment.created"]));
    let events = rest_json(&w.app, "/v1/events", &w.key).await;
    assert_eq!(events["data"][0]["type"], json!("webhook.test"), "{events}");
    assert_eq!(events["data"][0]["data"]["webhook_id"], json!(webhook));
    let deliveries = rest_json(
        &w.app,
        &format!("/v1/webhooks/{webhook}/deliveries"),
        &w.key,
    )
    .await;
    assert_eq!(deliveries["data"][0]["event_type"], json!("webhook.test"));
}

#[tokio::test]
async fn the_documents_path_examples_are_records_of_the_demo() {
    let app = TestApp::spawn().await;
    let demo = aura::seed::ensure_demo(&app.db, aura::seed::DemoOptions::default())
        .await
        .expect("the demo");
    let document: Value = serde_json::from_str(aura::rest::document_json()).expect("the document");
    let mut fetched = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        let Some(get) = item.get("get") else { continue };
        let parameters = get["parameters"].as_array().cloned().unwrap_or_default();
        let Some(id) = parameters
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == "id")
            .and_then(|p| p["example"].as_str())
        else {
            continue;
        };
        // Webhooks and events are not demo data: the newman run reaches them by links.
        if path.starts_with("/v1/webhooks") || path.starts_with("/v1/events") {
            continue;
        }
        let url = path.replace("{id}", id);
        let body = rest_json(&app, &url, &demo.api_key).await;
        assert_eq!(body["success"], json!(true), "{url}: {body}");
        fetched += 1;
    }
    // leads, calls, team, team commissions, booking links, products, payments
    assert_eq!(fetched, 7);
}

#[tokio::test]
async fn graphql_over_http_works_as_its_clients_expect() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = TestApp::spawn().await;
    let org = crate::factory::org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let get = |query: &'static str, accept: &'static str, key: Option<String>| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .finish();
        let mut request = app
            .client
            .get(app.url(&format!("/graphql?{query}")))
            .header("accept", accept);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };

    // urql's default: queries over GET.
    let response = get(
        "{ leads { count } }",
        "application/json",
        Some(org.key.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["leads"]["count"], json!(0), "{body}");
    // A mutation over GET is 405 (GraphQL over HTTP: GET must be safe).
    let response = get(
        "mutation { deleteWebhook(id: \"wh_x\") { id } }",
        "application/json",
        Some(org.key.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    // Only a browser asking for HTML with no query gets the playground.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // Apollo Client 4's default: `application/graphql-response+json`, with its statuses.
    let response = get(
        "{ leads { count } }",
        "application/graphql-response+json, application/json;q=0.9",
        None,
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("UNAUTHORIZED"),
        "{body}"
    );
    let response = get(
        "{ leads { nope } }",
        "application/graphql-response+json",
        Some(org.key.clone()),
    )
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // graphql-ws clients that upgrade on `/graphql` itself.
    let url = format!("{}/graphql", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a WebSocket on /graphql");
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", org.key)}})
            .to_string(),
    ))
    .await
    .unwrap();
    let ack = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .expect("an answer in time")
        .expect("a message")
        .expect("a frame");
    let ack: Value = serde_json::from_str(ack.to_text().unwrap()).unwrap();
    assert_eq!(ack["type"], json!("connection_ack"), "{ack}");
}
