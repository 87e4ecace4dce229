use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "booking_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Globally unique: widgets address a link by slug alone.
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub owner_id: Uuid,
    pub duration_minutes: i32,
    /// IANA time zone the weekly hours are written in.
    pub timezone: String,
    /// `{"mon": [["09:00","17:00"]], ...}` in the link's time zone.
    pub weekly_hours: Json,
    pub buffer_minutes: i32,
    pub min_notice_minutes: i32,
    pub horizon_days: i32,
    /// `[{"key","label","required","multiline"}]`: what the booking form asks.
    pub questions: Json,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
