//! The `events` subscription: type filters, organization isolation, refusals, scopes,
//! delivery across instances, and a poller that runs only while someone listens.
//!
//! A subscription starts some time after its `subscribe` message is sent, so each test
//! subscribes with `since` (replaying from the outbox what committed in between), then
//! makes a second round of changes only after the first arrived: those can only come
//! through the live path. Where nothing unwanted may arrive, a final wanted change acts
//! as a sentinel: if it is the next message, nothing slipped in before it.

use crate::factory::keys;
use aura::domain::ScopeSet;
use serde_json::{Value, json};
use std::time::Duration;

use super::client::{EVENTS, Subscriber, since_now};
use crate::clerk_support::{claims, token};
use crate::helpers::assert_error;
use crate::writes::support::{World, code, days_ahead, world};

async fn create_lead(w: &World, bearer: &str, name: &str) -> String {
    let data = w
        .ok(
            bearer,
            "mutation($n: String!) { createLead(input: {name: $n}) { id } }",
            json!({"n": name}),
        )
        .await;
    data["createLead"]["id"].as_str().unwrap().to_owned()
}

async fn update_lead(w: &World, bearer: &str, id: &str, status: &str) {
    w.ok(
        bearer,
        "mutation($id: ID!, $s: LeadStatus!) { updateLead(id: $id, input: {status: $s}) { id } }",
        json!({"id": id, "s": status}),
    )
    .await;
}

