//! What the fault tests share: an in-process app over a connection the test chooses (so
//! it can reach PostgreSQL through a proxy the test controls), that TCP proxy, a private
//! `redis-server` the test may kill, and a small graphql-transport-ws client.
//!
//! Nothing here touches the shared PostgreSQL or Redis servers beyond the test's own
//! fresh database: a database outage is a proxy that stops passing bytes, and a Redis
//! outage is a private `redis-server` killed.

use std::future::Future;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aura::config::Config;
use aura::db::Database;
use aura::startup::Application;
use futures_util::{SinkExt, StreamExt};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The server key `aura` processes of these tests encrypt webhook secrets with (32 bytes,
/// base64); PostgreSQL requires one.
pub const SERVER_KEY: &str = "YXVyYS1mYXVsdC10ZXN0cy1rZXktb2YtMzItYnl0ZXM=";

/// `TEST_DATABASE_URL` when the tests run on PostgreSQL.
pub fn postgres() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok()
}

/// The last path segment of a database URL: the test's own database.
pub fn database_name(url: &str) -> String {
    let (_, name) = url.rsplit_once('/').expect("a URL ending in /<database>");
    name.split('?').next().unwrap_or(name).to_owned()
}

/// `host:port` of a `postgres://user@host:port/db` URL.
pub fn host_and_port(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// `url` with its `host:port` replaced by `127.0.0.1:port`.
pub fn through(url: &str, port: u16) -> String {
    url.replacen(&host_and_port(url), &format!("127.0.0.1:{port}"), 1)
}

/// The application, run in-process on port 0 over a pool the test made, with a shutdown
/// signal the test sends.
pub struct FaultApp {
    pub address: String,
    /// The app's own pool (closing it closes the app's).
    pub conn: DatabaseConnection,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl FaultApp {
    /// Migrates `conn` (a pool on `url`) and serves the app over it, with `configure`
    /// applied to the test configuration.
    pub async fn start(
        conn: DatabaseConnection,
        url: &str,
        configure: impl FnOnce(&mut Config),
    ) -> FaultApp {
        aura::db::migrate(&conn).await.expect("migrate");
        let mut config = Config::ephemeral(url);
        config.webhooks.run_dispatcher = false;
        configure(&mut config);
        let database = Database::new(conn);
        let conn = database.conn().clone();
        let app = Application::build_with_database(config, database)
            .await
            .expect("build app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        FaultApp {
            address,
            conn,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The shutdown signal (what SIGTERM is to `aura serve`).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for the server to stop after [`begin_shutdown`](Self::begin_shutdown).
    pub async fn stopped(&mut self, within: Duration) {
        let server = self.server.take().expect("running");
        tokio::time::timeout(within, server)
            .await
            .expect("the server did not stop in time")
            .expect("server task")
            .expect("server");
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Connections reach the upstream.
    Pass,
    /// Connections are accepted and closed at once, before a byte passes: a server that
    /// is down behind a proxy or load balancer.
    Reset,
}

/// A TCP proxy the test stops and starts: every connection through it can be cut, new
/// connections closed at once ([`Proxy::cut`]) or refused ([`Proxy::refuse`]). It keeps
/// its port throughout: while refusing, the port is held by a socket bound and not
/// listening, which [`Proxy::restore`] listens on again.
pub struct Proxy {
    pub port: u16,
    upstream: String,
    mode: Arc<Mutex<Mode>>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
    /// The port while refusing: bound, never listening, so connections are refused and
    /// no other socket takes it.
    held: Mutex<Option<tokio::net::TcpSocket>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            upstream: upstream.to_owned(),
            mode: Arc::new(Mutex::new(Mode::Pass)),
            pipes: Arc::default(),
            accept: Mutex::new(None),
            held: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (mode, pipes, upstream) =
            (self.mode.clone(), self.pipes.clone(), self.upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *mode.lock().unwrap() == Mode::Reset {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut pipes = pipes.lock().unwrap();
                pipes.retain(|p| !p.is_finished());
                pipes.push(pipe);
            }
        });
        *self.accept.lock().unwrap() = Some(accept);
    }

    fn cut_pipes(&self) {
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// The upstream is gone: every open connection is cut, and new ones are accepted and
    /// closed at once.
    pub fn cut(&self) {
        *self.mode.lock().unwrap() = Mode::Reset;
        self.cut_pipes();
    }

    /// Nothing listens any more: every open connection is cut, new ones are refused.
    pub async fn refuse(&self) {
        let accept = self.accept.lock().unwrap().take();
        if let Some(accept) = accept {
            accept.abort();
            let _ = accept.await;
        }
        self.cut_pipes();
        // Taken again at once (the listener just closed), and kept until `restore`.
        let held = self.bound_socket();
        *self.held.lock().unwrap() = Some(held);
    }

    /// A socket bound to the proxy's port, not listening. `SO_REUSEADDR`, as the listener
    /// had: the connections it accepted may still be closing on this port.
    fn bound_socket(&self) -> tokio::net::TcpSocket {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .expect("hold the proxy's port");
        socket
    }

    /// Passes connections to the upstream again.
    pub async fn restore(&self) {
        *self.mode.lock().unwrap() = Mode::Pass;
        let listening = self
            .accept
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|a| !a.is_finished());
        if !listening {
            let held = self.held.lock().unwrap().take();
            let listener = held
                .unwrap_or_else(|| self.bound_socket())
                .listen(1024)
                .expect("listen again on the proxy's port");
            self.serve(listener);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.lock().unwrap().take() {
            accept.abort();
        }
        self.cut_pipes();
    }
}

/// A PostgreSQL database of the test's own (a fresh one on the `TEST_DATABASE_URL`
/// server) behind a [`Proxy`], and a pool on it through the proxy.
pub struct ProxiedPostgres {
    pub proxy: Proxy,
    /// The test database, reached directly (for seeding and checks).
    pub direct_url: String,
    /// The same database through the proxy (what the app uses).
    pub proxied_url: String,
    /// Dropped with this.
    _database: crate::helpers::TestDatabase,
}

impl ProxiedPostgres {
    pub async fn create() -> ProxiedPostgres {
        let database = crate::helpers::test_database(false).await;
        let direct_url = database.url().to_owned();
        let proxy = Proxy::start(&host_and_port(&direct_url)).await;
        let proxied_url = through(&direct_url, proxy.port);
        ProxiedPostgres {
            proxy,
            direct_url,
            proxied_url,
            _database: database,
        }
    }
}

/// A `redis-server` of the test's own on a free loopback port, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Whether `redis-server` can be run here.
    pub fn available() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub async fn start() -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn().await {
                return server;
            }
        }
        panic!("could not start a private redis-server");
    }

    /// Starts the process on `self.port`; whether it answers PING.
    async fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "no"])
            .args(["--loglevel", "warning"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                // It exited: the port was taken.
                self.child = None;
                return false;
            }
            if ping(self.port).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: Redis is gone at once, without a goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: it keeps nothing on disk).
    pub async fn restart(&mut self) {
        self.kill();
        assert!(self.spawn().await, "redis-server did not come back");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

async fn ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    matches!(
        tokio::time::timeout(Duration::from_millis(500), stream.read_exact(&mut buf)).await,
        Ok(Ok(_)) if &buf == b"+PONG\r\n"
    )
}

