//! `TestApp`: the real application, started in-process on port 0 over a fresh database
//! (in-memory SQLite by default, a new PostgreSQL database when `TEST_DATABASE_URL` is
//! set), with a counter of the SQL statements it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aura::config::Config;
use aura::db::Database;
use aura::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    /// The app's own [`Database`]: writes through it are announced to this instance.
    #[allow(dead_code)]
    pub database: Database,
    pub client: reqwest::Client,
    statements: Arc<AtomicUsize>,
    config: Config,
    _shutdown: oneshot::Sender<()>,
}

type ConfigChange = Box<dyn FnOnce(&mut Config) + Send>;

pub struct TestAppBuilder {
    sqlite_file: bool,
    dispatcher: bool,
    configure: Vec<ConfigChange>,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            sqlite_file: false,
            dispatcher: false,
            configure: Vec::new(),
        }
    }

    pub async fn spawn() -> TestApp {
        Self::builder().build().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Another instance of the application over the same database, as a second server
    /// behind a load balancer would be.
    #[allow(dead_code)]
    pub async fn second_instance(&self) -> TestApp {
        start(
            self.config.clone(),
            self.db.clone(),
            self.statements.clone(),
        )
        .await
    }

    /// Waits until the key's first use is written (a background write at most once a
    /// minute per key), so that tests counting statements do not count it.
    pub async fn await_key_use_recorded(&self, organization_id: uuid::Uuid) {
        for _ in 0..500 {
            let keys = crate::factory::keys::list(&self.db, organization_id)
                .await
                .expect("list keys");
            if keys.iter().any(|k| k.last_used_at.is_some()) {
                return self.await_quiet().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the key's use was never recorded");
    }

    /// Waits until no statement has run for a while. A background write is visible to
    /// other connections a moment before its statement is counted.
    pub async fn await_quiet(&self) {
        let mut seen = self.statements();
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let now = self.statements();
            if now == seen {
                return;
            }
            seen = now;
        }
        panic!("statements kept running in the background");
    }

    /// The database the app runs on, for tests that open their own connections to it.
    #[allow(dead_code)]
    pub fn database_url(&self) -> &str {
        &self.config.database_url
    }

    /// The webhook settings the app runs with (its secret key included).
    #[allow(dead_code)]
    pub fn webhook_config(&self) -> aura::webhooks::WebhookConfig {
        self.config.webhooks.clone()
    }

    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.expect("request failed")
    }

    /// Makes sure `key` is in the verified-key cache, so the next request with it runs no
    /// key look-up (tests that count statements count only the operation's).
    #[allow(dead_code)]
    pub async fn warm_key(&self, key: &str) {
        self.graphql_ok(key, "{ __typename }", json!({})).await;
    }

    /// POSTs a GraphQL operation and returns the status and JSON body.
    pub async fn graphql(&self, key: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(key)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request failed");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Like [`graphql`](Self::graphql), but fails the test on any error and returns `data`.
    pub async fn graphql_ok(&self, key: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql(key, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }
}

impl TestAppBuilder {
    /// Use a SQLite file (WAL, several connections) instead of memory, where a test needs
    /// real concurrency.
    #[allow(dead_code)]
    pub fn sqlite_file(mut self) -> Self {
        self.sqlite_file = true;
        self
    }

    /// Runs the webhook dispatcher in the app, as `aura serve` does. Off by default: its
    /// polling would show up in the statement counts other tests take.
    #[allow(dead_code)]
    pub fn with_dispatcher(mut self) -> Self {
        self.dispatcher = true;
        self
    }

    /// Adjusts the configuration before the app starts (Clerk, rate limits).
    #[allow(dead_code)]
    pub fn configure(mut self, change: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure.push(Box::new(change));
        self
    }

    /// Another instance over `other`'s database (and its webhook key), configured by this
    /// builder: a differently configured second server or worker.
    #[allow(dead_code)]
    pub async fn build_over(self, other: &TestApp) -> TestApp {
        let mut config = other.config.clone();
        config.webhooks.run_dispatcher = self.dispatcher;
        for change in self.configure {
            change(&mut config);
        }
        start(config, other.db.clone(), other.statements.clone()).await
    }

    pub async fn build(self) -> TestApp {
        let url = database_url(self.sqlite_file).await;
        let mut config = Config::ephemeral(&url);
        config.webhooks.run_dispatcher = self.dispatcher;
        // Tests receive webhooks on loopback.
        config.webhooks.allow_private_targets = true;
        for change in self.configure {
            change(&mut config);
        }
        let db = aura::db::connect(&url).await.expect("connect");
        aura::db::migrate(&db).await.expect("migrate");
        start(config, db, Arc::new(AtomicUsize::new(0))).await
    }
}

/// Starts an instance over `db` (its own pool handle and bus, as another process would
/// have), counting its statements into `statements`.
async fn start(config: Config, db: DatabaseConnection, statements: Arc<AtomicUsize>) -> TestApp {
    let database = Database::new(db);
    let counter = statements.clone();
    database.observe(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let db = database.conn().clone();
    let app = Application::build_with_database(config.clone(), database.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    // On PostgreSQL the instance hears the others (and trusts its key cache) once its
    // LISTEN connection is up: wait for it, as a test's first request would otherwise
    // race it.
    for _ in 0..500 {
        if database.bus().hears_others() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        database.bus().hears_others(),
        "the LISTEN connection never came up"
    );
    TestApp {
        address,
        db,
        database,
        client: reqwest::Client::new(),
        statements,
        config,
        _shutdown: tx,
    }
}

/// A fresh, empty database for one test.
pub async fn database_url(sqlite_file: bool) -> String {
    if let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") {
        let name = format!("aura_test_{}", uuid::Uuid::now_v7().simple());
        let admin = aura::db::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL must end in /<database>");
        return format!("{base}/{name}");
    }
    if sqlite_file {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        return format!("sqlite://{}/aura.db?mode=rwc", dir.display());
    }
    "sqlite::memory:".to_owned()
}

/// Asserts the contract's error body and returns it.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let request_id = response
        .headers()
        .get("x-request-id")
        .expect("X-Request-Id on every response")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!(code), "{body}");
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], json!(request_id), "{body}");
    body
}

