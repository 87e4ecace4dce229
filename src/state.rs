//! What the running server holds: the core the schema runs on, the settings, and the
//! guard in front of every API surface.

use std::sync::Arc;

use crate::config::Config;
use crate::graphql::Core;
use crate::http::ApiGuard;

#[derive(Clone)]
pub struct AppState {
    /// The database, webhooks and live feed, as the schema (and the REST facade through
    /// it) uses them.
    pub core: Core,
    pub config: Arc<Config>,
    /// Authentication and rate limits: wrap every API surface in it.
    pub guard: ApiGuard,
}

impl AppState {
    pub fn db(&self) -> &crate::db::Database {
        &self.core.db
    }
}
