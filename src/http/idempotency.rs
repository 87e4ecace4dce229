//! `Idempotency-Key` on POST and PATCH (HTTP semantics, so it lives at the edge): a retry
//! with the same key and the same request replays the first response for 24 h; the same
//! key with another request is 409; two concurrent requests with one key execute once
//! (the second gets 409 while the first runs).
//!
//! - **Owner.** A key belongs to the credential that used it first (the API key, or the
//!   Clerk user) within its organization: another credential's request with the same key
//!   is its own request, and never sees the first one's response.
//! - **Never locked.** A request that fails with a server error, panics, or whose client
//!   goes away releases its claim at once; a claim left by a process that died is taken
//!   over once it is older than [`PENDING_TIMEOUT`].
//! - **Replays** restore the first response's status and its meaningful headers
//!   (`Location`, `Content-Type`) and add `Idempotent-Replayed: true`.
//!
//! Stored responses are sealed with the server key (AES-256-GCM): a replayed
//! `POST /v1/webhooks` holds a signing secret, which is never kept in plain text.

use chrono::Duration;
use entities::idempotency_key;
use poem::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    SqlErr,
};
use uuid::Uuid;

use super::{MAX_BODY_BYTES, RequestId, classify, error_response, into_poem_error};
use crate::crypto::{SecretBox, sha256_hex};
use crate::domain::Actor;
use crate::error::AppError;
use crate::time::now;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const RETENTION_HOURS: i64 = 24;
/// A claim still pending after this long belongs to a request that can no longer finish
/// (its process died): a retry takes it over.
pub const PENDING_TIMEOUT: Duration = Duration::minutes(2);
/// The headers a replay restores.
const KEPT_HEADERS: [HeaderName; 2] = [header::LOCATION, header::CONTENT_TYPE];
/// How much of a key an error message repeats.
const SHOWN_KEY_CHARS: usize = 16;

pub struct Idempotency {
    db: DatabaseConnection,
    sealer: SecretBox,
    allowed_methods: fn(&str) -> Vec<String>,
}

impl Idempotency {
    /// `allowed_methods` answers which methods a path takes, so a key on a method the path
    /// does not take is left to the 405.
    pub fn new(
        db: DatabaseConnection,
        sealer: SecretBox,
        allowed_methods: fn(&str) -> Vec<String>,
    ) -> Self {
        Idempotency {
            db,
            sealer,
            allowed_methods,
        }
    }
}

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        IdempotencyEndpoint {
            inner,
            db: self.db.clone(),
            sealer: self.sealer.clone(),
            allowed_methods: self.allowed_methods,
        }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
    db: DatabaseConnection,
    sealer: SecretBox,
    allowed_methods: fn(&str) -> Vec<String>,
}

enum Claim {
    /// This request owns the key: run it and store the response under this row.
    Run(Uuid),
    /// The key's stored response.
    Replay(Response),
}

/// A claim this request holds until its response is stored. Dropped any other way (an
/// error, a panic unwinding through the endpoint, a client that went away and took the
/// request's future with it), it releases the key, so a retry runs again.
struct PendingClaim {
    db: DatabaseConnection,
    row_id: Uuid,
    settled: bool,
}

impl PendingClaim {
    fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for PendingClaim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (db, row_id) = (self.db.clone(), self.row_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = release(&db, row_id).await {
                    tracing::warn!(error = %err, "could not release an idempotency key; it expires on its own");
                }
            });
        }
    }
}

async fn release(db: &DatabaseConnection, row_id: Uuid) -> Result<(), sea_orm::DbErr> {
    idempotency_key::Entity::delete_by_id(row_id)
        .filter(idempotency_key::Column::State.eq("pending"))
        .exec(db)
        .await
        .map(|_| ())
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // Only for operations that exist: a POST to a GET-only path is a 405, whatever
        // its headers say.
        let applies = (req.method() == Method::POST || req.method() == Method::PATCH) && {
            let known = (self.allowed_methods)(req.original_uri().path());
            known.is_empty() || known.iter().any(|m| m == req.method().as_str())
        };
        let key = req.headers().get(HEADER).cloned();
        let (Some(key), true) = (key, applies) else {
            return Ok(self.inner.call(req).await?.into_response());
        };
        let key = parse_key(&key).map_err(into_poem_error)?;
        let Some(owner) = req.extensions().get::<Actor>().map(Owner::of) else {
            return Ok(self.inner.call(req).await?.into_response());
        };
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                into_poem_error(AppError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                })
            })?;
        let hash = request_hash(req.method(), req.uri().path(), &body);
        req.set_body(Body::from(body));

        let row_id = match self
            .claim(&owner, &key, &hash)
            .await
            .map_err(into_poem_error)?
        {
            Claim::Replay(response) => return Ok(response),
            Claim::Run(row_id) => row_id,
        };
        let pending = PendingClaim {
            db: self.db.clone(),
            row_id,
            settled: false,
        };

        let path = req.uri().path().to_owned();
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId("unknown".to_owned()));
        let response = match self.inner.call(req).await {
            Ok(output) => output.into_response(),
            Err(err) => error_response(&classify(err, &path, |_| Vec::new()), &request_id),
        };
        let stored = self.store(row_id, response).await;
        pending.settle();
        stored.map_err(into_poem_error)
    }
}

