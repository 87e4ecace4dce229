//! Managing subscriptions: create, update, delete, rotate the secret, send a test event,
//! re-send a delivery. GraphQL's mutations call these; REST runs those mutations.

use std::sync::Arc;

use async_graphql::ID;
use chrono::Duration;
use entities::{webhook_delivery, webhook_subscription};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use super::dispatcher::{Claim, Dispatcher, Mode, Recorded};
use super::fanout::pending_delivery;
use super::secret::SigningSecret;
use super::{Webhooks, target};
use crate::error::{AppError, AppResult};
use crate::events::EventType;
use crate::graphql::mutations::{optional_text, target};
use crate::ids::{self, IdKind};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// Subscriptions per organization: every event is fanned out to each of them.
pub const MAX_SUBSCRIPTIONS: u64 = 50;

/// The event types a subscription may name: `*`, or a list of published types.
pub fn parse_event_types(types: &[String]) -> AppResult<String> {
    let field = "eventTypes";
    if types.is_empty() {
        return Err(AppError::validation(
            field,
            "name at least one event type, or `*` for all",
        ));
    }
    let mut wanted: Vec<&str> = Vec::new();
    for name in types {
        let name = name.trim();
        if name == "*" {
            return Ok("*".to_owned());
        }
        let event_type = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            AppError::validation(
                field,
                format!(
                    "`{name}` is not an event type; use `*` or some of: {}",
                    known.join(", ")
                ),
            )
        })?;
        if !wanted.contains(&event_type.as_str()) {
            wanted.push(event_type.as_str());
        }
    }
    Ok(wanted.join(","))
}

async fn checked_url(hooks: &Webhooks, url: &str) -> AppResult<String> {
    let target = target::check(url, hooks.config.allow_private_targets)
        .await
        .map_err(|err| {
            let message = err.to_string();
            let message = message.strip_prefix("url: ").unwrap_or(&message).to_owned();
            AppError::validation("url", message)
        })?;
    Ok(target.url.to_string())
}

fn description(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("description", value, 500)
}

pub struct NewSubscription {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: Option<bool>,
}

/// Creates a subscription; returns it with its secret, which is never shown again.
pub async fn create(
    db: &DatabaseConnection,
    hooks: &Webhooks,
    organization_id: Uuid,
    input: NewSubscription,
) -> AppResult<(webhook_subscription::Model, SigningSecret)> {
    let event_types = parse_event_types(&input.event_types)?;
    let description = description(input.description.as_deref())?;
    let url = checked_url(hooks, &input.url).await?;
    let existing = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::OrganizationId.eq(organization_id))
        .count(db)
        .await?;
    if existing >= MAX_SUBSCRIPTIONS {
        return Err(AppError::Conflict(format!(
            "an organization can have at most {MAX_SUBSCRIPTIONS} webhooks; delete one first"
        )));
    }
    let id = crate::ids::new_uuid();
    let secret = SigningSecret::generate()?;
    let at = hooks.clock.now();
    let enabled = input.enabled.unwrap_or(true);
    let created = webhook_subscription::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        url: Set(url),
        description: Set(description),
        event_types: Set(event_types),
        enabled: Set(enabled),
        disabled_reason: Set((!enabled).then(|| "disabled when created".to_owned())),
        secret_sealed: Set(hooks.config.secret_box.seal(id, &secret)?),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok((created, secret))
}

/// A subscription of `organization_id` by its public id; anything else is NOT_FOUND.
pub async fn find(
    db: &DatabaseConnection,
    organization_id: Uuid,
    id: &str,
) -> AppResult<webhook_subscription::Model> {
    target::<webhook_subscription::Entity, _>(db, organization_id, &ID::from(id)).await
}

