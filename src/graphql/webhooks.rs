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
use crate::services::events::{may_read, parse_types, readable_types};
use crate::services::webhooks::{self as service, NewSubscription, SubscriptionChanges};

/// Where an organization's events are sent.
pub struct Webhook(pub webhook_subscription::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        public_id(IdKind::Webhook, self.0.id)
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types sent here, or `["*"]` for all.
    async fn event_types(&self) -> Vec<String> {
        crate::views::webhooks::event_types(&self.0.event_types)
    }
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
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
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
        status: Option<Gql<webhook_delivery::DeliveryStatus>>,
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

#[Object]
impl Delivery {
    async fn id(&self) -> ID {
        public_id(IdKind::Delivery, self.0.id)
    }
    async fn webhook_id(&self) -> ID {
        public_id(IdKind::Webhook, self.0.subscription_id)
    }
    /// The event's id, also sent as the `webhook-id` header.
    async fn event_id(&self) -> ID {
        public_id(IdKind::Event, self.0.event_id)
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn status(&self) -> Gql<webhook_delivery::DeliveryStatus> {
        Gql(self.0.status)
    }
    async fn attempt_count(&self) -> i32 {
        self.0.attempt_count
    }
    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime> {
        self.0.next_attempt_at.map(DateTime)
    }
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
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
}

/// One HTTP request made for a delivery.
pub struct DeliveryAttempt(pub webhook_attempt::Model);

#[Object]
impl DeliveryAttempt {
    /// 1 for the first attempt.
    async fn attempt(&self) -> i32 {
        self.0.attempt_number
    }
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
    async fn latency_ms(&self) -> i64 {
        self.0.latency_ms
    }
    /// The first kilobyte of the response body.
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }
}

#[derive(InputObject, Default)]
pub struct WebhookFilter {
    #[graphql(flatten)]
    pub time: TimeRange,
    pub enabled: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct EventFilter {
    /// Only these types (each needs its resource's read scope); all readable types when
    /// omitted.
    pub types: Option<Vec<String>>,
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
        filter: Option<WebhookFilter>,
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
    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
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
        filter: Option<EventFilter>,
    ) -> Result<PageConnection<LiveEvent>> {
        let filter = filter.unwrap_or_default();
        let requested = filter
            .types
            .as_deref()
            .map(|t| parse_types("types", t))
            .transpose()?;
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
    async fn event(&self, ctx: &Context<'_>, id: ID) -> Result<LiveEvent> {
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

#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// An `https://` (or `http://`) URL that resolves to a public address.
    pub url: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// Event types to send (`lead.created`, …), or `["*"]` for all.
    pub event_types: Vec<String>,
    /// `true` when omitted.
    pub enabled: Option<bool>,
}

/// Omitted fields keep their value; `description: null` clears it.
#[derive(InputObject, Default)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub description: MaybeUndefined<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` re-enables a disabled webhook (and forgets its failures).
    pub enabled: Option<bool>,
}

#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`). Shown this once: store it now.
    pub secret: String,
}

#[derive(SimpleObject)]
pub struct DeletedWebhook {
    pub id: ID,
    pub deleted: bool,
}

#[derive(SimpleObject)]
pub struct WebhookTestResult {
    /// Whether the endpoint answered 2xx within 15 s.
    pub succeeded: bool,
    pub attempt: DeliveryAttempt,
    pub delivery: Delivery,
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
        input: CreateWebhookInput,
    ) -> Result<WebhookWithSecret> {
        let core = core(ctx);
        let (webhook, secret) = service::create(
            &core.db,
            &core.webhooks.policy(),
            actor(ctx)?,
            NewSubscription {
                url: input.url,
                description: input.description,
                event_types: input.event_types,
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
        id: ID,
        input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let core = core(ctx);
        let changes = SubscriptionChanges {
            url: input.url,
            description: patch(input.description),
            event_types: input.event_types,
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
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<DeletedWebhook> {
        let deleted = service::delete(&core(ctx).db, actor(ctx)?, id.as_str()).await?;
        Ok(DeletedWebhook {
            id: public_id(IdKind::Webhook, deleted.id),
            deleted: true,
        })
    }

    /// A new signing secret, shown once. For 24 hours deliveries carry signatures by both
    /// the old and the new secret. Needs `webhooks:write`.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookWithSecret> {
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
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookTestResult> {
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
        webhook_id: ID,
        delivery_id: ID,
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
