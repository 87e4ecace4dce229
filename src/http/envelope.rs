use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use poem::PathPattern;
use poem::http::{HeaderMap, HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use crate::error::AppError;
use crate::views::ErrorBody;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id: the caller's `X-Request-Id` when it is a sane token, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    fn from_headers(headers: &HeaderMap) -> Self {
        let supplied = headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        match supplied {
            Some(id) => RequestId(id.to_owned()),
            None => RequestId(crate::ids::encode_with_prefix("req", uuid::Uuid::now_v7())),
        }
    }
}

/// Headers an inner layer wants on its error response (rate-limit headers): attach with
/// `poem::Error::set_data`, since the envelope, not the layer, renders errors.
#[derive(Debug, Clone, Default)]
pub struct ExtraHeaders(pub HeaderMap);

/// Outermost middleware. Whatever happens inside (an error from any layer, a panic, an
/// unknown route) leaves as the contract's JSON error with the request id.
pub struct Envelope {
    allowed_methods: fn(&str) -> Vec<String>,
    route_of: fn(&str) -> Option<String>,
}

impl Envelope {
    /// `allowed_methods` answers `Allow` for a path, for 405 responses.
    pub fn new(allowed_methods: fn(&str) -> Vec<String>) -> Self {
        Envelope {
            allowed_methods,
            route_of: |_| None,
        }
    }

    /// Names routes with `route_of` (a documented template such as `/v1/leads/{id}`)
    /// where it knows the path, before the router's own pattern: a request refused before
    /// the inner router ran (401 from the guard) still gets its route.
    pub fn with_routes(mut self, route_of: fn(&str) -> Option<String>) -> Self {
        self.route_of = route_of;
        self
    }
}

impl<E: Endpoint> Middleware<E> for Envelope {
    type Output = EnvelopeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        EnvelopeEndpoint {
            inner,
            allowed_methods: self.allowed_methods,
            route_of: self.route_of,
        }
    }
}

pub struct EnvelopeEndpoint<E> {
    inner: E,
    allowed_methods: fn(&str) -> Vec<String>,
    route_of: fn(&str) -> Option<String>,
}

impl<E: Endpoint> Endpoint for EnvelopeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let request_id = RequestId::from_headers(req.headers());
        req.extensions_mut().insert(request_id.clone());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();

        // Every log line written while this request runs (resolvers, services, errors)
        // carries its id; the guard fills in who is calling. Never a secret.
        let span = tracing::info_span!(
            "request",
            request_id = %request_id.0,
            method = %method,
            path = %path,
            http_route = tracing::field::Empty,
            organization_id = tracing::field::Empty,
            credential = tracing::field::Empty,
        );
        let in_flight = InFlight::start();
        let outcome = AssertUnwindSafe(self.inner.call(req))
            .catch_unwind()
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        let mut route = None;
        let mut response = match outcome {
            Ok(Ok(output)) => {
                let response = output.into_response();
                route = response.data::<PathPattern>().map(|p| p.0.clone());
                response
            }
            Ok(Err(err)) => {
                route = err.data::<PathPattern>().map(|p| p.0.clone());
                let extra = err.data::<ExtraHeaders>().map(|h| h.0.clone());
                let app_error = classify(err, &path, self.allowed_methods);
                let mut response = error_response(&app_error, &request_id);
                if let Some(extra) = extra {
                    response.headers_mut().extend(extra);
                }
                response
            }
            Err(panic) => {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                error_response(&AppError::internal(format!("panic: {detail}")), &request_id)
            }
        };
        if let Ok(value) = HeaderValue::from_str(&request_id.0) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let route = (self.route_of)(&path).unwrap_or_else(|| route_template(route.as_deref()));
        span.record("http_route", route.as_str());
        drop(in_flight);
        crate::meter::http_request(
            method.as_str(),
            &route,
            response.status().as_u16(),
            started.elapsed(),
        );
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(response)
    }
}

/// Renders an error into the contract's response right where it happens, for endpoints
/// wrapped in middleware that would otherwise turn errors into its own plain responses
/// (poem's `Cors` answers an error with a bare status and no body): the JSON error, its
/// request id, and the headers the error carries (`X-RateLimit-*`, `Retry-After`).
pub struct RenderErrors {
    pub allowed_methods: fn(&str) -> Vec<String>,
}

