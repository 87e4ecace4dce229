use sea_orm::entity::prelude::*;

/// Something that happened to a resource, recorded in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `lead.created`, `payment.refunded`, …
    #[sea_orm(column_name = "type")]
    pub event_type: String,
    /// The resource as its REST object at the time of the event.
    pub data: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
