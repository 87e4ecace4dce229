//! Hearing the other instances: one dedicated PostgreSQL connection `LISTEN`s on the
//! bus's channels and republishes what it hears on this process's [`Bus`]: a committed
//! event (`aura_events`) wakes the dispatcher and the live feed at once, a changed key
//! (`aura_keys`, payload: its id) clears it from the key cache. While the connection is
//! down the bus says so (`hears_others() == false`), so caches are bypassed; when it
//! comes back, everything cached is dropped (`KeysUnknown`), since notifications sent
//! meanwhile were lost. SQLite has one process: nothing to hear.

use std::time::Duration;

use sea_orm::DbBackend;
use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use uuid::Uuid;

use super::bus::{EVENTS_CHANNEL, KEYS_CHANNEL};
use super::{Database, Signal};
use crate::error::FaultLog;

/// How long to wait before connecting again after the listener failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Starts the listener (PostgreSQL only); it runs as long as the process.
pub fn spawn(db: &Database) {
    if db.backend() != DbBackend::Postgres {
        return;
    }
    let options = db
        .conn()
        .get_postgres_connection_pool()
        .connect_options()
        .as_ref()
        .clone();
    let bus = db.bus().clone();
    tokio::spawn(async move {
        let faults = FaultLog::new("listening for other instances' changes");
        loop {
            let listener = async {
                // A pool of one, apart from the request pool: it only reconnects.
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connect_with(options.clone())
                    .await?;
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen_all([EVENTS_CHANNEL, KEYS_CHANNEL]).await?;
                Ok::<_, sea_orm::sqlx::Error>((pool, listener))
            }
            .await;
            let (_pool, mut listener) = match listener {
                Ok(listening) => listening,
                Err(err) => {
                    faults.failed(&err);
                    tokio::time::sleep(RECONNECT_AFTER).await;
                    continue;
                }
            };
            faults.succeeded();
            // Whatever changed while we were not listening is unknown.
            bus.publish(Signal::KeysUnknown);
            bus.set_hearing_others(true);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => match notification.channel() {
                        KEYS_CHANNEL => match notification.payload().parse::<Uuid>() {
                            Ok(key_id) => bus.publish(Signal::KeyChanged(key_id)),
                            Err(_) => bus.publish(Signal::KeysUnknown),
                        },
                        _ => bus.publish(Signal::Committed),
                    },
                    // The connection dropped and was opened again: what was sent in
                    // between is lost.
                    Ok(None) => bus.publish(Signal::KeysUnknown),
                    Err(err) => {
                        bus.set_hearing_others(false);
                        bus.publish(Signal::KeysUnknown);
                        faults.failed(&err);
                        break;
                    }
                }
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
}
