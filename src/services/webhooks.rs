//! Managing webhook subscriptions: create, update, delete, rotate the secret, prepare a
//! test event, re-send a delivery. Sending is the dispatcher's (`crate::webhooks`).
//!
//! A webhook carries every resource object of the types it subscribes to, so it is a way
//! to read them: creating or changing one needs `webhooks:write` *and* the read scope of
//! every event type it names (`*` needs them all), and re-sending a delivery needs the
//! read scope of its event's type. A test event carries no resource data and needs only
//! the webhook scopes.

use chrono::{DateTime, Duration, Utc};
use entities::{event, webhook_delivery, webhook_subscription};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter,
};

use super::Patch;
use crate::crypto::{SecretBox, SigningSecret};
use crate::db::Database;
use crate::db::lookup::{find, target};
use crate::domain::text::optional_text;
use crate::domain::webhook_target;
use crate::domain::{Actor, Scope};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType, fanout::pending_delivery};
use crate::ids::{self, IdKind};
use crate::views::{self, EventSelector, WireEnum};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// Subscriptions per organization: every event is fanned out to each of them.
pub const MAX_SUBSCRIPTIONS: u64 = 50;

/// What managing subscriptions needs from the server's settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Seals signing secrets at rest.
    pub secret_box: SecretBox,
    /// Lets targets resolve to loopback and private addresses (development and tests).
    pub allow_private_targets: bool,
    /// How long a test delivery is held by the request that sends it.
    pub lease: Duration,
}

