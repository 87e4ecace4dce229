//! Clerk in a box: the test-only RSA keys, a JWKS endpoint served by the test (counting its
//! hits), and token minting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aura::auth::clerk::{ClerkConfig, KeySource};
use aura::domain::Slug;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{Route, Server};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

pub const ISSUER: &str = "https://clerk.aura-tests.example";
pub const APP_ORIGIN: &str = "https://app.aura-tests.example";
pub const KID_A: &str = "test-key-a";
pub const KID_B: &str = "test-key-b";

pub const PRIVATE_A: &str = include_str!("fixtures/test_only_rsa_a.pem");
pub const PUBLIC_A: &str = include_str!("fixtures/test_only_rsa_a_pub.pem");
pub const PRIVATE_B: &str = include_str!("fixtures/test_only_rsa_b.pem");

pub fn jwk_a() -> Value {
    serde_json::from_str(include_str!("fixtures/test_only_rsa_a.jwk.json")).unwrap()
}

pub fn jwk_b() -> Value {
    serde_json::from_str(include_str!("fixtures/test_only_rsa_b.jwk.json")).unwrap()
}

/// A JWKS endpoint on 127.0.0.1, whose keys a test can change.
pub struct Jwks {
    pub url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    _shutdown: oneshot::Sender<()>,
}

impl Jwks {
    pub async fn serve(keys: Vec<Value>) -> Jwks {
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let (served, counted) = (keys.clone(), hits.clone());
        let endpoint = poem::endpoint::make(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            let body = json!({ "keys": served.lock().unwrap().clone() });
            async move { Json(body) }
        });
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(
            Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
                Route::new().at("/.well-known/jwks.json", endpoint),
                async {
                    let _ = rx.await;
                },
                Some(Duration::from_secs(1)),
            ),
        );
        Jwks {
            url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
            keys,
            hits,
            _shutdown: tx,
        }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn config(&self, ttl: Duration) -> ClerkConfig {
        ClerkConfig {
            source: KeySource::Jwks {
                url: self.url.parse().unwrap(),
                ttl,
            },
            issuer: ISSUER.to_owned(),
            authorized_parties: vec![APP_ORIGIN.to_owned(), "capacitor://localhost".to_owned()],
        }
    }
}

/// Verification with the PEM key only: no network at all.
pub fn pem_config() -> ClerkConfig {
    ClerkConfig {
        source: KeySource::Pem(PUBLIC_A.to_owned()),
        issuer: ISSUER.to_owned(),
        authorized_parties: vec![APP_ORIGIN.to_owned()],
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// v2 claims for `user` acting as `role` in the Clerk organization `clerk_org`.
pub fn claims(user: &str, clerk_org: &str, role: &str) -> Value {
    let now = now();
    json!({
        "sub": user,
        "iss": ISSUER,
        "azp": APP_ORIGIN,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 60,
        "sid": "sess_test",
        "sts": "active",
        "v": 2,
        "o": { "id": clerk_org, "rol": role, "slg": "acme", "per": "" }
    })
}

pub fn sign(claims: &Value, kid: Option<&str>, private_pem: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Signed with key A under its `kid`.
pub fn token(claims: &Value) -> String {
    sign(claims, Some(KID_A), PRIVATE_A)
}

/// An Aura organization connected to a Clerk organization.
pub async fn clerk_org(db: &sea_orm::DatabaseConnection, slug: &str, clerk_org_id: &str) -> Uuid {
    aura::services::orgs::create(
        db,
        &format!("Org {slug}"),
        &Slug::parse(slug).unwrap(),
        Some(clerk_org_id),
    )
    .await
    .expect("create org")
    .id
}
