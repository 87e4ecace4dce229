//! Delivery on an injected clock: the retry schedule, Retry-After, 410, five days of
//! failure, manual re-sends, and what a receiver gets. No sleeps: the test moves the
//! clock and runs the dispatcher one round at a time.

use std::sync::{Arc, Mutex};

use aura::domain::ScopeSet;
use aura::webhooks::schedule::Clock;
use aura::webhooks::{Dispatcher, Webhooks};
use chrono::{DateTime, Duration, Utc};
use entities::{webhook_attempt, webhook_delivery, webhook_subscription};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};

use super::receiver::Receiver;
use super::{create_webhook, record_event};
use crate::factory::org_with_key;
use crate::helpers::TestApp;

struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

struct Rig {
    app: TestApp,
    clock: Arc<ManualClock>,
    dispatcher: Dispatcher,
    receiver: Receiver,
    org: crate::factory::TestOrg,
    webhook: String,
    /// The `whsec_…` secret as the API handed it out.
    secret: String,
}

/// An app, a receiver subscribed to everything, and a dispatcher on a manual clock
/// that starts a minute after now (so freshly recorded events are due).
async fn rig(jitter: f64) -> Rig {
    let app = TestApp::spawn().await;
    let org = org_with_key(&app.db, "clocked", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    let (webhook, secret) = create_webhook(&app, &org.key, &receiver.url, &["*"]).await;
    let clock = Arc::new(ManualClock(Mutex::new(
        aura::time::now() + Duration::minutes(1),
    )));
    let hooks = Webhooks::with_clock(
        app.webhook_config(),
        clock.clone(),
        Arc::new(move || jitter),
    )
    .unwrap();
    Rig {
        dispatcher: Dispatcher::new(app.database.clone(), hooks),
        app,
        clock,
        receiver,
        org,
        webhook,
        secret,
    }
}

impl Rig {
    async fn delivery(&self) -> webhook_delivery::Model {
        webhook_delivery::Entity::find()
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn subscription(&self) -> webhook_subscription::Model {
        webhook_subscription::Entity::find()
            .one(&self.app.db)
            .await
            .unwrap()
            .unwrap()
    }
}

#[tokio::test]
async fn failures_follow_the_schedule_to_the_last_attempt() {
    let rig = rig(0.0).await;
    record_event(&rig.app, rig.org.id, 1).await;
    let steps = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
    for _ in 0..8 {
        rig.receiver.answer(503, vec![]);
    }
    let first_attempt_at = rig.clock.now();
    assert_eq!(rig.dispatcher.run_due().await.unwrap(), 1);
    for (i, seconds) in steps.into_iter().enumerate() {
        let delivery = rig.delivery().await;
        assert_eq!(delivery.attempt_count, i as i32 + 1);
        assert_eq!(delivery.status, webhook_delivery::DeliveryStatus::Pending);
        let due = delivery.next_attempt_at.unwrap();
        assert_eq!(
            due - rig.clock.now(),
            Duration::seconds(seconds),
            "retry {}",
            i + 1
        );
        // Not due a moment before its time…
        rig.clock
            .advance(Duration::seconds(seconds) - Duration::milliseconds(1));
        assert_eq!(
            rig.dispatcher.run_due().await.unwrap(),
            0,
            "early retry {}",
            i + 1
        );
        // …and due at it.
        rig.clock.advance(Duration::milliseconds(1));
        assert_eq!(
            rig.dispatcher.run_due().await.unwrap(),
            1,
            "retry {}",
            i + 1
        );
    }
    let delivery = rig.delivery().await;
    assert_eq!(delivery.attempt_count, 8);
    assert_eq!(delivery.status, webhook_delivery::DeliveryStatus::Failed);
    assert_eq!(delivery.next_attempt_at, None);
    let received = rig.receiver.received();
    assert_eq!(received.len(), 8);
    // The same webhook-id and body on every attempt; each signed at its own timestamp.
    assert!(
        received
            .iter()
            .all(|r| r.id == received[0].id && r.body == received[0].body)
    );
    // Checked with the reference library: the first in full (its timestamp is within
    // the library's five minutes of the real clock), the later ones, signed hours ahead
    // on the moved clock, by the signature it computes for them.
    received[0].assert_verified(&rig.secret);
    for r in &received {
        assert!(r.signed_by(&rig.secret), "attempt signed wrongly: {r:?}");
    }
    assert_eq!(received[0].timestamp, first_attempt_at.timestamp());
    assert!(received[7].timestamp > received[0].timestamp);
    let attempts = webhook_attempt::Entity::find()
        .all(&rig.app.db)
        .await
        .unwrap();
    let mut numbers: Vec<i32> = attempts.iter().map(|a| a.attempt_number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    assert!(attempts.iter().all(|a| a.status_code == Some(503)));
    // About 27.6 hours of failure: still enabled, failing since the first attempt.
    let subscription = rig.subscription().await;
    assert!(subscription.enabled);
    assert_eq!(subscription.failing_since, Some(first_attempt_at));
}

#[tokio::test]
async fn jitter_moves_retries_by_at_most_ten_percent() {
    for (jitter, expected_ms) in [(1.0, 5_500), (-1.0, 4_500)] {
        let rig = rig(jitter).await;
        record_event(&rig.app, rig.org.id, 1).await;
        rig.receiver.answer(500, vec![]);
        rig.dispatcher.run_due().await.unwrap();
        let due = rig.delivery().await.next_attempt_at.unwrap();
        assert_eq!(due - rig.clock.now(), Duration::milliseconds(expected_ms));
    }
}

#[tokio::test]
async fn retry_after_and_success_after_failures() {
    let rig = rig(0.0).await;
    record_event(&rig.app, rig.org.id, 1).await;
    rig.receiver
        .answer(429, vec![("retry-after", "120".to_owned())]);
    let first_attempt_at = rig.clock.now();
    rig.dispatcher.run_due().await.unwrap();
    let delivery = rig.delivery().await;
    assert_eq!(
        delivery.next_attempt_at.unwrap() - rig.clock.now(),
        Duration::seconds(120)
    );
    assert_eq!(
        rig.subscription().await.failing_since,
        Some(first_attempt_at)
    );
    rig.clock.advance(Duration::seconds(120));
    assert_eq!(rig.dispatcher.run_due().await.unwrap(), 1);
    let delivery = rig.delivery().await;
    assert_eq!(delivery.status, webhook_delivery::DeliveryStatus::Succeeded);
    assert_eq!(delivery.attempt_count, 2);
    // A success ends the failure streak.
    assert_eq!(rig.subscription().await.failing_since, None);
    let received = rig.receiver.received();
    assert_eq!(received.len(), 2);
    received[0].assert_verified(&rig.secret);
    assert!(received[1].signed_by(&rig.secret));
}

#[tokio::test]
async fn gone_disables_the_subscription_and_later_events_wait() {
    let rig = rig(0.0).await;
    record_event(&rig.app, rig.org.id, 1).await;
    rig.receiver.answer(410, vec![]);
    rig.dispatcher.run_due().await.unwrap();
    let subscription = rig.subscription().await;
    assert!(!subscription.enabled);
    assert_eq!(
        subscription.disabled_reason.as_deref(),
        Some("the endpoint answered 410 Gone")
    );
    assert_eq!(
        rig.delivery().await.status,
        webhook_delivery::DeliveryStatus::Failed
    );
    // A disabled subscription gets no new deliveries.
    record_event(&rig.app, rig.org.id, 2).await;
    assert_eq!(rig.dispatcher.run_due().await.unwrap(), 0);
    assert_eq!(
        webhook_delivery::Entity::find()
            .all(&rig.app.db)
            .await
            .unwrap()
            .len(),
        1
    );
    // Re-enabling it over the API clears the reason.
    let response = rig
        .app
        .client
        .patch(rig.app.url(&format!("/v1/webhooks/{}", rig.webhook)))
        .bearer_auth(&rig.org.key)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["enabled"], json!(true));
    assert_eq!(body["data"]["disabled_reason"], Value::Null);
}

#[tokio::test]
async fn five_days_of_failure_disable_the_subscription() {
    let rig = rig(0.0).await;
    let mut subscription = rig.subscription().await.into_active_model();
    subscription.failing_since = Set(Some(
        rig.clock.now() - Duration::days(5) + Duration::seconds(1),
    ));
    subscription.update(&rig.app.db).await.unwrap();
    record_event(&rig.app, rig.org.id, 1).await;
    rig.receiver.answer(500, vec![]);
    rig.receiver.answer(500, vec![]);
    rig.dispatcher.run_due().await.unwrap();
    assert!(
        rig.subscription().await.enabled,
        "4 days 23:59:59 is not five days"
    );
    rig.clock.advance(Duration::seconds(5));
    rig.dispatcher.run_due().await.unwrap();
    let subscription = rig.subscription().await;
    assert!(!subscription.enabled);
    assert!(
        subscription
            .disabled_reason
            .unwrap()
            .starts_with("every attempt failed for 5 days"),
    );
}

#[tokio::test]
async fn a_failed_delivery_can_be_sent_again() {
    let rig = rig(0.0).await;
    let event_id = record_event(&rig.app, rig.org.id, 1).await;
    rig.receiver.answer(500, vec![]);
    rig.dispatcher.run_due().await.unwrap();
    let delivery = rig.delivery().await;
    let mut failed = delivery.into_active_model();
    failed.status = Set(webhook_delivery::DeliveryStatus::Failed);
    failed.next_attempt_at = Set(None);
    let failed = failed.update(&rig.app.db).await.unwrap();
    let delivery_id = aura::ids::encode(aura::ids::IdKind::Delivery, failed.id);

    let response = rig
        .app
        .client
        .post(rig.app.url(&format!(
            "/v1/webhooks/{}/deliveries/{delivery_id}/retry",
            rig.webhook
        )))
        .bearer_auth(&rig.org.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["status"], json!("pending"));
    // The app's clock is the real one, a minute behind the rig's: due already.
    assert_eq!(rig.dispatcher.run_due().await.unwrap(), 1);
    let delivery = rig.delivery().await;
    assert_eq!(delivery.status, webhook_delivery::DeliveryStatus::Succeeded);
    assert_eq!(delivery.attempt_count, 2);
    let received = rig.receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[1].id, event_id,
        "the webhook-id is the event's, on every send"
    );
    // The manual re-send is signed afresh, on the app's real clock: the reference library
    // verifies it in full.
    received[1].assert_verified(&rig.secret);

    // Unknown and foreign delivery ids are 404: another organization's real delivery,
    // asked for through our webhook and through theirs; ours through theirs; and ours
    // through another webhook of ours.
    let (our_other_webhook, _) =
        create_webhook(&rig.app, &rig.org.key, &rig.receiver.url, &["*"]).await;
    let other = org_with_key(&rig.app.db, "other-org", ScopeSet::all()).await;
    let (their_webhook, _) = create_webhook(&rig.app, &other.key, &rig.receiver.url, &["*"]).await;
    record_event(&rig.app, other.id, 2).await;
    let theirs = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::OrganizationId.eq(other.id))
        .one(&rig.app.db)
        .await
        .unwrap()
        .expect("their delivery");
    let their_delivery = aura::ids::encode(aura::ids::IdKind::Delivery, theirs.id);
    let retry = |webhook: String, delivery: String| {
        let app = &rig.app;
        let key = rig.org.key.clone();
        async move {
            app.client
                .post(app.url(&format!(
                    "/v1/webhooks/{webhook}/deliveries/{delivery}/retry"
                )))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
        }
    };
    for (webhook, delivery) in [
        (rig.webhook.clone(), "dlv_nope".to_owned()),
        (rig.webhook.clone(), their_delivery.clone()),
        (their_webhook.clone(), their_delivery.clone()),
        (their_webhook.clone(), delivery_id.clone()),
        (our_other_webhook.clone(), delivery_id.clone()),
    ] {
        let response = retry(webhook.clone(), delivery.clone()).await;
        crate::helpers::assert_error(response, 404, "NOT_FOUND").await;
    }
    // Their delivery was left alone; ours is still retried through our own path.
    let theirs_after = webhook_delivery::Entity::find_by_id(theirs.id)
        .one(&rig.app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(theirs_after.attempt_count, theirs.attempt_count);
    assert_eq!(theirs_after.next_attempt_at, theirs.next_attempt_at);
    assert_eq!(
        retry(rig.webhook.clone(), delivery_id.clone())
            .await
            .status()
            .as_u16(),
        202
    );
}

#[tokio::test]
async fn a_claim_loads_subscriptions_and_events_in_statements_that_do_not_grow_with_it() {
    let rig = rig(0.0).await;
    // Creating the webhook used the key: its first use is written in the background.
    rig.app.await_key_use_recorded(rig.org.id).await;
    let mut counts = Vec::new();
    for batch in [2, 12] {
        for n in 0..batch {
            record_event(&rig.app, rig.org.id, n).await;
        }
        rig.app.await_quiet().await;
        let before = rig.app.statements();
        let claimed = rig.dispatcher.claim_loaded(32, &[]).await.unwrap();
        counts.push(rig.app.statements() - before);
        assert_eq!(claimed.len(), batch);
        for claim in &claimed {
            let subscription = claim.subscription.as_ref().expect("subscription loaded");
            let event = claim.event.as_ref().expect("event loaded");
            assert_eq!(subscription.id, claim.delivery.subscription_id);
            assert_eq!(event.id, claim.delivery.event_id);
        }
    }
    assert_eq!(counts[0], counts[1], "statements per claim: {counts:?}");
}

#[tokio::test]
async fn a_failure_keeps_an_earlier_failing_since_recorded_meanwhile() {
    let rig = rig(0.0).await;
    record_event(&rig.app, rig.org.id, 1).await;
    let claim = rig
        .dispatcher
        .claim_loaded(32, &[])
        .await
        .unwrap()
        .pop()
        .expect("one delivery due");
    assert_eq!(claim.subscription.as_ref().unwrap().failing_since, None);
    // Another attempt at this subscription, in flight at the same time, failed first.
    let earlier = rig.clock.now() - Duration::hours(1);
    let mut subscription = rig.subscription().await.into_active_model();
    subscription.failing_since = Set(Some(earlier));
    subscription.update(&rig.app.db).await.unwrap();

    rig.receiver.answer(503, vec![]);
    rig.dispatcher
        .attempt(claim, aura::webhooks::dispatcher::Mode::Scheduled)
        .await
        .unwrap()
        .expect("attempted");
    let subscription = rig.subscription().await;
    assert_eq!(subscription.failing_since, Some(earlier));
    assert!(subscription.enabled);
}
