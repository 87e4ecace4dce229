//! Events: what changed, written by [`record`] in the same database transaction as the
//! change itself (a transactional outbox), so an event exists exactly when its change
//! does. Recording an event also queues its webhook deliveries ([`fanout`]) in that
//! transaction. Webhook dispatchers and live subscriptions read the `events` table.
//!
//! An event stores its resource's view (`crate::views`), the object REST returns, so
//! nothing but serialization runs inside the writer's transaction.

pub mod fanout;

use entities::event;
use poem_openapi::types::ToJSON;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use crate::error::AppResult;
pub use crate::views::EventType;

/// Records that a resource changed, with its view as the event's data, and queues its
/// webhook deliveries. Call it with the transaction that made the change.
pub async fn record<C: ConnectionTrait, V: ToJSON>(
    db: &C,
    organization_id: Uuid,
    event_type: EventType,
    view: &V,
) -> AppResult<event::Model> {
    let event = insert(db, organization_id, event_type, crate::views::to_json(view)).await?;
    fanout::enqueue(db, &event).await?;
    announce(db).await?;
    Ok(event)
}

/// Tells every instance that an event is on its way: PostgreSQL delivers the `NOTIFY`
/// when (and only if) the transaction commits, and folds repeats within one transaction
/// into one. Dispatchers and live feeds wake on it (`db::listen`) instead of their next
/// poll. SQLite has one process, told by `Database::commit`.
async fn announce<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [crate::db::bus::EVENTS_CHANNEL.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Writes the event row alone, without fan-out (a test event goes to one webhook only).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    event_type: EventType,
    data: serde_json::Value,
) -> AppResult<event::Model> {
    Ok(event::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(organization_id),
        event_type: Set(event_type.as_str().to_owned()),
        data: Set(data),
        created_at: Set(crate::time::now()),
    }
    .insert(db)
    .await?)
}

/// Events are kept this long; older ones (and their webhook deliveries) are purged.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);

/// Deletes events past [`RETENTION`]; their deliveries and attempts go with them.
pub async fn purge_expired(db: &sea_orm::DatabaseConnection) -> AppResult<u64> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let cutoff = crate::time::now() - RETENTION;
    let result = event::Entity::delete_many()
        .filter(event::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
