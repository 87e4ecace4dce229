use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PaymentStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "refunded")]
    Refunded,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub lead_id: Uuid,
    pub product_id: Option<Uuid>,
    pub closer_id: Option<Uuid>,
    pub setter_id: Option<Uuid>,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub processor: String,
    pub external_id: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    /// The closer's commission rate in force when the payment was paid, in millionths.
    pub closer_rate_ppm: Option<i64>,
    /// The setter's commission rate in force when the payment was paid, in millionths.
    pub setter_rate_ppm: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
