//! Webhooks: subscriptions (with their sealed signing secrets), one delivery per event
//! and subscription, and every attempt at a delivery.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum WebhookSubscriptions {
    Table,
    Id,
    OrganizationId,
    Url,
    Description,
    EventTypes,
    Enabled,
    DisabledReason,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretExpiresAt,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    SubscriptionId,
    EventId,
    EventType,
    Status,
    AttemptCount,
    NextAttemptAt,
    LeaseUntil,
    LastAttemptAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookAttempts {
    Table,
    Id,
    OrganizationId,
    DeliveryId,
    AttemptNumber,
    StatusCode,
    Error,
    LatencyMs,
    ResponseExcerpt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use WebhookSubscriptions as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::OrganizationId))
                    .col(text(S::Url))
                    .col(text_null(S::Description))
                    // `*` or a comma-separated list of event types.
                    .col(text(S::EventTypes))
                    .col(boolean(S::Enabled))
                    .col(text_null(S::DisabledReason))
                    .col(text(S::SecretSealed))
                    .col(text_null(S::PreviousSecretSealed))
                    .col(timestamp_with_time_zone_null(S::PreviousSecretExpiresAt))
                    .col(timestamp_with_time_zone_null(S::FailingSince))
                    .col(timestamp_with_time_zone(S::CreatedAt))
                    .col(timestamp_with_time_zone(S::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(S::Table, S::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_webhook_subscriptions_list",
            S::Table,
            [S::OrganizationId, S::CreatedAt, S::Id],
        )
        .await?;
        index(
            manager,
            "ix_webhook_subscriptions_updated",
            S::Table,
            [S::OrganizationId, S::UpdatedAt],
        )
        .await?;

        use WebhookDeliveries as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(pk_uuid(D::Id))
                    .col(uuid(D::OrganizationId))
                    .col(uuid(D::SubscriptionId))
                    .col(uuid(D::EventId))
                    .col(string_len(D::EventType, 64))
                    // pending | succeeded | failed
                    .col(string_len(D::Status, 16))
                    .col(integer(D::AttemptCount))
                    .col(timestamp_with_time_zone_null(D::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(D::LeaseUntil))
                    .col(timestamp_with_time_zone_null(D::LastAttemptAt))
                    .col(timestamp_with_time_zone(D::CreatedAt))
                    .col(timestamp_with_time_zone(D::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(D::Table, D::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(D::Table, D::SubscriptionId)
                            .to(S::Table, S::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(D::Table, D::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // What the dispatcher scans: due deliveries, oldest first.
        index(
            manager,
            "ix_webhook_deliveries_due",
            D::Table,
            [D::Status, D::NextAttemptAt],
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_list",
            D::Table,
            [D::SubscriptionId, D::CreatedAt, D::Id],
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_org",
            D::Table,
            [D::OrganizationId, D::CreatedAt, D::Id],
        )
        .await?;
        index(
            manager,
            "ix_webhook_deliveries_event",
            D::Table,
            [D::EventId],
        )
        .await?;

        use WebhookAttempts as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(pk_uuid(A::Id))
                    .col(uuid(A::OrganizationId))
                    .col(uuid(A::DeliveryId))
                    .col(integer(A::AttemptNumber))
                    .col(integer_null(A::StatusCode))
                    .col(text_null(A::Error))
                    .col(big_integer(A::LatencyMs))
                    .col(text_null(A::ResponseExcerpt))
                    .col(timestamp_with_time_zone(A::CreatedAt))
                    .col(timestamp_with_time_zone(A::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(A::Table, A::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(A::Table, A::DeliveryId)
                            .to(D::Table, D::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One attempt per schedule slot: a second worker that somehow sent the same slot
        // could not record it.
        manager
            .create_index(
                Index::create()
                    .name("ux_webhook_attempts_slot")
                    .table(A::Table)
                    .col(A::DeliveryId)
                    .col(A::AttemptNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "ix_webhook_attempts_list",
            A::Table,
            [A::DeliveryId, A::CreatedAt, A::Id],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookSubscriptions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn index<T, C, const N: usize>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: [C; N],
) -> Result<(), DbErr>
where
    T: IntoIden + Copy + 'static,
    C: IntoIden + Copy + 'static,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    manager.create_index(index.to_owned()).await
}
