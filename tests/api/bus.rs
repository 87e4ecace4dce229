//! What one instance hears of another: a revoked key stops working at once on the
//! instance that revoked it and within a second on every other (through PostgreSQL's
//! `NOTIFY`, or the short cache life on SQLite); a dropped `LISTEN` connection flushes and
//! bypasses the key cache; and a committed event wakes a dispatcher without waiting for
//! its poll.

use std::time::{Duration, Instant};

use aura::domain::ScopeSet;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::factory::{keys, org_with_key};
use crate::helpers::TestApp;
use crate::webhooks::create_webhook;
use crate::webhooks::receiver::Receiver;

fn on_postgres(app: &TestApp) -> bool {
    app.db.get_database_backend() == sea_orm::DbBackend::Postgres
}

async fn status(app: &TestApp, key: &str) -> u16 {
    app.graphql(key, "{ __typename }", json!({})).await.0
}

#[tokio::test]
async fn a_revoked_cached_key_fails_at_once_here_and_within_a_second_elsewhere() {
    let here = TestApp::spawn().await;
    let elsewhere = here.second_instance().await;
    let org = org_with_key(&here.db, "acme", ScopeSet::all()).await;
    let created = keys::create(&here.db, org.id, "cached", ScopeSet::all(), None)
        .await
        .expect("create a key");
    // Both instances have the key cached (and its first use is written).
    here.warm_key(&created.secret).await;
    elsewhere.warm_key(&created.secret).await;
    let before = here.statements();
    assert_eq!(status(&here, &created.secret).await, 200);
    assert_eq!(here.statements(), before, "a cached key runs no look-up");

    keys::revoke_on(&here.database, org.id, created.key.id)
        .await
        .expect("revoke");
    assert_eq!(
        status(&here, &created.secret).await,
        401,
        "the revoking instance refuses the next request"
    );
    let revoked = Instant::now();
    loop {
        match status(&elsewhere, &created.secret).await {
            401 => break,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "the other instance still accepts the key after {:?}",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "revocation reached the other instance after {:?} ({})",
        revoked.elapsed(),
        if on_postgres(&here) {
            "NOTIFY"
        } else {
            "cache life"
        }
    );
    if on_postgres(&here) {
        // Heard, not waited out.
        assert!(revoked.elapsed() < Duration::from_millis(500));
    }
}

#[tokio::test]
async fn a_dropped_listener_flushes_the_key_cache() {
    let app = TestApp::spawn().await;
    if !on_postgres(&app) {
        println!("SQLite has no LISTEN connection; nothing to drop");
        return;
    }
    let org = org_with_key(&app.db, "acme", ScopeSet::all()).await;
    app.warm_key(&org.key).await;
    let before = app.statements();
    assert_eq!(status(&app, &org.key).await, 200);
    assert_eq!(app.statements(), before, "cached");

    // A revocation this instance never hears of (as if its NOTIFY were lost): the cached
    // key still works ...
    app.db
        .execute_unprepared("UPDATE api_keys SET revoked_at = now()")
        .await
        .expect("revoke behind the cache's back");
    assert_eq!(status(&app, &org.key).await, 200, "still cached");

    // ... until the LISTEN connection drops: whatever was cached is then unknown.
    let mut signals = app.database.bus().subscribe();
    app.db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query ILIKE '%LISTEN%'",
        )
        .await
        .expect("terminate the listener");
    let flushed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match signals.recv().await {
                Ok(aura::db::Signal::KeysUnknown) => return,
                Ok(_) => {}
                Err(err) => panic!("bus: {err}"),
            }
        }
    })
    .await;
    assert!(
        flushed.is_ok(),
        "the dropped listener never flushed the cache"
    );
    assert_eq!(status(&app, &org.key).await, 401);
    // And it listens again.
    let dropped = Instant::now();
    while !app.database.bus().hears_others() {
        assert!(
            dropped.elapsed() < Duration::from_secs(10),
            "the listener never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_committed_event_wakes_the_dispatcher_before_its_poll() {
    let writer = TestApp::spawn().await;
    // The dispatcher runs on another instance that would not poll for a minute: only the
    // wake-up (NOTIFY on PostgreSQL, the in-process signal on SQLite) can start it.
    let poll = Duration::from_secs(60);
    let dispatching = TestApp::builder()
        .with_dispatcher()
        .configure(move |c| c.webhooks.poll_interval = poll)
        .build_over(&writer)
        .await;
    let org = org_with_key(&writer.db, "acme", ScopeSet::all()).await;
    let receiver = Receiver::start().await;
    create_webhook(&writer, &org.key, &receiver.url, &["lead.created"]).await;
    // Let the dispatcher's first (empty) round pass: no statement runs any more.
    writer.await_quiet().await;

    let committed = Instant::now();
    let writes_through = if on_postgres(&writer) {
        &writer
    } else {
        // SQLite has one process: the write is announced in-process, so it must be made
        // by the dispatching instance.
        &dispatching
    };
    // A change commits its event the way every service does.
    let txn = writes_through.database.begin_write().await.expect("begin");
    aura::events::record(
        &txn,
        org.id,
        aura::events::EventType::LeadCreated,
        &json!({"id": "lead_woken", "name": "Woken"}),
    )
    .await
    .expect("record");
    writes_through.database.commit(txn).await.expect("commit");
    let delivered = receiver.wait_for(1).await;
    let waited = committed.elapsed();
    assert_eq!(delivered[0].json()["type"], json!("lead.created"));
    println!("commit to delivery: {waited:?}");
    assert!(
        waited < Duration::from_secs(5),
        "{waited:?}: waited for a poll"
    );
}
