//! `TestApp`: the real application, started in-process on port 0 over a fresh database
//! (in-memory SQLite by default, a new PostgreSQL database when `TEST_DATABASE_URL` is
//! set, dropped again when the test ends), with a counter of the SQL statements it runs.
//! `Process`: the real binary as a child process, killed on drop, read with deadlines.

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
    /// Dropped last, after the shutdown signal: the PostgreSQL database goes with the app.
    _database: Arc<TestDatabase>,
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
            self._database.clone(),
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
    /// key look-up, and that its first use is written (in the background, counted), so
    /// tests that count statements count only the operation's.
    #[allow(dead_code)]
    pub async fn warm_key(&self, key: &str) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        self.graphql_ok(key, "{ __typename }", json!({})).await;
        let hash = aura::crypto::api_key::hash(key);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let row = entities::api_key::Entity::find()
                .filter(entities::api_key::Column::SecretHash.eq(hash.as_str()))
                .one(&self.db)
                .await
                .expect("look up the key");
            match row {
                // Not an API key (a Clerk token): nothing is written.
                None => return,
                Some(row) if row.last_used_at.is_some() => return self.await_quiet().await,
                Some(_) => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the key's use was never recorded"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
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
        start(
            config,
            other.db.clone(),
            other.statements.clone(),
            other._database.clone(),
        )
        .await
    }

    pub async fn build(self) -> TestApp {
        let database = test_database(self.sqlite_file).await;
        let url = database.url().to_owned();
        let mut config = Config::ephemeral(&url);
        config.webhooks.run_dispatcher = self.dispatcher;
        // Tests receive webhooks on loopback.
        config.webhooks.allow_private_targets = true;
        for change in self.configure {
            change(&mut config);
        }
        let db = aura::db::connect(&url).await.expect("connect");
        if !database.is_postgres() {
            // A PostgreSQL test database is a copy of the run's migrated template.
            aura::db::migrate(&db).await.expect("migrate");
        }
        start(
            config,
            db,
            Arc::new(AtomicUsize::new(0)),
            Arc::new(database),
        )
        .await
    }
}

/// Starts an instance over `db` (its own pool handle and bus, as another process would
/// have), counting its statements into `statements`.
async fn start(
    config: Config,
    db: DatabaseConnection,
    statements: Arc<AtomicUsize>,
    test_database: Arc<TestDatabase>,
) -> TestApp {
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
        _database: test_database,
    }
}