/// How the server ended a WebSocket.
#[derive(Debug)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// A graphql-transport-ws connection, just enough for these tests.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// Upgrades at `{base}/graphql/ws`, with `Authorization: Bearer {bearer}` on the
    /// upgrade request when given (so the upgrade is charged to the key), and sends
    /// `connection_init` with `payload`; fails the test unless acknowledged.
    pub async fn connect(base: &str, bearer: Option<&str>, payload: Value) -> Socket {
        let url = format!("{}/graphql/ws", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        if let Some(bearer) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {bearer}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket upgrade");
        let mut socket = Socket { ws };
        socket
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        let ack = socket
            .receive(Duration::from_secs(10))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], json!("connection_ack"), "{ack}");
        socket
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send on the WebSocket");
    }

    /// The next protocol message (answering pings), or how the server closed.
    pub async fn receive(&mut self, within: Duration) -> Result<Value, Closed> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("no message from the server in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap();
                    if value["type"] == json!("ping") {
                        self.send(json!({"type": "pong"})).await;
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

    /// Runs a query or mutation as operation `id`: its one result's payload.
    pub async fn run(&mut self, id: &str, query: &str) -> Value {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query}}))
            .await;
        loop {
            let message = self
                .receive(Duration::from_secs(15))
                .await
                .unwrap_or_else(|closed| panic!("the socket closed: {closed:?}"));
            if message["id"] != json!(id) {
                continue;
            }
            match message["type"].as_str() {
                Some("next") => return message["payload"].clone(),
                Some("error") => return json!({"errors": message["payload"]}),
                _ => panic!("unexpected {message}"),
            }
        }
    }

    /// Reads until the server closes; the close and when it came.
    pub async fn closed(&mut self, within: Duration) -> (Closed, Instant) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("the server never closed the socket");
            if let Err(closed) = self.receive(left).await {
                return (closed, Instant::now());
            }
        }
    }
}

/// Polls `check` every 50 ms until it holds, at most `within`; whether it did.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client that sends from another loopback address, so its anonymous budget is not
/// the one a test is measuring.
pub fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
}

/// The `SocketAddr` of `http://ip:port`.
pub fn socket_addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .parse()
        .expect("an http://ip:port address")
}
