//! A graphql-transport-ws client for the WebSocket rules: unlike the live tests' client it
//! shows a refused upgrade's HTTP status, completes subscriptions, and waits for a close
//! with a deadline.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::TestApp;

/// Long enough for a loaded CI machine; answers normally take milliseconds.
const WAIT: Duration = Duration::from_secs(15);

pub const EVENTS: &str = "subscription($types: [EventType!], $since: DateTime) { events(types: $types, since: $since) { id type } }";

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How the server ended a connection.
#[derive(Debug)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// A refused upgrade: the HTTP status and the body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Socket {
    /// Upgrades `GET /graphql/ws` with the graphql-transport-ws subprotocol.
    pub async fn open(app: &TestApp) -> Result<Socket, Refused> {
        Socket::open_with(app, &[]).await
    }

    /// Like [`open`](Self::open), with more headers on the upgrade request.
    pub async fn open_with(
        app: &TestApp,
        headers: &[(&'static str, &str)],
    ) -> Result<Socket, Refused> {
        let url = format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("a header value"),
        );
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("a header value"));
        }
        match connect_async(request).await {
            Ok((ws, _)) => Ok(Socket { ws }),
            Err(WsError::Http(response)) => Err(Refused {
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null),
            }),
            Err(other) => panic!("WebSocket upgrade failed: {other}"),
        }
    }

    /// Opens and sends `connection_init` with `Authorization: Bearer <bearer>`: the
    /// acknowledged socket, or how the server closed it.
    pub async fn init(app: &TestApp, bearer: &str) -> Result<Socket, Closed> {
        let mut socket = Socket::open(app).await.expect("the upgrade is accepted");
        socket
            .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {bearer}")}}))
            .await;
        let message = socket.receive().await?;
        assert_eq!(message["type"], json!("connection_ack"), "{message}");
        Ok(socket)
    }

    /// Like [`init`](Self::init), for a credential that must be accepted.
    pub async fn connect_as(app: &TestApp, bearer: &str) -> Socket {
        Socket::init(app, bearer)
            .await
            .expect("connection_ack for a valid credential")
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send a WebSocket message");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    pub async fn complete(&mut self, id: &str) {
        self.send(json!({"id": id, "type": "complete"})).await;
    }

    /// The next protocol message (answering pings), or how the server closed.
    pub async fn receive(&mut self) -> Result<Value, Closed> {
        self.receive_within(WAIT)
            .await
            .expect("no message from the server in time")
    }

    /// The next protocol message or close within `within`; `None` if nothing came.
    pub async fn receive_within(&mut self, within: Duration) -> Option<Result<Value, Closed>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value =
                        serde_json::from_str(text.as_str()).expect("a JSON protocol message");
                    if value["type"] == json!("ping") {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    return Some(Ok(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(Err(frame.map_or(
                        Closed {
                            code: 1005,
                            reason: String::new(),
                        },
                        |f| Closed {
                            code: u16::from(f.code),
                            reason: f.reason.to_string(),
                        },
                    )));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    return Some(Err(Closed {
                        code: 1006,
                        reason: "connection dropped".to_owned(),
                    }));
                }
            }
        }
    }

    /// The single answer to a query or mutation sent as `id`: its `next` payload, after
    /// which the server completes the operation.
    pub async fn answer(&mut self, id: &str) -> Value {
        let message = self.receive().await.expect("an open connection");
        assert_eq!(
            (&message["id"], &message["type"]),
            (&json!(id), &json!("next")),
            "{message}"
        );
        let done = self.receive().await.expect("an open connection");
        assert_eq!(
            (&done["id"], &done["type"]),
            (&json!(id), &json!("complete")),
            "{done}"
        );
        message["payload"].clone()
    }

    /// Runs `query` as operation `id` and returns its payload (`data`, `errors`).
    pub async fn run(&mut self, id: &str, query: &str, variables: Value) -> Value {
        self.subscribe(id, query, variables).await;
        self.answer(id).await
    }

    /// Reads until the server closes, at most `within`; any other message is skipped.
    pub async fn closed_within(&mut self, within: Duration) -> Option<Closed> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            match self.receive_within(left).await? {
                Ok(_) => continue,
                Err(closed) => return Some(closed),
            }
        }
    }
}
