//! Webhook delivery figures: how many deliveries per second one dispatcher makes to eight
//! local receivers (goal: 3,000/s), and how long an event waits from its commit to its
//! first attempt (goal: p99 under 50 ms: the dispatcher wakes on the commit). Runs on a SQLite file, and on PostgreSQL when
//! `BENCH_DATABASE_URL` (a database it may create tables in, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`) is set.
//!
//! `cargo bench --bench webhooks`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aura::domain::Slug;
use aura::events::EventType;
use aura::services::webhooks::{self as service, NewSubscription};
use aura::webhooks::{Dispatcher, WebhookConfig, Webhooks};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Route, Server, handler};
use sea_orm::ConnectionTrait;
use serde_json::json;

/// Arrival time of each `webhook-id`.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

#[handler]
fn receive(req: &Request, arrivals: Data<&Arrivals>) -> &'static str {
    if let Some(id) = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
    {
        arrivals
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_insert_with(Instant::now);
    }
    "ok"
}

async fn receiver() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let app = Route::new()
        .at("/hook", poem::post(receive))
        .data(arrivals.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}/hook"), arrivals)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        run("sqlite", &sqlite).await;
        match std::env::var("BENCH_DATABASE_URL") {
            Ok(admin) => {
                let name = format!("aura_bench_{}", uuid::Uuid::now_v7().simple());
                let db = aura::db::connect(&admin).await.unwrap();
                db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let (base, _) = admin.rsplit_once('/').unwrap();
                run("postgres", &format!("{base}/{name}")).await;
                db.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .await
                    .ok();
            }
            Err(_) => println!("postgres: skipped (set BENCH_DATABASE_URL)"),
        }
    });
}

async fn run(backend: &str, url: &str) {
    let db = aura::db::connect(url).await.unwrap();
    aura::db::migrate(&db).await.unwrap();
    let org = aura::services::orgs::create(&db, "Bench", &Slug::parse("bench").unwrap(), None)
        .await
        .unwrap();
    let config = WebhookConfig {
        allow_private_targets: true,
        ..WebhookConfig::ephemeral()
    };
    let hooks = Webhooks::new(config.clone()).unwrap();
    // Eight partners, as the deliveries of a busy organization would be spread.
    let mut arrivals = Vec::new();
    for _ in 0..8 {
        let (url, seen) = receiver().await;
        let subscription = NewSubscription {
            url,
            description: None,
            event_types: vec!["*".into()],
            enabled: None,
        };
        service::create(
            &aura::db::Database::new(db.clone()),
            &hooks.policy(),
            &aura::domain::Actor::operator(org.id),
            subscription,
        )
        .await
        .unwrap();
        arrivals.push(seen);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // On PostgreSQL a worker of its own, as `aura worker` is, with its own pool: it hears
    // of new events through NOTIFY. SQLite has one process: the dispatcher runs in the
    // server that writes, and hears its commits in-process.
    let worker_db = if backend == "postgres" {
        aura::db::Database::new(aura::db::connect(url).await.unwrap())
    } else {
        aura::db::Database::new(db.clone())
    };
    aura::db::listen::spawn(&worker_db);
    let writer = if backend == "postgres" {
        aura::db::Database::new(db.clone())
    } else {
        worker_db.clone()
    };
    while !worker_db.bus().hears_others() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dispatcher = Dispatcher::new(worker_db, hooks);
    let worker = tokio::spawn(dispatcher.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    }));

    // Latency: events committed one at a time at a steady 50 per second.
    let mut committed: HashMap<String, Instant> = HashMap::new();
    for n in 0..500 {
        let (id, at) = record(&writer, org.id, n).await;
        committed.insert(id, at);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_all(&arrivals, committed.len()).await;
    let mut waits: Vec<Duration> = Vec::new();
    for seen in &arrivals {
        let seen = seen.lock().unwrap();
        for (id, at) in &committed {
            if let Some(arrived) = seen.get(id) {
                waits.push(arrived.duration_since(*at));
            }
        }
    }
    waits.sort();
    let pct = |p: f64| waits[((waits.len() as f64 * p) as usize).min(waits.len() - 1)];
    println!(
        "{backend}: commit → first attempt over {} deliveries: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        waits.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        waits[waits.len() - 1].as_secs_f64() * 1e3
    );

    // Throughput: a burst of 2,000 events (16,000 deliveries), committed in batches.
    for seen in &arrivals {
        seen.lock().unwrap().clear();
    }
    let started = Instant::now();
    for batch in 0..20 {
        let txn = writer.begin_write().await.unwrap();
        for n in 0..100 {
            aura::events::record(
                &txn,
                org.id,
                EventType::LeadCreated,
                &json!({"n": batch * 100 + n}),
            )
            .await
            .unwrap();
        }
        writer.commit(txn).await.unwrap();
    }
    wait_all(&arrivals, 2_000).await;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{backend}: {} deliveries in {elapsed:.2} s: {:.0} deliveries/s (concurrency {}, {} per endpoint)",
        2_000 * arrivals.len(),
        (2_000 * arrivals.len()) as f64 / elapsed,
        config.concurrency,
        config.per_subscription
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
    db.close().await.ok();
}

async fn record(db: &aura::db::Database, org: uuid::Uuid, n: usize) -> (String, Instant) {
    let txn = db.begin_write().await.unwrap();
    let event = aura::events::record(&txn, org, EventType::LeadCreated, &json!({"n": n}))
        .await
        .unwrap();
    db.commit(txn).await.unwrap();
    (
        aura::ids::encode(aura::ids::IdKind::Event, event.id),
        Instant::now(),
    )
}

async fn wait_all(arrivals: &[Arrivals], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals
        .iter()
        .any(|seen| seen.lock().unwrap().len() < count)
    {
        assert!(Instant::now() < deadline, "deliveries stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
