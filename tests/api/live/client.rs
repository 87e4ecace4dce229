//! A graphql-transport-ws client, just enough for tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::TestApp;

/// Long enough for a loaded CI machine; events normally arrive within half a second.
const WAIT: Duration = Duration::from_secs(15);

pub const EVENTS: &str = "subscription($types: [EventType!], $since: DateTime) { events(types: $types, since: $since) { id type createdAt data } }";

pub struct Subscriber {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How the server ended a connection.
#[derive(Debug)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// Upgrades with the graphql-transport-ws subprotocol (asserting the server agreed).
async fn open(app: &TestApp) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
    let url = format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (ws, response) = connect_async(request).await.expect("WebSocket upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    ws
}

impl Subscriber {
    /// Connects and sends `connection_init` with `payload`: the acknowledged connection,
    /// or how the server closed it.
    pub async fn connect(app: &TestApp, payload: Value) -> Result<Subscriber, Closed> {
        let mut ws = open(app).await;
        ws.send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await
        .unwrap();
        let mut subscriber = Subscriber { ws };
        match subscriber.receive().await {
            Ok(message) => {
                assert_eq!(message["type"], json!("connection_ack"), "{message}");
                Ok(subscriber)
            }
            Err(closed) => Err(closed),
        }
    }

    /// Connects without sending `connection_init`.
    pub async fn connect_uninitialised(app: &TestApp) -> Subscriber {
        Subscriber {
            ws: open(app).await,
        }
    }

    /// Connects as `bearer`, which must be accepted.
    pub async fn connect_as(app: &TestApp, bearer: &str) -> Subscriber {
        Self::connect(app, json!({"Authorization": format!("Bearer {bearer}")}))
            .await
            .expect("connection_ack")
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.ws
            .send(Message::text(
                json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
                    .to_string(),
            ))
            .await
            .unwrap();
    }

    /// The next protocol message (answering pings), or how the server closed.
    pub async fn receive(&mut self) -> Result<Value, Closed> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message from the server in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if value["type"] == json!("ping") {
                        self.ws
                            .send(Message::text(json!({"type": "pong"}).to_string()))
                            .await
                            .unwrap();
                        continue;
                    }
                    return Ok(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(
                        Closed {
                            code: 1005,
                            reason: String::new(),
                        },
                        |f| Closed {
                            code: u16::from(f.code),
                            reason: f.reason.to_string(),
                        },
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    return Err(Closed {
                        code: 1006,
                        reason: "connection dropped".to_owned(),
                    });
                }
            }
        }
    }

    /// The next event of subscription `id`; fails the test on anything else.
    pub async fn event(&mut self, id: &str) -> Value {
        let message = self.receive().await.expect("an open connection");
        assert_eq!(message["id"], json!(id), "{message}");
        assert_eq!(message["type"], json!("next"), "{message}");
        assert!(message["payload"]["errors"].is_null(), "{message}");
        message["payload"]["data"]["events"].clone()
    }
}

/// The moment to replay from, taken before the changes a test then makes: whenever the
/// server gets round to starting the subscription, nothing committed after it is missed.
pub fn since_now() -> String {
    aura::time::format_rfc3339(aura::time::now())
}
