//! What the running server holds: the core the schema runs on, the settings, and the
//! guard in front of every API surface.

use std::sync::Arc;

use crate::config::Config;
use crate::graphql::Core;
use crate::http::ws::Sockets;
use crate::http::{ApiGuard, Readiness};

#[derive(Clone)]
pub struct AppState {
    /// The database, webhooks and live feed, as the schema (and the REST facade through
    /// it) uses them.
    pub core: Core,
    pub config: Arc<Config>,
    /// Authentication and rate limits: wrap every API surface in it.
    pub guard: ApiGuard,
    /// Turns to draining on shutdown (readiness 503, `Connection: close`).
    pub readiness: Readiness,
    /// The open WebSockets: counted, capped, and closed with 1001 on shutdown.
    pub sockets: Sockets,
}

impl AppState {
    pub fn db(&self) -> &crate::db::Database {
        &self.core.db
    }
}
