//! Building the application: routes, middleware and the listening socket. Tests build it
//! the same way on port 0.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::http::Method;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route, Server, get};
use sea_orm::DatabaseConnection;

use crate::auth::Authenticator;
use crate::auth::clerk::ClerkVerifier;
use crate::config::Config;
use crate::db::Database;
use crate::graphql::{self, AuraSchema, Core};
use crate::http::idempotency::Idempotency;
use crate::http::{ApiGuard, BodyLimit, Envelope, MAX_BODY_BYTES, health_check};
use crate::ratelimit::RateLimiter;
use crate::rest;
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
        let db =
            crate::db::connect_with(&config.database_url, config.database_max_connections).await?;
        crate::db::migrate(&db).await?;
        Self::build_with_db(config, db).await
    }

    /// Binds over an already migrated connection (tests instrument theirs).
    pub async fn build_with_db(
        config: Config,
        db: DatabaseConnection,
    ) -> Result<Self, StartupError> {
        Self::build_with_database(config, Database::new(db)).await
    }

    /// Binds over an already migrated [`Database`] (tests observe its statements).
    pub async fn build_with_database(config: Config, db: Database) -> Result<Self, StartupError> {
        #[cfg(feature = "bench")]
        if config.bench_routes {
            crate::bench_routes::count_statements(&db);
        }
        let acceptor = TcpListener::bind(config.bind).into_acceptor().await?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
            .unwrap_or(config.bind.port());
        crate::crypto::tls::install_crypto_provider();
        let clerk = match &config.clerk {
            Some(clerk) => Some(ClerkVerifier::new(clerk).map_err(StartupError::Config)?),
            None => None,
        };
        let authenticator = Arc::new(Authenticator::new(db.conn().clone(), clerk));
        let limiter = RateLimiter::new(config.rate_limits.clone()).map_err(StartupError::Config)?;
        let guard = ApiGuard::new(authenticator, Arc::new(limiter));
        let webhooks = crate::webhooks::Webhooks::new(config.webhooks.clone())
            .map_err(StartupError::Config)?;
        let state = AppState {
            core: Core {
                live: crate::live::LiveEvents::new(db.conn().clone()),
                webhooks,
                db,
            },
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
        spawn_housekeeping(self.state.db().conn().clone());
        // The dispatcher stops with the server; in-flight attempts finish first.
        let (stopped, stop) = tokio::sync::watch::channel(false);
        let dispatcher = self.state.config.webhooks.run_dispatcher.then(|| {
            let dispatcher = crate::webhooks::Dispatcher::new(
                self.state.db().clone(),
                self.state.core.webhooks.clone(),
            );
            let mut stop = stop.clone();
            tokio::spawn(dispatcher.run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            }))
        });
        let app = routes(self.state);
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
            .await;
        let _ = stopped.send(true);
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        served
    }
}

/// Every route, wrapped in the middleware stack.
pub fn routes(state: AppState) -> impl Endpoint + 'static {
    let schema: AuraSchema = graphql::build_schema(Some(state.core.clone()));
    // Anonymous GraphQL requests are allowed: the public booking operations need no
    // credential; every other field refuses them with UNAUTHORIZED. Widgets call it from
    // other origins, hence CORS (bearer tokens only, no cookies).
    let graphql_endpoint = get(crate::http::graphql::playground)
        .post(
            crate::http::graphql::graphql_http
                .into_endpoint()
                .with(state.guard.optional()),
        )
        .with(widget_cors());
    // Subscriptions authenticate in `connection_init`; the guard still counts the upgrade.
    let live_endpoint = get(crate::http::ws::graphql_ws
        .into_endpoint()
        .with(state.guard.optional()))
    .with(widget_cors());
    let rest = rest::service()
        .into_endpoint()
        .with(Idempotency::new(
            state.db().conn().clone(),
            state.config.webhooks.secret_box.clone(),
            rest::allowed_methods,
        ))
        .with(state.guard.clone())
        .data(graphql::build_rest_schema(state.core.clone()));
    let route = Route::new();
    #[cfg(feature = "bench")]
    let route = if state.config.bench_routes {
        route.nest("/bench", crate::bench_routes::routes())
    } else {
        route
    };
    route
        .at("/health", get(health_check))
        .at("/graphql", graphql_endpoint)
        .at("/graphql/ws", live_endpoint)
        .nest("/v1", rest)
        .at("/openapi.json", get(rest::openapi_json))
        .at("/openapi.yaml", get(rest::openapi_yaml))
        .at("/docs", get(rest::docs))
        .with(BodyLimit::new(MAX_BODY_BYTES))
        .data(schema)
        .data(state.core.clone())
        .data(state.guard.clone())
        .data(state)
        .with(Envelope::new(rest::allowed_methods))
}

/// CORS for browser callers of `/graphql`: any origin, no credentials (cookies are never
/// used; auth is a bearer header), and the response headers clients need to read.
fn widget_cors() -> Cors {
    Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(["authorization", "content-type", "x-request-id"])
        .expose_headers([
            "x-request-id",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
        ])
        .max_age(86_400)
}

/// Periodic clean-up that needs no coordination between instances.
fn spawn_housekeeping(db: DatabaseConnection) {
    tokio::spawn(async move {
        let hour = Duration::from_secs(3600);
        let mut every_hour = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
        loop {
            every_hour.tick().await;
            match crate::http::idempotency::purge_expired(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "purged expired idempotency keys"),
                Err(err) => tracing::warn!(error = %err, "could not purge idempotency keys"),
            }
            match crate::events::purge_expired(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "purged events older than 30 days"),
                Err(err) => tracing::warn!(error = %err, "could not purge old events"),
            }
        }
    });
}

/// A future that resolves on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives while the server
/// is still starting is not lost to the default action (immediate death).
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (terminate, interrupt) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            (Err(err), _) | (_, Err(err)) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM/SIGINT; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
    }
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: draining in-flight requests");
    }
}
