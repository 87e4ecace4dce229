//! Verified API keys, cached in process so a request with a known key needs no database
//! round trip. Bounded (least recently used entries go first) and short-lived: an entry
//! is trusted for [`TTL`] on PostgreSQL and [`TTL_ALONE`] on SQLite, where a revocation
//! made by another process (`aura keys revoke`) cannot be heard.
//!
//! Invalidation rides the database bus: a revoke or change on this instance clears the
//! key before the next request (`Signal::KeyChanged` is drained on every look-up), other
//! instances clear it when their `LISTEN` connection hears the `NOTIFY` (within
//! milliseconds), and while that connection is down the cache is bypassed altogether. A
//! look-up that raced an invalidation does not store what it read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::{self, error::TryRecvError};
use uuid::Uuid;

use crate::db::{Bus, Signal};
use crate::domain::ScopeSet;

/// How long a cached key is trusted when every change is heard through `NOTIFY`.
pub const TTL: Duration = Duration::from_secs(30);
/// How long a cached key is trusted on SQLite, where the operator's CLI revokes from
/// another process.
pub const TTL_ALONE: Duration = Duration::from_millis(500);
/// Keys held at most.
pub const CAPACITY: usize = 10_000;

/// What a verified key grants, as read from the database.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub key_id: Uuid,
    pub organization_id: Uuid,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

struct Entry {
    key: VerifiedKey,
    cached_at: Instant,
    used: u64,
}

struct State {
    /// By the hash of the secret.
    entries: HashMap<String, Entry>,
    signals: broadcast::Receiver<Signal>,
    /// Bumped by every invalidation: a look-up that started before one does not store.
    generation: u64,
    tick: u64,
}

pub struct KeyCache {
    bus: Bus,
    ttl: Duration,
    state: Mutex<State>,
}

/// A look-up's answer: the key, or a ticket to store what the database says.
pub enum Lookup {
    Hit(VerifiedKey),
    /// Not cached: read it, then [`KeyCache::store`] it with this generation.
    Miss(u64),
    /// The cache cannot be trusted now (cross-instance changes are not being heard).
    Bypass,
}

impl KeyCache {
    /// `alone`: no other instance shares the database (SQLite), see [`TTL_ALONE`].
    pub fn new(bus: Bus, alone: bool) -> Self {
        KeyCache {
            state: Mutex::new(State {
                entries: HashMap::new(),
                signals: bus.subscribe(),
                generation: 0,
                tick: 0,
            }),
            bus,
            ttl: if alone { TTL_ALONE } else { TTL },
        }
    }

    pub fn get(&self, secret_hash: &str) -> Lookup {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.apply_signals();
        if !self.bus.hears_others() {
            state.clear();
            crate::meter::key_cache("bypass");
            return Lookup::Bypass;
        }
        state.tick += 1;
        let tick = state.tick;
        let ttl = self.ttl;
        match state.entries.get_mut(secret_hash) {
            Some(entry) if entry.cached_at.elapsed() < ttl => {
                entry.used = tick;
                crate::meter::key_cache("hit");
                Lookup::Hit(entry.key.clone())
            }
            Some(_) => {
                state.entries.remove(secret_hash);
                crate::meter::key_cache("miss");
                Lookup::Miss(state.generation)
            }
            None => {
                crate::meter::key_cache("miss");
                Lookup::Miss(state.generation)
            }
        }
    }

    /// Stores a key read from the database after [`Lookup::Miss`], unless something was
    /// invalidated since the look-up began.
    pub fn store(&self, secret_hash: String, key: VerifiedKey, generation: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.apply_signals();
        if state.generation != generation || !self.bus.hears_others() {
            return;
        }
        if state.entries.len() >= CAPACITY {
            state.evict_least_recently_used();
        }
        let used = state.tick;
        state.entries.insert(
            secret_hash,
            Entry {
                key,
                cached_at: Instant::now(),
                used,
            },
        );
    }

