//! Building the application: routes, middleware and the listening socket. Tests build it
//! the same way on port 0.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route, Server, get};
use sea_orm::DatabaseConnection;

use crate::auth::Authenticator;
use crate::auth::clerk::ClerkVerifier;
use crate::config::{Config, MAX_BODY_BYTES};
use crate::graphql::{self, AuraSchema};
use crate::http::{ApiGuard, BodyLimit, Envelope, health_check};
use crate::ratelimit::RateLimiter;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

pub struct Application {
    acceptor: TcpAcceptor,
    port: u16,
    state: AppState,
}

impl Application {
    /// Connects, migrates and binds.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = crate::db::connect(&config.database_url).await?;
        crate::db::migrate(&db).await?;
        Self::build_with_db(config, db).await
    }

    /// Binds over an already migrated connection (tests instrument theirs).
    pub async fn build_with_db(
        config: Config,
        db: DatabaseConnection,
    ) -> Result<Self, StartupError> {
        let acceptor = TcpListener::bind(config.bind).into_acceptor().await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
            .unwrap_or(config.bind.port());
        crate::tls::install_crypto_provider();
        let clerk = match &config.clerk {
            Some(clerk) => Some(ClerkVerifier::new(clerk).map_err(StartupError::Config)?),
            None => None,
        };
        let authenticator = Arc::new(Authenticator::new(db.clone(), clerk));
        let limiter = RateLimiter::new(config.rate_limits.clone()).map_err(StartupError::Config)?;
        let guard = ApiGuard::new(authenticator, Arc::new(limiter));
        let state = AppState {
            db,
            config: Arc::new(config),
            guard,
        };
        Ok(Application {
            acceptor,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests for up to 10 s.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = routes(self.state);
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
            .await
    }
}

/// Every route, wrapped in the middleware stack.
pub fn routes(state: AppState) -> impl Endpoint + 'static {
    let schema: AuraSchema = graphql::build_schema(Some(state.clone()));
    let graphql_endpoint = get(graphql::playground).post(
        graphql::graphql_http
            .into_endpoint()
            .with(state.guard.clone()),
    );
    Route::new()
        .at("/health", get(health_check))
        .at("/graphql", graphql_endpoint)
        .with(BodyLimit::new(MAX_BODY_BYTES))
        .data(schema)
        .data(state)
        .with(Envelope::new(allowed_methods))
}

/// The methods a path answers to, for `Allow` on 405.
fn allowed_methods(path: &str) -> Vec<String> {
    let methods: &[&str] = match path {
        "/health" => &["GET"],
        "/graphql" => &["GET", "POST"],
        _ => &[],
    };
    methods.iter().map(|m| (*m).to_owned()).collect()
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
