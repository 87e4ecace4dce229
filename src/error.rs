//! The one error type. Every layer (domain checks, services, auth, rate limits, the
//! GraphQL schema, the REST facade, panics, unknown routes) ends up as an [`AppError`].
//! The transports map it in one place each: `http::error_response` writes the contract's
//! body `{"success": false, "error", "code", "request_id"}`, and the GraphQL schema turns
//! it into an error with the same `extensions.code`.
//!
//! A failure of ours keeps its cause: [`AppError::Internal`] and
//! [`AppError::Unavailable`] carry the underlying error as their `source()`, so the one
//! log line written for them ([`AppError::log`]) shows the whole chain, while callers see
//! only a generic message.

use std::error::Error as StdError;
use std::fmt;

/// Any underlying error, kept for the logs.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// How long a caller should wait before retrying when a dependency is down.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

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
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("rate limit exceeded; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency (the database, Redis, Clerk's keys) cannot be reached: 503 with
    /// `Retry-After`, charged to no one.
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
        #[source]
        cause: Option<Cause>,
    },
    /// Our own failure. Never shown to callers: they see a generic message; the context
    /// and its cause chain go to the log.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        cause: Option<Cause>,
        /// Already written to the log where it happened (an error that crossed the
        /// GraphQL boundary and came back as a code), so it is not logged twice.
        logged: bool,
    },
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

    /// An internal failure described by `context` alone.
    pub fn internal(context: impl fmt::Display) -> Self {
        AppError::Internal {
            context: context.to_string(),
            cause: None,
            logged: false,
        }
    }

    /// An internal failure: what we were doing (`context`) and what went wrong (`cause`).
    pub fn internal_from(context: impl fmt::Display, cause: impl Into<Cause>) -> Self {
        AppError::Internal {
            context: context.to_string(),
            cause: Some(cause.into()),
            logged: false,
        }
    }

    /// A dependency is down; the caller may retry after a few seconds.
    pub fn unavailable(message: impl Into<String>) -> Self {
        AppError::Unavailable {
            message: message.into(),
            retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
            cause: None,
        }
    }

    pub fn unavailable_from(message: impl Into<String>, cause: impl Into<Cause>) -> Self {
        AppError::Unavailable {
            message: message.into(),
            retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
            cause: Some(cause.into()),
        }
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
            AppError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            AppError::Internal { .. } => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status the contract pairs with the code.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation { .. } | AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed { .. } => 405,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge { .. } => 413,
            AppError::UnsupportedMediaType(_) => 415,
            AppError::RateLimited { .. } => 429,
            AppError::Internal { .. } => 500,
            AppError::Unavailable { .. } => 503,
        }
    }

    /// Seconds a caller should wait before retrying (`Retry-After`), when that is known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs }
            | AppError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The message a caller may see. Internal details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal { .. } => "internal server error".to_owned(),
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
    /// response (the REST facade runs GraphQL operations). A rebuilt internal error was
    /// logged, with its cause, where it happened.
    pub fn from_code(code: &str, message: String, field: Option<String>) -> Self {
        match code {
            "VALIDATION_ERROR" => AppError::Validation { field, message },
            "BAD_REQUEST" => AppError::BadRequest(message),
            "UNAUTHORIZED" => AppError::Unauthorized(message),
            "FORBIDDEN" => AppError::Forbidden(message),
            "NOT_FOUND" => AppError::NotFound(message),
            "CONFLICT" => AppError::Conflict(message),
            "PAYLOAD_TOO_LARGE" => AppError::PayloadTooLarge {
                limit: message.len(),
            },
            "RATE_LIMITED" => AppError::RateLimited {
                retry_after_secs: 1,
            },
            "SERVICE_UNAVAILABLE" => AppError::unavailable(message),
            _ => AppError::Internal {
                context: message,
                cause: None,
                logged: true,
            },
        }
    }

    /// The error and every cause under it, `outer: inner: innermost`.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = self.source();
        while let Some(err) = cause {
            let next = err.to_string();
            // Wrappers often repeat their cause's text; say each thing once.
            if !text.ends_with(&next) {
                text.push_str(": ");
                text.push_str(&next);
            }
            cause = err.source();
        }
        text
    }

    /// Logs what the caller will not see, once, where the error becomes a response. The
    /// request id comes from the surrounding request span.
    pub fn log(&self) {
        match self {
            AppError::Internal { logged: true, .. } => {}
            AppError::Internal { .. } => {
                tracing::error!(error = %self.chain(), "internal error")
            }
            // Without a cause it was reported where it was found (or rebuilt from a code).
            AppError::Unavailable { cause: Some(_), .. } => {
                tracing::warn!(error = %self.chain(), "service unavailable")
            }
            _ => {}
        }
    }
}