/// Who a key belongs to.
struct Owner {
    organization_id: Uuid,
    credential: String,
}

impl Owner {
    fn of(actor: &Actor) -> Self {
        Owner {
            organization_id: actor.organization_id,
            credential: actor.credential.to_string(),
        }
    }
}

impl<E> IdempotencyEndpoint<E> {
    async fn claim(&self, owner: &Owner, key: &str, hash: &str) -> Result<Claim, AppError> {
        let shown = shown_key(key);
        // Two rounds at most: the second follows the removal of an expired or abandoned row.
        for _ in 0..2 {
            let at = now();
            let row_id = crate::ids::new_uuid();
            let insert = idempotency_key::ActiveModel {
                id: Set(row_id),
                organization_id: Set(owner.organization_id),
                credential: Set(owner.credential.clone()),
                key: Set(key.to_owned()),
                request_hash: Set(hash.to_owned()),
                state: Set("pending".to_owned()),
                response_status: Set(None),
                response_body: Set(None),
                response_headers: Set(None),
                created_at: Set(at),
                expires_at: Set(at + Duration::hours(RETENTION_HOURS)),
            }
            .insert(&self.db)
            .await;
            let err = match insert {
                Ok(_) => return Ok(Claim::Run(row_id)),
                Err(err) => err,
            };
            if !matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
                return Err(err.into());
            }
            let Some(existing) = idempotency_key::Entity::find()
                .filter(idempotency_key::Column::OrganizationId.eq(owner.organization_id))
                .filter(idempotency_key::Column::Credential.eq(owner.credential.as_str()))
                .filter(idempotency_key::Column::Key.eq(key))
                .one(&self.db)
                .await?
            else {
                continue;
            };
            let abandoned =
                existing.state == "pending" && existing.created_at + PENDING_TIMEOUT <= at;
            if existing.expires_at <= at || abandoned {
                idempotency_key::Entity::delete_by_id(existing.id)
                    .exec(&self.db)
                    .await?;
                continue;
            }
            if existing.request_hash != hash {
                return Err(AppError::Conflict(format!(
                    "Idempotency-Key `{shown}` was already used with a different request; send a fresh key (a UUID) for each new request"
                )));
            }
            return match (
                existing.state.as_str(),
                existing.response_status,
                existing.response_body,
            ) {
                ("done", Some(status), Some(sealed)) => {
                    let body = self.sealer.open_bytes(existing.id, &sealed)?;
                    Ok(Claim::Replay(replay(
                        status,
                        existing.response_headers.as_deref(),
                        body,
                    )))
                }
                _ => Err(AppError::Conflict(format!(
                    "a request with Idempotency-Key `{shown}` is still in progress; retry shortly"
                ))),
            };
        }
        Err(AppError::Conflict(format!(
            "Idempotency-Key `{shown}` is contended; retry shortly"
        )))
    }

    async fn store(&self, row_id: Uuid, response: Response) -> Result<Response, AppError> {
        let (parts, body) = response.into_parts();
        let bytes = body
            .into_vec()
            .await
            .map_err(|err| AppError::internal(format!("reading a response to store it: {err}")))?;
        if parts.status.is_server_error() {
            // Let the retry run again rather than replaying a failure of ours.
            release(&self.db, row_id).await?;
        } else {
            let kept: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = parts.headers.get(name)?.to_str().ok()?;
                    Some((name.as_str().to_owned(), serde_json::Value::from(value)))
                })
                .collect();
            let update = idempotency_key::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(row_id),
                state: Set("done".to_owned()),
                response_status: Set(Some(i32::from(parts.status.as_u16()))),
                response_body: Set(Some(self.sealer.seal_bytes(row_id, &bytes)?)),
                response_headers: Set(Some(serde_json::Value::Object(kept).to_string())),
                ..Default::default()
            };
            update.update(&self.db).await?;
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

/// At most a short prefix of a client's key, for messages.
fn shown_key(key: &str) -> String {
    if key.chars().count() <= SHOWN_KEY_CHARS {
        key.to_owned()
    } else {
        let prefix: String = key.chars().take(SHOWN_KEY_CHARS).collect();
        format!("{prefix}…")
    }
}

