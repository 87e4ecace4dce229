use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde_json::json;

use crate::graphql::Core;

/// `GET /health`: no auth. 200 when the database answers, 503 when it does not.
#[handler]
pub async fn health_check(core: Data<&Core>) -> Response {
    match core.db.ping().await {
        Ok(()) => Json(json!({"success": true, "status": "ok", "database": "ok"})).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            Json(json!({
                "success": false,
                "status": "degraded",
                "database": "unavailable",
                "error": "the database is unavailable",
                "code": "SERVICE_UNAVAILABLE",
            }))
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .into_response()
        }
    }
}
