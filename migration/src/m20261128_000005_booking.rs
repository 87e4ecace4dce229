//! Public booking: slot claims that make double booking impossible, the booker's token
//! for rescheduling and cancelling, and the indexes availability and lead reuse need.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CallSlotClaims {
    Table,
    TeamMemberId,
    BlockStart,
    CallId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Calls {
    Table,
    Id,
    OrganizationId,
    CloserId,
    ScheduledAt,
    BookingTokenHash,
}

#[derive(DeriveIden, Clone, Copy)]
enum Leads {
    Table,
    OrganizationId,
    Email,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One row per 5-minute block a scheduled call (plus its buffer) occupies on its
        // closer's calendar. The primary key is the guarantee: two calls can never hold the
        // same block, whatever races between the transactions that try.
        manager
            .create_table(
                Table::create()
                    .table(CallSlotClaims::Table)
                    .col(uuid(CallSlotClaims::TeamMemberId))
                    .col(timestamp_with_time_zone(CallSlotClaims::BlockStart))
                    .col(uuid(CallSlotClaims::CallId))
                    .primary_key(
                        Index::create()
                            .col(CallSlotClaims::TeamMemberId)
                            .col(CallSlotClaims::BlockStart),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CallSlotClaims::Table, CallSlotClaims::CallId)
                            .to(Calls::Table, Calls::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CallSlotClaims::Table, CallSlotClaims::TeamMemberId)
                            .to(TeamMembers::Table, TeamMembers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_call_slot_claims_call")
                    .table(CallSlotClaims::Table)
                    .col(CallSlotClaims::CallId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .add_column(string_len_null(Calls::BookingTokenHash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_calls_booking_token")
                    .table(Calls::Table)
                    .col(Calls::BookingTokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_calls_closer_schedule")
                    .table(Calls::Table)
                    .col(Calls::OrganizationId)
                    .col(Calls::CloserId)
                    .col(Calls::ScheduledAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_leads_email")
                    .table(Leads::Table)
                    .col(Leads::OrganizationId)
                    .col(Leads::Email)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_leads_email")
                    .table(Leads::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_calls_closer_schedule")
                    .table(Calls::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_calls_booking_token")
                    .table(Calls::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Calls::Table)
                    .drop_column(Calls::BookingTokenHash)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CallSlotClaims::Table).to_owned())
            .await
    }
}
