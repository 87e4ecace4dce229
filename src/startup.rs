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
use crate::graphql::{self, Core, Schemas};
use crate::http::graphql::GraphqlRoute;
use crate::http::idempotency::Idempotency;
use crate::http::metrics::MetricsSource;
use crate::http::web;
use crate::http::ws::Sockets;
use crate::http::{
    ApiGuard, BodyLimit, CloseWhileDraining, Envelope, MAX_BODY_BYTES, Readiness, RenderErrors,
    health_check, readiness_check,
};
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
        let authenticator = Arc::new(Authenticator::new(&db, clerk));
        let limiter = RateLimiter::new(config.rate_limits.clone()).map_err(StartupError::Config)?;
        let guard = ApiGuard::new(
            authenticator,
            Arc::new(limiter),
            config.trusted_proxies.clone(),
        );
        let webhooks = crate::webhooks::Webhooks::new(config.webhooks.clone())
            .map_err(StartupError::Config)?;
        let state = AppState {
            core: Core {
                live: crate::live::LiveEvents::new(&db, config.websockets.max_replay),
                webhooks,
                db,
            },
            sockets: Sockets::new(config.websockets),
            readiness: Readiness::default(),
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

    /// Serves until `shutdown` resolves, then shuts down in order:
    /// 1. readiness answers 503 and every response says `Connection: close`;
    /// 2. the listener keeps serving for `shutdown_delay`, so load balancers stop routing
    ///    here while nothing is refused;
    /// 3. WebSockets get a close frame (1001);
    /// 4. the listener stops accepting, and requests in flight finish (up to
    ///    [`DRAIN_TIMEOUT`]);
    /// 5. the webhook dispatcher finishes its attempts in flight and stops.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        spawn_housekeeping(self.state.db().conn().clone());
        crate::db::listen::spawn(self.state.db());
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
        let readiness = self.state.readiness.clone();
        let sockets = self.state.sockets.clone();
        let delay = self.state.config.shutdown_delay;
        let shutdown = async move {
            shutdown.await;
            readiness.start_draining();
            tracing::info!(
                delay_secs = delay.as_secs_f64(),
                "shutting down: readiness is 503; still serving until load balancers stop routing here"
            );
            tokio::time::sleep(delay).await;
            sockets.close_all();
            // Give the close frames a moment to leave.
            let closed = async {
                while sockets.connections() > 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), closed).await;
            tracing::info!("no longer accepting connections; draining in-flight requests");
        };
        let app = routes(self.state);
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(DRAIN_TIMEOUT))
            .await;
        let _ = stopped.send(true);
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        tracing::info!("stopped");
        served
    }
}

/// Starts `GET /metrics` on `bind` (its own listener), sampling `source` on each scrape.
/// Returns the bound address; the listener lives as long as the process.
pub async fn serve_metrics(
    bind: std::net::SocketAddr,
    source: MetricsSource,
) -> Result<std::net::SocketAddr, StartupError> {
    let acceptor = TcpListener::bind(bind).into_acceptor().await?;
    let address = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .unwrap_or(bind);
    // Not behind the envelope: scrapes are not API traffic, and must not count in it.
    let app = Route::new()
        .at("/metrics", get(crate::http::metrics::metrics))
        .data(source);
    tokio::spawn(async move {
        if let Err(err) = Server::new_with_acceptor(acceptor).run(app).await {
            tracing::error!(error = %err, "the metrics listener stopped");
        }
    });
    tracing::info!(address = %address, "metrics listening");
    Ok(address)
}

