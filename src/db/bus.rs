//! What this process learns the moment something commits: the bus behind wake-on-commit
//! (the webhook dispatcher and the live feed start at once instead of at their next poll)
//! and the key cache's invalidation. Writers publish after their commit; other
//! instances hear the same through PostgreSQL `NOTIFY` (see `auth` and `events`). A
//! lagging receiver only misses wake-ups, never data: pollers still look on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::broadcast;
use uuid::Uuid;

/// The PostgreSQL channel events are announced on (`NOTIFY aura_events` in the writing
/// transaction, delivered when it commits).
pub const EVENTS_CHANNEL: &str = "aura_events";
/// The PostgreSQL channel API key changes are announced on; the payload is the key's id.
pub const KEYS_CHANNEL: &str = "aura_keys";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A write transaction committed (it may have recorded events).
    Committed,
    /// An API key was revoked or changed: forget what was cached about it.
    KeyChanged(Uuid),
    /// Cross-instance notifications may have been missed (the listener reconnected):
    /// drop every cached key.
    KeysUnknown,
}

#[derive(Clone)]
pub struct Bus {
    sender: broadcast::Sender<Signal>,
    /// Whether this process hears every other instance's signals: always with SQLite (one
    /// process), with PostgreSQL only while the `LISTEN` connection is up. Caches that
    /// rely on invalidation are bypassed while this is false.
    hearing_others: Arc<AtomicBool>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new(true)
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

impl Bus {
    /// A bus that starts hearing other instances (`true`: there are none) or not yet.
    pub fn new(hearing_others: bool) -> Self {
        Bus {
            sender: broadcast::channel(1024).0,
            hearing_others: Arc::new(AtomicBool::new(hearing_others)),
        }
    }

    /// See [`Bus::new`]: whether another instance's change reaches this one at once.
    pub fn hears_others(&self) -> bool {
        self.hearing_others.load(Ordering::SeqCst)
    }

    pub fn set_hearing_others(&self, hearing: bool) {
        self.hearing_others.store(hearing, Ordering::SeqCst);
    }

    pub fn publish(&self, signal: Signal) {
        // No receiver is fine: nobody in this process is waiting.
        let _ = self.sender.send(signal);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }
}
