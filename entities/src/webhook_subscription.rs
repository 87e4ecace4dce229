use sea_orm::entity::prelude::*;

/// Where an organization wants its events sent, and the secret that signs them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// `*`, or a comma-separated list of event types.
    pub event_types: String,
    pub enabled: bool,
    /// Why the subscription was disabled (by its owner, a 410, or five days of failure).
    pub disabled_reason: Option<String>,
    /// The signing secret, encrypted under the server's key (never plain text).
    pub secret_sealed: String,
    /// The secret before the last rotation, which also signs until `previous_secret_expires_at`.
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// When the current run of failed attempts began; cleared by a success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
