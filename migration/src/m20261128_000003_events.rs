//! The event outbox: every change to a resource writes its event here in the same
//! transaction as the change. Webhook delivery and live subscriptions read from it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Id,
    OrganizationId,
    Type,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(uuid(Events::OrganizationId))
                    .col(string_len(Events::Type, 64))
                    .col(json_binary(Events::Data))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Events::Table, Events::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_list")
                    .table(Events::Table)
                    .col(Events::OrganizationId)
                    .col(Events::CreatedAt)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_type")
                    .table(Events::Table)
                    .col(Events::OrganizationId)
                    .col(Events::Type)
                    .col(Events::CreatedAt)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_created")
                    .table(Events::Table)
                    .col(Events::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
