use sea_orm::entity::prelude::*;

/// A 5-minute block of a team member's calendar held by a scheduled call.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_slot_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub team_member_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub block_start: DateTimeUtc,
    pub call_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
