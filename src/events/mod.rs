//! Events: what changed, written by [`record`] in the same database transaction as the
//! change itself (a transactional outbox), so an event exists exactly when its change
//! does. Recording an event also queues its webhook deliveries (`webhooks::fanout`) in that
//! transaction. Live subscriptions read events from the `events` table.
//! An event's `data` is the resource's REST object at the time of the change.

use std::fmt;

use entities::event;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use crate::error::AppResult;
use crate::rest::representation::{Resource, represent};

/// Every event type Aura publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    LeadCreated,
    LeadUpdated,
    CallBooked,
    CallUpdated,
    CallCanceled,
    PaymentCreated,
    PaymentUpdated,
    PaymentRefunded,
    TeamMemberCreated,
    TeamMemberUpdated,
    ProductCreated,
    ProductUpdated,
    BookingLinkCreated,
    BookingLinkUpdated,
    WebhookTest,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        EventType::LeadCreated,
        EventType::LeadUpdated,
        EventType::CallBooked,
        EventType::CallUpdated,
        EventType::CallCanceled,
        EventType::PaymentCreated,
        EventType::PaymentUpdated,
        EventType::PaymentRefunded,
        EventType::TeamMemberCreated,
        EventType::TeamMemberUpdated,
        EventType::ProductCreated,
        EventType::ProductUpdated,
        EventType::BookingLinkCreated,
        EventType::BookingLinkUpdated,
        EventType::WebhookTest,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::LeadCreated => "lead.created",
            EventType::LeadUpdated => "lead.updated",
            EventType::CallBooked => "call.booked",
            EventType::CallUpdated => "call.updated",
            EventType::CallCanceled => "call.canceled",
            EventType::PaymentCreated => "payment.created",
            EventType::PaymentUpdated => "payment.updated",
            EventType::PaymentRefunded => "payment.refunded",
            EventType::TeamMemberCreated => "team_member.created",
            EventType::TeamMemberUpdated => "team_member.updated",
            EventType::ProductCreated => "product.created",
            EventType::ProductUpdated => "product.updated",
            EventType::BookingLinkCreated => "booking_link.created",
            EventType::BookingLinkUpdated => "booking_link.updated",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records that `resource` changed. Call it with the transaction that made the change.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    event_type: EventType,
    resource: Resource,
) -> AppResult<event::Model> {
    let data = represent(resource).await?;
    record_raw(db, organization_id, event_type, data).await
}

/// Records an event whose data is already its REST representation, and queues its
/// webhook deliveries.
pub async fn record_raw<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    event_type: EventType,
    data: serde_json::Value,
) -> AppResult<event::Model> {
    let event = insert(db, organization_id, event_type, data).await?;
    crate::webhooks::fanout::enqueue(db, &event).await?;
    Ok(event)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("lead.deleted"), None);
    }
}
