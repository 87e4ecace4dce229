//! The widget flow of issue 6, end to end: a booking made through the public operations
//! takes its slot off the page and its `lead.created` and `call.booked` reach a live
//! subscription and a webhook receiver.

use aura::domain::ScopeSet;
use chrono::{Duration, Utc};
use entities::booking_link;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::{EVENTS, Subscriber, since_now};
use crate::factory::{org_with_key, seed};
use crate::helpers::TestApp;
use crate::webhooks::create_webhook;
use crate::webhooks::receiver::Receiver;

/// The webhook half of this flow: a receiver subscribed to the organization's bookings
/// (created with a key that may manage webhooks) gets the same events, signed.
struct WebhookHalf {
    receiver: Receiver,
    /// The `whsec_…` secret as the API handed it out.
    secret: String,
}

impl WebhookHalf {
    async fn before_booking(app: &TestApp, organization: Uuid) -> WebhookHalf {
        let key =
            crate::factory::keys::create(&app.db, organization, "hooks", ScopeSet::all(), None)
                .await
                .unwrap()
                .secret;
        let receiver = Receiver::start().await;
        let (_, secret) = create_webhook(
            app,
            &key,
            &receiver.url,
            &["lead.created", "call.booked", "call.canceled"],
        )
        .await;
        WebhookHalf { receiver, secret }
    }

    async fn assert_received(self, types: &[&str]) {
        let received = self.receiver.wait_for(types.len()).await;
        let mut got: Vec<String> = Vec::new();
        for delivery in &received {
            delivery.assert_verified(&self.secret);
            got.push(delivery.json()["type"].as_str().unwrap().to_owned());
        }
        for wanted in types {
            assert!(got.iter().any(|t| t == wanted), "{wanted} not in {got:?}");
        }
    }
}

async fn anonymous(app: &TestApp, query: &str, variables: Value) -> Value {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://client-site.example")
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

async fn free_starts(app: &TestApp, from: &str, to: &str) -> Vec<String> {
    let data = anonymous(
        app,
        "query($f: DateTime!, $t: DateTime!) { availableSlots(slug: \"acme-strategy\", from: $f, to: $t) { start } }",
        json!({"f": from, "t": to}),
    )
    .await;
    data["availableSlots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_widget_booking_reaches_a_live_subscription() {
    let app = TestApp::builder().with_dispatcher().build().await;
    let org = org_with_key(&app.db, "acme", ScopeSet::read_only()).await;
    let seeded = seed(&app.db, org.id, "acme", 0).await;
    let now = aura::time::now();
    booking_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        slug: Set("acme-strategy".into()),
        name: Set("Strategy Call".into()),
        owner_id: Set(
            aura::ids::decode(aura::ids::IdKind::TeamMember, &seeded.team_member).unwrap(),
        ),
        duration_minutes: Set(30),
        timezone: Set("UTC".into()),
        weekly_hours: Set(json!(
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
                .collect::<Vec<_>>()
        )),
        buffer_minutes: Set(0),
        min_notice_minutes: Set(60),
        horizon_days: Set(30),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let webhooks = WebhookHalf::before_booking(&app, org.id).await;

    // The organization's dashboard listens, with the read-only key it holds.
    let mut listener = Subscriber::connect_as(&app, &org.key).await;
    listener
        .subscribe(
            "bookings",
            EVENTS,
            json!({"types": ["LEAD_CREATED", "CALL_BOOKED", "CALL_CANCELED"], "since": since_now()}),
        )
        .await;

    // A visitor picks a slot and books it; the slot is gone from the page.
    let from = aura::time::format_rfc3339(Utc::now() + Duration::days(2));
    let to = aura::time::format_rfc3339(Utc::now() + Duration::days(3));
    let before = free_starts(&app, &from, &to).await;
    let start = before[7].clone();
    let booked = anonymous(
        &app,
        "mutation($s: DateTime!) { bookCall(slug: \"acme-strategy\", start: $s, name: \"Widget Visitor\", email: \"Visitor@Example.com\") { start token } }",
        json!({"s": start}),
    )
    .await;
    let token = booked["bookCall"]["token"].as_str().unwrap().to_owned();
    let after = free_starts(&app, &from, &to).await;
    assert!(!after.contains(&start));
    assert_eq!(after.len(), before.len() - 1);

    // Both events reach the subscription, in order, carrying the REST objects.
    let lead = listener.event("bookings").await;
    assert_eq!(lead["type"], json!("LEAD_CREATED"));
    assert!(lead["id"].as_str().unwrap().starts_with("evt_"), "{lead}");
    assert!(lead["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lead["data"]["email"], json!("visitor@example.com"));
    assert_eq!(lead["data"]["source"], json!("booking_link"));
    let call = listener.event("bookings").await;
    assert_eq!(call["type"], json!("CALL_BOOKED"));
    assert_eq!(call["data"]["lead_id"], lead["data"]["id"]);
    assert_eq!(call["data"]["scheduled_at"], json!(start));
    assert_eq!(call["data"]["status"], json!("scheduled"));
    assert_ne!(call["id"], lead["id"]);

    // The visitor cancels with their token; that arrives too, as it happens.
    anonymous(
        &app,
        "mutation($t: String!) { cancelBooking(token: $t) { status } }",
        json!({"t": token}),
    )
    .await;
    let canceled = listener.event("bookings").await;
    assert_eq!(canceled["type"], json!("CALL_CANCELED"));
    assert_eq!(canceled["data"]["id"], call["data"]["id"]);
    assert!(free_starts(&app, &from, &to).await.contains(&start));

    webhooks
        .assert_received(&["lead.created", "call.booked"])
        .await;
}
