//! The `aura` binary as an operator uses it: on SQLite, and on a fresh PostgreSQL
//! database of each test's own when `TEST_DATABASE_URL` is set.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Process, TestDatabase, test_database};

/// The server key the child processes seal webhook secrets with (PostgreSQL requires
/// one; SQLite uses it when given).
pub const SERVER_KEY: &str = "Y2xpLXRlc3Qta2V5LW9mLXRoaXJ0eS10d28tYnl0ZXM=";

/// How long one CLI command may take before the test kills it and fails.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `command` to its end, at most `within`: its output is read on threads of their
/// own, and a command still running at the deadline is killed and fails the test.
pub fn output_within(mut command: Command, within: Duration) -> Output {
    use std::io::Read;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aura");
    let read = |mut source: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = source.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for aura") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {within:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn command(database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aura"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY)
        .env("AURA_LOG", "warn")
        .env_remove("REDIS_URL");
    command
}

pub fn aura(database_url: &str, args: &[&str]) -> Output {
    output_within(command(database_url, args), COMMAND_DEADLINE)
}

pub fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// A fresh database for one test: a SQLite file, or a PostgreSQL database.
pub async fn temp_db() -> (TestDatabase, String) {
    let database = test_database(true).await;
    let url = database.url().to_owned();
    (database, url)
}

/// What a database says when a table is missing.
fn missing_table(database: &TestDatabase, table: &str) -> String {
    if database.is_postgres() {
        format!("relation \"{table}\" does not exist")
    } else {
        format!("no such table: {table}")
    }
}

/// `aura serve` on `url`, on a port of its own choosing, and its announced address.
fn serve(url: &str) -> (Process, String) {
    let mut server = Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
        ],
    );
    let address = server.address("listening");
    (server, address)
}

