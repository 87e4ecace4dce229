//! `/graphql` over HTTP, following GraphQL-over-HTTP and Apollo's persisted queries:
//!
//! - `POST` takes `application/json` only: anything else is 415, so no cross-site
//!   "simple" request (a form, `text/plain`) reaches the schema without a CORS preflight.
//! - `GET ?query=…` (or a persisted query's hash in `?extensions=…`) runs queries; a
//!   mutation over GET is 405. Anonymous answers to GET queries may be cached for a few
//!   seconds (`Cache-Control: public, max-age=5`, `ETag`, `If-None-Match` → 304).
//! - A browser asking for HTML with no query gets the playground.
//! - `Accept: application/graphql-response+json` is answered in that type.
//! - Statuses: 413 for a document over the caller's limit, 429 when the request's public
//!   bookings exceed the caller's budget, 503 with `Retry-After` when the database is
//!   down, 401 when a caller without a credential asked only for fields that need one,
//!   400 (in `application/graphql-response+json`) for a document that does not parse or
//!   validate; otherwise 200 with the errors in the body.
//! - Callers without a credential run on a schema without introspection or field
//!   suggestions.

use async_graphql::{ServerError, Value};
use poem::http::header::{self, HeaderValue};
use poem::http::{Method, StatusCode};
use poem::web::Data;
use poem::{Body, IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::guard::{ApiGuard, Charged};
use crate::domain::Actor;
use crate::error::AppError;
use crate::graphql::{self, Core, Schemas};

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// How long an anonymous GET answer may be reused (availability changes by the minute).
const PUBLIC_MAX_AGE_SECS: u32 = 5;

/// The query string of a GraphQL GET.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    fn has_operation(&self) -> bool {
        self.query.is_some() || self.extensions.is_some()
    }

    fn into_request(self) -> Result<async_graphql::Request, AppError> {
        let mut request = async_graphql::Request::new(self.query.unwrap_or_default());
        request.operation_name = self.operation_name;
        if let Some(variables) = self.variables.filter(|v| !v.is_empty()) {
            request.variables = serde_json::from_str(&variables)
                .map_err(|_| AppError::validation("variables", "must be a JSON object"))?;
        }
        if let Some(extensions) = self.extensions.filter(|e| !e.is_empty()) {
            request.extensions = serde_json::from_str(&extensions)
                .map_err(|_| AppError::validation("extensions", "must be a JSON object"))?;
        }
        Ok(request)
    }
}

/// Whether a GET asks for a GraphQL operation (rather than the playground).
pub fn asks_for_operation(req: &Request) -> bool {
    req.params::<GetParams>()
        .map(|p| p.has_operation())
        .unwrap_or(true)
}

/// Whether the client prefers `application/graphql-response+json` to `application/json`.
fn wants_graphql_response(req: &Request) -> bool {
    let Some(accept) = req.header(header::ACCEPT) else {
        return false;
    };
    let quality = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let media = pieces.next()?.trim();
                if !media.eq_ignore_ascii_case(wanted) {
                    return None;
                }
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(None, |best: Option<f32>, q| {
                Some(best.map_or(q, |b| b.max(q)))
            })
    };
    match (quality(GRAPHQL_RESPONSE), quality(JSON)) {
        (Some(new), Some(old)) => new >= old && new > 0.0,
        (Some(new), None) => new > 0.0,
        _ => false,
    }
}

