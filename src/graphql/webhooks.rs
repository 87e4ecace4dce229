//! Webhooks and events in the GraphQL schema: `webhooks`, `webhook`, `events`, `event`,
//! and the mutations that manage subscriptions (adapters over `services::webhooks`).
//! Reading needs `webhooks:read`, changing needs `webhooks:write` (API keys may hold it:
//! it is the one thing partners write).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use entities::{event, webhook_attempt, webhook_delivery, webhook_subscription};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::context::{actor, authorize, core};
use super::enums::Gql;
use super::mutations::patch;
use super::pagination::PageConnection;
use super::resources::{TimeRange, get, list, public_id};
use super::scalars::DateTime;
use super::subscription::LiveEvent;
use crate::domain::Scope;
use crate::error::AppError;
use crate::ids::IdKind;
use crate::services::events::{may_read, readable_types};
use crate::services::webhooks::{self as service, NewSubscription, SubscriptionChanges};
use crate::views::{EventSelector, EventType, WireEnum};

/// Where an organization's events are sent.
pub struct Webhook(pub webhook_subscription::Model);

/// A subscription: where events are sent, and which.
#[Object]
impl Webhook {
    /// `wh_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Webhook, self.0.id)
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What the webhook is for, as you described it.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types sent here, or `[ALL]` for every type.
    async fn event_types(&self) -> Vec<Gql<EventSelector>> {
        crate::views::webhooks::event_selectors(&self.0.event_types)
            .into_iter()
            .map(Gql)
            .collect()
    }
    /// Whether deliveries are sent (a disabled webhook keeps its pending deliveries).
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Why it is disabled: by the organization, a 410 Gone, or five days of failures.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Until when the secret before the last rotation still signs (alongside the new one).
    async fn previous_secret_expires_at(&self) -> Option<DateTime> {
        self.0
            .previous_secret_expires_at
            .filter(|until| *until > crate::time::now())
            .map(DateTime)
    }
    /// Since when every attempt has failed; null while deliveries succeed.
    async fn failing_since(&self) -> Option<DateTime> {
        self.0.failing_since.map(DateTime)
    }
    /// When the webhook was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the webhook last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Deliveries to this webhook, newest first, each with its attempts.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only deliveries with this status.")] status: Option<
            Gql<webhook_delivery::DeliveryStatus>,
        >,
    ) -> Result<PageConnection<Delivery>> {
        let subscription = self.0.id;
        Ok(list::<webhook_delivery::Entity, _>(
            ctx,
            Scope::WebhooksRead,
            first,
            after,
            |select| {
                let mut select =
                    select.filter(webhook_delivery::Column::SubscriptionId.eq(subscription));
                if let Some(status) = status {
                    select = select.filter(webhook_delivery::Column::Status.eq(status.get()));
                }
                Ok(select)
            },
            Delivery,
        )
        .await?)
    }
}

/// One event on its way to one webhook.
pub struct Delivery(pub webhook_delivery::Model);

/// One event on its way to one webhook, with every attempt.
#[Object]
impl Delivery {
    /// `dlv_…`
    pub async fn id(&self) -> ID {
        public_id(IdKind::Delivery, self.0.id)
    }
    /// The webhook it goes to (`wh_…`).
    async fn webhook_id(&self) -> ID {
        public_id(IdKind::Webhook, self.0.subscription_id)
    }
    /// The event's id (`evt_…`), also sent as the `webhook-id` header.
    async fn event_id(&self) -> ID {
        public_id(IdKind::Event, self.0.event_id)
    }
    /// The event's type.
    async fn event_type(&self) -> Result<Gql<EventType>> {
        crate::views::webhooks::event_type(&self.0.event_type)
            .map(Gql)
            .ok_or_else(|| {
                AppError::internal(format!("unknown stored event type {}", self.0.event_type))
                    .into()
            })
    }
    /// Where the delivery stands.
    async fn status(&self) -> Gql<webhook_delivery::DeliveryStatus> {
        Gql(self.0.status)
    }
    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.attempt_count
    }
    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime> {
        self.0.next_attempt_at.map(DateTime)
    }
    /// When the last attempt was made; null before the first.
    async fn last_attempt_at(&self) -> Option<DateTime> {
        self.0.last_attempt_at.map(DateTime)
    }
    /// Every attempt, oldest first.
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<DeliveryAttempt>> {
        let request = authorize(ctx, Scope::WebhooksRead)?;
        Ok(request
            .loaders
            .attempts_by_delivery
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(DeliveryAttempt)
            .collect())
    }
    /// When the delivery was queued (when its event committed).
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the delivery last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// One HTTP request made for a delivery.
pub struct DeliveryAttempt(pub webhook_attempt::Model);

