use std::collections::HashSet;

use aura::domain::ScopeSet;
use serde_json::{Value, json};

use crate::factory::{demo_with_leads, org_with_key, seed};
use crate::helpers::TestApp;

const NESTED: &str = r#"
query Nested($first: Int!) {
  leads(first: $first) {
    edges { node { id name
      calls { nodes { id scheduledAt closer { id name commissionRate } } }
      payments { edges { node { id amount currency product { id name } } } }
    } }
  }
}"#;

#[tokio::test]
async fn a_nested_query_answers_with_the_demo_key() {
    let app = TestApp::spawn().await;
    let demo = demo_with_leads(&app.db, 60).await;
    let data = app
        .graphql_ok(
            &demo.api_key,
            "{ leads(first: 50) { edges { node { id name calls { nodes { id status closer { id name role } } } } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    let edges = data["leads"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    assert_eq!(data["leads"]["pageInfo"]["hasNextPage"], json!(true));
    let closers: Vec<&Value> = edges
        .iter()
        .flat_map(|e| e["node"]["calls"]["nodes"].as_array().unwrap())
        .map(|c| &c["closer"])
        .collect();
    assert!(!closers.is_empty(), "demo leads should have calls");
    assert!(
        closers
            .iter()
            .all(|c| c["id"].as_str().unwrap().starts_with("tm_"))
    );
    assert!(closers.iter().all(|c| c["role"] == json!("CLOSER")));
}

#[tokio::test]
async fn statement_count_does_not_grow_with_page_size() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    seed(&app.db, org.id, "acme", 120).await;
    // The first request also records the key's first use.
    app.graphql_ok(&org.key, NESTED, json!({"first": 1})).await;
    app.await_key_use_recorded(org.id).await;

    let mut counts = Vec::new();
    for first in [1, 25, 100] {
        app.warm_key(&org.key).await;
        let before = app.statements();
        let data = app
            .graphql_ok(&org.key, NESTED, json!({"first": first}))
            .await;
        counts.push(app.statements() - before);
        let edges = data["leads"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), first as usize);
        for edge in edges {
            let call = &edge["node"]["calls"]["nodes"][0];
            assert!(call["closer"]["id"].is_string(), "{edge}");
            assert!(
                edge["node"]["payments"]["edges"][0]["node"]["product"]["id"].is_string(),
                "{edge}"
            );
        }
    }
    println!("statements for first = 1, 25, 100: {counts:?}");
    // leads, calls with their closers, payments with their products (the key is cached)
    assert_eq!(counts, vec![3, 3, 3]);
}

#[tokio::test]
async fn a_list_loaded_with_its_closers_keeps_each_parents_newest_children() {
    // `calls(first: 1) { closer }` goes through the joined loader, `calls { closerId }`
    // through the plain one: the same children, newest first, cut at each lead's limit.
    let app = TestApp::spawn().await;
    let demo = demo_with_leads(&app.db, 60).await;
    let data = app
        .graphql_ok(
            &demo.api_key,
            "{ leads(first: 60) { edges { node { newest: calls(first: 1) { nodes { id closer { id } } } calls { nodes { id closerId } } } } } }",
            json!({}),
        )
        .await;
    let mut leads_with_several = 0;
    for edge in data["leads"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        let all = node["calls"]["nodes"].as_array().unwrap();
        let newest = node["newest"]["nodes"].as_array().unwrap();
        assert_eq!(newest.len(), all.len().min(1), "{node}");
        if let (Some(first), Some(joined)) = (all.first(), newest.first()) {
            assert_eq!(joined["id"], first["id"], "{node}");
            assert_eq!(joined["closer"]["id"], first["closerId"], "{node}");
        }
        if all.len() > 1 {
            leads_with_several += 1;
        }
    }
    assert!(
        leads_with_several > 0,
        "the demo should give some lead several calls"
    );
}

