use sea_orm::entity::prelude::*;

/// One HTTP request made for a delivery, and what came back.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub delivery_id: Uuid,
    /// 1 for the first attempt; unique per delivery.
    pub attempt_number: i32,
    /// The response status; `None` when no response came (timeout, refused, DNS).
    pub status_code: Option<i32>,
    /// Why there was no usable response.
    pub error: Option<String>,
    pub latency_ms: i64,
    /// The first kilobyte of the response body.
    pub response_excerpt: Option<String>,
    /// When the attempt was made.
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
