//! `Idempotency-Key` on POST and PATCH: a retry with the same key and the same request
//! replays the first response for 24 h; the same key with another request is 409; two
//! concurrent requests with one key execute once (the second gets 409 while the first
//! runs). Keys are per organization. Server errors (5xx) are not stored, so a retry runs
//! again. Stored responses are sealed with the server key (AES-256-GCM): a replayed
//! `POST /v1/webhooks` holds a signing secret, which is never kept in plain text.

use chrono::Duration;
use entities::idempotency_key;
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    SqlErr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Principal;
use crate::config::MAX_BODY_BYTES;
use crate::error::AppError;
use crate::http::{RequestId, classify, error_response};
use crate::time::now;
use crate::webhooks::secret::SecretBox;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const RETENTION_HOURS: i64 = 24;

pub struct Idempotency {
    db: DatabaseConnection,
    sealer: SecretBox,
}

impl Idempotency {
    pub fn new(db: DatabaseConnection, sealer: SecretBox) -> Self {
        Idempotency { db, sealer }
    }
}

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        IdempotencyEndpoint {
            inner,
            db: self.db.clone(),
            sealer: self.sealer.clone(),
        }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
    db: DatabaseConnection,
    sealer: SecretBox,
}

enum Claim {
    /// This request owns the key: run it and store the response under this row.
    Run(Uuid),
    /// The key's stored response.
    Replay(Response),
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // Only for operations that exist: a POST to a GET-only path is a 405, whatever
        // its headers say.
        let applies = (req.method() == Method::POST || req.method() == Method::PATCH) && {
            let known = super::allowed_methods(req.original_uri().path());
            known.is_empty() || known.iter().any(|m| m == req.method().as_str())
        };
        let key = req.headers().get(HEADER).cloned();
        let (Some(key), true) = (key, applies) else {
            return Ok(self.inner.call(req).await?.into_response());
        };
        let key = parse_key(&key)?;
        let Some(organization_id) = req
            .extensions()
            .get::<Principal>()
            .map(|p| p.organization_id)
        else {
            return Ok(self.inner.call(req).await?.into_response());
        };
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|_| AppError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            })?;
        let hash = request_hash(req.method(), req.uri().path(), &body);
        req.set_body(Body::from(body));

        let row_id = match self.claim(organization_id, &key, &hash).await? {
            Claim::Replay(response) => return Ok(response),
            Claim::Run(row_id) => row_id,
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
        self.store(row_id, response).await
    }
}

impl<E> IdempotencyEndpoint<E> {
    async fn claim(&self, organization_id: Uuid, key: &str, hash: &str) -> Result<Claim, AppError> {
        // Two rounds at most: the second follows the removal of an expired row.
        for _ in 0..2 {
            let at = now();
            let row_id = crate::ids::new_uuid();
            let insert = idempotency_key::ActiveModel {
                id: Set(row_id),
                organization_id: Set(organization_id),
                key: Set(key.to_owned()),
                request_hash: Set(hash.to_owned()),
                state: Set("pending".to_owned()),
                response_status: Set(None),
                response_body: Set(None),
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
                .filter(idempotency_key::Column::OrganizationId.eq(organization_id))
                .filter(idempotency_key::Column::Key.eq(key))
                .one(&self.db)
                .await?
            else {
                continue;
            };
            if existing.expires_at <= at {
                idempotency_key::Entity::delete_by_id(existing.id)
                    .exec(&self.db)
                    .await?;
                continue;
            }
            if existing.request_hash != hash {
                return Err(AppError::Conflict(format!(
                    "Idempotency-Key `{key}` was already used with a different request"
                )));
            }
            return match (
                existing.state.as_str(),
                existing.response_status,
                existing.response_body,
            ) {
                ("done", Some(status), Some(sealed)) => {
                    let body = self.sealer.open_bytes(existing.id, &sealed)?;
                    Ok(Claim::Replay(replay(status, body)))
                }
                _ => Err(AppError::Conflict(format!(
                    "a request with Idempotency-Key `{key}` is still in progress; retry shortly"
                ))),
            };
        }
        Err(AppError::Conflict(format!(
            "Idempotency-Key `{key}` is contended; retry shortly"
        )))
    }

    async fn store(&self, row_id: Uuid, response: Response) -> poem::Result<Response> {
        let (parts, body) = response.into_parts();
        let bytes = body.into_vec().await.map_err(AppError::internal)?;
        if parts.status.is_server_error() {
            // Let the retry run again rather than replaying a failure of ours.
            idempotency_key::Entity::delete_by_id(row_id)
                .exec(&self.db)
                .await
                .map_err(AppError::from)?;
        } else {
            let update = idempotency_key::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(row_id),
                state: Set("done".to_owned()),
                response_status: Set(Some(i32::from(parts.status.as_u16()))),
                response_body: Set(Some(self.sealer.seal_bytes(row_id, &bytes)?)),
                ..Default::default()
            };
            update.update(&self.db).await.map_err(AppError::from)?;
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
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
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn replay(status: i32, body: Vec<u8>) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body);
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
    use crate::auth::{Credential, ScopeSet};

    #[derive(Clone)]
    struct Counter(Arc<AtomicUsize>);

    #[handler]
    async fn create(counter: Data<&Counter>, body: String) -> poem::Result<Response> {
        let n = counter.0.0.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if body.contains("explode") {
            return Err(AppError::internal("boom").into());
        }
        if body.contains("invalid") {
            return Err(AppError::validation("url", "is not a URL").into());
        }
        Ok(Response::builder()
            .status(StatusCode::CREATED)
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
            let org =
                crate::orgs::create(&db, slug, &crate::domain::Slug::parse(slug).unwrap(), None)
                    .await
                    .unwrap();
            orgs.push(org.id);
        }
        let counter = Arc::new(AtomicUsize::new(0));
        let app = Route::new()
            .at("/things", post(create))
            .with(Idempotency::new(db.clone(), SecretBox::ephemeral()))
            .around(|ep, mut req| async move {
                let org = req
                    .header("x-org")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or_default();
                req.extensions_mut().insert(Principal {
                    organization_id: org,
                    credential: Credential::ApiKey {
                        key_id: Uuid::nil(),
                    },
                    scopes: ScopeSet::all(),
                });
                ep.call(req).await
            })
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
        first.assert_text("{\"n\":1}").await;
        let again = send("k1", "{\"a\":1}", org).await;
        again.assert_status(StatusCode::CREATED);
        again.assert_header(REPLAYED_HEADER, "true");
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
