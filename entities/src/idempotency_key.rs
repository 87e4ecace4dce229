use sea_orm::entity::prelude::*;

/// A POST or PATCH seen with an `Idempotency-Key`, and the response it got.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Who made the first request (`key_…` or the Clerk user id): only they get the replay.
    pub credential: String,
    pub key: String,
    /// SHA-256 of method, path and body: a retry must match it.
    pub request_hash: String,
    /// `pending` while the first request runs, `done` once its response is stored.
    pub state: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    /// The response's meaningful headers (`Location`, `Content-Type`), as a JSON object.
    pub response_headers: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
