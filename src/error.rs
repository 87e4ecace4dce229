//! The one error type. Every layer (auth, rate limits, validation, the GraphQL schema, the
//! REST facade, panics, unknown routes) ends up as an [`AppError`], which becomes both the
//! REST body `{"success": false, "error", "code", "request_id"}` and a GraphQL error with
//! the same `extensions.code`.

use poem::http::StatusCode;
use poem_openapi::Object;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that fails validation. `field` names the offending input in the caller's
    /// spelling (`limit`, `created_after`, `email`).
    #[error("{message}")]
    Validation {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("rate limit exceeded; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// Never shown to callers: the message is logged and the caller sees a generic one.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        AppError::Internal(err.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "VALIDATION_ERROR",
            AppError::BadRequest(_) => "BAD_REQUEST",
            AppError::Unauthorized(_) => "UNAUTHORIZED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            AppError::Conflict(_) => "CONFLICT",
            AppError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a caller may see. Internal details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal server error".to_owned(),
            AppError::Validation {
                field: Some(field),
                message,
            } if !message.starts_with(field.as_str()) => format!("{field}: {message}"),
            other => other.to_string(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// Rebuilds an error from its code and message, as they come back out of a GraphQL
    /// response (the REST facade runs GraphQL operations).
    pub fn from_code(code: &str, message: String, field: Option<String>) -> Self {
        match code {
            "VALIDATION_ERROR" => AppError::Validation { field, message },
            "BAD_REQUEST" => AppError::BadRequest(message),
            "UNAUTHORIZED" => AppError::Unauthorized(message),
            "FORBIDDEN" => AppError::Forbidden(message),
            "NOT_FOUND" => AppError::NotFound(message),
            "CONFLICT" => AppError::Conflict(message),
            "RATE_LIMITED" => AppError::RateLimited {
                retry_after_secs: 1,
            },
            "SERVICE_UNAVAILABLE" => AppError::Unavailable(message),
            _ => AppError::Internal(message),
        }
    }

    /// Logs what the caller will not see. Called once, where the error becomes a response.
    pub fn log(&self, request_id: &str) {
        match self {
            AppError::Internal(detail) => {
                tracing::error!(request_id, error = %detail, "internal error")
            }
            AppError::Unavailable(detail) => {
                tracing::warn!(request_id, error = %detail, "service unavailable")
            }
            _ => {}
        }
    }

    pub fn body(&self, request_id: Option<&str>) -> ErrorBody {
        ErrorBody {
            success: false,
            error: self.public_message(),
            code: self.code().to_owned(),
            request_id: request_id.map(str::to_owned),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}

impl<E: std::fmt::Display> From<sea_orm::TransactionError<E>> for AppError
where
    AppError: From<E>,
{
    fn from(err: sea_orm::TransactionError<E>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner.into(),
        }
    }
}

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
    /// `RATE_LIMITED`, `INTERNAL_ERROR`, `SERVICE_UNAVAILABLE`.
    pub code: String,
    /// The request's `X-Request-Id`; quote it when contacting support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
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

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let field = err.field().map(str::to_owned);
        if let AppError::Internal(detail) = &err {
            tracing::error!(error = %detail, "internal error in a GraphQL resolver");
        }
        async_graphql::ErrorExtensions::extend_with(
            async_graphql::Error::new(err.public_message()),
            move |_, ext| {
                ext.set("code", code);
                if let Some(field) = &field {
                    ext.set("field", field.as_str());
                }
            },
        )
    }
}

impl From<AppError> for poem::Error {
    fn from(err: AppError) -> Self {
        let status = err.status();
        poem::Error::new(err, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak() {
        let err = AppError::internal("password=hunter2 at db.internal:5432");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = err.body(Some("req_1"));
        assert_eq!(body.code, "INTERNAL_ERROR");
        assert!(!body.error.contains("hunter2"));
    }

    #[test]
    fn validation_message_names_the_field() {
        let err = AppError::validation("limit", "must be between 1 and 100");
        assert_eq!(err.public_message(), "limit: must be between 1 and 100");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn codes_round_trip_through_graphql() {
        for err in [
            AppError::validation("x", "bad"),
            AppError::BadRequest("b".into()),
            AppError::Unauthorized("u".into()),
            AppError::Forbidden("f".into()),
            AppError::NotFound("n".into()),
            AppError::Conflict("c".into()),
        ] {
            let rebuilt =
                AppError::from_code(err.code(), err.to_string(), err.field().map(str::to_owned));
            assert_eq!(rebuilt.code(), err.code());
            assert_eq!(rebuilt.status(), err.status());
        }
    }
}