async fn create_product(w: &World, bearer: &str) -> String {
    let data = w
        .ok(
            bearer,
            "mutation { createProduct(input: {name: \"P\", priceAmount: 1, currency: \"USD\", billing: ONE_TIME}) { id } }",
            json!({}),
        )
        .await;
    data["createProduct"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_subscription_receives_only_the_types_it_asked_for() {
    let w = world().await;
    // Signed in with Clerk, as the app is.
    let mut sub = Subscriber::connect(&w.app, json!({"authToken": w.admin}))
        .await
        .unwrap();
    sub.subscribe(
        "mine",
        EVENTS,
        json!({"types": ["LEAD_UPDATED", "CALL_CANCELED"], "since": since_now()}),
    )
    .await;

    let lead = create_lead(&w, &w.member, "Filtered").await; // lead.created: not asked for
    update_lead(&w, &w.member, &lead, "CONTACTED").await;
    let event = sub.event("mine").await;
    assert_eq!(event["type"], json!("LEAD_UPDATED"), "{event}");
    assert_eq!(
        (&event["data"]["id"], &event["data"]["status"]),
        (&json!(lead), &json!("contacted"))
    );

    // Live from here on.
    let data = w
        .ok(
            &w.member,
            "mutation($l: ID!, $at: DateTime!) { createCall(input: {leadId: $l, scheduledAt: $at}) { id } }",
            json!({"l": w.own.leads[0], "at": days_ahead(3)}),
        )
        .await; // call.booked: not asked for
    let call = data["createCall"]["id"].as_str().unwrap().to_owned();
    create_product(&w, &w.admin).await; // product.created: not asked for
    w.ok(
        &w.member,
        "mutation($id: ID!) { cancelCall(id: $id) { id } }",
        json!({"id": call}),
    )
    .await;
    let event = sub.event("mine").await;
    assert_eq!(event["type"], json!("CALL_CANCELED"), "{event}");
    assert_eq!(event["data"]["id"], json!(call));

    update_lead(&w, &w.member, &lead, "QUALIFIED").await; // the sentinel
    let event = sub.event("mine").await;
    assert_eq!(event["type"], json!("LEAD_UPDATED"), "{event}");
    assert_eq!(event["data"]["status"], json!("qualified"));
}

#[tokio::test]
async fn another_organizations_events_never_arrive() {
    let w = world().await;
    let bravo_admin = token(&claims("user_bravo", "org_bravo", "admin"));
    let mut sub = Subscriber::connect_as(&w.app, &w.key).await;
    sub.subscribe("all", EVENTS, json!({"since": since_now()}))
        .await;

    let theirs = create_lead(&w, &bravo_admin, "Bravo's").await;
    update_lead(&w, &bravo_admin, &theirs, "WON").await;
    let ours = create_lead(&w, &w.admin, "Acme's").await;
    let event = sub.event("all").await;
    assert_eq!(
        (&event["type"], &event["data"]["id"]),
        (&json!("LEAD_CREATED"), &json!(ours)),
        "{event}"
    );

    // Live from here on.
    create_product(&w, &bravo_admin).await;
    update_lead(&w, &bravo_admin, &theirs, "LOST").await;
    let product = create_product(&w, &w.admin).await;
    let event = sub.event("all").await;
    assert_eq!(
        (&event["type"], &event["data"]["id"]),
        (&json!("PRODUCT_CREATED"), &json!(product)),
        "{event}"
    );

    // The other organization's own subscriber sees its events and none of ours.
    let mut theirs_sub = Subscriber::connect_as(&w.app, &bravo_admin).await;
    theirs_sub
        .subscribe(
            "b",
            EVENTS,
            json!({"types": ["LEAD_UPDATED"], "since": since_now()}),
        )
        .await;
    update_lead(&w, &w.admin, &ours, "WON").await;
    update_lead(&w, &bravo_admin, &theirs, "NEW").await;
    let event = theirs_sub.event("b").await;
    assert_eq!(event["data"]["id"], json!(theirs), "{event}");
    let event = sub.event("all").await;
    assert_eq!(event["data"]["id"], json!(ours), "{event}");
}

#[tokio::test]
async fn connection_init_refuses_bad_credentials() {
    let w = world().await;
    let revoked = keys::create(&w.app.db, w.org, "revoked", ScopeSet::all(), None)
        .await
        .unwrap();
    keys::revoke_on(&w.app.database, w.org, revoked.key.id)
        .await
        .unwrap();
    let foreign_clerk_org = token(&claims("user_x", "org_unknown", "admin"));
    let refused = [
        json!({}),
        json!(null),
        json!({"Authorization": "Bearer aura_pk_live_garbage"}),
        json!({"Authorization": "Basic dXNlcjpwYXNz"}),
        json!({"authToken": "not.a.jwt"}),
        json!({"authToken": revoked.secret}),
        json!({"authToken": foreign_clerk_org}),
    ];
    for payload in refused {
        let closed = Subscriber::connect(&w.app, payload.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{payload} was accepted"));
        assert_eq!(closed.code, 4403, "{payload}: {closed:?}");
        assert!(
            closed.reason.starts_with("UNAUTHORIZED: ") || closed.reason.starts_with("FORBIDDEN: "),
            "{payload}: {closed:?}"
        );
        assert!(
            !closed.reason.contains("garbage"),
            "never echoes the credential"
        );
    }
    // Every accepted spelling of a good credential.
    for payload in [
        json!({"Authorization": format!("Bearer {}", w.key)}),
        json!({"headers": {"authorization": format!("Bearer {}", w.member)}}),
        json!({"authToken": w.key}),
    ] {
        assert!(
            Subscriber::connect(&w.app, payload.clone()).await.is_ok(),
            "{payload}"
        );
    }

    // Subscribing before connection_init: 4401.
    let mut early = Subscriber::connect_uninitialised(&w.app).await;
    early.subscribe("x", EVENTS, json!({})).await;
    let closed = early.receive().await.expect_err("closed");
    assert_eq!(closed.code, 4401, "{closed:?}");

    // Not a WebSocket, or not this protocol: the contract's error body.
    let response = w
        .app
        .client
        .get(w.app.url("/graphql/ws"))
        .send()
        .await
        .unwrap();
    let body = assert_error(response, 400, "BAD_REQUEST").await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("graphql-transport-ws")
    );
}

#[tokio::test]
async fn subscriptions_need_scopes_and_valid_arguments() {
    let w = world().await;
    let leads_only = keys::create(
        &w.app.db,
        w.org,
        "leads",
        ScopeSet::parse_list("leads:read").unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret;
    let mut sub = Subscriber::connect_as(&w.app, &leads_only).await;
    let long_ago = aura::time::format_rfc3339(aura::time::now() - chrono::Duration::hours(2));
    for (id, variables, expected_code, expected_field) in [
        (
            "pay",
            json!({"types": ["PAYMENT_CREATED"]}),
            "FORBIDDEN",
            None,
        ),
        (
            "bad",
            json!({"types": ["LEAD_DELETED"]}),
            "VALIDATION_ERROR",
            Some("types"),
        ),
        (
            "none",
            json!({"types": []}),
            "VALIDATION_ERROR",
            Some("types"),
        ),
        (
            "old",
            json!({"since": long_ago}),
            "VALIDATION_ERROR",
            Some("since"),
        ),
    ] {
        sub.subscribe(id, EVENTS, variables).await;
        let message = sub.receive().await.unwrap();
        assert_eq!(
            (&message["id"], &message["type"]),
            (&json!(id), &json!("next")),
            "{message}"
        );
        let wrapped = json!({"errors": message["payload"]["errors"]});
        assert_eq!(code(&wrapped), expected_code, "{message}");
        if let Some(field) = expected_field {
            assert_eq!(
                message["payload"]["errors"][0]["extensions"]["field"],
                json!(field)
            );
        }
        let done = sub.receive().await.unwrap();
        assert_eq!(
            (&done["id"], &done["type"]),
            (&json!(id), &json!("complete")),
            "{done}"
        );
    }
    // A malformed subscription gets a code too, as over HTTP.
    sub.subscribe("typo", "subscription { evnts { id } }", json!({}))
        .await;
    let message = sub.receive().await.unwrap();
    assert_eq!(
        code(&json!({"errors": message["payload"]["errors"]})),
        "VALIDATION_ERROR",
        "{message}"
    );
    sub.receive().await.unwrap();
    // The GraphQL limits hold over the socket too.
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    sub.subscribe(
        "aliases",
        &format!("subscription {{ events {{ id {aliases} }} }}"),
        json!({}),
    )
    .await;
    let message = sub.receive().await.unwrap();
    let errors = &message["payload"]["errors"];
    assert_eq!(
        code(&json!({ "errors": errors })),
        "VALIDATION_ERROR",
        "{message}"
    );
    assert!(
        errors[0]["message"].as_str().unwrap().contains("aliases"),
        "{message}"
    );
    sub.receive().await.unwrap();

    // Without `types`: every type the key may read, and only those.
    sub.subscribe("readable", EVENTS, json!({"since": since_now()}))
        .await;
    w.ok(
        &w.member,
        "mutation($l: ID!) { recordPayment(input: {leadId: $l, amount: 100, currency: \"USD\"}) { id } }",
        json!({"l": w.own.leads[0]}),
    )
    .await;
    let lead = create_lead(&w, &w.member, "Scoped").await;
    let event = sub.event("readable").await;
    assert_eq!(
        (&event["type"], &event["data"]["id"]),
        (&json!("LEAD_CREATED"), &json!(lead)),
        "{event}"
    );
}

#[tokio::test]
async fn events_written_through_another_instance_arrive() {
    let w = world().await;
    let other_instance = w.app.second_instance().await;
    let mut sub = Subscriber::connect_as(&w.app, &w.key).await;
    sub.subscribe(
        "x",
        EVENTS,
        json!({"types": ["LEAD_CREATED", "LEAD_UPDATED"], "since": since_now()}),
    )
    .await;
    let write = |query: &'static str, variables: Value| {
        let other_instance = &other_instance;
        let admin = w.admin.clone();
        async move { other_instance.graphql_ok(&admin, query, variables).await }
    };
    let data = write(
        "mutation { createLead(input: {name: \"Elsewhere\"}) { id } }",
        json!({}),
    )
    .await;
    let lead = data["createLead"]["id"].as_str().unwrap().to_owned();
    assert_eq!(sub.event("x").await["data"]["id"], json!(lead));
    // Live from here on: only the shared outbox connects the two instances.
    write(
        "mutation($id: ID!) { updateLead(id: $id, input: {status: WON}) { id } }",
        json!({"id": lead}),
    )
    .await;
    let event = sub.event("x").await;
    assert_eq!(
        (&event["type"], &event["data"]["status"]),
        (&json!("LEAD_UPDATED"), &json!("won"))
    );
}

#[tokio::test]
async fn the_outbox_is_read_only_while_someone_listens() {
    let w = world().await;
    // Longer than the poller's fallback interval (`live::POLL_INTERVAL`).
    let pause = || tokio::time::sleep(aura::live::POLL_INTERVAL + Duration::from_millis(300));
    let idle = w.app.statements();
    pause().await;
    assert_eq!(w.app.statements(), idle, "nobody listens: no polling");

    let mut sub = Subscriber::connect_as(&w.app, &w.key).await;
    sub.subscribe("x", EVENTS, json!({"since": since_now()}))
        .await;
    let lead = create_lead(&w, &w.admin, "Heard").await;
    assert_eq!(sub.event("x").await["data"]["id"], json!(lead));
    let listening = w.app.statements();
    let deadline = std::time::Instant::now() + aura::live::POLL_INTERVAL * 5;
    while w.app.statements() == listening {
        assert!(
            std::time::Instant::now() < deadline,
            "someone listens: the outbox is read"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    drop(sub);
    // The poller notices within a tick or two that nobody is left, then stops.
    pause().await;
    let stopped = w.app.statements();
    pause().await;
    assert_eq!(
        w.app.statements(),
        stopped,
        "nobody listens again: no polling"
    );
}

#[tokio::test]
async fn since_replays_what_committed_before_the_subscription_then_goes_live() {
    let w = world().await;
    let bravo_admin = token(&claims("user_bravo", "org_bravo", "admin"));
    let since = since_now();
    // All committed before anyone subscribes: only the outbox can deliver them.
    let first = create_lead(&w, &w.admin, "Early").await;
    create_lead(&w, &bravo_admin, "Not ours").await;
    create_product(&w, &w.admin).await; // not asked for
    update_lead(&w, &w.admin, &first, "CONTACTED").await;

    let mut sub = Subscriber::connect_as(&w.app, &w.key).await;
    sub.subscribe(
        "r",
        EVENTS,
        json!({"types": ["LEAD_CREATED", "LEAD_UPDATED"], "since": since}),
    )
    .await;
    let created = sub.event("r").await;
    assert_eq!(
        (&created["type"], &created["data"]["id"]),
        (&json!("LEAD_CREATED"), &json!(first))
    );
    let updated = sub.event("r").await;
    assert_eq!(
        (&updated["type"], &updated["data"]["status"]),
        (&json!("LEAD_UPDATED"), &json!("contacted"))
    );

    // Then live, each event once: the next message is the next change.
    update_lead(&w, &w.admin, &first, "WON").await;
    let live = sub.event("r").await;
    assert_eq!(live["data"]["status"], json!("won"), "{live}");
    assert_ne!(live["id"], updated["id"]);
}

#[tokio::test]
async fn concurrent_writes_each_arrive_exactly_once() {
    let w = world().await;
    let mut sub = Subscriber::connect_as(&w.app, &w.key).await;
    sub.subscribe(
        "x",
        EVENTS,
        json!({"types": ["LEAD_CREATED", "LEAD_UPDATED"], "since": since_now()}),
    )
    .await;
    // Transactions racing each other commit in an order their `created_at` does not tell.
    let writes = (0..25).map(|n| {
        let bearer = if n % 2 == 0 { &w.admin } else { &w.member };
        create_lead(&w, bearer, "Racer")
    });
    let mut created: Vec<String> = futures_util::future::join_all(writes).await;
    let mut received = Vec::new();
    for _ in 0..created.len() {
        let event = sub.event("x").await;
        assert_eq!(event["type"], json!("LEAD_CREATED"), "{event}");
        received.push(event["data"]["id"].as_str().unwrap().to_owned());
    }
    created.sort();
    received.sort();
    assert_eq!(received, created, "every lead once");
    // Nothing more is on its way: the next event is the next change.
    update_lead(&w, &w.admin, &created[0], "WON").await;
    let event = sub.event("x").await;
    assert_eq!(
        (&event["type"], &event["data"]["id"]),
        (&json!("LEAD_UPDATED"), &json!(created[0]))
    );
}
