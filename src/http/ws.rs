//! GraphQL over WebSockets (the graphql-transport-ws protocol), on `GET /graphql/ws` and
//! on `GET /graphql` with an upgrade.
//!
//! Browsers cannot put headers on a WebSocket, so the credential travels in
//! `connection_init`: `{"Authorization": "Bearer …"}` (also inside `"headers"`) or
//! `{"authToken": "…"}`, checked by the same [`Authenticator`] as every HTTP request (an
//! `Authorization` header on the upgrade request works too). A refused credential closes
//! the socket with `4403` and a reason (`UNAUTHORIZED: …`), as the protocol asks; a
//! socket that does not initialise within 10 s is dropped.
//!
//! A socket is held to the same rules as HTTP, operation by operation:
//! - every `subscribe` re-verifies the credential: a revoked or expired key, or an
//!   expired Clerk token, gets an error and then the socket is closed (`4401`);
//! - a key revoked while its socket is open closes the socket within seconds (the
//!   revoking instance at once, others on `NOTIFY` or the next check);
//! - every operation draws on the same per-key, per-organization and per-address budgets
//!   as an HTTP request; a refusal is an error with `RATE_LIMITED` and `retryAfter`;
//! - queries and mutations run as the socket's credential;
//! - a connection holds at most so many subscriptions, and a credential or an address at
//!   most so many connections (`config::WebSocketLimits`);
//! - on shutdown every socket gets a close frame (`1001`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::WebSocketProtocols;
use async_graphql::{Data, Executor, ServerError};
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use futures_channel::mpsc;
use futures_util::future;
use futures_util::stream::BoxStream;
use futures_util::{SinkExt, StreamExt};
use poem::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use poem::web::Data as PoemData;
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::{IntoResponse, Request, handler};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::ApiGuard;
use super::guard::ClientIp;
use crate::auth::Authenticator;
use crate::db::Signal;
use crate::domain::{Actor, Credential};
use crate::error::AppError;
use crate::graphql::{AuraSchema, Core};
use crate::ratelimit::Subject;

pub const PROTOCOL: &str = "graphql-transport-ws";
/// Close code for a refused `connection_init` (graphql-transport-ws: Forbidden).
pub const CLOSE_FORBIDDEN: u16 = 4403;
/// Close code for a `subscribe` before `connection_init` was acknowledged, or from a
/// credential that no longer works.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// Close code when the server shuts down (RFC 6455: going away).
pub const CLOSE_GOING_AWAY: u16 = 1001;
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an open socket made with an API key checks that the key still works (a
/// revocation on this instance, or heard through `NOTIFY`, is acted on at once).
const KEY_CHECK: Duration = Duration::from_secs(3);
/// Our own refusals carry this, so they can be told from protocol errors.
const REFUSAL: &str = "connection_init refused: ";

/// How much one client may hold open over WebSockets.
#[derive(Debug, Clone, Copy)]
pub struct WebSocketLimits {
    /// Subscriptions running at once on one connection.
    pub subscriptions_per_connection: usize,
    /// Connections open at once with one API key (or Clerk user).
    pub connections_per_credential: usize,
    /// Connections open at once from one client address.
    pub connections_per_ip: usize,
    /// Events a `since` replay sends at most before the subscription must resubscribe.
    pub max_replay: usize,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        WebSocketLimits {
            subscriptions_per_connection: 25,
            connections_per_credential: 20,
            connections_per_ip: 50,
            max_replay: 1000,
        }
    }
}

/// The process's open sockets: counts per credential and per address, and the signal
/// that closes them all on shutdown.
#[derive(Clone)]
pub struct Sockets {
    inner: Arc<SocketsInner>,
}

struct SocketsInner {
    limits: WebSocketLimits,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    per_credential: Mutex<HashMap<String, usize>>,
    connections: AtomicUsize,
    subscriptions: AtomicUsize,
    closing: watch::Sender<bool>,
}

/// A place taken in one of the per-address or per-credential counts, given back on drop.
struct Slot {
    sockets: Sockets,
    key: SlotKey,
}

enum SlotKey {
    Ip(IpAddr),
    Credential(String),
}

impl Drop for Slot {
    fn drop(&mut self) {
        let inner = &self.sockets.inner;
        match &self.key {
            SlotKey::Ip(ip) => release(&inner.per_ip, ip),
            SlotKey::Credential(id) => release(&inner.per_credential, id),
        }
    }
}

