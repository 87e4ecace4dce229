//! What every handler shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::http::ApiGuard;
use crate::live::LiveEvents;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// Authentication and rate limits: wrap every API surface in it (`.with(state.guard.clone())`).
    pub guard: ApiGuard,
    /// The outbox watcher behind the `events` subscription (one per process).
    pub live: LiveEvents,
    /// Webhook signing, sending and the dispatcher's wake-up bell.
    pub webhooks: crate::webhooks::Webhooks,
}