/// One HTTP request made for a delivery.
#[Object]
impl DeliveryAttempt {
    /// 1 for the first attempt.
    async fn attempt(&self) -> i32 {
        self.0.attempt_number
    }
    /// When the request was sent.
    async fn attempted_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// Whether the endpoint answered 2xx in time.
    async fn succeeded(&self) -> bool {
        crate::webhooks::is_success(self.0.status_code)
    }
    /// The response's status; null when none came (timeout, refused, DNS).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    /// Why no usable response came.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// How long the endpoint took to answer, in milliseconds.
    async fn latency_ms(&self) -> i64 {
        self.0.latency_ms
    }
    /// The first kilobyte of the response body.
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }
}

/// Narrows `webhooks`: every field given must match.
#[derive(InputObject, Default)]
pub struct WebhookFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    /// Only enabled (`true`) or disabled (`false`) webhooks.
    pub enabled: Option<bool>,
}

/// Narrows `events`: every field given must match.
#[derive(InputObject, Default)]
pub struct EventFilter {
    /// Only these types (each needs its resource's read scope); all readable types when
    /// omitted.
    pub types: Option<Vec<Gql<EventType>>>,
    /// Only events after this instant.
    pub created_after: Option<DateTime>,
    /// Only events before this instant.
    pub created_before: Option<DateTime>,
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Your webhooks, newest first. Needs `webhooks:read`.
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only webhooks matching every field given.")] filter: Option<
            WebhookFilter,
        >,
    ) -> Result<PageConnection<Webhook>> {
        let filter = filter.unwrap_or_default();
        Ok(list::<webhook_subscription::Entity, _>(
            ctx,
            Scope::WebhooksRead,
            first,
            after,
            |select| {
                let mut select = filter.time.apply(select);
                if let Some(enabled) = filter.enabled {
                    select = select.filter(webhook_subscription::Column::Enabled.eq(enabled));
                }
                Ok(select)
            },
            Webhook,
        )
        .await?)
    }

    /// A webhook by id. Needs `webhooks:read`.
    async fn webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
    ) -> Result<Webhook> {
        Ok(Webhook(
            get::<webhook_subscription::Entity>(ctx, Scope::WebhooksRead, &id).await?,
        ))
    }

    /// Events of the last 30 days, newest first: what webhooks deliver. Each type needs
    /// its resource's read scope (`payment.*` needs `payments:read`).
    #[graphql(complexity = "crate::graphql::limits::list_cost(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 25, desc = "Page size, 1 to 100.")] first: i32,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only events matching every field given.")] filter: Option<EventFilter>,
    ) -> Result<PageConnection<LiveEvent>> {
        let filter = filter.unwrap_or_default();
        let requested: Option<Vec<EventType>> = filter
            .types
            .as_ref()
            .map(|types| types.iter().map(|t| t.get()).collect());
        let types = readable_types(actor(ctx)?, requested.as_deref())?;
        let names: Vec<&'static str> = types.iter().map(|t| t.as_str()).collect();
        Ok(list::<event::Entity, _>(
            ctx,
            Scope::WebhooksRead,
            first,
            after,
            |select: Select<event::Entity>| {
                let time = TimeRange {
                    created_after: filter.created_after,
                    created_before: filter.created_before,
                    updated_after: None,
                };
                Ok(time
                    .apply(select)
                    .filter(event::Column::EventType.is_in(names)))
            },
            |model| LiveEvent::from(&model),
        )
        .await?)
    }

    /// An event by id (`evt_…`, also the `webhook-id` of its deliveries).
    async fn event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The event's id (`evt_…`).")] id: ID,
    ) -> Result<LiveEvent> {
        let model = get::<event::Entity>(ctx, Scope::WebhooksRead, &id).await?;
        // Like the list: an event whose resource the caller may not read is not theirs.
        if !may_read(actor(ctx)?, &model) {
            return Err(AppError::NotFound(format!(
                "event `{}` not found",
                crate::db::lookup::shown(id.as_str())
            ))
            .into());
        }
        Ok(LiveEvent::from(&model))
    }
}

/// A new webhook.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// An `https://` (or `http://`) URL that resolves to a public address.
    pub url: String,
    /// What the webhook is for, at most 500 characters.
    pub description: Option<String>,
    /// Event types to send (`LEAD_CREATED`, …), or `[ALL]` for every type.
    pub event_types: Vec<Gql<EventSelector>>,
    /// `true` when omitted.
    pub enabled: Option<bool>,
}

