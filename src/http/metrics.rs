//! `GET /metrics` on its own listener (`--metrics-bind`): the Prometheus text format,
//! rendered by `metrics-exporter-prometheus`. Gauges that describe shared state (the
//! webhook backlog, the pool, readiness) are sampled when scraped, so every process
//! reports them fresh without a timer of its own.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use poem::web::Data;
use poem::{IntoResponse, Response, handler};

use super::health::{Readiness, readiness_report};
use crate::db::Database;
use crate::ratelimit::RateLimiter;

/// What a scrape samples: this process's database, its limiter (servers only), and its
/// readiness.
#[derive(Clone)]
pub struct MetricsSource {
    pub handle: PrometheusHandle,
    pub db: Database,
    pub limiter: Option<Arc<RateLimiter>>,
    pub readiness: Readiness,
}

/// The longest a scrape waits for the backlog query (a slow database must not stall it).
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

#[handler]
pub async fn metrics(source: Data<&MetricsSource>) -> Response {
    sample_pool(&source.db);
    let (_ready, _) =
        readiness_report(&source.db, source.limiter.as_deref(), &source.readiness).await;
    match tokio::time::timeout(SAMPLE_TIMEOUT, crate::webhooks::backlog(&source.db)).await {
        Ok(Ok((pending, oldest))) => crate::meter::webhook_backlog(pending, oldest),
        Ok(Err(err)) => tracing::debug!(error = %err, "metrics: cannot read the webhook backlog"),
        Err(_) => tracing::debug!("metrics: the webhook backlog query timed out"),
    }
    source
        .handle
        .render()
        .with_content_type("text/plain; version=0.0.4; charset=utf-8")
        .into_response()
}

fn sample_pool(db: &Database) {
    use sea_orm::DbBackend;
    let (size, idle, max) = match db.backend() {
        DbBackend::Postgres => {
            let pool = db.conn().get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle() as u32,
                pool.options().get_max_connections(),
            )
        }
        _ => {
            let pool = db.conn().get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle() as u32,
                pool.options().get_max_connections(),
            )
        }
    };
    crate::meter::db_pool("main", size.saturating_sub(idle), idle, max);
}
