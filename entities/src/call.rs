use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CallStatus {
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "no_show")]
    NoShow,
    #[sea_orm(string_value = "canceled")]
    Canceled,
    #[sea_orm(string_value = "rescheduled")]
    Rescheduled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub lead_id: Uuid,
    pub closer_id: Option<Uuid>,
    pub setter_id: Option<Uuid>,
    pub booking_link_id: Option<Uuid>,
    pub scheduled_at: DateTimeUtc,
    pub duration_minutes: i32,
    pub status: CallStatus,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    /// SHA-256 of the token a public booker holds to reschedule or cancel; never exposed.
    pub booking_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
