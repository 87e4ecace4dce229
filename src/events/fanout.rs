//! Fan-out: an event becomes one pending delivery per enabled subscription that wants
//! its type, written in the transaction that records the event, so a committed change
//! always has its deliveries and a rolled-back one never does.

use entities::{event, webhook_delivery, webhook_subscription};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

use crate::error::AppResult;

/// Whether a subscription's `event_types` (`*` or a comma list) includes `event_type`.
pub fn wants(event_types: &str, event_type: &str) -> bool {
    event_types
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == event_type)
}

/// Queues `event` for every enabled subscription of its organization that wants it.
pub async fn enqueue<C: ConnectionTrait>(db: &C, event: &event::Model) -> AppResult<usize> {
    let subscriptions: Vec<(uuid::Uuid, String)> = webhook_subscription::Entity::find()
        .select_only()
        .column(webhook_subscription::Column::Id)
        .column(webhook_subscription::Column::EventTypes)
        .filter(webhook_subscription::Column::OrganizationId.eq(event.organization_id))
        .filter(webhook_subscription::Column::Enabled.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let deliveries: Vec<webhook_delivery::ActiveModel> = subscriptions
        .into_iter()
        .filter(|(_, types)| wants(types, &event.event_type))
        .map(|(subscription_id, _)| pending_delivery(event, subscription_id))
        .collect();
    let count = deliveries.len();
    if count > 0 {
        webhook_delivery::Entity::insert_many(deliveries)
            .exec(db)
            .await?;
    }
    Ok(count)
}

/// A delivery of `event` to one subscription, due now.
pub fn pending_delivery(
    event: &event::Model,
    subscription_id: uuid::Uuid,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(event.organization_id),
        subscription_id: Set(subscription_id),
        event_id: Set(event.id),
        event_type: Set(event.event_type.clone()),
        status: Set(webhook_delivery::DeliveryStatus::Pending),
        attempt_count: Set(0),
        next_attempt_at: Set(Some(event.created_at)),
        lease_until: Set(None),
        last_attempt_at: Set(None),
        created_at: Set(event.created_at),
        updated_at: Set(event.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::wants;

    #[test]
    fn wildcard_and_lists_match() {
        assert!(wants("*", "lead.created"));
        assert!(wants("lead.created,payment.created", "payment.created"));
        assert!(wants("lead.created, payment.created", "payment.created"));
        assert!(!wants("lead.created", "lead.updated"));
        assert!(!wants("", "lead.created"));
    }
}