    /// Records a key's `last_used_at` write in its cached copy, so a busy cached key is
    /// written at most once per granularity.
    pub fn touched(&self, secret_hash: &str, at: DateTime<Utc>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = state.entries.get_mut(secret_hash) {
            entry.key.last_used_at = Some(at);
        }
    }

    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl State {
    fn apply_signals(&mut self) {
        loop {
            match self.signals.try_recv() {
                Ok(Signal::KeyChanged(key_id)) => {
                    self.entries.retain(|_, entry| entry.key.key_id != key_id);
                    self.generation += 1;
                }
                Ok(Signal::KeysUnknown) | Err(TryRecvError::Lagged(_)) => self.clear(),
                Ok(Signal::Committed) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.generation += 1;
    }

    /// Drops the least recently used eighth, so eviction is rare and cheap on average.
    fn evict_least_recently_used(&mut self) {
        let mut uses: Vec<u64> = self.entries.values().map(|e| e.used).collect();
        let cut = uses.len() / 8;
        let (_, threshold, _) = uses.select_nth_unstable(cut);
        let threshold = *threshold;
        self.entries.retain(|_, entry| entry.used > threshold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: Uuid) -> VerifiedKey {
        VerifiedKey {
            key_id: id,
            organization_id: Uuid::nil(),
            scopes: ScopeSet::all(),
            expires_at: None,
            last_used_at: None,
        }
    }

    fn miss(cache: &KeyCache, hash: &str) -> u64 {
        match cache.get(hash) {
            Lookup::Miss(generation) => generation,
            Lookup::Hit(_) => panic!("unexpected hit"),
            Lookup::Bypass => panic!("unexpected bypass"),
        }
    }

    #[test]
    fn a_stored_key_hits_until_it_changes() {
        let bus = Bus::new(true);
        let cache = KeyCache::new(bus.clone(), false);
        let id = Uuid::now_v7();
        let generation = miss(&cache, "h");
        cache.store("h".into(), key(id), generation);
        assert!(matches!(cache.get("h"), Lookup::Hit(k) if k.key_id == id));
        bus.publish(Signal::KeyChanged(Uuid::now_v7()));
        assert!(
            matches!(cache.get("h"), Lookup::Hit(_)),
            "another key changed"
        );
        bus.publish(Signal::KeyChanged(id));
        miss(&cache, "h");
    }

    #[test]
    fn a_look_up_that_raced_an_invalidation_is_not_stored() {
        let bus = Bus::new(true);
        let cache = KeyCache::new(bus.clone(), false);
        let id = Uuid::now_v7();
        let generation = miss(&cache, "h");
        // Revoked while the database was being read.
        bus.publish(Signal::KeyChanged(id));
        cache.store("h".into(), key(id), generation);
        miss(&cache, "h");
    }

    #[test]
    fn not_hearing_other_instances_flushes_and_bypasses() {
        let bus = Bus::new(true);
        let cache = KeyCache::new(bus.clone(), false);
        let generation = miss(&cache, "h");
        cache.store("h".into(), key(Uuid::now_v7()), generation);
        bus.set_hearing_others(false);
        assert!(matches!(cache.get("h"), Lookup::Bypass));
        assert!(cache.is_empty());
        bus.set_hearing_others(true);
        miss(&cache, "h");
        bus.publish(Signal::KeysUnknown);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_expire_and_the_cache_is_bounded() {
        let bus = Bus::new(true);
        let cache = KeyCache::new(bus, true);
        let generation = miss(&cache, "h");
        cache.store("h".into(), key(Uuid::now_v7()), generation);
        std::thread::sleep(TTL_ALONE + Duration::from_millis(50));
        miss(&cache, "h");
        for n in 0..CAPACITY + 10 {
            let hash = format!("k{n}");
            let generation = miss(&cache, &hash);
            cache.store(hash, key(Uuid::now_v7()), generation);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
