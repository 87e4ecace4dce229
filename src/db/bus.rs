//! What this process learns the moment something commits: the bus behind wake-on-commit
//! (the webhook dispatcher and the live feed start at once instead of at their next poll)
//! and the key cache's invalidation. Writers publish after their commit; other
//! instances hear the same through PostgreSQL `NOTIFY` (see `auth` and `events`). A
//! lagging receiver only misses wake-ups, never data: pollers still look on their own.

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
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

impl Bus {
    pub fn publish(&self, signal: Signal) {
        // No receiver is fine: nobody in this process is waiting.
        let _ = self.sender.send(signal);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }
}
