//! Two dispatchers on one database, as two `aura worker`s would run: every delivery is
//! attempted once, never by both.

use std::collections::HashMap;
use std::time::Duration;

use aura::domain::ScopeSet;
use aura::webhooks::{Dispatcher, Webhooks};
use entities::{webhook_attempt, webhook_delivery};
use sea_orm::{EntityTrait, PaginatorTrait};

use super::receiver::Receiver;
use super::{create_webhook, record_event};
use crate::factory::org_with_key;
use crate::helpers::TestApp;

const EVENTS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_never_attempt_a_slot_twice() {
    let app = TestApp::builder().sqlite_file().build().await;
    let org = org_with_key(&app.db, "pair", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(2));
    create_webhook(&app, &org.key, &receiver.url, &["*"]).await;
    // Two subscribers' worth of work arrives while both dispatchers run.
    let second = Receiver::start().await;
    create_webhook(&app, &org.key, &second.url, &["lead.created"]).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..2 {
        // Each worker has its own connection pool, as a separate process would.
        let db = aura::db::Database::new(aura::db::connect(app.database_url()).await.unwrap());
        let mut config = app.webhook_config();
        config.concurrency = 8;
        config.poll_interval = Duration::from_millis(20);
        let dispatcher = Dispatcher::new(db, Webhooks::new(config).unwrap());
        let mut stopped = stopped.clone();
        workers.push(tokio::spawn(dispatcher.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })));
    }
    for n in 0..EVENTS {
        record_event(&app, org.id, n).await;
    }
    receiver.wait_for(EVENTS).await;
    second.wait_for(EVENTS).await;
    // Let anything that would be sent twice arrive before counting.
    for _ in 0..200 {
        let pending = webhook_delivery::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.status != webhook_delivery::DeliveryStatus::Succeeded)
            .count();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }

    for r in [&receiver, &second] {
        let mut per_id: HashMap<String, usize> = HashMap::new();
        for received in r.received() {
            *per_id.entry(received.id).or_default() += 1;
        }
        assert_eq!(per_id.len(), EVENTS);
        let repeated: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
    }
    let attempts = webhook_attempt::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(attempts as usize, 2 * EVENTS);
}