fn error_of(code: &'static str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// The HTTP status an answer gets (see the module doc).
fn status_of(
    response: &async_graphql::Response,
    anonymous: bool,
    graphql_response: bool,
) -> StatusCode {
    if response.errors.is_empty() || response.data != Value::Null {
        return StatusCode::OK;
    }
    let all = |code: &str| response.errors.iter().all(|e| code_of(e) == Some(code));
    let any = |code: &str| response.errors.iter().any(|e| code_of(e) == Some(code));
    if any("PAYLOAD_TOO_LARGE") {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if any("RATE_LIMITED") {
        StatusCode::TOO_MANY_REQUESTS
    } else if all("SERVICE_UNAVAILABLE") {
        StatusCode::SERVICE_UNAVAILABLE
    } else if anonymous && all("UNAUTHORIZED") {
        StatusCode::UNAUTHORIZED
    } else if graphql_response
        && response
            .errors
            .iter()
            .all(|e| e.path.is_empty() && code_of(e) == Some("VALIDATION_ERROR"))
    {
        // A document that did not parse or validate never ran.
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// What a GET answer depends on besides its URL.
const GET_VARIES: &str = "Accept, Authorization";

/// Request headers a response varies on, kept beside the response so a middleware that
/// rewrites `Vary` can put them back.
#[derive(Debug, Clone, Copy)]
pub struct Varies(pub &'static str);

/// Who asked, as far as the answer's headers care: with or without a credential, and
/// whether what they asked is public data that may be cached.
#[derive(Clone, Copy)]
struct Asked {
    anonymous: bool,
    public_read: bool,
}

fn answer(req: &Request, response: async_graphql::Response, asked: Asked) -> Response {
    let anonymous = asked.anonymous;
    let graphql_response = wants_graphql_response(req);
    let status = status_of(&response, anonymous, graphql_response);
    let retry_after = response
        .errors
        .iter()
        .filter_map(|e| match e.extensions.as_ref()?.get("retryAfter")? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .max();
    let cacheable =
        req.method() == Method::GET && anonymous && asked.public_read && response.errors.is_empty();
    let body = serde_json::to_vec(&response).unwrap_or_default();
    let mut http = Response::builder()
        .status(status)
        .content_type(if graphql_response {
            GRAPHQL_RESPONSE
        } else {
            "application/json; charset=utf-8"
        })
        .body(Body::empty());
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        let seconds = retry_after.unwrap_or(crate::error::UNAVAILABLE_RETRY_AFTER_SECS);
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if req.method() == Method::GET {
        http.headers_mut()
            .insert(header::VARY, HeaderValue::from_static(GET_VARIES));
        // CORS middleware replaces `Vary`; this survives it (`startup::VaryOrigin`).
        http.set_data(Varies(GET_VARIES));
        if cacheable {
            let etag = format!("\"{}\"", &crate::crypto::sha256_hex(&body)[..32]);
            http.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_str(&format!("public, max-age={PUBLIC_MAX_AGE_SECS}"))
                    .unwrap_or(HeaderValue::from_static("no-store")),
            );
            let matches = req
                .header(header::IF_NONE_MATCH)
                .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
            if let Ok(value) = HeaderValue::from_str(&etag) {
                http.headers_mut().insert(header::ETAG, value);
            }
            if matches {
                http.set_status(StatusCode::NOT_MODIFIED);
                return http;
            }
        } else {
            http.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    http.set_body(body);
    http
}

fn refusal(req: &Request, errors: Vec<ServerError>, anonymous: bool) -> Response {
    let asked = Asked {
        anonymous,
        public_read: false,
    };
    answer(req, async_graphql::Response::from_errors(errors), asked)
}

/// Reads the operation out of the request: GET parameters, or a JSON body.
async fn read_request(req: &Request, body: Body) -> Result<async_graphql::Request, AppError> {
    if req.method() == Method::GET {
        return req
            .params::<GetParams>()
            .map_err(|err| AppError::validation("query", err.to_string()))?
            .into_request();
    }
    let json = req
        .content_type()
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(JSON));
    if !json {
        return Err(AppError::UnsupportedMediaType(
            "POST /graphql takes `Content-Type: application/json`".to_owned(),
        ));
    }
    let bytes = body
        .into_bytes_limit(super::MAX_BODY_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge {
            limit: super::MAX_BODY_BYTES,
        })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|err| AppError::BadRequest(format!("the body is not JSON: {err}")))?;
    if value.is_array() {
        return Err(AppError::validation(
            "query",
            "batched requests are not accepted: send one operation per request",
        ));
    }
    serde_json::from_value(value)
        .map_err(|err| AppError::validation("query", format!("not a GraphQL request: {err}")))
}

/// `GET` and `POST /graphql` (behind the guard, which put the actor, if any, on the
/// request).
#[handler]
pub async fn graphql_http(
    req: &Request,
    body: Body,
    schemas: Data<&Schemas>,
    core: Data<&Core>,
    guard: Data<&ApiGuard>,
) -> poem::Result<Response> {
    let actor = req.extensions().get::<Actor>().cloned();
    let anonymous = actor.is_none();
    let mut request = read_request(req, body)
        .await
        .map_err(super::into_poem_error)?;
    if let Err(error) = graphql::persisted::resolve(&mut request) {
        return Ok(refusal(req, vec![error], anonymous));
    }
    if let Err(error) = graphql::limits::check_size(&request, !anonymous) {
        return Ok(refusal(req, vec![error], anonymous));
    }
    if req.method() == Method::GET && graphql::is_mutation(&mut request) {
        return Err(super::into_poem_error(AppError::MethodNotAllowed {
            allow: vec!["POST".to_owned()],
        }));
    }
    let public_read = graphql::limits::is_public_read(&mut request);
    // Every public booking in the request counts, not only the request itself.
    let bookings = graphql::limits::public_bookings(&mut request);
    if bookings > 1
        && let Some(Charged(subject)) = req.extensions().get::<Charged>()
    {
        for _ in 1..bookings {
            if let Err(err) = guard.charge(subject).await {
                let mut error = error_of("RATE_LIMITED", &err.public_message());
                if let Some(seconds) = err.retry_after_secs() {
                    error
                        .extensions
                        .get_or_insert_with(Default::default)
                        .set("retryAfter", seconds);
                }
                return Ok(refusal(req, vec![error], anonymous));
            }
        }
    }
    let schema = if anonymous {
        &schemas.anonymous
    } else {
        &schemas.full
    };
    let response = graphql::execute(schema, &core, actor, request).await;
    Ok(answer(
        req,
        response,
        Asked {
            anonymous,
            public_read,
        },
    ))
}

/// `/graphql`: a WebSocket upgrade goes to the socket, a browser asking for the page (a
/// GET for HTML, with no query) gets the playground, GET and POST operations go to
/// [`graphql_http`] (behind the guard); other methods are 405.
pub struct GraphqlRoute<H, W> {
    pub http: H,
    pub websocket: W,
}

fn is_upgrade(req: &Request) -> bool {
    req.header(header::UPGRADE)
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A GET without an operation is the playground, unless the caller asked for JSON only
/// (a client that forgot its query gets an error it can read).
fn wants_html(req: &Request) -> bool {
    req.header(header::ACCEPT).is_none_or(|accept| {
        accept.contains("text/html") || accept.contains("*/*") || !accept.contains("json")
    })
}

impl<H: poem::Endpoint, W: poem::Endpoint> poem::Endpoint for GraphqlRoute<H, W> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let method = req.method().clone();
        if method == Method::GET && is_upgrade(&req) {
            return Ok(self.websocket.call(req).await?.into_response());
        }
        if method == Method::GET && !asks_for_operation(&req) {
            if wants_html(&req) {
                return Ok(super::web::playground());
            }
            return Err(super::into_poem_error(AppError::validation(
                "query",
                "send a GraphQL operation: `GET /graphql?query=…`, or POST it as JSON",
            )));
        }
        if method == Method::GET || method == Method::POST {
            return Ok(self.http.call(req).await?.into_response());
        }
        Err(super::into_poem_error(AppError::MethodNotAllowed {
            allow: vec!["GET".to_owned(), "POST".to_owned()],
        }))
    }
}
