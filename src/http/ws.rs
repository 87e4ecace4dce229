//! `GET /graphql/ws`: GraphQL over WebSockets (the graphql-transport-ws protocol).
//!
//! Browsers cannot put headers on a WebSocket, so the credential travels in
//! `connection_init`: `{"Authorization": "Bearer …"}` (also inside `"headers"`) or
//! `{"authToken": "…"}`, checked by the same [`Authenticator`] as every HTTP request (an
//! `Authorization` header on the upgrade request works too). A refused credential closes
//! the socket with `4403` and a reason (`UNAUTHORIZED: …`), as the protocol asks; a
//! socket that does not initialise within 10 s is dropped.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::WebSocketProtocols;
use async_graphql::{Data, Executor};
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use futures_util::future;
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use poem::http::header::SEC_WEBSOCKET_PROTOCOL;
use poem::web::Data as PoemData;
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::{IntoResponse, Request, handler};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::auth::Authenticator;
use crate::domain::Actor;
use crate::error::AppError;
use crate::graphql::AuraSchema;

pub const PROTOCOL: &str = "graphql-transport-ws";
/// Close code for a refused `connection_init` (graphql-transport-ws: Forbidden).
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code for a `subscribe` before `connection_init` was acknowledged.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Our own refusals carry this, so they can be told from protocol errors.
const REFUSAL: &str = "connection_init refused: ";

#[handler]
pub async fn graphql_ws(
    req: &Request,
    websocket: poem::Result<WebSocket>,
    schema: PoemData<&AuraSchema>,
    guard: PoemData<&super::ApiGuard>,
) -> poem::Result<poem::Response> {
    let offered = req
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| list.split(',').any(|p| p.trim() == PROTOCOL));
    let websocket = match websocket {
        Ok(websocket) if offered => websocket,
        _ => {
            return Err(super::into_poem_error(AppError::BadRequest(format!(
                "expected a WebSocket upgrade with `Sec-WebSocket-Protocol: {PROTOCOL}`"
            ))));
        }
    };
    let executor = CodedExecutor(schema.clone());
    let authenticator = guard.authenticator().clone();
    let upgraded_as = req.extensions().get::<Actor>().cloned();
    Ok(websocket
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| serve(socket, executor, authenticator, upgraded_as))
        .into_response())
}

async fn serve(
    socket: WebSocketStream,
    executor: CodedExecutor,
    authenticator: Arc<Authenticator>,
    upgraded_as: Option<Actor>,
) {
    let (sink, stream) = socket.split();
    let sink =
        sink.with(|message: Message| future::ready(Ok::<_, std::io::Error>(close_code(message))));
    let (initialised, init_done) = oneshot::channel::<()>();
    // Ending the input ends the connection: a socket that never initialises is dropped.
    let stream = stream.take_until(async move {
        if let Ok(Ok(())) = tokio::time::timeout(INIT_TIMEOUT, init_done).await {
            future::pending::<()>().await;
        }
    });
    GraphQLWebSocket::new_with_pair(
        sink,
        stream,
        executor,
        GraphQLProtocol(WebSocketProtocols::GraphQLWS),
    )
    .on_connection_init(move |payload| async move {
        let principal = authenticate(&authenticator, &payload, upgraded_as)
            .await
            .map_err(|err| {
                let reason = format!("{REFUSAL}{}: {}", err.code(), err.public_message());
                async_graphql::Error::new(truncate(reason, 120))
            })?;
        let _ = initialised.send(());
        let mut data = Data::default();
        data.insert(principal);
        Ok(data)
    })
    .serve()
    .await;
}

/// The credential in a `connection_init` payload, as an `Authorization` header value.
fn credential(payload: &Value) -> Option<String> {
    let header = |object: &serde_json::Map<String, Value>| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, value)| value.as_str())
            .map(str::to_owned)
    };
    let object = payload.as_object()?;
    if let Some(value) = header(object) {
        return Some(value);
    }
    if let Some(value) = object
        .get("headers")
        .and_then(Value::as_object)
        .and_then(header)
    {
        return Some(value);
    }
    let token = object.get("authToken")?.as_str()?.trim();
    if token
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
    {
        Some(token.to_owned())
    } else {
        Some(format!("Bearer {token}"))
    }
}

