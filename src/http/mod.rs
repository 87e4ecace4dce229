//! The HTTP edge: request ids, the error envelope every failure leaves through, panic
//! containment, access logs and the health check.

mod body_limit;
mod envelope;
mod health;

pub use body_limit::BodyLimit;
pub use envelope::{Envelope, RequestId, classify, error_response};
pub use health::health_check;
