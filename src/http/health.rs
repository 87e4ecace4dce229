//! Liveness (`GET /health`, the public doc's check), readiness (`GET /health/ready`, for
//! load balancers and orchestrators), and the draining state shutdown sets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::http::header::CONNECTION;
use poem::web::{Data, Json};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, handler};
use serde_json::{Value, json};

use super::ApiGuard;
use crate::db::Database;
use crate::graphql::Core;
use crate::ratelimit::RateLimiter;

/// Whether this process still takes traffic. Shutdown turns it to draining first, so
/// readiness answers 503 while the listener still serves (`--shutdown-delay`).
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// `GET /health`: no auth. 200 when the database answers, 503 when it does not.
#[handler]
pub async fn health_check(core: Data<&Core>) -> Response {
    match crate::db::read_twice(|| core.db.ping()).await {
        Ok(()) => Json(json!({"success": true, "status": "ok", "database": "ok"})).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            unavailable(json!({
                "success": false,
                "status": "degraded",
                "database": "unavailable",
                "error": "the database is unavailable",
                "code": "SERVICE_UNAVAILABLE",
            }))
        }
    }
}

fn unavailable(body: Value) -> Response {
    Json(body)
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .with_header(
            "retry-after",
            crate::error::UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
        )
        .into_response()
}

/// One dependency's state, as readiness reports it.
fn check(ok: bool, started: Instant, error: Option<String>) -> Value {
    let mut value = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "latency_ms": (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
    });
    if let Some(error) = error {
        value["error"] = Value::String(error);
    }
    value
}

/// How long readiness waits on any one dependency.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether this process is ready for traffic, with each check's status and latency: the
/// database answers, Redis answers (when rate limits are shared through it), every
/// migration this build knows is applied, and the process is not draining. Errors name
/// the dependency, never its address or credentials.
pub async fn readiness_report(
    db: &Database,
    limiter: Option<&RateLimiter>,
    readiness: &Readiness,
) -> (bool, Value) {
    // The checks run side by side, so a dead database costs one timeout, not two.
    let database = async {
        let started = Instant::now();
        match tokio::time::timeout(READY_TIMEOUT, crate::db::read_twice(|| db.ping())).await {
            Ok(Ok(())) => check(true, started, None),
            Ok(Err(_)) => check(false, started, Some("the database does not answer".into())),
            Err(_) => check(
                false,
                started,
                Some("the database answered too slowly".into()),
            ),
        }
    };
    let migrations = async {
        let started = Instant::now();
        match tokio::time::timeout(READY_TIMEOUT, crate::db::pending_migrations(db.conn())).await {
            Ok(Ok(0)) => check(true, started, None),
            Ok(Ok(pending)) => {
                let mut value = check(false, started, Some(format!("{pending} not applied")));
                value["pending"] = json!(pending);
                value
            }
            Ok(Err(_)) | Err(_) => check(
                false,
                started,
                Some("cannot read the applied migrations".into()),
            ),
        }
    };
    let (database, migrations) = tokio::join!(database, migrations);
    let redis = match limiter {
        Some(limiter) => {
            let started = Instant::now();
            limiter.ping().await.map(|answer| match answer {
                Ok(_) => check(true, started, None),
                Err(_) => check(false, started, Some("Redis does not answer".into())),
            })
        }
        None => None,
    };
    let draining = readiness.is_draining();
    let mut checks = serde_json::Map::new();
    checks.insert("database".into(), database);
    if let Some(redis) = redis {
        checks.insert("redis".into(), redis);
    }
    checks.insert("migrations".into(), migrations);
    checks.insert(
        "draining".into(),
        json!({"status": if draining { "draining" } else { "ok" }}),
    );
    let ready = checks.values().all(|c| c["status"] == "ok");
    let mut body = json!({
        "success": ready,
        "status": if ready { "ready" } else { "not_ready" },
        "checks": checks,
    });
    if !ready {
        body["code"] = json!("SERVICE_UNAVAILABLE");
        body["error"] = json!(if draining {
            "this instance is shutting down"
        } else {
            "a dependency is not ready"
        });
    }
    crate::meter::ready(ready);
    (ready, body)
}

/// `GET /health/ready`: no auth. 200 when [`readiness_report`] says ready, else 503.
#[handler]
pub async fn readiness_check(
    core: Data<&Core>,
    guard: Data<&ApiGuard>,
    readiness: Data<&Readiness>,
) -> Response {
    let (ready, body) = readiness_report(&core.db, Some(guard.limiter()), &readiness).await;
    if ready {
        Json(body).into_response()
    } else {
        unavailable(body)
    }
}

/// While draining, every response says `Connection: close`, so clients open their next
/// request on a new connection (to an instance that is not going away) instead of
/// reusing one this process is about to close.
pub struct CloseWhileDraining(pub Readiness);

impl<E: Endpoint> Middleware<E> for CloseWhileDraining {
    type Output = CloseWhileDrainingEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CloseWhileDrainingEndpoint(inner, self.0.clone())
    }
}

pub struct CloseWhileDrainingEndpoint<E>(E, Readiness);

impl<E: Endpoint> Endpoint for CloseWhileDrainingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let mut response = self.0.call(req).await?.into_response();
        if self.1.is_draining() && response.status() != StatusCode::SWITCHING_PROTOCOLS {
            response
                .headers_mut()
                .insert(CONNECTION, poem::http::HeaderValue::from_static("close"));
        }
        Ok(response)
    }
}
