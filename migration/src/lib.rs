//! Database migrations: the source of truth for the schema on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_foundation;
mod m20261128_000002_idempotency;
mod m20261128_000003_events;
mod m20261128_000004_webhooks;
mod m20261128_000005_booking;
mod m20261128_000006_commissions;
mod m20261203_000007_idempotency_owner;
mod m20261203_000008_booking_questions;
mod m20261204_000009_calendar_holds;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_idempotency::Migration),
            Box::new(m20261128_000003_events::Migration),
            Box::new(m20261128_000004_webhooks::Migration),
            Box::new(m20261128_000005_booking::Migration),
            Box::new(m20261128_000006_commissions::Migration),
            Box::new(m20261203_000007_idempotency_owner::Migration),
            Box::new(m20261203_000008_booking_questions::Migration),
            Box::new(m20261204_000009_calendar_holds::Migration),
        ]
    }
}
