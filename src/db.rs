//! Database connections and migrations. SQLite (a file, or memory for tests) is the
//! embedded default; PostgreSQL is production.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // Ping only connections idle for 30 s, not every one on every acquire (sea-orm's
        // default): that ping is one more round trip, to the server or to SQLite's worker
        // thread, for every statement (see BENCHMARKS.md).
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if is_sqlite(url) {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        options.map_sqlx_sqlite_opts(move |opts| {
            let opts = opts
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if in_memory {
                opts
            } else {
                // WAL lets readers run beside the single writer.
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
            }
        });
        if in_memory {
            // Each connection to `:memory:` is its own database: keep exactly one, forever.
            options.map_sqlx_sqlite_pool_opts(|pool| {
                pool.max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            });
        } else {
            options.max_connections(8);
        }
    } else {
        options.max_connections(20).min_connections(1);
    }
    Database::connect(options).await
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail at once
/// with SQLITE_BUSY when another writer got in between, instead of waiting its turn.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
