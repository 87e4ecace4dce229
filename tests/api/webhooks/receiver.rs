//! A webhook receiver for tests: a real HTTP server on loopback that records every
//! request and answers with the statuses it is told to. Deliveries are checked with the
//! reference `standardwebhooks` crate, an implementation independent of aura's own
//! signing code (`aura::webhooks::signature`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
    /// Every header, as the receiver got them.
    pub headers: poem::http::HeaderMap,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON webhook body")
    }

    /// Verifies the delivery as a receiver using the reference library would: its
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers against the
    /// body, the timestamp within five minutes of the real clock. `secret` is the
    /// `whsec_…` string the API handed out.
    pub fn verify_standard(&self, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
        standardwebhooks::Webhook::new(secret)?.verify(&self.body, &self.headers)
    }

    /// Panics unless [`verify_standard`](Self::verify_standard) accepts the delivery.
    pub fn assert_verified(&self, secret: &str) {
        if let Err(err) = self.verify_standard(secret) {
            panic!(
                "standardwebhooks refused delivery {} ({err}); signature {:?}",
                self.id, self.signature
            );
        }
    }

    /// For deliveries signed on a test's moved clock, outside the library's five-minute
    /// tolerance: whether one of the header's signatures is the one the reference library
    /// computes for this id, timestamp and body.
    pub fn signed_by(&self, secret: &str) -> bool {
        let expected = standardwebhooks::Webhook::new(secret)
            .expect("a whsec_ secret")
            .sign(&self.id, self.timestamp, &self.body)
            .expect("a UTF-8 body");
        self.signature.split(' ').any(|entry| entry == expected)
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    /// Answers for the next requests; 200 once they run out.
    script: VecDeque<(u16, Vec<(&'static str, String)>)>,
    delay: Duration,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

#[handler]
async fn receive(req: &Request, body: Vec<u8>, state: Data<&Receiver>) -> Response {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (answer, delay) = {
        let mut inner = state.inner.lock().unwrap();
        inner.received.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
            signature: header("webhook-signature"),
            body,
            headers: req.headers().clone(),
        });
        (inner.script.pop_front(), inner.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, headers) = answer.unwrap_or((200, vec![]));
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(format!("receiver says {status}"))
}

impl Receiver {
    pub async fn start() -> Receiver {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0]
            .as_socket_addr()
            .map(|a| a.port())
            .unwrap();
        let receiver = Receiver {
            inner: Arc::default(),
            url: format!("http://127.0.0.1:{port}/hooks/aura"),
        };
        let app = Route::new()
            .at("/hooks/aura", poem::post(receive))
            .data(receiver.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        receiver
    }

    /// The next answers, in order (then 200s).
    pub fn answer(&self, status: u16, headers: Vec<(&'static str, String)>) {
        self.inner
            .lock()
            .unwrap()
            .script
            .push_back((status, headers));
    }

    pub fn delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits until at least `count` requests arrived (10 s at most).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        self.wait_for_within(count, Duration::from_secs(10)).await
    }

    /// Waits until at least `count` requests arrived, `within` at most.
    pub async fn wait_for_within(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the receiver got {} requests, expected {count}",
            self.received().len()
        );
    }
}

/// The checker itself is right: the reference library reproduces the Standard Webhooks
/// specification's test vector.
#[test]
fn the_reference_library_reproduces_the_specification_vector() {
    let hook = standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(
        hook.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#
        )
        .unwrap(),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}
