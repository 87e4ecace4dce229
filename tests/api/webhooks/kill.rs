//! The kill test: 1,000 events, the serving process killed with SIGKILL while it
//! delivers, then restarted. Every event reaches the receiver at least once, signed.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aura::crypto::{SecretBox, SigningSecret};
use aura::services::webhooks::{self as service, NewSubscription};
use aura::webhooks::signature::verify;
use aura::webhooks::{WebhookConfig, Webhooks};
use sea_orm::TransactionTrait;
use serde_json::json;

use super::receiver::Receiver;
use crate::helpers::database_url;

const EVENTS: usize = 1_000;
/// 32 bytes of base64, the server key both processes share.
const SERVER_KEY: &str = "a2lsbC10ZXN0LWtleS1vZi10aGlydHktdHdvLWJ5dGU=";

fn serve(database_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("AURA_BIND", "127.0.0.1:0")
        .env("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY)
        .env("AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .env("AURA_WEBHOOK_TIMEOUT", "2s")
        .env("AURA_WEBHOOK_LEASE", "3s")
        .env("AURA_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aura serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_when_the_server_is_killed_mid_delivery() {
    let url = database_url(true).await;
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
    let mut waited = 0;
    while receiver.received().len() < EVENTS / 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
        assert!(
            waited < 6_000,
            "the server delivered too little before the kill"
        );
    }
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < EVENTS,
        "everything arrived before the kill; nothing was tested"
    );

    let mut server = serve(&url);
    let mut seen = HashSet::new();
    for _ in 0..3_000 {
        seen = receiver.received().into_iter().map(|r| r.id).collect();
        if seen.len() >= EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().ok();
    server.wait().ok();
    let missing: Vec<_> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "{} events never arrived", missing.len());
    let secret = SigningSecret::parse(&secret.expose()).unwrap();
    for received in receiver.received() {
        assert!(verify(
            &secret,
            &received.signature,
            &received.id,
            received.timestamp,
            &received.body
        ));
    }
    eprintln!(
        "kill test: {at_kill} received before SIGKILL, {} requests in all for {EVENTS} events",
        receiver.received().len()
    );
}
