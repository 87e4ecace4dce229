use sea_orm::entity::prelude::*;

/// The span of a team member's calendar a scheduled call holds: its first and last
/// 5-minute blocks (the claims in `call_slot_claims` are the guard; this is what
/// availability reads, one row per call).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub call_id: Uuid,
    pub team_member_id: Uuid,
    pub first_block: DateTimeUtc,
    pub last_block: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