fn release<K: std::hash::Hash + Eq>(counts: &Mutex<HashMap<K, usize>>, key: &K) {
    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}

fn take<K: std::hash::Hash + Eq + Clone>(
    counts: &Mutex<HashMap<K, usize>>,
    key: &K,
    max: usize,
) -> bool {
    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
    let n = counts.entry(key.clone()).or_default();
    if *n >= max {
        return false;
    }
    *n += 1;
    true
}

impl Sockets {
    pub fn new(limits: WebSocketLimits) -> Self {
        Sockets {
            inner: Arc::new(SocketsInner {
                limits,
                per_ip: Mutex::default(),
                per_credential: Mutex::default(),
                connections: AtomicUsize::new(0),
                subscriptions: AtomicUsize::new(0),
                closing: watch::channel(false).0,
            }),
        }
    }

    /// Sends every open socket a close frame (`1001`) and ends it.
    pub fn close_all(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Sockets open now.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Subscriptions running now, over every socket.
    pub fn subscriptions(&self) -> usize {
        self.inner.subscriptions.load(Ordering::Relaxed)
    }

    fn take_ip(&self, ip: IpAddr) -> Option<Slot> {
        take(
            &self.inner.per_ip,
            &ip,
            self.inner.limits.connections_per_ip,
        )
        .then(|| Slot {
            sockets: self.clone(),
            key: SlotKey::Ip(ip),
        })
    }

    fn take_credential(&self, credential: &Credential) -> Option<Slot> {
        let id = credential.to_string();
        take(
            &self.inner.per_credential,
            &id,
            self.inner.limits.connections_per_credential,
        )
        .then(|| Slot {
            sockets: self.clone(),
            key: SlotKey::Credential(id),
        })
    }
}

#[handler]
pub async fn graphql_ws(
    req: &Request,
    websocket: poem::Result<WebSocket>,
    schemas: PoemData<&crate::graphql::Schemas>,
    core: PoemData<&Core>,
    guard: PoemData<&ApiGuard>,
    sockets: PoemData<&Sockets>,
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
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map_or_else(|| guard.client_ip(req), |c| c.0);
    let Some(ip_slot) = sockets.take_ip(ip) else {
        return Err(super::into_poem_error(AppError::RateLimited {
            retry_after_secs: 5,
        }));
    };
    let connection = Arc::new(Connection {
        schema: schemas.full.clone(),
        core: (*core).clone(),
        guard: (*guard).clone(),
        sockets: (*sockets).clone(),
        ip,
        state: Mutex::new(Session {
            actor: req.extensions().get::<Actor>().cloned(),
            authorization: req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            slots: vec![ip_slot],
        }),
        subscriptions: AtomicUsize::new(0),
        outbox: Mutex::new(None),
    });
    Ok(websocket
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| serve(socket, connection))
        .into_response())
}

/// Who a socket acts as, once initialised.
struct Session {
    actor: Option<Actor>,
    /// The `Authorization` value it was initialised with, checked again per operation.
    authorization: Option<String>,
    slots: Vec<Slot>,
}

/// One socket: what its operations need, and how to close it.
struct Connection {
    schema: AuraSchema,
    core: Core,
    guard: ApiGuard,
    sockets: Sockets,
    ip: IpAddr,
    state: Mutex<Session>,
    subscriptions: AtomicUsize,
    /// Where outgoing messages go; a close frame sent here follows what was sent before.
    outbox: Mutex<Option<mpsc::UnboundedSender<Message>>>,
}

impl Connection {
    fn close(&self, code: u16, reason: String) {
        if let Some(outbox) = self
            .outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = outbox.unbounded_send(Message::close_with(code, truncate(reason, 120)));
        }
    }

    fn session(&self) -> (Option<Actor>, Option<String>) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.actor.clone(), state.authorization.clone())
    }

    /// The socket's credential, checked again now.
    async fn reverify(&self) -> Result<Option<Actor>, AppError> {
        let (actor, authorization) = self.session();
        if actor.is_none() {
            return Ok(None);
        }
        let verified = self
            .guard
            .authenticator()
            .authenticate(authorization.as_deref())
            .await?;
        Ok(verified.or(actor))
    }

    /// Whom an operation counts against.
    fn subject(&self, actor: Option<&Actor>) -> Subject {
        actor.map_or(Subject::Ip(self.ip), Subject::of)
    }
}