#[tokio::test]
async fn fields_come_back_in_the_order_they_were_asked_for() {
    // The GraphQL spec orders a response's fields as the selection does. Relations finish
    // loading after plain fields and in batch order, so an object that resolved its fields
    // concurrently would answer in completion order instead.
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    seed(&app.db, org.id, "acme", 3).await;
    let data = app
        .graphql_ok(
            &org.key,
            "{ leads(first: 3) { edges { node { payments { nodes { product { name } id } } calls { nodes { closer { name } id } } name id } } pageInfo { endCursor hasNextPage } } }",
            json!({}),
        )
        .await;
    let keys = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for edge in data["leads"]["edges"].as_array().unwrap() {
        let lead = &edge["node"];
        assert_eq!(keys(lead), ["payments", "calls", "name", "id"], "{lead}");
        assert_eq!(
            keys(&lead["payments"]["nodes"][0]),
            ["product", "id"],
            "{lead}"
        );
        assert_eq!(keys(&lead["calls"]["nodes"][0]), ["closer", "id"], "{lead}");
    }
    // Connections answer in the asked order too, whichever order that is.
    assert_eq!(
        keys(&data["leads"]["pageInfo"]),
        ["endCursor", "hasNextPage"]
    );
    for (query, connection, edge) in [
        (
            "{ leads(first: 2) { edges { cursor node { id } } pageInfo { hasNextPage } count } }",
            &["edges", "pageInfo", "count"][..],
            &["cursor", "node"][..],
        ),
        (
            "{ leads(first: 2) { count pageInfo { hasNextPage } edges { node { id } cursor } } }",
            &["count", "pageInfo", "edges"],
            &["node", "cursor"],
        ),
        (
            "{ leads(first: 2) { pageInfo { hasNextPage } nodes { id } edges { cursor } } }",
            &["pageInfo", "nodes", "edges"],
            &["cursor"],
        ),
    ] {
        let data = app.graphql_ok(&org.key, query, json!({})).await;
        assert_eq!(keys(&data["leads"]), connection, "{query}: {data}");
        assert_eq!(keys(&data["leads"]["edges"][0]), edge, "{query}: {data}");
    }
}

#[tokio::test]
async fn a_cursor_walk_returns_every_lead_once_newest_first() {
    let app = TestApp::spawn().await;
    let demo = demo_with_leads(&app.db, 230).await;
    for page_size in [100, 7] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = app
                .graphql_ok(
                    &demo.api_key,
                    "query($first: Int!, $after: String) { leads(first: $first, after: $after) { edges { node { id createdAt } } pageInfo { hasNextPage endCursor } } }",
                    json!({"first": page_size, "after": after}),
                )
                .await;
            for edge in data["leads"]["edges"].as_array().unwrap() {
                seen.push((
                    edge["node"]["createdAt"].as_str().unwrap().to_owned(),
                    edge["node"]["id"].as_str().unwrap().to_owned(),
                ));
            }
            if data["leads"]["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = data["leads"]["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned);
        }
        assert_eq!(seen.len(), 230, "page size {page_size}");
        let unique: HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
        assert_eq!(unique.len(), 230);
        let times: Vec<chrono::DateTime<chrono::Utc>> =
            seen.iter().map(|(t, _)| t.parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    }
}

#[tokio::test]
async fn filters_narrow_lists() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let seeded = seed(&app.db, org.id, "acme", 5).await;
    let data = app
        .graphql_ok(
            &org.key,
            "query($lead: ID!) { calls(filter: {leadId: $lead}) { count edges { node { leadId } } } }",
            json!({"lead": seeded.leads[2]}),
        )
        .await;
    assert_eq!(data["calls"]["count"], json!(1));
    assert_eq!(
        data["calls"]["edges"][0]["node"]["leadId"],
        json!(seeded.leads[2])
    );

    let data = app
        .graphql_ok(
            &org.key,
            "{ leads(filter: {status: WON}) { count } }",
            json!({}),
        )
        .await;
    assert_eq!(data["leads"]["count"], json!(0));
    let data = app
        .graphql_ok(
            &org.key,
            "{ leads(filter: {status: BOOKED}) { count } }",
            json!({}),
        )
        .await;
    assert_eq!(data["leads"]["count"], json!(5));

    let future = "2999-01-01T00:00:00Z";
    let data = app
        .graphql_ok(
            &org.key,
            "query($t: DateTime!) { a: payments(filter: {createdAfter: $t}) { count } b: payments(filter: {createdBefore: $t}) { count } }",
            json!({"t": future}),
        )
        .await;
    assert_eq!(data["a"]["count"], json!(0));
    assert_eq!(data["b"]["count"], json!(5));
}

#[tokio::test]
async fn node_resolves_every_kind_of_id() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 1).await;
    for id in [
        &s.leads[0],
        &s.calls[0],
        &s.team_member,
        &s.product,
        &s.payments[0],
        &s.booking_link,
    ] {
        let data = app
            .graphql_ok(
                &org.key,
                "query($id: ID!) { node(id: $id) { id __typename } }",
                json!({"id": id}),
            )
            .await;
        assert_eq!(data["node"]["id"], json!(id));
    }
    let data = app
        .graphql_ok(&org.key, "{ node(id: \"lead_garbage\") { id } }", json!({}))
        .await;
    assert_eq!(data["node"], Value::Null);
}

#[tokio::test]
async fn commission_rates_are_exact_decimal_strings() {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    let s = seed(&app.db, org.id, "acme", 1).await;
    let data = app
        .graphql_ok(
            &org.key,
            "query($id: ID!) { teamMember(id: $id) { commissionRate } }",
            json!({"id": s.team_member}),
        )
        .await;
    assert_eq!(data["teamMember"]["commissionRate"], json!("0.125"));
}