/// The event types a subscription may name: `*`, or a list of published types, each of
/// which the actor must be allowed to read. Stored as `*` or a comma list.
pub fn parse_event_types(actor: &Actor, types: &[String]) -> AppResult<String> {
    let field = "eventTypes";
    if types.is_empty() {
        return Err(AppError::validation(
            field,
            "name at least one event type, or `*` for all",
        ));
    }
    let mut wanted: Vec<EventType> = Vec::new();
    let mut all = false;
    for name in types {
        let name = name.trim();
        match EventSelector::from_wire(name) {
            Some(EventSelector::All) => all = true,
            Some(EventSelector::Type(event_type)) => {
                if !wanted.contains(&event_type) {
                    wanted.push(event_type);
                }
            }
            None => {
                let known: Vec<&str> = EventType::values().map(EventType::as_str).collect();
                return Err(AppError::validation(
                    field,
                    format!(
                        "`{}` is not an event type; use `*` or some of: {}",
                        crate::db::lookup::shown(name),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let readable = |t: EventType| actor.require(t.read_scope());
    if all {
        EventType::values().try_for_each(readable).map_err(|err| {
            AppError::Forbidden(format!(
                "`*` delivers every resource's data: {}",
                err.public_message()
            ))
        })?;
        return Ok("*".to_owned());
    }
    for event_type in &wanted {
        readable(*event_type).map_err(|err| {
            AppError::Forbidden(format!(
                "`{event_type}` events carry data that needs it: {}",
                err.public_message()
            ))
        })?;
    }
    Ok(wanted
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(","))
}

async fn checked_url(policy: &Policy, url: &str) -> AppResult<String> {
    let target = webhook_target::check(url, policy.allow_private_targets)
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
#[tracing::instrument(name = "service.webhooks.create", skip_all)]
pub async fn create(
    db: &Database,
    policy: &Policy,
    actor: &Actor,
    input: NewSubscription,
) -> AppResult<(webhook_subscription::Model, SigningSecret)> {
    actor.require(Scope::WebhooksWrite)?;
    let organization_id = actor.organization_id;
    let event_types = parse_event_types(actor, &input.event_types)?;
    let description = description(input.description.as_deref())?;
    let url = checked_url(policy, &input.url).await?;
    let txn = db.begin_write().await?;
    let existing = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::OrganizationId.eq(organization_id))
        .count(&txn)
        .await?;
    if existing >= MAX_SUBSCRIPTIONS {
        return Err(AppError::Conflict(format!(
            "an organization can have at most {MAX_SUBSCRIPTIONS} webhooks; delete one first"
        )));
    }
    let id = crate::ids::new_uuid();
    let secret = SigningSecret::generate()?;
    let at = crate::time::now();
    let enabled = input.enabled.unwrap_or(true);
    let created = webhook_subscription::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        url: Set(url),
        description: Set(description),
        event_types: Set(event_types),
        enabled: Set(enabled),
        disabled_reason: Set((!enabled).then(|| "disabled when created".to_owned())),
        secret_sealed: Set(policy.secret_box.seal(id, &secret)?),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    db.commit(txn).await?;
    Ok((created, secret))
}

#[derive(Default)]
pub struct SubscriptionChanges {
    pub url: Option<String>,
    pub description: Patch<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// Changes a subscription. Enabling a disabled one forgives the failures that disabled it.
#[tracing::instrument(name = "service.webhooks.update", skip_all)]
pub async fn update(
    db: &Database,
    policy: &Policy,
    actor: &Actor,
    id: &str,
    changes: SubscriptionChanges,
) -> AppResult<webhook_subscription::Model> {
    actor.require(Scope::WebhooksWrite)?;
    let event_types = changes
        .event_types
        .as_deref()
        .map(|types| parse_event_types(actor, types))
        .transpose()?;
    let new_description = changes.description.parse(|text| description(Some(&text)))?;
    let url = match changes.url.as_deref() {
        Some(url) => Some(checked_url(policy, url).await?),
        None => None,
    };
    let txn = db.begin_write().await?;
    let current =
        target::<webhook_subscription::Entity, _>(&txn, actor.organization_id, id).await?;
    if event_types.is_none() {
        // Whoever changes a subscription (its URL above all) decides where its data goes:
        // they need the read scope of everything it carries, as its creator did.
        parse_event_types(actor, &views::webhooks::event_types(&current.event_types))?;
    }
    let mut changed = current.clone().into_active_model();
    if let Some(url) = url {
        changed.url.set_ne(url);
    }
    if let Some(description) = new_description {
        changed.description.set_ne(description);
    }
    if let Some(types) = event_types {
        changed.event_types.set_ne(types);
    }
    match changes.enabled {
        Some(true) if !current.enabled => {
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
    changed.updated_at = Set(crate::time::now());
    let updated = changed.update(&txn).await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// Deletes a subscription with its deliveries and their attempts.
#[tracing::instrument(name = "service.webhooks.delete", skip_all)]
pub async fn delete(
    db: &Database,
    actor: &Actor,
    id: &str,
) -> AppResult<webhook_subscription::Model> {
    actor.require(Scope::WebhooksWrite)?;
    let txn = db.begin_write().await?;
    let subscription =
        target::<webhook_subscription::Entity, _>(&txn, actor.organization_id, id).await?;
    webhook_subscription::Entity::delete_by_id(subscription.id)
        .exec(&txn)
        .await?;
    db.commit(txn).await?;
    Ok(subscription)
}

/// A new secret; the old one keeps signing (alongside) for 24 hours.
#[tracing::instrument(name = "service.webhooks.rotate_secret", skip_all)]
pub async fn rotate_secret(
    db: &Database,
    policy: &Policy,
    actor: &Actor,
    id: &str,
) -> AppResult<(webhook_subscription::Model, SigningSecret)> {
    actor.require(Scope::WebhooksWrite)?;
    let txn = db.begin_write().await?;
    let current =
        target::<webhook_subscription::Entity, _>(&txn, actor.organization_id, id).await?;
    let secret = SigningSecret::generate()?;
    let at = crate::time::now();
    let sealed = policy.secret_box.seal(current.id, &secret)?;
    let previous = current.secret_sealed.clone();
    let mut changed = current.into_active_model();
    changed.secret_sealed = Set(sealed);
    changed.previous_secret_sealed = Set(Some(previous));
    changed.previous_secret_expires_at = Set(Some(at + ROTATION_OVERLAP));
    changed.updated_at = Set(at);
    let rotated = changed.update(&txn).await?;
    db.commit(txn).await?;
    Ok((rotated, secret))
}

/// A test event ready to send to one subscription: recorded, with its delivery held by
/// the request that sends it (no dispatcher picks it up meanwhile).
pub struct PreparedTest {
    pub subscription: webhook_subscription::Model,
    pub event: event::Model,
    pub delivery: webhook_delivery::Model,
}

/// Records a signed `webhook.test` event for the subscription (enabled or not) and a
/// delivery held for the caller to attempt now. Only this subscription receives it.
#[tracing::instrument(name = "service.webhooks.prepare_test", skip_all)]
pub async fn prepare_test(
    db: &Database,
    policy: &Policy,
    actor: &Actor,
    id: &str,
    at: DateTime<Utc>,
) -> AppResult<PreparedTest> {
    actor.require(Scope::WebhooksWrite)?;
    let txn = db.begin_write().await?;
    let subscription =
        find::<webhook_subscription::Entity, _>(&txn, actor.organization_id, id).await?;
    // Recorded without fan-out: only this subscription receives a test event.
    let data = views::event::WebhookTestData {
        webhook_id: ids::encode(IdKind::Webhook, subscription.id),
        message: "This is a test event from Aura. It carries no data.".to_owned(),
    };
    let event = events::insert(
        &txn,
        actor.organization_id,
        EventType::WebhookTest,
        views::to_json(&data),
    )
    .await?;
    let mut delivery = pending_delivery(&event, subscription.id);
    delivery.next_attempt_at = Set(None);
    delivery.lease_until = Set(Some(at + policy.lease));
    let delivery = delivery.insert(&txn).await?;
    db.commit(txn).await?;
    Ok(PreparedTest {
        subscription,
        event,
        delivery,
    })
}

/// Queues another attempt at a delivery now (any status); the dispatcher wakes on the
/// commit. Re-sending needs the read scope of the delivery's event type.
#[tracing::instrument(name = "service.webhooks.retry_delivery", skip_all)]
pub async fn retry_delivery(
    db: &Database,
    actor: &Actor,
    webhook_id: &str,
    delivery_id: &str,
) -> AppResult<webhook_delivery::Model> {
    actor.require(Scope::WebhooksWrite)?;
    let organization_id = actor.organization_id;
    let txn = db.begin_write().await?;
    let subscription =
        find::<webhook_subscription::Entity, _>(&txn, organization_id, webhook_id).await?;
    let delivery =
        target::<webhook_delivery::Entity, _>(&txn, organization_id, delivery_id).await?;
    if delivery.subscription_id != subscription.id {
        return Err(AppError::NotFound(format!(
            "delivery `{}` not found",
            crate::db::lookup::shown(delivery_id)
        )));
    }
    if let Some(event_type) = EventType::parse(&delivery.event_type) {
        actor.require(event_type.read_scope())?;
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
    let at = crate::time::now();
    let mut changed = delivery.into_active_model();
    changed.status = Set(webhook_delivery::DeliveryStatus::Pending);
    changed.next_attempt_at = Set(Some(at));
    changed.updated_at = Set(at);
    let queued = changed.update(&txn).await?;
    db.commit(txn).await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ScopeSet;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn actor(scopes: &str) -> Actor {
        Actor {
            organization_id: uuid::Uuid::now_v7(),
            credential: crate::domain::Credential::ApiKey {
                key_id: uuid::Uuid::now_v7(),
            },
            scopes: ScopeSet::parse_list(scopes).unwrap(),
        }
    }

    #[test]
    fn event_types_are_checked_against_the_published_list() {
        let all = actor(&ScopeSet::all().to_string());
        assert_eq!(parse_event_types(&all, &names(&["*"])).unwrap(), "*");
        assert_eq!(
            parse_event_types(
                &all,
                &names(&["lead.created", "lead.created", "payment.refunded"])
            )
            .unwrap(),
            "lead.created,payment.refunded"
        );
        assert_eq!(
            parse_event_types(&all, &names(&["lead.created", "*"])).unwrap(),
            "*"
        );
        let err = parse_event_types(&all, &names(&["lead.deleted"])).unwrap_err();
        assert_eq!(err.field(), Some("eventTypes"));
        assert!(err.to_string().contains("lead.deleted"));
        assert!(parse_event_types(&all, &[]).is_err());
    }

    #[test]
    fn a_webhook_may_carry_only_what_its_creator_may_read() {
        let hooks_only = actor("webhooks:read,webhooks:write");
        for types in [&["lead.created"][..], &["payment.created"], &["*"]] {
            let err = parse_event_types(&hooks_only, &names(types)).unwrap_err();
            assert_eq!(err.code(), "FORBIDDEN", "{types:?}");
        }
        assert!(parse_event_types(&hooks_only, &names(&["webhook.test"])).is_ok());
        let leads = actor("leads:read,webhooks:read,webhooks:write");
        assert!(parse_event_types(&leads, &names(&["lead.created", "lead.updated"])).is_ok());
        assert_eq!(
            parse_event_types(&leads, &names(&["lead.created", "call.booked"]))
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        assert_eq!(
            parse_event_types(&leads, &names(&["*"]))
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
    }
}