/// How long requests in flight may take to finish once the listener stops accepting.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Every route, wrapped in the middleware stack.
pub fn routes(state: AppState) -> impl Endpoint + 'static {
    let readiness = state.readiness.clone();
    let schemas = Schemas::build(state.core.clone());
    // Anonymous GraphQL requests are allowed: the public booking operations need no
    // credential; every other field refuses them with UNAUTHORIZED. Widgets call it from
    // other origins, hence CORS (bearer tokens only, no cookies).
    let websocket = || {
        // Sockets authenticate in `connection_init`; the guard still counts the upgrade.
        crate::http::ws::graphql_ws
            .into_endpoint()
            .with(state.guard.optional())
    };
    // Errors are rendered before CORS sees them: poem's `Cors` would answer them with a
    // bare status, losing the contract's body and the rate-limit headers.
    let render_errors = || RenderErrors {
        allowed_methods: rest::allowed_methods,
    };
    let graphql_endpoint = GraphqlRoute {
        http: crate::http::graphql::graphql_http
            .into_endpoint()
            .with(state.guard.optional()),
        websocket: websocket(),
    }
    .with(render_errors())
    .with(widget_cors())
    .with(VaryOrigin);
    let live_endpoint = get(websocket())
        .with(render_errors())
        .with(widget_cors())
        .with(VaryOrigin);
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
        .at("/", get(web::index))
        .at("/widget.js", get(web::widget_js))
        .at("/widget.css", get(web::static_file))
        .at("/site.css", get(web::static_file))
        .at("/playground/*path", get(web::static_file))
        .at("/book/:slug", get(web::booking_page))
        .at("/book/manage/:token", get(web::manage_page))
        .at(
            "/book/manage/:token/booking.ics",
            get(web::booking_ics
                .into_endpoint()
                .with(state.guard.optional())),
        )
        .at("/health", get(health_check))
        .at("/health/ready", get(readiness_check))
        .at("/graphql", graphql_endpoint)
        .at("/graphql/ws", live_endpoint)
        .nest("/v1", rest)
        .at("/openapi.json", get(rest::openapi_json))
        .at("/openapi.yaml", get(rest::openapi_yaml))
        .at("/docs", get(rest::docs))
        .with(BodyLimit::new(MAX_BODY_BYTES))
        .data(schemas.full.clone())
        .data(schemas)
        .data(state.sockets.clone())
        .data(state.readiness.clone())
        .data(state.core.clone())
        .data(state.guard.clone())
        .data(state)
        .with(Envelope::new(rest::allowed_methods).with_routes(rest::route_of))
        .with(CloseWhileDraining(readiness))
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
        tracing::info!("shutdown requested");
    }
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown requested");
    }
}

/// Adds `Vary: Origin` wherever CORS reflected the caller's origin, so a shared cache
/// never hands one origin's answer to another.
struct VaryOrigin;

impl<E: Endpoint> poem::Middleware<E> for VaryOrigin {
    type Output = VaryOriginEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        VaryOriginEndpoint(inner)
    }
}

struct VaryOriginEndpoint<E>(E);

impl<E: Endpoint> Endpoint for VaryOriginEndpoint<E> {
    type Output = poem::Response;

    async fn call(&self, req: poem::Request) -> poem::Result<poem::Response> {
        use poem::IntoResponse;
        use poem::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, VARY};
        // Cors sets `Vary: Origin` in place of what the handler said; the union of both
        // is what a shared cache must key on.
        let vary = |headers: &mut poem::http::HeaderMap, also: Option<&str>| {
            let reflected = headers
                .get(ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_some_and(|origin| origin != "*");
            let mut names: Vec<String> = Vec::new();
            let present: Vec<String> = headers
                .get_all(VARY)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect();
            let listed = present
                .iter()
                .map(String::as_str)
                .chain(also)
                .chain(reflected.then_some("Origin"));
            for name in listed.flat_map(|v| v.split(',')).map(str::trim) {
                if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    names.push(name.to_owned());
                }
            }
            if names.is_empty() {
                return;
            }
            if let Ok(value) = poem::http::HeaderValue::from_str(&names.join(", ")) {
                headers.insert(VARY, value);
            }
        };
        match self.0.call(req).await {
            Ok(output) => {
                let mut response = output.into_response();
                let also = response.data::<crate::http::graphql::Varies>().map(|v| v.0);
                vary(response.headers_mut(), also);
                Ok(response)
            }
            Err(mut err) => {
                // Errors are rendered by the envelope; carry the header there.
                let mut extra = err
                    .data::<crate::http::ExtraHeaders>()
                    .map(|h| h.0.clone())
                    .unwrap_or_default();
                extra.append(VARY, poem::http::HeaderValue::from_static("Origin"));
                err.set_data(crate::http::ExtraHeaders(extra));
                Err(err)
            }
        }
    }
}
