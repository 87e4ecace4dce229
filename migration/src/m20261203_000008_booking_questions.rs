//! Booking links ask their own questions beside name, e-mail and phone.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum BookingLinks {
    Table,
    Questions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .add_column(json_binary(BookingLinks::Questions).default(Expr::cust("'[]'")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(BookingLinks::Table)
                    .drop_column(BookingLinks::Questions)
                    .to_owned(),
            )
            .await
    }
}
