//! Logging, set up once per process: readable lines by default, JSON when asked.

use tracing_subscriber::{EnvFilter, fmt};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. `filter` is an `EnvFilter` directive such as
/// `info` or `aura=debug,sea_orm=warn`.
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("invalid log filter: {e}"))?;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| format!("could not install the logger: {e}"))
}

/// Installs the process's metrics recorder (Prometheus, with the histogram buckets of
/// `crate::meter`) and records the build. Once per process; later calls get the same
/// handle.
pub fn install_metrics() -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let bucketed = |builder: PrometheusBuilder, name: &str, buckets: &[f64]| {
        builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            .map_err(|e| format!("metric buckets: {e}"))
    };
    let builder = PrometheusBuilder::new();
    let builder = bucketed(
        builder,
        crate::meter::HTTP_REQUEST_DURATION,
        crate::meter::LATENCY_BUCKETS,
    )?;
    let builder = bucketed(
        builder,
        crate::meter::GRAPHQL_OPERATION_DURATION,
        crate::meter::LATENCY_BUCKETS,
    )?;
    let builder = bucketed(builder, crate::meter::OUTBOX_LAG, crate::meter::LAG_BUCKETS)?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    crate::meter::describe();
    crate::meter::build_info();
    // Gauges that move by increments start at zero, so they are scraped before first use.
    crate::meter::http_active(0.0);
    crate::meter::websocket_connections(0.0);
    crate::meter::live_subscriptions(0.0);
    let _ = HANDLE.set(handle.clone());
    Ok(handle)
}