/// A child `aura` process for tests that need the real binary: killed when dropped (so a
/// failing test leaves nothing running), its stderr read on a thread of its own so every
/// read has a deadline.
#[allow(dead_code)]
pub struct Process {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

#[allow(dead_code)]
impl Process {
    /// Starts `aura <args>` with `env`, logging JSON to stderr.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut command = Command::new(env!("CARGO_BIN_EXE_aura"));
        command
            .args(args)
            .env("AURA_LOG_FORMAT", "json")
            .env("AURA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start aura");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first stderr line (from now or already seen) that `matches`, within `within`.
    pub fn wait_for_line(
        &mut self,
        within: std::time::Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Option<String> {
        if let Some(line) = self.seen.iter().find(|l| matches(l)) {
            return Some(line.clone());
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if matches(&line) {
                return Some(line);
            }
        }
    }

    /// Reads whatever stderr has for `within`, then returns everything seen.
    pub fn drain(&mut self, within: std::time::Duration) -> &[String] {
        let deadline = std::time::Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
        &self.seen
    }

    /// The address a server announced (`"message":"listening"`, `"address":"ip:port"`).
    pub fn address(&mut self, message: &str) -> String {
        let line = self
            .wait_for_line(std::time::Duration::from_secs(30), |l| {
                // poem logs its own `listening` line, with `addr`; ours has `address`.
                l.contains(&format!("\"message\":\"{message}\"")) && l.contains("\"address\"")
            })
            .unwrap_or_else(|| panic!("no `{message}` line; stderr: {:?}", self.seen));
        let value: Value = serde_json::from_str(&line).expect("a JSON log line");
        let address = value["address"]
            .as_str()
            .unwrap_or_else(|| panic!("no address in {line}"));
        format!("http://{address}")
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `within`.
    pub fn wait(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
