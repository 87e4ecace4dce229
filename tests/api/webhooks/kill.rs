//! The kill test: 1,000 events, the serving process killed with SIGKILL while it
//! delivers, then restarted. Every event reaches the receiver at least once, signed.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aura::crypto::SecretBox;
use aura::services::webhooks::{self as service, NewSubscription};
use aura::webhooks::{WebhookConfig, Webhooks};
use sea_orm::TransactionTrait;
use serde_json::json;

use super::receiver::Receiver;
use crate::helpers::{Process, test_database};

const EVENTS: usize = 1_000;
/// 32 bytes of base64, the server key both processes share.
const SERVER_KEY: &str = "a2lsbC10ZXN0LWtleS1vZi10aGlydHktdHdvLWJ5dGU=";

/// `aura serve` with its dispatcher, killed on drop.
fn serve(database_url: &str) -> Process {
    Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", database_url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            ("AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
            ("AURA_WEBHOOK_TIMEOUT", "2s"),
            ("AURA_WEBHOOK_LEASE", "3s"),
            ("AURA_LOG", "error"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_when_the_server_is_killed_mid_delivery() {
    let database = test_database(true).await;
    let url = database.url().to_owned();
    let db = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&db).await.unwrap();
    let org = aura::services::orgs::create(
        &db,
        "Kill Test",
        &aura::domain::Slug::parse("kill-test").unwrap(),
        None,
    )
    .await
    .unwrap();
    let receiver = Receiver::start().await;
    // Slow enough that the kill lands mid-way.
    receiver.delay(Duration::from_millis(3));
    let hooks = Webhooks::new(WebhookConfig {
        secret_box: SecretBox::from_base64(SERVER_KEY).unwrap(),
        allow_private_targets: true,
        ..WebhookConfig::ephemeral()
    })
    .unwrap();
    let (_, secret) = service::create(
        &aura::db::Database::new(db.clone()),
        &hooks.policy(),
        &aura::domain::Actor::operator(org.id),
        NewSubscription {
            url: receiver.url.clone(),
            description: None,
            event_types: vec!["*".into()],
            enabled: None,
        },
    )
    .await
    .unwrap();

    let mut server = serve(&url);
    let mut expected = HashSet::new();
    for batch in 0..10 {
        let txn = db.begin().await.unwrap();
        for n in 0..EVENTS / 10 {
            let event = aura::events::record(
                &txn,
                org.id,
                aura::events::EventType::LeadCreated,
                &json!({"n": batch * 100 + n}),
            )
            .await
            .unwrap();
            expected.insert(aura::ids::encode(aura::ids::IdKind::Event, event.id));
        }
        txn.commit().await.unwrap();
    }

    // Kill it once a fifth has arrived, with more in flight.
    receiver
        .wait_for_within(EVENTS / 5, Duration::from_secs(30))
        .await;
    server.kill();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < EVENTS,
        "everything arrived before the kill; nothing was tested"
    );

    let server = serve(&url);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: HashSet<String>;
    loop {
        seen = receiver.received().into_iter().map(|r| r.id).collect();
        if seen.len() >= EVENTS || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(server);
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "{} events never arrived", missing.len());
    // Every request, the re-sends after the kill included, verifies with the reference
    // library.
    let secret = secret.expose();
    for received in receiver.received() {
        received.assert_verified(&secret);
    }
    eprintln!(
        "kill test: {at_kill} received before SIGKILL, {} requests in all for {EVENTS} events",
        receiver.received().len()
    );
}