/// A fresh, empty database for one test: a new PostgreSQL database on the server of
/// `TEST_DATABASE_URL` when it is set (migrated, and dropped when this is dropped), else
/// a SQLite file in a temporary directory (removed with it) or SQLite in memory.
pub struct TestDatabase {
    url: String,
    /// The PostgreSQL database to drop.
    postgres: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.postgres.take() {
            // `WITH (FORCE)` (PostgreSQL 13+) ends the connections the stopped app or a
            // killed child may still hold. Queued, not waited for: the binary waits for
            // the queue when it exits.
            admin().run(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The PostgreSQL server's administration for the tests: one thread with its own
/// runtime and one connection to `TEST_DATABASE_URL`'s database, shared by every test of
/// this binary, so a test's database costs one statement to make (a copy of a template
/// migrated once per run) and one to drop, from inside a test's runtime or outside one.
/// Statements run in order; when the test binary exits it waits for the drops still
/// queued, then drops the template.
struct Admin {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<AdminJob>>,
    admin_url: String,
}

struct AdminJob {
    sql: String,
    done: std::sync::mpsc::Sender<Result<(), String>>,
}

impl Admin {
    fn run(&self, sql: String) -> std::sync::mpsc::Receiver<Result<(), String>> {
        let (done, answer) = std::sync::mpsc::channel();
        let job = AdminJob { sql, done };
        if let Err(err) = self.jobs.lock().unwrap().send(job) {
            let _ = err.0.done.send(Err("the admin thread is gone".to_owned()));
        }
        answer
    }

    /// The URL of database `name` on the same server.
    fn url_of(&self, name: &str) -> String {
        let (base, _) = self
            .admin_url
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL must end in /<database>");
        format!("{base}/{name}")
    }
}

static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn admin() -> &'static Admin {
    static ADMIN: std::sync::OnceLock<Admin> = std::sync::OnceLock::new();
    ADMIN.get_or_init(|| {
        let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let (jobs, queue) = std::sync::mpsc::channel::<AdminJob>();
        let url = admin_url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut connection: Option<DatabaseConnection> = None;
            while let Ok(job) = queue.recv() {
                let result = runtime.block_on(async {
                    if connection.is_none() {
                        let connected = sea_orm::Database::connect(url.as_str())
                            .await
                            .map_err(|e| format!("connect to TEST_DATABASE_URL: {e}"))?;
                        connection = Some(connected);
                    }
                    let db = connection.as_ref().expect("connected");
                    db.execute_unprepared(&job.sql)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                });
                if let Err(err) = &result
                    && job.sql.starts_with("DROP")
                {
                    eprintln!("{}: {err}", job.sql);
                }
                let _ = job.done.send(result);
            }
        });
        sweep_stale_databases(&admin_url);
        // The template goes when the binary exits (after its last test).
        unsafe extern "C" {
            safe fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        extern "C" fn drop_template() {
            let sql = match TEMPLATE.get() {
                Some(name) => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                None => "SELECT 1".to_owned(),
            };
            let done = admin().run(sql);
            let _ = done.recv_timeout(std::time::Duration::from_secs(60));
        }
        atexit(drop_template);
        Admin {
            jobs: std::sync::Mutex::new(jobs),
            admin_url,
        }
    })
}

/// The migrated template of this run, made on first use.
async fn template() -> &'static str {
    static MADE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    MADE.get_or_init(|| async {
        let name = format!("aura_test_{}", uuid::Uuid::now_v7().simple());
        admin_sql(format!("CREATE DATABASE {name}"))
            .await
            .expect("create the template database");
        TEMPLATE.set(name.clone()).expect("one template");
        let db = aura::db::connect(&admin().url_of(&name))
            .await
            .expect("connect to the template");
        aura::db::migrate(&db).await.expect("migrate the template");
        // A template is copied only while nobody is connected to it.
        db.close().await.expect("close the template");
    })
    .await;
    TEMPLATE.get().expect("made")
}

/// Runs a statement on the admin thread without blocking this runtime.
async fn admin_sql(sql: String) -> Result<(), String> {
    let answer = admin().run(sql);
    tokio::task::spawn_blocking(move || {
        answer
            .recv_timeout(std::time::Duration::from_secs(60))
            .map_err(|_| "the admin thread did not answer".to_owned())?
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Test databases of runs that never dropped theirs (killed, or older code): those whose
/// name's UUIDv7 says they were made over an hour ago, and that nobody is connected to
/// (no `FORCE`), are dropped once per test binary, in the background.
fn sweep_stale_databases(admin_url: &str) {
    let admin_url = admin_url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let Ok(admin) = sea_orm::Database::connect(admin_url.as_str()).await else {
                return;
            };
            let Ok(rows) = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT datname FROM pg_database WHERE datname LIKE 'aura\\_test\\_%'",
                ))
                .await
            else {
                return;
            };
            let hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
            for row in rows {
                let Ok(name) = row.try_get::<String>("", "datname") else {
                    continue;
                };
                let made_ms = name
                    .strip_prefix("aura_test_")
                    .and_then(|hex| hex.get(..12))
                    .and_then(|ms| i64::from_str_radix(ms, 16).ok());
                if made_ms.is_some_and(|ms| ms < hour_ago) {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                        .await;
                }
            }
            admin.close().await.ok();
        });
    });
}