fn parse_key(value: &HeaderValue) -> Result<String, AppError> {
    let key = value.to_str().unwrap_or_default();
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(key.to_owned())
    } else {
        Err(AppError::validation(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
        ))
    }
}

fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut input = Vec::with_capacity(method.as_str().len() + path.len() + body.len() + 2);
    input.extend_from_slice(method.as_str().as_bytes());
    input.push(b' ');
    input.extend_from_slice(path.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(body);
    sha256_hex(input)
}

fn replay(status: i32, headers: Option<&str>, body: Vec<u8>) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::builder().status(status).body(body);
    let kept: serde_json::Map<String, serde_json::Value> = headers
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    for (name, value) in kept {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::try_from(name.as_str()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    if !response.headers().contains_key(header::CONTENT_TYPE) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Deletes keys past their 24 h. Run periodically by the server.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lte(now()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use poem::test::TestClient;
    use poem::web::Data;
    use poem::{EndpointExt, Route, handler, post};

    use super::*;
    use crate::domain::{Credential, ScopeSet};

    #[derive(Clone)]
    struct Counter(Arc<AtomicUsize>);

    #[handler]
    async fn create(counter: Data<&Counter>, body: String) -> poem::Result<Response> {
        let n = counter.0.0.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if body.contains("explode") {
            return Err(into_poem_error(AppError::internal("boom")));
        }
        if body.contains("panic") {
            panic!("the handler panicked");
        }
        if body.contains("invalid") {
            return Err(into_poem_error(AppError::validation("url", "is not a URL")));
        }
        Ok(Response::builder()
            .status(StatusCode::CREATED)
            .header(header::LOCATION, format!("/things/{n}"))
            .header("x-other", "not kept")
            .body(format!("{{\"n\":{n}}}")))
    }

    async fn setup() -> (
        TestClient<impl Endpoint>,
        Arc<AtomicUsize>,
        DatabaseConnection,
        Uuid,
        Uuid,
    ) {
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        crate::db::migrate(&db).await.unwrap();
        let mut orgs = Vec::new();
        for slug in ["one", "two"] {
            let org = crate::services::orgs::create(
                &db,
                slug,
                &crate::domain::Slug::parse(slug).unwrap(),
                None,
            )
            .await
            .unwrap();
            orgs.push(org.id);
        }
        let counter = Arc::new(AtomicUsize::new(0));
        let app = Route::new()
            .at("/things", post(create))
            .with(Idempotency::new(db.clone(), SecretBox::ephemeral(), |_| {
                Vec::new()
            }))
            .around(|ep, mut req| async move {
                let org = req
                    .header("x-org")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or_default();
                let key = req
                    .header("x-key")
                    .and_then(|k| k.parse().ok())
                    .unwrap_or_default();
                req.extensions_mut().insert(Actor {
                    organization_id: org,
                    credential: Credential::ApiKey { key_id: key },
                    scopes: ScopeSet::all(),
                });
                ep.call(req).await
            })
            .with(poem::middleware::CatchPanic::new())
            .data(Counter(counter.clone()));
        (TestClient::new(app), counter, db, orgs[0], orgs[1])
    }

    #[tokio::test]
    async fn replays_refuses_and_runs_once() {
        let (client, counter, db, org, other_org) = setup().await;
        let send = |key: &'static str, body: &'static str, org: Uuid| {
            client
                .post("/things")
                .header(HEADER, key)
                .header("x-org", org.to_string())
                .body(body)
                .send()
        };
        let first = send("k1", "{\"a\":1}", org).await;
        first.assert_status(StatusCode::CREATED);
        first.assert_header(header::LOCATION, "/things/1");
        first.assert_text("{\"n\":1}").await;
        let again = send("k1", "{\"a\":1}", org).await;
        again.assert_status(StatusCode::CREATED);
        again.assert_header(REPLAYED_HEADER, "true");
        again.assert_header(header::LOCATION, "/things/1");
        again.assert_header_is_not_exist("x-other");
        again.assert_text("{\"n\":1}").await;
        assert_eq!(counter.load(Ordering::SeqCst), 1);

        send("k1", "{\"a\":2}", org)
            .await
            .assert_status(StatusCode::CONFLICT);
        assert_eq!(counter.load(Ordering::SeqCst), 1);

        // Keys belong to an organization.
        send("k1", "{\"a\":1}", other_org)
            .await
            .assert_status(StatusCode::CREATED);
        assert_eq!(counter.load(Ordering::SeqCst), 2);

        // Client errors are stored; server errors are not.
        send("k2", "invalid", org)
            .await
            .assert_status(StatusCode::BAD_REQUEST);
        send("k2", "invalid", org)
            .await
            .assert_header(REPLAYED_HEADER, "true");
        assert_eq!(counter.load(Ordering::SeqCst), 3);
        send("k3", "explode", org)
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        send("k3", "explode", org)
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(counter.load(Ordering::SeqCst), 5);

        // Expired keys are forgotten.
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(now()),
            )
            .exec(&db)
            .await
            .unwrap();
        send("k1", "{\"a\":2}", org)
            .await
            .assert_status(StatusCode::CREATED);
        assert_eq!(counter.load(Ordering::SeqCst), 6);
        assert!(purge_expired(&db).await.unwrap() >= 1);

        client
            .post("/things")
            .header(HEADER, "")
            .header("x-org", org.to_string())
            .send()
            .await
            .assert_status(StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_key_belongs_to_the_credential_that_used_it() {
        let (client, counter, _db, org, _) = setup().await;
        let as_key = |key: Uuid, body: &'static str| {
            client
                .post("/things")
                .header(HEADER, "shared")
                .header("x-org", org.to_string())
                .header("x-key", key.to_string())
                .body(body)
                .send()
        };
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        as_key(a, "{}").await.assert_status(StatusCode::CREATED);
        // The same key and body from another credential is its own request: it runs, and
        // does not see the first response.
        let other = as_key(b, "{}").await;
        other.assert_status(StatusCode::CREATED);
        other.assert_header_is_not_exist(REPLAYED_HEADER);
        other.assert_text("{\"n\":2}").await;
        // A refusal stored for one credential is not replayed to another.
        as_key(a, "invalid")
            .await
            .assert_status(StatusCode::CONFLICT);
        assert_eq!(counter.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_request_that_panics_or_is_dropped_leaves_its_key_usable() {
        let (client, counter, db, org, _) = setup().await;
        let send = |key: &'static str, body: &'static str| {
            client
                .post("/things")
                .header(HEADER, key)
                .header("x-org", org.to_string())
                .body(body)
                .send()
        };
        send("p", "panic")
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        // The release runs on a task of its own; wait for it (bounded).
        for _ in 0..200 {
            if idempotency_key::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // The same key with a good body now runs: not locked as "in progress".
        send("p", "{}").await.assert_status(StatusCode::CREATED);

        // A client that goes away mid-request drops the request's future.
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(10), send("d", "{}"));
        assert!(
            dropped.await.is_err(),
            "the request should still be running"
        );
        for _ in 0..200 {
            let rows = idempotency_key::Entity::find()
                .filter(idempotency_key::Column::Key.eq("d"))
                .all(&db)
                .await
                .unwrap();
            if rows.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let retried = send("d", "{}").await;
        retried.assert_status(StatusCode::CREATED);
        retried.assert_header_is_not_exist(REPLAYED_HEADER);
        assert_eq!(counter.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn an_abandoned_claim_is_taken_over_after_the_timeout() {
        let (client, counter, db, org, _) = setup().await;
        let at = now() - PENDING_TIMEOUT - Duration::seconds(1);
        idempotency_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org),
            credential: Set(Credential::ApiKey {
                key_id: Uuid::nil(),
            }
            .to_string()),
            key: Set("stuck".into()),
            request_hash: Set(request_hash(&Method::POST, "/things", b"{}")),
            state: Set("pending".into()),
            response_status: Set(None),
            response_body: Set(None),
            response_headers: Set(None),
            created_at: Set(at),
            expires_at: Set(at + Duration::hours(24)),
        }
        .insert(&db)
        .await
        .unwrap();
        client
            .post("/things")
            .header(HEADER, "stuck")
            .header("x-org", org.to_string())
            .body("{}")
            .send()
            .await
            .assert_status(StatusCode::CREATED);
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn messages_repeat_only_a_short_prefix_of_a_key() {
        let long = "k".repeat(255);
        let shown = shown_key(&long);
        assert!(shown.chars().count() <= SHOWN_KEY_CHARS + 1);
        assert_eq!(shown_key("short"), "short");
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_key_execute_once() {
        let (client, counter, _db, org, _) = setup().await;
        let client = Arc::new(client);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let client = client.clone();
            tasks.push(async move {
                client
                    .post("/things")
                    .header(HEADER, "same")
                    .header("x-org", org.to_string())
                    .body("{}")
                    .send()
                    .await
                    .0
                    .status()
            });
        }
        let statuses = futures_util::future::join_all(tasks).await;
        assert_eq!(counter.load(Ordering::SeqCst), 1, "{statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
        );
        assert!(statuses.contains(&StatusCode::CREATED));
    }
}