impl<E: Endpoint> Middleware<E> for RenderErrors {
    type Output = RenderErrorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RenderErrorsEndpoint {
            inner,
            allowed_methods: self.allowed_methods,
        }
    }
}

pub struct RenderErrorsEndpoint<E> {
    inner: E,
    allowed_methods: fn(&str) -> Vec<String>,
}

impl<E: Endpoint> Endpoint for RenderErrorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId::from_headers(req.headers()));
        let path = req.uri().path().to_owned();
        match self.inner.call(req).await {
            Ok(output) => Ok(output.into_response()),
            Err(err) => {
                let extra = err.data::<ExtraHeaders>().map(|h| h.0.clone());
                let pattern = err.data::<PathPattern>().cloned();
                let app_error = classify(err, &path, self.allowed_methods);
                let mut response = error_response(&app_error, &request_id);
                if let Some(extra) = extra {
                    response.headers_mut().extend(extra);
                }
                if let Some(pattern) = pattern {
                    response.set_data(pattern);
                }
                Ok(response)
            }
        }
    }
}

/// Counts a request in flight until dropped (also when the client goes away mid-request).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        crate::meter::http_active(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        crate::meter::http_active(-1.0);
    }
}

/// The route a request matched, in OpenAPI's spelling (`/v1/leads/{id}`), or `unmatched`:
/// a bounded label, never a raw path.
pub fn route_template(pattern: Option<&str>) -> String {
    let Some(pattern) = pattern else {
        return "unmatched".to_owned();
    };
    let mut route = String::with_capacity(pattern.len() + 4);
    for (i, segment) in pattern.split('/').enumerate() {
        if i > 0 {
            route.push('/');
        }
        match segment
            .strip_prefix(':')
            .or_else(|| segment.strip_prefix('*'))
        {
            Some(name) => {
                route.push('{');
                route.push_str(name);
                route.push('}');
            }
            None => route.push_str(segment),
        }
    }
    route
}

/// Maps any poem error onto the one error type.
pub fn classify(
    err: poem::Error,
    path: &str,
    allowed_methods: fn(&str) -> Vec<String>,
) -> AppError {
    if err.is::<AppError>() {
        if let Ok(app_error) = err.downcast::<AppError>() {
            return app_error;
        }
        return AppError::internal("error downcast failed");
    }
    let message = err.to_string();
    match err.status() {
        StatusCode::BAD_REQUEST => AppError::Validation {
            field: None,
            message,
        },
        StatusCode::UNAUTHORIZED => AppError::Unauthorized(message),
        StatusCode::FORBIDDEN => AppError::Forbidden(message),
        StatusCode::NOT_FOUND => AppError::NotFound(format!("no such endpoint: {path}")),
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed {
            allow: allowed_methods(path),
        },
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit: super::MAX_BODY_BYTES,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(format!(
            "{message}; send `Content-Type: application/json`"
        )),
        status if status.is_client_error() => AppError::BadRequest(message),
        _ => AppError::internal(message),
    }
}

/// The contract's error body, status and headers for `err`.
pub fn error_response(err: &AppError, request_id: &RequestId) -> Response {
    err.log();
    let body = serde_json::to_vec(&ErrorBody::new(err, Some(&request_id.0))).unwrap_or_default();
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body);
    if let Some(seconds) = err.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let AppError::MethodNotAllowed { allow } = err
        && let Ok(value) = HeaderValue::from_str(&allow.join(", "))
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, handler};

    use super::*;

    #[handler]
    fn boom() -> &'static str {
        panic!("connection string postgres://admin:hunter2@db")
    }

    #[test]
    fn routes_are_templates() {
        assert_eq!(route_template(Some("/v1/leads/:id")), "/v1/leads/{id}");
        assert_eq!(
            route_template(Some("/playground/*path")),
            "/playground/{path}"
        );
        assert_eq!(route_template(Some("/health")), "/health");
        assert_eq!(route_template(None), "unmatched");
    }

    #[tokio::test]
    async fn panics_become_a_500_without_details() {
        let app = Route::new()
            .at("/boom", boom)
            .with(Envelope::new(|_| vec![]));
        let response = TestClient::new(app).get("/boom").send().await;
        response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.0.headers().contains_key(REQUEST_ID_HEADER));
        let text = response.0.into_body().into_string().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "INTERNAL_ERROR");
        assert_eq!(body["success"], false);
        assert!(!text.contains("hunter2"));
    }
}
