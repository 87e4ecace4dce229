//! The database: connections and migrations (SQLite, a file or memory for tests, is the
//! embedded default; PostgreSQL is production), write transactions, the traits every
//! tenant table shares, look-ups inside an organization, and keyset pages.

pub mod bus;
pub mod listen;
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

/// Which kind of process a pool serves: its default size follows (see
/// [`default_pool_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRole {
    /// `aura serve`: requests, the dispatcher it runs, live feeds.
    Serve,
    /// `aura worker`: webhook delivery only.
    Worker,
    /// One-shot commands (`migrate`, `keys`, `demo`, …).
    Tool,
}

/// The pool a process opens unless told otherwise. On PostgreSQL a deployment of two
/// servers and two workers opens at most 2 × 16 + 2 × 4 = 40 connections, well within the
/// server's default `max_connections` of 100, leaving room for migrations, tools and a
/// rolling restart's overlap. Sizing rule: the sum over every process of its pool must
/// stay under the server's `max_connections` minus what others use; a server needs
/// about one connection per request in flight (most requests run one statement).
pub fn default_pool_size(url: &str, role: PoolRole) -> u32 {
    match (is_sqlite(url), role) {
        (true, PoolRole::Serve) => 8,
        (true, PoolRole::Worker) => 4,
        (false, PoolRole::Serve) => 16,
        (false, PoolRole::Worker) => 4,
        (_, PoolRole::Tool) => 2,
    }
}

/// Warns when this process's pool could take more than a quarter of PostgreSQL's
/// `max_connections`: four such processes would leave nothing for anyone else.
pub async fn check_connection_budget(db: &DatabaseConnection, pool_size: u32) {
    use sea_orm::{ConnectionTrait, Statement};
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let shown = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SHOW max_connections",
        ))
        .await;
    let server_max = match shown {
        Ok(Some(row)) => row
            .try_get_by_index::<String>(0)
            .ok()
            .and_then(|v| v.parse::<u32>().ok()),
        _ => None,
    };
    match server_max {
        Some(server_max) if pool_size.saturating_mul(4) > server_max => tracing::warn!(
            pool_size,
            server_max_connections = server_max,
            "this process's database pool may take more than a quarter of PostgreSQL's max_connections; lower --db-max-connections or raise max_connections (README, \"Connection budget\")"
        ),
        Some(server_max) => tracing::info!(
            pool_size,
            server_max_connections = server_max,
            "database connection budget"
        ),
        None => tracing::debug!("could not read PostgreSQL's max_connections"),
    }
}

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
        // A request waits at most this long for a connection: past it, 503 with
        // Retry-After is more useful to a client (and a load balancer) than a hang.
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(5))
        // Our own check before acquire (`check_before_use`) replaces sqlx's ping on every
        // acquire.
        .test_before_acquire(false);
    if is_sqlite(url) {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_private(url)?;
        }
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
            let pool = pool
                .after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
                .before_acquire(|conn, meta| Box::pin(check_before_use(conn, meta)));
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
            .min_connections(1)
            .map_sqlx_postgres_pool_opts(|pool| {
                pool.before_acquire(|conn, meta| Box::pin(check_before_use(conn, meta)))
            });
    }
    Connector::connect(options).await
}

/// The path of a SQLite file URL (`sqlite://aura.db?mode=rwc`, `sqlite:aura.db`).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty()).then_some(path)
}

/// Creates a SQLite database file that does not exist yet readable by its owner only
/// (0600, like the key file): it holds every organization's data. SQLite gives its
/// `-wal` and `-shm` files the same mode. An existing file keeps its mode.
fn create_private(url: &str) -> Result<(), DbErr> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // Let SQLite report a missing directory or a read-only place in its own words,
        // unless it would create the file itself only with `mode=rwc`.
        Err(err) if url.contains("mode=rwc") => Err(DbErr::Custom(format!(
            "cannot create the SQLite database {path}: {err}"
        ))),
        Err(_) => Ok(()),
    }
}

/// How long after a connection fault every connection is checked before use.
const CHECK_AFTER_FAULT: Duration = Duration::from_secs(30);
/// A connection idle this long may have been dropped by a server, proxy or firewall.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Decides whether a pooled connection is fit to hand out. Pinging every connection on
/// every acquire costs a round trip per statement (BENCHMARKS.md), so only connections
/// idle long enough to have been dropped are pinged, and, for a while after any
/// connection fault (a database restart leaves every pooled connection dead), all of
/// them: a dead one is closed here and replaced, instead of failing a request.
async fn check_before_use<C: sea_orm::sqlx::Connection>(
    conn: &mut C,
    meta: sea_orm::sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sea_orm::sqlx::Error> {
    let recent_fault = crate::error::now_ms()
        .saturating_sub(crate::error::last_connection_fault_ms())
        < CHECK_AFTER_FAULT.as_millis() as u64;
    if recent_fault || meta.idle_for >= CHECK_AFTER_IDLE {
        // A failed ping closes this connection; the pool opens another.
        return Ok(conn.ping().await.is_ok());
    }
    Ok(true)
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

/// Runs a read, and once more when it met a dead pooled connection (the database
/// restarted, or a proxy dropped the connection): after a fault the pool checks each
/// connection before use, so the second try gets a live one, or fails the same way if
/// the database is really down. Only for reads: a write may have committed.
pub async fn read_twice<T, F, Fut>(mut read: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    match read().await {
        Err(err)
            if crate::error::is_connection_fault(&err)
                && !crate::error::is_acquire_timeout(&err) =>
        {
            crate::error::note_connection_fault();
            tracing::info!(error = %err, "a read met a dead database connection; trying once more");
            read().await
        }
        other => other,
    }
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Migrations this build knows that the database has not applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
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
        // PostgreSQL may have other instances: until `listen::spawn` hears them, nothing
        // cached on invalidation may be trusted.
        let alone = conn.get_database_backend() != DbBackend::Postgres;
        Database {
            conn,
            bus: Bus::new(alone),
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

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("private.db");
        let db = connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("connect");
        migrate(&db).await.expect("migrate");
        for file in [path.clone(), dir.path().join("private.db-wal")] {
            let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        assert_eq!(sqlite_path("sqlite:aura.db"), Some("aura.db"));
        assert_eq!(sqlite_path("sqlite://a/b.db?mode=rwc"), Some("a/b.db"));
        assert_eq!(sqlite_path("sqlite://"), None);
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
