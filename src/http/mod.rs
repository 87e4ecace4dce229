//! The HTTP edge: request ids and the request span, the error envelope every failure
//! leaves through, panic containment, access logs, health, the guard (authentication and
//! rate limits) in front of the API surfaces, idempotent retries, and the GraphQL
//! endpoints (HTTP and WebSocket).

mod body_limit;
mod envelope;
pub mod graphql;
pub mod guard;
mod health;
pub mod idempotency;
pub mod metrics;
pub mod web;
pub mod ws;

pub use body_limit::BodyLimit;
pub use envelope::{Envelope, ExtraHeaders, RenderErrors, RequestId, classify, error_response};
pub use guard::{ApiGuard, ApiGuardEndpoint};
pub use health::{CloseWhileDraining, Readiness, health_check, readiness_check, readiness_report};

use crate::error::AppError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The one mapping of the core's error onto poem's: the envelope later renders it.
pub fn into_poem_error(err: AppError) -> poem::Error {
    let status = poem::http::StatusCode::from_u16(err.status())
        .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    poem::Error::new(err, status)
}
