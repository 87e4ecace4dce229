//! Idempotency keys belong to the credential that made the first request (an API key id
//! or a Clerk user) within the organization, and keep the response's meaningful headers
//! for the replay.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    OrganizationId,
    Credential,
    Key,
    ResponseHeaders,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Rows made before owners were recorded can be replayed to no one; they expire
        // within a day like any other.
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(string_len(IdempotencyKeys::Credential, 128).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyKeys::Table)
                    .add_column(text_null(IdempotencyKeys::ResponseHeaders))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_idempotency_keys_org_key")
                    .table(IdempotencyKeys::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_keys_owner_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::OrganizationId)
                    .col(IdempotencyKeys::Credential)
                    .col(IdempotencyKeys::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_idempotency_keys_owner_key")
                    .table(IdempotencyKeys::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_keys_org_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::OrganizationId)
                    .col(IdempotencyKeys::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
