//! Commission history: each team member's rate over time, and on each payment the rates
//! that were in force when it was paid, so a later rate change never rewrites what a
//! commission platform has already paid out.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CommissionRates {
    Table,
    Id,
    OrganizationId,
    TeamMemberId,
    RatePpm,
    EffectiveFrom,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Payments {
    Table,
    OrganizationId,
    CloserId,
    SetterId,
    PaidAt,
    CloserRatePpm,
    SetterRatePpm,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    Id,
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
                    .table(CommissionRates::Table)
                    .col(pk_uuid(CommissionRates::Id))
                    .col(uuid(CommissionRates::OrganizationId))
                    .col(uuid(CommissionRates::TeamMemberId))
                    .col(big_integer(CommissionRates::RatePpm))
                    .col(timestamp_with_time_zone(CommissionRates::EffectiveFrom))
                    .col(timestamp_with_time_zone(CommissionRates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommissionRates::Table, CommissionRates::TeamMemberId)
                            .to(TeamMembers::Table, TeamMembers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommissionRates::Table, CommissionRates::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_commission_rates_member")
                    .table(CommissionRates::Table)
                    .col(CommissionRates::TeamMemberId)
                    .col(CommissionRates::EffectiveFrom)
                    .to_owned(),
            )
            .await?;
        for column in [Payments::CloserRatePpm, Payments::SetterRatePpm] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Payments::Table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // Earned totals: a member's paid payments in a date range.
        for (name, member) in [
            ("ix_payments_closer_paid", Payments::CloserId),
            ("ix_payments_setter_paid", Payments::SetterId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Payments::Table)
                        .col(Payments::OrganizationId)
                        .col(member)
                        .col(Payments::PaidAt)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_payments_closer_paid", "ix_payments_setter_paid"] {
            manager
                .drop_index(Index::drop().name(name).table(Payments::Table).to_owned())
                .await?;
        }
        for column in [Payments::CloserRatePpm, Payments::SetterRatePpm] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Payments::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CommissionRates::Table).to_owned())
            .await
    }
}