/// When (Unix ms) a database error last turned out to be a connection fault; the pool
/// checks connections before use for a while after one (`db::connect`).
static LAST_CONNECTION_FAULT_MS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// Unix milliseconds of the last connection fault seen, 0 if none.
pub fn last_connection_fault_ms() -> u64 {
    LAST_CONNECTION_FAULT_MS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Unix milliseconds now, on the clock [`last_connection_fault_ms`] uses.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Records that a connection just failed: the pool checks connections before use for a
/// while (`db::connect_with`).
pub fn note_connection_fault() {
    LAST_CONNECTION_FAULT_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_connection_fault(&err) {
            if !is_acquire_timeout(&err) {
                note_connection_fault();
            }
            AppError::unavailable_from("the database is unavailable; retry shortly", err)
        } else {
            AppError::internal_from("database", err)
        }
    }
}

impl<E: fmt::Display> From<sea_orm::TransactionError<E>> for AppError
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

/// Whether the pool had no connection to give within its timeout: the database is slow or
/// down, not one pooled connection dead, so trying again at once would only double the
/// wait.
pub fn is_acquire_timeout(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            matches!(sqlx.as_ref(), sea_orm::sqlx::Error::PoolTimedOut)
        }
        _ => false,
    }
}

/// Whether a database error means the database cannot be reached (or is shutting down or
/// overloaded) rather than that the statement was wrong: those are 503, worth a retry.
pub fn is_connection_fault(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            is_sqlx_connection_fault(sqlx)
        }
        _ => false,
    }
}

fn is_sqlx_connection_fault(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        Error::Database(db) => match db.code() {
            // PostgreSQL: class 08 (connection exception), 57P01–57P03 (the server is
            // shutting down or starting), 53300 (too many connections). SQLite: 5 BUSY
            // and 6 LOCKED outlasted the busy timeout.
            Some(code) => {
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "57P01" | "57P02" | "57P03" | "53300" | "5" | "6"
                    )
            }
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_but_keep_their_cause() {
        let cause = std::io::Error::other("password=hunter2 at db.internal:5432");
        let err = AppError::internal_from("loading the lead", cause);
        assert_eq!(err.status(), 500);
        assert_eq!(err.code(), "INTERNAL_ERROR");
        assert!(!err.public_message().contains("hunter2"));
        assert_eq!(
            err.chain(),
            "loading the lead: password=hunter2 at db.internal:5432"
        );
    }

    #[test]
    fn validation_message_names_the_field() {
        let err = AppError::validation("limit", "must be between 1 and 100");
        assert_eq!(err.public_message(), "limit: must be between 1 and 100");
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn a_database_that_cannot_be_reached_is_unavailable_not_internal() {
        let down = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        let err = AppError::from(down);
        assert_eq!(err.status(), 503);
        assert_eq!(err.retry_after_secs(), Some(UNAVAILABLE_RETRY_AFTER_SECS));
        let io = sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(
            sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        )));
        assert_eq!(AppError::from(io).status(), 503);
        let wrong = sea_orm::DbErr::Custom("no such column".into());
        assert_eq!(AppError::from(wrong).status(), 500);
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
            AppError::unavailable("down"),
        ] {
            let rebuilt =
                AppError::from_code(err.code(), err.to_string(), err.field().map(str::to_owned));
            assert_eq!(rebuilt.code(), err.code());
            assert_eq!(rebuilt.status(), err.status());
        }
        let rebuilt = AppError::from_code("INTERNAL_ERROR", "internal server error".into(), None);
        assert!(matches!(rebuilt, AppError::Internal { logged: true, .. }));
    }
}

/// A fault that repeats (a loop meeting a database outage) logged once, then at most once
/// per [`FaultLog::EVERY`] with how many times it happened meanwhile, then once more when
/// it clears: an outage is a few lines, not one per retry.
pub struct FaultLog {
    what: &'static str,
    state: std::sync::Mutex<FaultState>,
}

#[derive(Default)]
struct FaultState {
    failing_since: Option<std::time::Instant>,
    logged_at: Option<std::time::Instant>,
    unlogged: u64,
}

impl FaultLog {
    pub const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    /// `what` names the work that fails, e.g. "claiming webhook deliveries".
    pub const fn new(what: &'static str) -> Self {
        FaultLog {
            what,
            state: std::sync::Mutex::new(FaultState {
                failing_since: None,
                logged_at: None,
                unlogged: 0,
            }),
        }
    }

    pub fn failed(&self, err: &dyn fmt::Display) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        state.failing_since.get_or_insert(now);
        if state
            .logged_at
            .is_some_and(|at| now.duration_since(at) < Self::EVERY)
        {
            state.unlogged += 1;
            return;
        }
        let repeated = std::mem::take(&mut state.unlogged);
        state.logged_at = Some(now);
        tracing::warn!(error = %err, repeated, "{} failed; retrying", self.what);
    }

    pub fn succeeded(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = state.failing_since.take() {
            let repeated = std::mem::take(&mut state.unlogged);
            state.logged_at = None;
            tracing::info!(
                failed_for_secs = since.elapsed().as_secs(),
                repeated,
                "{} works again",
                self.what
            );
        }
    }
}
