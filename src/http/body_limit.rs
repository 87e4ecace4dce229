use poem::http::header;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::error::AppError;

/// Refuses bodies over `max` bytes with 413, whether their length is declared or they
/// arrive chunked. (poem's `SizeLimit` refuses every request without `Content-Length`,
/// GETs included.)
pub struct BodyLimit {
    max: usize,
}

impl BodyLimit {
    pub fn new(max: usize) -> Self {
        BodyLimit { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let too_large = || AppError::PayloadTooLarge { limit: self.max };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(length) if length > self.max as u64 => {
                return Err(super::into_poem_error(too_large()));
            }
            Some(_) => {}
            None if req.headers().contains_key(header::TRANSFER_ENCODING) => {
                let body = req.take_body();
                match body.into_bytes_limit(self.max).await {
                    Ok(bytes) => req.set_body(bytes),
                    Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                        return Err(super::into_poem_error(too_large()));
                    }
                    Err(err) => {
                        return Err(super::into_poem_error(AppError::BadRequest(format!(
                            "cannot read the body: {err}"
                        ))));
                    }
                }
            }
            None => {}
        }
        Ok(self.inner.call(req).await?.into_response())
    }
}
