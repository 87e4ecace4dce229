//! The `aura` binary as an operator uses it.

use std::process::{Command, Output};

pub fn aura(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aura"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("AURA_LOG", "warn")
        .output()
        .expect("run aura")
}

pub fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

pub fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    (dir, url)
}

#[test]
fn orgs_and_keys_lifecycle() {
    let (_dir, url) = temp_db();
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

    let out = aura(&url, &["keys", "revoke", &key_id]);
    assert!(out.status.success(), "{out:?}");
    let list = aura(&url, &["keys", "list", "--org", "acme"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));
}

#[test]
fn demo_prints_a_working_key_last() {
    let (_dir, url) = temp_db();
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
}

#[test]
fn bad_settings_stop_with_one_line() {
    let (_dir, url) = temp_db();
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
    let out = aura("postgres://nobody@127.0.0.1:1/none", &["worker"]);
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
    let out = Command::new(env!("CARGO_BIN_EXE_aura"))
        .args(["export", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sdl = std::fs::read_to_string(dir.path().join("schema.graphql")).unwrap();
    assert_eq!(sdl, aura::graphql::sdl());
    let openapi = std::fs::read_to_string(dir.path().join("openapi.json")).unwrap();
    assert_eq!(openapi, aura::rest::document_json());
}

#[test]
fn bad_auth_and_rate_limit_settings_stop_with_one_line() {
    let (_dir, url) = temp_db();
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
    let out = Command::new(env!("CARGO_BIN_EXE_aura"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("AURA_LOG", "warn")
        .env("CLERK_JWKS_URL", "ftp://clerk.example.com/jwks")
        .env("CLERK_ISSUER", "x")
        .output()
        .expect("run aura");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CLERK_JWKS_URL") || stderr.contains("clerk-jwks-url"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let (_dir, url) = temp_db();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aura"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("AURA_LOG", "info")
        .env("AURA_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start aura serve");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("listening"));
    assert!(listening, "the server announced itself");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

#[test]
fn serve_demo_prints_a_key_on_every_start() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let (_dir, url) = temp_db();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aura"))
            .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", &url)
            .env("AURA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aura serve --demo");
        let stdout = child.stdout.take().unwrap();
        let key = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.starts_with("aura_pk_live_"));
        child.kill().ok();
        child.wait().ok();
        let key = key.expect("a key on stdout");
        assert_eq!(aura::crypto::api_key::verify_format(&key), Ok(()));
        keys.push(key);
    }
    assert_ne!(keys[0], keys[1]);
}

#[test]
fn a_worker_delivers_until_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let (_dir, url) = temp_db();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aura"))
        .arg("worker")
        .env("DATABASE_URL", &url)
        .env("AURA_LOG", "info")
        .env("AURA_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start aura worker");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("webhook dispatcher started"));
    assert!(started, "the worker's dispatcher started");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "a stopped worker exits 0, got {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("webhook dispatcher stopping")),
        "{rest:?}"
    );
}

/// An operator sees what went wrong, with its cause, not the API's "internal server error".
#[tokio::test]
async fn failures_show_the_operator_their_cause() {
    let (_dir, url) = temp_db();
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
    assert!(stderr.contains("no such table: api_keys"), "{stderr}");
    assert!(!stderr.contains("internal server error"), "{stderr}");
}

/// A failure of ours is logged once, inside the request's span (so with its request id),
/// with its whole cause; the caller sees a generic message and the id.
#[tokio::test]
async fn an_internal_error_is_logged_once_with_its_cause_and_request_id() {
    let (_dir, url) = temp_db();
    let key = last_line(&aura(&url, &["demo", "--leads", "5"]));
    let mut server = crate::helpers::Process::start(
        &["serve", "--bind", "127.0.0.1:0"],
        &[("DATABASE_URL", &url)],
    );
    let address = server.address("listening");
    let db = aura::db::connect(&url).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&db, "DROP TABLE payments")
        .await
        .unwrap();
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
    let seen = server.drain(std::time::Duration::from_millis(500)).to_vec();
    let errors: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert_eq!(errors.len(), 1, "logged once: {errors:#?}");
    assert!(
        errors[0].contains("no such table: payments"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("trace-me-42"),
        "in the request's span: {}",
        errors[0]
    );
    assert!(!errors[0].contains(&key), "never a secret");
}
