//! The HTTP edge: request ids, the error envelope every failure leaves through, panic
//! containment, access logs, the health check, and the guard (authentication and rate
//! limits) in front of the API surfaces.

mod body_limit;
mod envelope;
mod guard;
mod health;

pub use body_limit::BodyLimit;
pub use envelope::{Envelope, ExtraHeaders, RequestId, classify, error_response};
pub use guard::{ApiGuard, ApiGuardEndpoint};
pub use health::health_check;
