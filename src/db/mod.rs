//! The database: connections and migrations (SQLite, a file or memory for tests, is the
//! embedded default; PostgreSQL is production), write transactions, the traits every
//! tenant table shares, look-ups inside an organization, and keyset pages.

pub mod bus;
pub mod lookup;
pub mod page;
pub mod tenant;

pub use bus::{Bus, Signal};

use std::sync::{Arc, RwLock};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database as Connector, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Connects with the default pool size for the database (see [`connect_with`]).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, None).await
}

/// Connects with at most `max_connections` in the pool, or the default: 8 for a SQLite
/// file (one writer at a time, readers beside it in WAL mode), 20 for PostgreSQL. SQLite in
/// memory always keeps exactly one connection, whatever is asked.
pub async fn connect_with(
    url: &str,
    max_connections: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
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
        if !in_memory {
            options.max_connections(max_connections.unwrap_or(8));
        }
        // sea-orm keeps one pool hook: everything goes in this one.
        options.map_sqlx_sqlite_pool_opts(move |pool| {
            let pool =
                pool.after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }));
            if in_memory {
                // Each connection to `:memory:` is its own database: keep exactly one, forever.
                pool.max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                pool
            }
        });
    } else {
        options
            .max_connections(max_connections.unwrap_or(20))
            .min_connections(1);
    }
    Connector::connect(options).await
}

/// Turns on SQLite's query planner stability guarantee for the connection. Without it a
/// statement whose `LIMIT ?` is bound (every sea-orm page) is marked as depending on that
/// value, and SQLite parses and plans it again on every execution instead of reusing the
/// cached statement (7% of the server's time under `GET /v1/leads`, BENCHMARKS.md). Plans
/// then no longer depend on bound values, which none of Aura's queries rely on.
async fn stable_plans(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the connection's open handle, and the lock guarantees that sqlx's
    // worker thread makes no call on it while this one runs. The option takes an int and
    // an optional out-pointer, which may be null.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        tracing::warn!(
            code = rc,
            "could not enable SQLite's query planner stability guarantee"
        );
    }
    Ok(())
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

/// Something that watches every statement the pool runs (its time, whether it failed).
pub type Observer = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// The application's database: the connection pool, this process's [`Bus`], and the
/// statement observers. Services write through it, so every commit is announced.
#[derive(Clone)]
pub struct Database {
    conn: DatabaseConnection,
    bus: Bus,
    observers: Arc<RwLock<Vec<Observer>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Takes the pool over. sea-orm keeps one statement callback per connection, and a
    /// second would replace the first, so this installs the only one, which hands every
    /// statement to each [`Observer`] registered with [`Database::observe`].
    pub fn new(mut conn: DatabaseConnection) -> Self {
        let observers: Arc<RwLock<Vec<Observer>>> = Arc::default();
        let watching = observers.clone();
        conn.set_metric_callback(move |info| {
            for observer in watching.read().unwrap_or_else(|e| e.into_inner()).iter() {
                observer(info);
            }
        });
        Database {
            conn,
            bus: Bus::default(),
            observers,
        }
    }

    /// Adds `observer` to those that see every statement from now on.
    pub fn observe(&self, observer: Observer) {
        self.observers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(observer);
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// [`begin_write`] on this database.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        begin_write(&self.conn).await
    }

    /// Commits a write and tells this process it happened (other instances hear it from
    /// PostgreSQL's `NOTIFY`, sent inside the transaction).
    pub async fn commit(&self, txn: DatabaseTransaction) -> Result<(), DbErr> {
        txn.commit().await?;
        self.bus.publish(Signal::Committed);
        Ok(())
    }
}

impl std::ops::Deref for Database {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the QPSG flag of one pooled connection back from SQLite.
    async fn planner_stability(db: &DatabaseConnection) -> std::ffi::c_int {
        let mut conn = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .expect("acquire");
        let mut handle = conn.lock_handle().await.expect("lock");
        let mut enabled: std::ffi::c_int = -1;
        // SAFETY: as in `stable_plans`; -1 leaves the option as it is and writes it to
        // `enabled`, which outlives the call.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_db_config(
                handle.as_raw_handle().as_ptr(),
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                -1 as std::ffi::c_int,
                &mut enabled as *mut std::ffi::c_int,
            )
        };
        assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
        enabled
    }

    #[tokio::test]
    async fn the_pool_takes_the_size_asked_for_except_in_memory() {
        let size = |db: &DatabaseConnection| {
            db.get_sqlite_connection_pool()
                .options()
                .get_max_connections()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("pool.db").display());
        assert_eq!(size(&connect(&url).await.expect("connect")), 8);
        assert_eq!(
            size(&connect_with(&url, Some(3)).await.expect("connect")),
            3
        );
        let memory = connect_with("sqlite::memory:", Some(3))
            .await
            .expect("connect");
        assert_eq!(size(&memory), 1);
    }

    #[tokio::test]
    async fn sqlite_connections_keep_their_plans() {
        let memory = connect("sqlite::memory:").await.expect("connect");
        assert_eq!(planner_stability(&memory).await, 1);
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("plans.db").display()
        );
        let file = connect(&url).await.expect("connect");
        assert_eq!(planner_stability(&file).await, 1);
    }
}
