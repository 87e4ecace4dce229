//! The core's errors as GraphQL errors: the contract's `extensions.code` (and `field` for
//! validation), the public message, and the cause written to the log once, here, inside
//! the request's span.

use crate::error::AppError;

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.log();
        let code = err.code();
        let field = err.field().map(str::to_owned);
        let retry_after = err.retry_after_secs();
        async_graphql::ErrorExtensions::extend_with(
            async_graphql::Error::new(err.public_message()),
            move |_, ext| {
                ext.set("code", code);
                if let Some(field) = &field {
                    ext.set("field", field.as_str());
                }
                if let Some(seconds) = retry_after {
                    ext.set("retryAfter", seconds);
                }
            },
        )
    }
}