#[derive(Default)]
pub struct SubscriptionChanges {
    pub url: Option<String>,
    /// `Some(None)` clears it.
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

pub async fn update(
    db: &DatabaseConnection,
    hooks: &Webhooks,
    organization_id: Uuid,
    id: &str,
    changes: SubscriptionChanges,
) -> AppResult<webhook_subscription::Model> {
    let event_types = changes
        .event_types
        .as_deref()
        .map(parse_event_types)
        .transpose()?;
    let new_description = match changes.description {
        Some(text) => Some(description(text.as_deref())?),
        None => None,
    };
    let url = match changes.url.as_deref() {
        Some(url) => Some(checked_url(hooks, url).await?),
        None => None,
    };
    let current = find(db, organization_id, id).await?;
    let mut changed = current.clone().into_active_model();
    if let Some(url) = url {
        changed.url = Set(url);
    }
    if let Some(description) = new_description {
        changed.description = Set(description);
    }
    if let Some(types) = event_types {
        changed.event_types = Set(types);
    }
    match changes.enabled {
        Some(true) if !current.enabled => {
            // A fresh start: the failure streak that disabled it is forgiven.
            changed.enabled = Set(true);
            changed.disabled_reason = Set(None);
            changed.failing_since = Set(None);
        }
        Some(false) if current.enabled => {
            changed.enabled = Set(false);
            changed.disabled_reason = Set(Some("disabled by the organization".to_owned()));
        }
        _ => {}
    }
    if !changed.is_changed() {
        return Ok(current);
    }
    changed.updated_at = Set(hooks.clock.now());
    Ok(changed.update(db).await?)
}

/// Deletes a subscription with its deliveries and their attempts.
pub async fn delete(
    db: &DatabaseConnection,
    organization_id: Uuid,
    id: &str,
) -> AppResult<webhook_subscription::Model> {
    let subscription = find(db, organization_id, id).await?;
    webhook_subscription::Entity::delete_by_id(subscription.id)
        .exec(db)
        .await?;
    Ok(subscription)
}

/// A new secret; the old one keeps signing (alongside) for 24 hours.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    hooks: &Webhooks,
    organization_id: Uuid,
    id: &str,
) -> AppResult<(webhook_subscription::Model, SigningSecret)> {
    let current = find(db, organization_id, id).await?;
    let secret = SigningSecret::generate()?;
    let at = hooks.clock.now();
    let sealed = hooks.config.secret_box.seal(current.id, &secret)?;
    let previous = current.secret_sealed.clone();
    let mut changed = current.into_active_model();
    changed.secret_sealed = Set(sealed);
    changed.previous_secret_sealed = Set(Some(previous));
    changed.previous_secret_expires_at = Set(Some(at + ROTATION_OVERLAP));
    changed.updated_at = Set(at);
    Ok((changed.update(db).await?, secret))
}

/// Sends a signed `webhook.test` event to the subscription now (enabled or not) and
/// returns the attempt. The event is recorded, but only this subscription receives it.
pub async fn send_test(
    db: &DatabaseConnection,
    hooks: &Webhooks,
    organization_id: Uuid,
    id: &str,
) -> AppResult<Recorded> {
    let subscription = find(db, organization_id, id).await?;
    let at = hooks.clock.now();
    let txn = crate::db::begin_write(db).await?;
    // Recorded without fan-out: only this subscription receives a test event.
    let event = crate::events::insert(
        &txn,
        organization_id,
        EventType::WebhookTest,
        serde_json::json!({
            "webhook_id": ids::encode(IdKind::Webhook, subscription.id),
            "message": "This is a test event from Aura. It carries no data.",
        }),
    )
    .await?;
    let mut delivery = pending_delivery(&event, subscription.id);
    // Held by this request, so no dispatcher picks it up meanwhile.
    delivery.next_attempt_at = Set(None);
    delivery.lease_until = Set(Some(at + hooks.lease()));
    let delivery = delivery.insert(&txn).await?;
    txn.commit().await?;
    let claim = Claim {
        delivery,
        subscription: Some(Arc::new(subscription)),
        event: Some(Arc::new(event)),
    };
    Dispatcher::new(db.clone(), hooks.clone())
        .attempt(claim, Mode::Test)
        .await?
        .ok_or_else(|| AppError::Conflict("the test delivery was taken over".to_owned()))
}

/// Queues another attempt at a delivery now (any status), and wakes the dispatcher.
pub async fn retry_delivery(
    db: &DatabaseConnection,
    hooks: &Webhooks,
    organization_id: Uuid,
    webhook_id: &str,
    delivery_id: &str,
) -> AppResult<webhook_delivery::Model> {
    let subscription = find(db, organization_id, webhook_id).await?;
    let delivery =
        target::<webhook_delivery::Entity, _>(db, organization_id, &ID::from(delivery_id)).await?;
    if delivery.subscription_id != subscription.id {
        return Err(AppError::NotFound(format!(
            "delivery `{delivery_id}` not found"
        )));
    }
    if delivery.status == webhook_delivery::DeliveryStatus::Pending
        && delivery.next_attempt_at.is_none()
    {
        return Err(AppError::Conflict(
            "this delivery is being attempted right now".to_owned(),
        ));
    }
    if !subscription.enabled {
        return Err(AppError::Conflict(
            "the webhook is disabled; enable it before re-sending deliveries".to_owned(),
        ));
    }
    let at = hooks.clock.now();
    let mut changed = delivery.into_active_model();
    changed.status = Set(webhook_delivery::DeliveryStatus::Pending);
    changed.next_attempt_at = Set(Some(at));
    changed.updated_at = Set(at);
    let queued = changed.update(db).await?;
    hooks.wake.notify_one();
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn event_types_are_checked_against_the_published_list() {
        assert_eq!(parse_event_types(&names(&["*"])).unwrap(), "*");
        assert_eq!(
            parse_event_types(&names(&[
                "lead.created",
                "lead.created",
                "payment.refunded"
            ]))
            .unwrap(),
            "lead.created,payment.refunded"
        );
        assert_eq!(
            parse_event_types(&names(&["lead.created", "*"])).unwrap(),
            "*"
        );
        let err = parse_event_types(&names(&["lead.deleted"])).unwrap_err();
        assert_eq!(err.field(), Some("eventTypes"));
        assert!(err.to_string().contains("lead.deleted"));
        assert!(parse_event_types(&[]).is_err());
    }
}
