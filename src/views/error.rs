//! The error body of every failed request.

use poem_openapi::Object;
use serde::Serialize;

use crate::error::AppError;

/// The error body of every failed request.
#[derive(Debug, Clone, Serialize, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// A human-readable message. For validation errors it names the field.
    pub error: String,
    /// A stable, machine-readable code: `VALIDATION_ERROR`, `BAD_REQUEST`, `UNAUTHORIZED`,
    /// `FORBIDDEN`, `NOT_FOUND`, `METHOD_NOT_ALLOWED`, `CONFLICT`, `PAYLOAD_TOO_LARGE`,
    /// `UNSUPPORTED_MEDIA_TYPE`, `RATE_LIMITED`, `INTERNAL_ERROR`, `SERVICE_UNAVAILABLE`.
    pub code: String,
    /// The request's `X-Request-Id`; quote it when contacting support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    pub fn new(err: &AppError, request_id: Option<&str>) -> Self {
        ErrorBody {
            success: false,
            error: err.public_message(),
            code: err.code().to_owned(),
            request_id: request_id.map(str::to_owned),
        }
    }
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            success: false,
            error: "lead not found".to_owned(),
            code: "NOT_FOUND".to_owned(),
            request_id: Some("req_01jdq3k7b8x9m2n4p5r6s7t8v9".to_owned()),
        }
    }
}
