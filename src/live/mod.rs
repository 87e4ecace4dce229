//! Live events: the feed of committed events behind the `events` subscription.
//!
//! Events are written to the `events` outbox in the transaction of their change, by
//! whichever instance made it, so the outbox is what every instance watches: one poller
//! per process ([`LiveEvents`]) reads what committed since its last look and fans it out
//! to that process's subscriptions through a `tokio::sync::broadcast` channel; each
//! subscription keeps its own organization's events of the types it asked for. The poller
//! runs only while someone is subscribed.
//!
//! Commit order is not `created_at` order: `created_at` is taken inside a transaction
//! that may commit after a later one (PostgreSQL), and instances' clocks differ a little.
//! So each look re-reads the ids of the last [`LOOKBACK`] and delivers those not yet seen;
//! an event whose transaction ran (or whose writer's clock lagged) longer than that is not
//! delivered live (it stays in the outbox, for webhooks and the events API).

pub mod feed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entities::event;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::{Mutex, broadcast};
use uuid::Uuid;

use crate::db::{Bus, Database, Signal};
use crate::error::AppResult;

/// How often the outbox is read while anyone is subscribed and no commit was heard (a
/// commit anywhere wakes the poller at once: `db::listen`).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far back each look re-reads, to catch transactions that committed out of order.
pub const LOOKBACK: chrono::Duration = chrono::Duration::seconds(10);
/// Events a slow subscriber may fall behind by before its subscription is ended.
const CHANNEL_CAPACITY: usize = 1024;
const PAGE: u64 = 500;

pub type SharedEvent = Arc<event::Model>;

/// The process's view of the outbox, shared by all its subscriptions.
#[derive(Clone)]
pub struct LiveEvents {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    bus: Bus,
    /// The most events one `since` replay may hold.
    max_replay: usize,
    /// The fan-out while the poller runs; `None` when nobody listens.
    running: Mutex<Option<broadcast::Sender<SharedEvent>>>,
}

impl LiveEvents {
    pub fn new(db: &Database, max_replay: usize) -> Self {
        LiveEvents {
            inner: Arc::new(Inner {
                db: db.conn().clone(),
                bus: db.bus().clone(),
                max_replay,
                running: Mutex::new(None),
            }),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn max_replay(&self) -> usize {
        self.inner.max_replay
    }

    /// Every event (of every organization) that commits after this returns. Starts the
    /// poller when it is not running; its first look happens before this returns, so
    /// nothing committed afterwards can be taken for old.
    pub async fn subscribe(&self) -> AppResult<broadcast::Receiver<SharedEvent>> {
        let mut running = self.inner.running.lock().await;
        if let Some(sender) = running.as_ref() {
            return Ok(sender.subscribe());
        }
        let mut poller = Poller::new(crate::time::now());
        poller.look(&self.inner.db).await?;
        let (sender, receiver) = broadcast::channel(CHANNEL_CAPACITY);
        *running = Some(sender.clone());
        tokio::spawn(run(self.inner.clone(), sender, poller));
        Ok(receiver)
    }
}

async fn run(inner: Arc<Inner>, sender: broadcast::Sender<SharedEvent>, mut poller: Poller) {
    let mut interval = tokio::time::interval(POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let mut commits = inner.bus.subscribe();
    let mut failing = false;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            signal = commits.recv() => {
                if matches!(signal, Ok(Signal::KeyChanged(_) | Signal::KeysUnknown)) {
                    continue;
                }
                // Commits that arrived meanwhile are covered by this one look.
                while commits.try_recv().is_ok() {}
                interval.reset();
            }
        }
        {
            // Under the lock `subscribe` takes, so no receiver can appear while we leave.
            let mut running = inner.running.lock().await;
            if sender.receiver_count() == 0 {
                *running = None;
                return;
            }
        }
        match poller.look(&inner.db).await {
            Ok(events) => {
                if failing {
                    tracing::info!("live events: reading the outbox again");
                    failing = false;
                }
                for event in events {
                    // No receivers left is fine: the next tick notices and stops.
                    let _ = sender.send(Arc::new(event));
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err, "live events: cannot read the outbox; retrying");
                    failing = true;
                }
            }
        }
    }
}

/// What one process has seen of the outbox.
struct Poller {
    /// Ids already delivered (or present before we started), with their `created_at`,
    /// kept while they are inside the look-back window.
    seen: HashMap<Uuid, DateTime<Utc>>,
    /// When the previous successful look began.
    last_look: DateTime<Utc>,
    first: bool,
}

impl Poller {
    fn new(now: DateTime<Utc>) -> Self {
        Poller {
            seen: HashMap::new(),
            last_look: now,
            first: true,
        }
    }

    /// Events not seen before, oldest first. The first look only learns what exists.
    async fn look(&mut self, db: &DatabaseConnection) -> AppResult<Vec<event::Model>> {
        let started = crate::time::now();
        // Anything committed since the previous look began was created after
        // `last_look - LOOKBACK` (unless its transaction or clock was off by more).
        let low = self.last_look - LOOKBACK;
        let mut fresh: Vec<(DateTime<Utc>, Uuid)> = Vec::new();
        let mut after: Option<(DateTime<Utc>, Uuid)> = None;
        loop {
            let mut query = event::Entity::find()
                .select_only()
                .column(event::Column::Id)
                .column(event::Column::CreatedAt)
                .filter(event::Column::CreatedAt.gt(low))
                .order_by_asc(event::Column::CreatedAt)
                .order_by_asc(event::Column::Id)
                .limit(PAGE);
            if let Some((at, id)) = after {
                query = query.filter(
                    Condition::any().add(event::Column::CreatedAt.gt(at)).add(
                        Condition::all()
                            .add(event::Column::CreatedAt.eq(at))
                            .add(event::Column::Id.gt(id)),
                    ),
                );
            }
            let rows: Vec<(Uuid, DateTime<Utc>)> = query.into_tuple().all(db).await?;
            let full_page = rows.len() as u64 == PAGE;
            after = rows.last().map(|(id, at)| (*at, *id));
            fresh.extend(
                rows.into_iter()
                    .filter(|(id, _)| !self.seen.contains_key(id))
                    .map(|(id, at)| (at, id)),
            );
            if !full_page {
                break;
            }
        }
        let mut events = Vec::with_capacity(if self.first { 0 } else { fresh.len() });
        if !self.first {
            for chunk in fresh.chunks(PAGE as usize) {
                let ids: Vec<Uuid> = chunk.iter().map(|(_, id)| *id).collect();
                events.extend(
                    event::Entity::find()
                        .filter(event::Column::Id.is_in(ids))
                        .all(db)
                        .await?,
                );
            }
            events.sort_by_key(|e| (e.created_at, e.id));
        }
        // Only once everything was read, so a failed look is retried whole.
        self.seen.extend(fresh.into_iter().map(|(at, id)| (id, at)));
        self.last_look = started;
        self.first = false;
        let horizon = started - LOOKBACK;
        self.seen.retain(|_, at| *at > horizon);
        Ok(events)
    }
}