/// A fresh database for one test (see [`TestDatabase`]).
pub async fn test_database(sqlite_file: bool) -> TestDatabase {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        let template = template().await;
        let name = format!("aura_test_{}", uuid::Uuid::now_v7().simple());
        admin_sql(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create test database");
        return TestDatabase {
            url: admin().url_of(&name),
            postgres: Some(name),
            _dir: None,
        };
    }
    if sqlite_file {
        let dir = tempfile::tempdir().expect("tempdir");
        return TestDatabase {
            url: format!("sqlite://{}/aura.db?mode=rwc", dir.path().display()),
            postgres: None,
            _dir: Some(dir),
        };
    }
    TestDatabase {
        url: "sqlite::memory:".to_owned(),
        postgres: None,
        _dir: None,
    }
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
/// failing test leaves nothing running), its stderr (and stdout, when asked for) read on
/// threads of their own so every read has a deadline.
#[allow(dead_code)]
pub struct Process {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<(Stream, String)>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
    /// Every stdout line read so far (with [`Process::start_reading_stdout`]).
    pub seen_stdout: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

#[allow(dead_code)]
impl Process {
    /// Starts `aura <args>` with `env`, logging JSON to stderr.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        Self::spawn(args, env, false)
    }

    /// Like [`start`](Self::start), and stdout is read too.
    pub fn start_reading_stdout(args: &[&str], env: &[(&str, &str)]) -> Process {
        Self::spawn(args, env, true)
    }

    fn spawn(args: &[&str], env: &[(&str, &str)], stdout: bool) -> Process {
        use std::io::{BufRead, BufReader, Read};
        use std::process::{Command, Stdio};
        let mut command = Command::new(env!("CARGO_BIN_EXE_aura"));
        command
            .args(args)
            .env("AURA_LOG_FORMAT", "json")
            .env("AURA_LOG", "info")
            .stdout(if stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start aura");
        let (tx, lines) = std::sync::mpsc::channel();
        let read = |source: Box<dyn Read + Send>, stream: Stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(source).lines().map_while(Result::ok) {
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            });
        };
        read(
            Box::new(child.stderr.take().expect("stderr")),
            Stream::Stderr,
        );
        if let Some(out) = child.stdout.take() {
            read(Box::new(out), Stream::Stdout);
        }
        Process {
            child,
            lines,
            seen: Vec::new(),
            seen_stdout: Vec::new(),
        }
    }

    /// The next line of either stream, within `left`; `None` at the deadline or once both
    /// streams are closed.
    fn next_line(&mut self, left: std::time::Duration) -> Option<(Stream, String)> {
        let (stream, line) = self.lines.recv_timeout(left).ok()?;
        match stream {
            Stream::Stderr => self.seen.push(line.clone()),
            Stream::Stdout => self.seen_stdout.push(line.clone()),
        }
        Some((stream, line))
    }

    fn wait_for(
        &mut self,
        wanted: Stream,
        within: std::time::Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let seen = match wanted {
            Stream::Stderr => &self.seen,
            Stream::Stdout => &self.seen_stdout,
        };
        if let Some(line) = seen.iter().find(|l| matches(l)) {
            return Some(line.clone());
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let (stream, line) = self.next_line(left)?;
            if stream == wanted && matches(&line) {
                return Some(line);
            }
        }
    }

    /// The first stdout line (from now or already seen) that `matches`, within `within`.
    pub fn wait_for_stdout(
        &mut self,
        within: std::time::Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Option<String> {
        self.wait_for(Stream::Stdout, within, matches)
    }

    /// The first stderr line (from now or already seen) that `matches`, within `within`.
    pub fn wait_for_line(
        &mut self,
        within: std::time::Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Option<String> {
        self.wait_for(Stream::Stderr, within, matches)
    }

    /// Reads whatever the streams have for `within`, then returns every stderr line seen.
    pub fn drain(&mut self, within: std::time::Duration) -> &[String] {
        let deadline = std::time::Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            if self.next_line(left).is_none() {
                break;
            }
        }
        &self.seen
    }

    /// Reads the streams until both close (the process exited), at most `within`; returns
    /// every stderr line seen.
    pub fn drain_to_end(&mut self, within: std::time::Duration) -> &[String] {
        let deadline = std::time::Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok((Stream::Stderr, line)) => self.seen.push(line),
                Ok((Stream::Stdout, line)) => self.seen_stdout.push(line),
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

    /// SIGKILL, and waits for it to be gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
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

/// A loopback port nothing listens on, held by the returned socket (bound, never
/// listening) so that no one else can take it while the test runs: connections to it
/// are refused.
#[allow(dead_code)]
pub fn closed_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().unwrap())
        .expect("bind a port");
    let port = socket.local_addr().expect("local address").port();
    (socket, port)
}