async fn authenticate(
    authenticator: &Authenticator,
    payload: &Value,
    upgraded_as: Option<Actor>,
) -> Result<Actor, AppError> {
    let unauthenticated = || {
        AppError::Unauthorized(
            "send {\"Authorization\": \"Bearer <API key or Clerk token>\"} in connection_init"
                .to_owned(),
        )
    };
    match credential(payload) {
        Some(header) => authenticator
            .authenticate(Some(&header))
            .await?
            .ok_or_else(unauthenticated),
        None => upgraded_as.ok_or_else(unauthenticated),
    }
}

/// async-graphql closes a refused `connection_init` with 1002 and a `subscribe` before
/// it with 1011; the protocol's codes for them are 4403 and 4401, which clients act on.
fn close_code(message: Message) -> Message {
    match message {
        Message::Close(Some((code, reason)))
            if u16::from(code) == 1002 && reason.starts_with(REFUSAL) =>
        {
            Message::close_with(CLOSE_FORBIDDEN, reason[REFUSAL.len()..].to_owned())
        }
        Message::Close(Some((code, _))) if u16::from(code) == 1011 => Message::close_with(
            CLOSE_UNAUTHORIZED,
            "UNAUTHORIZED: send connection_init first".to_owned(),
        ),
        other => other,
    }
}

/// A close frame's reason must fit in 123 bytes.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The schema, with every error given a code as over HTTP.
#[derive(Clone)]
pub struct CodedExecutor(pub AuraSchema);

impl Executor for CodedExecutor {
    async fn execute(&self, mut request: async_graphql::Request) -> async_graphql::Response {
        if let Err(error) = crate::graphql::limits::check_request(&mut request) {
            return async_graphql::Response::from_errors(vec![error]);
        }
        let mut response = self.0.execute(request).await;
        response
            .errors
            .iter_mut()
            .for_each(crate::graphql::ensure_code);
        response
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        if let Err(error) = crate::graphql::limits::check_request(&mut request) {
            return futures_util::stream::once(async move {
                async_graphql::Response::from_errors(vec![error])
            })
            .boxed();
        }
        Executor::execute_stream(&self.0, request, session_data)
            .map(|mut response| {
                response
                    .errors
                    .iter_mut()
                    .for_each(crate::graphql::ensure_code);
                response
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_in_connection_init() {
        assert_eq!(
            credential(&json!({"Authorization": "Bearer abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            credential(&json!({"authorization": "Bearer abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            credential(&json!({"headers": {"Authorization": "Bearer abc"}})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            credential(&json!({"authToken": "abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            credential(&json!({"authToken": "Bearer abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(credential(&json!({})), None);
        assert_eq!(credential(&json!(null)), None);
        assert_eq!(credential(&json!({"authToken": 7})), None);
    }

    #[test]
    fn refusals_close_with_4403_and_fit_a_frame() {
        let reason = truncate(format!("{REFUSAL}UNAUTHORIZED: {}", "é".repeat(100)), 120);
        assert!(reason.len() <= 120);
        match close_code(Message::close_with(1002u16, reason)) {
            Message::Close(Some((code, text))) => {
                assert_eq!(u16::from(code), CLOSE_FORBIDDEN);
                assert!(text.starts_with("UNAUTHORIZED: "));
            }
            other => panic!("{other:?}"),
        }
        match close_code(Message::close_with(
            1011u16,
            "The handshake is not completed.".to_owned(),
        )) {
            Message::Close(Some((code, _))) => assert_eq!(u16::from(code), CLOSE_UNAUTHORIZED),
            other => panic!("{other:?}"),
        }
        // Other protocol errors keep their code.
        match close_code(Message::close_with(1002u16, "bad JSON".to_owned())) {
            Message::Close(Some((code, _))) => assert_eq!(u16::from(code), 1002),
            other => panic!("{other:?}"),
        }
    }
}