async fn get_status(address: &str, path: &str, key: &str) -> (u16, serde_json::Value) {
    aura::crypto::tls::install_crypto_provider();
    let response = reqwest::Client::new()
        .get(format!("{address}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Keys made and revoked with the CLI work, and stop working, against a running server.
#[tokio::test]
async fn orgs_and_keys_lifecycle() {
    let (_db, url) = temp_db().await;
    let out = aura(
        &url,
        &["orgs", "create", "--name", "Acme Sales", "--slug", "acme"],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(last_line(&out).starts_with("org_"));

    let dup = aura(
        &url,
        &["orgs", "create", "--name", "Again", "--slug", "acme"],
    );
    assert!(!dup.status.success());

    let out = aura(
        &url,
        &[
            "keys",
            "create",
            "--org",
            "acme",
            "--name",
            "Postman Testing",
            "--scopes",
            "leads:read,payments:read",
            "--expires-in",
            "30d",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let key = last_line(&out);
    assert_eq!(aura::crypto::api_key::verify_format(&key), Ok(()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key_id = stdout
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap()
        .to_owned();

    let list = aura(&url, &["keys", "list", "--org", "acme"]);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains("Postman Testing"));
    assert!(listing.contains("active"));
    assert!(!listing.contains(&key), "secrets are never listed");

    // The key works against a server on the same database, within its scopes ...
    let (_server, address) = serve(&url);
    let (status, body) = get_status(&address, "/v1/leads", &key).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_status(&address, "/v1/calls", &key).await;
    assert_eq!(
        (status, &body["code"]),
        (403, &serde_json::json!("FORBIDDEN"))
    );

    // ... and stops working once the CLI revokes it: at once on PostgreSQL (the server
    // hears the revocation), within its short cache time on SQLite.
    let out = aura(&url, &["keys", "revoke", &key_id]);
    assert!(out.status.success(), "{out:?}");
    let list = aura(&url, &["keys", "list", "--org", "acme"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));
    let revoked = Instant::now();
    let body = loop {
        let (status, body) = get_status(&address, "/v1/leads", &key).await;
        if status == 401 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            revoked.elapsed() < aura::auth::key_cache::TTL_ALONE + Duration::from_secs(2),
            "the revoked key still works after {:?}",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["code"], serde_json::json!("UNAUTHORIZED"), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
}

#[tokio::test]
async fn demo_prints_a_working_key_last() {
    let (_db, url) = temp_db().await;
    let out = aura(&url, &["demo", "--leads", "25"]);
    assert!(out.status.success(), "{out:?}");
    let first_key = last_line(&out);
    assert_eq!(aura::crypto::api_key::verify_format(&first_key), Ok(()));
    // Running it again keeps the data and mints another key.
    let out = aura(&url, &["demo"]);
    assert!(out.status.success(), "{out:?}");
    let second_key = last_line(&out);
    assert_eq!(aura::crypto::api_key::verify_format(&second_key), Ok(()));
    assert_ne!(first_key, second_key);
    // Both work, on the same 25 leads.
    let (_server, address) = serve(&url);
    for key in [&first_key, &second_key] {
        let (status, body) = get_status(&address, "/v1/leads?limit=100", key).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"].as_array().unwrap().len(), 25, "{body}");
    }
}

#[tokio::test]
async fn bad_settings_stop_with_one_line() {
    let (_db, url) = temp_db().await;
    for args in [
        vec!["--bind", "not-an-address"],
        vec!["serve", "--bind", "999.1.1.1:80"],
        vec![
            "keys",
            "create",
            "--org",
            "x",
            "--name",
            "n",
            "--expires-in",
            "soon",
        ],
        vec!["--log-format", "xml"],
        vec!["serve", "--webhook-secret-key", "too-short"],
        vec![
            "worker",
            "--webhook-timeout",
            "30s",
            "--webhook-lease",
            "10s",
        ],
        vec!["serve", "--webhook-concurrency", "0"],
    ] {
        let out = aura(&url, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    // PostgreSQL (production) needs the key that seals webhook secrets: no silent default.
    let mut worker = command("postgres://nobody@127.0.0.1:1/none", &["worker"]);
    worker.env_remove("AURA_WEBHOOK_SECRET_KEY");
    let out = output_within(worker, COMMAND_DEADLINE);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AURA_WEBHOOK_SECRET_KEY"), "{stderr}");
    assert!(!stderr.contains("too-short"));
    let out = aura("mysql://nope", &["migrate"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

#[test]
fn export_writes_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut export = Command::new(env!("CARGO_BIN_EXE_aura"));
    export.args(["export", "--dir", dir.path().to_str().unwrap()]);
    let out = output_within(export, COMMAND_DEADLINE);
    assert!(out.status.success(), "{out:?}");
    let sdl = std::fs::read_to_string(dir.path().join("schema.graphql")).unwrap();
    assert_eq!(sdl, aura::graphql::sdl());
    let openapi = std::fs::read_to_string(dir.path().join("openapi.json")).unwrap();
    assert_eq!(openapi, aura::rest::document_json());
}

#[tokio::test]
async fn bad_auth_and_rate_limit_settings_stop_with_one_line() {
    let (_db, url) = temp_db().await;
    let pem = include_str!("fixtures/test_only_rsa_a_pub.pem");
    let private = include_str!("fixtures/test_only_rsa_a.pem").replace('\n', "\\n");
    let jwks = "https://clerk.example.com/.well-known/jwks.json";
    for args in [
        vec![
            "serve",
            "--clerk-jwks-url",
            "http://clerk.example.com/jwks",
            "--clerk-issuer",
            "x",
        ],
        vec![
            "serve",
            "--clerk-jwt-key",
            "not a pem",
            "--clerk-issuer",
            "x",
        ],
        vec!["serve", "--clerk-jwt-key", pem],
        vec![
            "serve",
            "--clerk-jwks-url",
            jwks,
            "--clerk-jwt-key",
            pem,
            "--clerk-issuer",
            "x",
        ],
        vec!["serve", "--clerk-issuer", "https://clerk.example.com"],
        vec![
            "serve",
            "--clerk-jwks-url",
            jwks,
            "--clerk-issuer",
            "x",
            "--clerk-jwks-ttl",
            "soon",
        ],
        vec!["serve", "--rate-limit-per-key", "0"],
        vec!["serve", "--rate-limit-per-org", "-5"],
        vec!["serve", "--rate-limit-window", "5x"],
        vec!["serve", "--redis-url", "http://127.0.0.1:6379"],
        vec!["serve", "--clerk-jwt-key", &private, "--clerk-issuer", "x"],
    ] {
        let out = aura(&url, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            !stderr.contains("MIIB"),
            "{args:?}: a key is echoed: {stderr}"
        );
    }
    // The same through the environment.
    let mut serve = command(&url, &["serve"]);
    serve
        .env("CLERK_JWKS_URL", "ftp://clerk.example.com/jwks")
        .env("CLERK_ISSUER", "x");
    let out = output_within(serve, COMMAND_DEADLINE);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CLERK_JWKS_URL") || stderr.contains("clerk-jwks-url"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let (_db, url) = temp_db().await;
    // Readiness turns 503 for the shutdown delay before the listener closes (the faults
    // tests cover that window); a short one here.
    let mut server = Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("DATABASE_URL", &url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            ("AURA_SHUTDOWN_DELAY", "1s"),
        ],
    );
    let address = server.address("listening");
    let (status, _) = get_status(&address, "/health", "none").await;
    assert_eq!(status, 200);
    server.signal("TERM");
    let exit = server
        .wait(Duration::from_secs(20))
        .expect("the server exits after SIGTERM");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    let seen = server.drain_to_end(Duration::from_secs(5));
    assert!(seen.iter().any(|l| l.contains("shutting down")), "{seen:?}");
}

#[tokio::test]
async fn serve_demo_prints_a_key_on_every_start() {
    let (_db, url) = temp_db().await;
    let mut keys = Vec::new();
    for _ in 0..2 {
        let mut server = Process::start_reading_stdout(
            &["serve", "--demo", "--bind", "127.0.0.1:0"],
            &[
                ("DATABASE_URL", &url),
                ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            ],
        );
        let key = server
            .wait_for_stdout(Duration::from_secs(60), |l| l.starts_with("aura_pk_live_"))
            .unwrap_or_else(|| panic!("no key on stdout: {:?}", server.seen_stdout));
        assert_eq!(aura::crypto::api_key::verify_format(&key), Ok(()));
        // The key printed is one the server takes.
        let address = server.address("listening");
        let (status, body) = get_status(&address, "/v1/leads?limit=1", &key).await;
        assert_eq!(status, 200, "{body}");
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1]);
}

/// `aura worker` delivers what the API recorded, signed so that the reference library
/// verifies it, and stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_delivers_until_sigterm() {
    use aura::crypto::SecretBox;
    use aura::services::webhooks::{self as service, NewSubscription};
    use aura::webhooks::{WebhookConfig, Webhooks};
    use sea_orm::EntityTrait;

    let (_db, url) = temp_db().await;
    let db = aura::db::connect(&url).await.unwrap();
    aura::db::migrate(&db).await.unwrap();
    let database = aura::db::Database::new(db.clone());
    let org = aura::services::orgs::create(
        &db,
        "Worker Test",
        &aura::domain::Slug::parse("worker-test").unwrap(),
        None,
    )
    .await
    .unwrap();
    let receiver = crate::webhooks::receiver::Receiver::start().await;
    let hooks = Webhooks::new(WebhookConfig {
        secret_box: SecretBox::from_base64(SERVER_KEY).unwrap(),
        allow_private_targets: true,
        ..WebhookConfig::ephemeral()
    })
    .unwrap();
    let (_, secret) = service::create(
        &database,
        &hooks.policy(),
        &aura::domain::Actor::operator(org.id),
        NewSubscription {
            url: receiver.url.clone(),
            description: None,
            event_types: vec!["lead.created".into()],
            enabled: None,
        },
    )
    .await
    .unwrap();
    let secret = secret.expose();

    let mut worker = Process::start(
        &["worker"],
        &[
            ("DATABASE_URL", &url),
            ("AURA_WEBHOOK_SECRET_KEY", SERVER_KEY),
            ("AURA_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ],
    );
    assert!(
        worker
            .wait_for_line(Duration::from_secs(30), |l| l
                .contains("webhook dispatcher started"))
            .is_some(),
        "the worker's dispatcher started: {:?}",
        worker.seen
    );

    let txn = database.begin_write().await.unwrap();
    let event = aura::events::record(
        &txn,
        org.id,
        aura::events::EventType::LeadCreated,
        &serde_json::json!({"id": "lead_from_the_api", "name": "Worker Lead"}),
    )
    .await
    .unwrap();
    database.commit(txn).await.unwrap();
    let event_id = aura::ids::encode(aura::ids::IdKind::Event, event.id);

    let received = receiver.wait_for(1).await;
    let delivery = &received[0];
    delivery.assert_verified(&secret);
    assert_eq!(delivery.id, event_id);
    let body = delivery.json();
    assert_eq!(body["type"], serde_json::json!("lead.created"));
    assert_eq!(body["data"]["name"], serde_json::json!("Worker Lead"));
    // A stranger's secret does not verify it.
    assert!(
        delivery
            .verify_standard(&aura::crypto::SigningSecret::generate().unwrap().expose())
            .is_err()
    );

    worker.signal("TERM");
    let exit = worker
        .wait(Duration::from_secs(20))
        .expect("the worker exits after SIGTERM");
    assert!(exit.success(), "a stopped worker exits 0, got {exit:?}");
    let seen = worker.drain_to_end(Duration::from_secs(5));
    assert!(
        seen.iter()
            .any(|l| l.contains("webhook dispatcher stopping")),
        "{seen:?}"
    );
    // Delivered once, and recorded as delivered.
    assert_eq!(receiver.received().len(), 1);
    let stored = entities::webhook_delivery::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].status,
        entities::webhook_delivery::DeliveryStatus::Succeeded
    );
    db.close().await.ok();
}

/// An operator sees what went wrong, with its cause, not the API's "internal server error".
#[tokio::test]
async fn failures_show_the_operator_their_cause() {
    let (database, url) = temp_db().await;
    assert!(
        aura(
            &url,
            &["orgs", "create", "--name", "Acme", "--slug", "acme"]
        )
        .status
        .success()
    );
    let unknown = aura(&url, &["keys", "revoke", "key_00000000000000000000000000"]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("finding the key") && stderr.contains("not found"),
        "{stderr}"
    );

    // Break the database under the CLI: the key table is gone.
    let db = aura::db::connect(&url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE api_keys")
        .await
        .unwrap();
    db.close().await.unwrap();
    let out = aura(&url, &["keys", "list", "--org", "acme"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listing keys"), "{stderr}");
    assert!(
        stderr.contains(&missing_table(&database, "api_keys")),
        "{stderr}"
    );
    assert!(!stderr.contains("internal server error"), "{stderr}");
}

/// A failure of ours is logged once, inside the request's span (so with its request id),
/// with its whole cause; the caller sees a generic message and the id.
#[tokio::test]
async fn an_internal_error_is_logged_once_with_its_cause_and_request_id() {
    let (database, url) = temp_db().await;
    let key = last_line(&aura(&url, &["demo", "--leads", "5"]));
    let (mut server, address) = serve(&url);
    let db = aura::db::connect(&url).await.unwrap();
    // PostgreSQL keeps the commissions' foreign key from dropping it alone.
    let drop = if database.is_postgres() {
        "DROP TABLE payments CASCADE"
    } else {
        "DROP TABLE payments"
    };
    sea_orm::ConnectionTrait::execute_unprepared(&db, drop)
        .await
        .unwrap();
    db.close().await.ok();
    aura::crypto::tls::install_crypto_provider();
    let response = reqwest::Client::new()
        .get(format!("{address}/v1/payments"))
        .bearer_auth(&key)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 500);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "internal server error");
    assert_eq!(body["request_id"], "trace-me-42");
    // As it appears inside a JSON log line.
    let cause = missing_table(&database, "payments").replace('"', "\\\"");
    // The error line, then a moment for a second one that must not come.
    server
        .wait_for_line(Duration::from_secs(10), |l| {
            l.contains("\"level\":\"ERROR\"") && l.contains(&cause)
        })
        .unwrap_or_else(|| panic!("no error logged: {:?}", server.seen));
    let seen = server.drain(Duration::from_millis(300)).to_vec();
    let errors: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert_eq!(errors.len(), 1, "logged once: {errors:#?}");
    assert!(errors[0].contains(&cause), "{}", errors[0]);
    assert!(
        errors[0].contains("trace-me-42"),
        "in the request's span: {}",
        errors[0]
    );
    assert!(!errors[0].contains(&key), "never a secret");
}
