//! The error body of every failed request.

use poem_openapi::Object;
use serde::Serialize;

use super::enums::{ErrorCode, Wire, WireEnum};
use super::scalars::Failed;
use crate::error::AppError;

/// The error body of every failed request.
#[derive(Debug, Clone, Serialize, Object)]
#[oai(example)]
pub struct ErrorBody {
    pub success: Failed,
    /// A human-readable message. For validation errors it names the field.
    pub error: String,
    pub code: Wire<ErrorCode>,
    /// The request's `X-Request-Id`; quote it when contacting support. Null only for an
    /// error raised before the request had an id.
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(err: &AppError, request_id: Option<&str>) -> Self {
        ErrorBody {
            success: Failed,
            error: err.public_message(),
            // `AppError::code` is always a contract code (a test in `enums` checks).
            code: Wire(ErrorCode::from_wire(err.code()).unwrap_or(ErrorCode::InternalError)),
            request_id: request_id.map(str::to_owned),
        }
    }
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            success: Failed,
            error: "lead `lead_01m434fkz0fmd8gw1mkwp861jc` not found".to_owned(),
            code: Wire(ErrorCode::NotFound),
            request_id: Some("req_01mbx7q2r9h4k6m8p1r3t5v7w9".to_owned()),
        }
    }
}