/// Changes to a webhook. Omitted fields keep their value; `description: null` clears it.
#[derive(InputObject, Default)]
pub struct UpdateWebhookInput {
    /// A new URL; it must resolve to a public address.
    pub url: Option<String>,
    /// A new description, at most 500 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// The event types to send from now on, or `[ALL]`.
    pub event_types: Option<Vec<Gql<EventSelector>>>,
    /// `true` re-enables a disabled webhook (and forgets its failures).
    pub enabled: Option<bool>,
}

/// A webhook with its signing secret, returned once: on create and on rotation.
#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    /// The webhook.
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`). Shown this once: store it now.
    pub secret: String,
}

/// A deleted webhook.
#[derive(SimpleObject)]
pub struct DeletedWebhook {
    /// The deleted webhook's id.
    pub id: ID,
    /// Always `true`.
    pub deleted: bool,
}

/// What a test delivery came to.
#[derive(SimpleObject)]
pub struct WebhookTestResult {
    /// Whether the endpoint answered 2xx within 15 s.
    pub succeeded: bool,
    /// The attempt made.
    pub attempt: DeliveryAttempt,
    /// The delivery of the `webhook.test` event the attempt belongs to.
    pub delivery: Delivery,
}

/// Event selectors as the service takes them: their REST names (`lead.created`, `*`).
fn selector_names(types: Vec<Gql<EventSelector>>) -> Vec<String> {
    types
        .into_iter()
        .map(|t| t.get().wire_name().to_owned())
        .collect()
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Subscribes a URL to events. The response holds the signing secret, shown once.
    /// Needs `webhooks:write`, and the read scope of every event type named (`*` needs
    /// them all): a webhook receives those resources' data.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook to create.")] input: CreateWebhookInput,
    ) -> Result<WebhookWithSecret> {
        let core = core(ctx);
        let (webhook, secret) = service::create(
            &core.db,
            &core.webhooks.policy(),
            actor(ctx)?,
            NewSubscription {
                url: input.url,
                description: input.description,
                event_types: selector_names(input.event_types),
                enabled: input.enabled,
            },
        )
        .await?;
        Ok(WebhookWithSecret {
            webhook: Webhook(webhook),
            secret: secret.expose(),
        })
    }

    /// Changes a webhook. Needs `webhooks:write`, and the read scope of every event type
    /// it names.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let core = core(ctx);
        let changes = SubscriptionChanges {
            url: input.url,
            description: patch(input.description),
            event_types: input.event_types.map(selector_names),
            enabled: input.enabled,
        };
        Ok(Webhook(
            service::update(
                &core.db,
                &core.webhooks.policy(),
                actor(ctx)?,
                id.as_str(),
                changes,
            )
            .await?,
        ))
    }

    /// Deletes a webhook and its delivery log. Needs `webhooks:write`.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
    ) -> Result<DeletedWebhook> {
        let deleted = service::delete(&core(ctx).db, actor(ctx)?, id.as_str()).await?;
        Ok(DeletedWebhook {
            id: public_id(IdKind::Webhook, deleted.id),
            deleted: true,
        })
    }

    /// A new signing secret, shown once. For 24 hours deliveries carry signatures by both
    /// the old and the new secret. Needs `webhooks:write`.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
    ) -> Result<WebhookWithSecret> {
        let core = core(ctx);
        let (webhook, secret) =
            service::rotate_secret(&core.db, &core.webhooks.policy(), actor(ctx)?, id.as_str())
                .await?;
        Ok(WebhookWithSecret {
            webhook: Webhook(webhook),
            secret: secret.expose(),
        })
    }

    /// Sends a signed `webhook.test` event now and reports how the endpoint answered.
    /// Needs `webhooks:write`.
    async fn test_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
    ) -> Result<WebhookTestResult> {
        let core = core(ctx);
        let recorded = core
            .webhooks
            .send_test(&core.db, actor(ctx)?, id.as_str())
            .await?;
        Ok(WebhookTestResult {
            succeeded: crate::webhooks::is_success(recorded.attempt.status_code),
            attempt: DeliveryAttempt(recorded.attempt),
            delivery: Delivery(recorded.delivery),
        })
    }

    /// Queues another attempt at a delivery, now. Needs `webhooks:write` and the read
    /// scope of the delivery's event type.
    async fn retry_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] webhook_id: ID,
        #[graphql(desc = "The delivery's id (`dlv_…`).")] delivery_id: ID,
    ) -> Result<Delivery> {
        Ok(Delivery(
            service::retry_delivery(
                &core(ctx).db,
                actor(ctx)?,
                webhook_id.as_str(),
                delivery_id.as_str(),
            )
            .await?,
        ))
    }
}