fn coded(code: &'static str, message: String, retry_after: Option<u64>) -> async_graphql::Response {
    let mut error = ServerError::new(message, None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", code);
    if let Some(seconds) = retry_after {
        extensions.set("retryAfter", seconds);
    }
    async_graphql::Response::from_errors(vec![error])
}

async fn serve(socket: WebSocketStream, connection: Arc<Connection>) {
    let sockets = connection.sockets.clone();
    sockets.inner.connections.fetch_add(1, Ordering::Relaxed);
    crate::meter::websocket_connections(1.0);
    let (mut sink, stream) = socket.split();
    let (outbox, mut outgoing) = mpsc::unbounded::<Message>();
    *connection.outbox.lock().unwrap_or_else(|e| e.into_inner()) = Some(outbox.clone());
    let (finished, ended) = oneshot::channel::<()>();
    let mut closing = sockets.inner.closing.subscribe();
    // The writer: forwards the protocol's messages, closes on a close frame, a revoked
    // key, or shutdown; its end ends the reader too.
    let watcher = connection.clone();
    let writer = tokio::spawn(async move {
        let mut signals = watcher.core.db.bus().subscribe();
        let mut checks = tokio::time::interval(KEY_CHECK);
        checks.tick().await;
        loop {
            let message = tokio::select! {
                message = outgoing.next() => match message {
                    Some(message) => close_code(message),
                    None => break,
                },
                () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                    Message::close_with(CLOSE_GOING_AWAY, "the server is shutting down".to_owned())
                }
                signal = signals.recv() => {
                    let key = watcher.session().0.and_then(|a| a.key_id());
                    let concerns_us = match signal {
                        Ok(Signal::KeyChanged(id)) => key == Some(id),
                        Ok(Signal::KeysUnknown) => key.is_some(),
                        _ => false,
                    };
                    match concerns_us.then_some(()) {
                        Some(()) => match revoked(&watcher).await {
                            Some(close) => close,
                            None => continue,
                        },
                        None => continue,
                    }
                }
                _ = checks.tick() => match revoked(&watcher).await {
                    Some(close) => close,
                    None => continue,
                },
            };
            let closes = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closes {
                break;
            }
        }
        let _ = sink.close().await;
        let _ = finished.send(());
    });
    let (initialised, init_done) = oneshot::channel::<()>();
    // Ending the input ends the connection: a socket that never initialises is dropped,
    // and one the writer closed stops reading.
    let stream = stream.take_until(async move {
        let init = async {
            if let Ok(Ok(())) = tokio::time::timeout(INIT_TIMEOUT, init_done).await {
                future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = init => {}
            _ = ended => {}
        }
    });
    let executor = SocketExecutor(connection.clone());
    let on_init = connection.clone();
    GraphQLWebSocket::new_with_pair(
        outbox.sink_map_err(|_| std::io::Error::other("the socket is closed")),
        stream,
        executor,
        GraphQLProtocol(WebSocketProtocols::GraphQLWS),
    )
    .on_connection_init(move |payload| async move {
        let (upgraded_as, header) = on_init.session();
        let authorization = credential(&payload).or(header);
        let refuse = |err: AppError| {
            let reason = format!("{REFUSAL}{}: {}", err.code(), err.public_message());
            async_graphql::Error::new(truncate(reason, 120))
        };
        let actor = authenticate(
            on_init.guard.authenticator(),
            authorization.as_deref(),
            upgraded_as,
        )
        .await
        .map_err(refuse)?;
        let slot = on_init
            .sockets
            .take_credential(&actor.credential)
            .ok_or_else(|| {
                refuse(AppError::RateLimited {
                    retry_after_secs: 5,
                })
            })?;
        {
            let mut state = on_init.state.lock().unwrap_or_else(|e| e.into_inner());
            state.actor = Some(actor.clone());
            state.authorization = authorization;
            state.slots.push(slot);
        }
        let _ = initialised.send(());
        let mut data = Data::default();
        data.insert(actor);
        Ok(data)
    })
    .serve()
    .await;
    // The protocol ended (the client left, or the writer closed): stop the writer.
    connection
        .outbox
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let _ = writer.await;
    sockets.inner.connections.fetch_sub(1, Ordering::Relaxed);
    crate::meter::websocket_connections(-1.0);
}

/// The close frame for a socket whose API key stopped working, if it did.
async fn revoked(connection: &Connection) -> Option<Message> {
    connection.session().0.as_ref()?.key_id()?;
    match connection.reverify().await {
        Err(err @ (AppError::Unauthorized(_) | AppError::Forbidden(_))) => {
            Some(Message::close_with(
                CLOSE_UNAUTHORIZED,
                truncate(format!("{}: {}", err.code(), err.public_message()), 120),
            ))
        }
        _ => None,
    }
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
    authorization: Option<&str>,
    upgraded_as: Option<Actor>,
) -> Result<Actor, AppError> {
    let unauthenticated = || {
        AppError::Unauthorized(
            "send {\"Authorization\": \"Bearer <API key or Clerk token>\"} in connection_init"
                .to_owned(),
        )
    };
    match authorization {
        Some(header) => authenticator
            .authenticate(Some(header))
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

/// Runs a socket's operations as its credential, each one checked and counted.
#[derive(Clone)]
struct SocketExecutor(Arc<Connection>);

/// Gives a subscription's place on the connection back when it ends.
struct Running {
    connection: Arc<Connection>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.connection
            .subscriptions
            .fetch_sub(1, Ordering::Relaxed);
        self.connection
            .sockets
            .inner
            .subscriptions
            .fetch_sub(1, Ordering::Relaxed);
        crate::meter::live_subscriptions(-1.0);
    }
}

impl SocketExecutor {
    async fn run(
        self,
        mut request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        let connection = self.0;
        let refused = |response| futures_util::stream::once(future::ready(response)).boxed();
        // The credential is checked again for every operation.
        let actor = match connection.reverify().await {
            Ok(actor) => actor,
            Err(err @ AppError::Unavailable { .. }) => {
                return refused(coded(
                    err.code(),
                    err.public_message(),
                    err.retry_after_secs(),
                ));
            }
            Err(err) => {
                // The error first, then the close: the client learns why.
                let reason = format!("{}: {}", err.code(), err.public_message());
                let closer = connection.clone();
                let close = futures_util::stream::once(async move {
                    closer.close(CLOSE_UNAUTHORIZED, reason);
                })
                .filter_map(|()| future::ready(None));
                return futures_util::stream::once(future::ready(coded(
                    err.code(),
                    err.public_message(),
                    None,
                )))
                .chain(close)
                .boxed();
            }
        };
        // One unit per operation, and one more per public booking beyond the first, as
        // over HTTP.
        let subject = connection.subject(actor.as_ref());
        let charges = crate::graphql::limits::public_bookings(&mut request).max(1);
        for _ in 0..charges {
            if let Err(err) = connection.guard.charge(&subject).await {
                return refused(coded(
                    err.code(),
                    err.public_message(),
                    err.retry_after_secs(),
                ));
            }
        }
        if let Err(error) = crate::graphql::limits::check_size(&request, actor.is_some())
            .and_then(|()| crate::graphql::limits::check_request(&mut request))
        {
            return refused(async_graphql::Response::from_errors(vec![error]));
        }
        let is_subscription = request.parsed_query().is_ok_and(|doc| {
            doc.operations.iter().any(|(_, op)| {
                op.node.ty == async_graphql::parser::types::OperationType::Subscription
            })
        });
        if !is_subscription {
            let response =
                crate::graphql::execute(&connection.schema, &connection.core, actor, request).await;
            return refused(response);
        }
        let limit = connection.sockets.inner.limits.subscriptions_per_connection;
        if connection.subscriptions.fetch_add(1, Ordering::Relaxed) >= limit {
            connection.subscriptions.fetch_sub(1, Ordering::Relaxed);
            return refused(coded(
                "RATE_LIMITED",
                format!("a connection runs at most {limit} subscriptions; complete one first"),
                None,
            ));
        }
        connection
            .sockets
            .inner
            .subscriptions
            .fetch_add(1, Ordering::Relaxed);
        crate::meter::live_subscriptions(1.0);
        let running = Running {
            connection: connection.clone(),
        };
        Executor::execute_stream(&connection.schema, request, session_data)
            .map(move |mut response| {
                let _ = &running;
                response
                    .errors
                    .iter_mut()
                    .for_each(crate::graphql::ensure_code);
                crate::graphql::limits::cap_errors(&mut response.errors);
                response
            })
            .boxed()
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        let mut stream = self.clone().run(request, None).await;
        stream
            .next()
            .await
            .unwrap_or_else(|| async_graphql::Response::new(async_graphql::Value::Null))
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        futures_util::stream::once(self.clone().run(request, session_data))
            .flatten()
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
