//! Webhook delivery: the dispatcher that sends the outbox's deliveries (Standard Webhooks
//! signatures, retries, the delivery log) and the HTTP sender behind it, which resolves
//! every target through the SSRF guard (`domain::webhook_target`). Subscriptions are
//! managed by `services::webhooks`; deliveries are queued by `events::fanout` in the
//! writer's transaction. The dispatcher runs inside `aura serve` and alone as
//! `aura worker`; any number of them may share one database.

pub mod dispatcher;
pub mod schedule;
pub mod sender;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use crate::crypto::SecretBox;
use crate::db::Database;
use crate::domain::Actor;
use crate::error::{AppError, AppResult};
use crate::services::webhooks as subscriptions;
pub use crate::views::webhooks::is_success;
pub use dispatcher::Dispatcher;
use dispatcher::{Claim, Mode, Recorded};
use schedule::{Jitter, SharedClock, SystemClock};
use sender::Sender;

/// How webhooks are sent. Defaults follow the contract (15 s timeout, no private targets).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Seals signing secrets at rest.
    pub secret_box: SecretBox,
    /// Lets targets resolve to loopback and private addresses (development and tests only).
    pub allow_private_targets: bool,
    /// A response must arrive within this.
    pub timeout: Duration,
    /// How long a dispatcher holds a claimed delivery; longer than `timeout`, so a
    /// delivery is only taken over from a dispatcher that died.
    pub lease: Duration,
    /// Requests in flight per dispatcher.
    pub concurrency: usize,
    /// Requests in flight per subscription and dispatcher, so a slow partner takes at most
    /// this many slots and never delays the others.
    pub per_subscription: usize,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_interval: Duration,
    /// Whether `aura serve` runs a dispatcher (off when dedicated `aura worker`s do).
    pub run_dispatcher: bool,
}

impl WebhookConfig {
    /// Contract defaults with a throwaway key, for tests and tools.
    pub fn ephemeral() -> Self {
        WebhookConfig {
            secret_box: SecretBox::ephemeral(),
            allow_private_targets: false,
            timeout: Duration::from_secs(15),
            lease: Duration::from_secs(60),
            concurrency: 32,
            per_subscription: 4,
            poll_interval: Duration::from_secs(1),
            run_dispatcher: true,
        }
    }
}

/// What the API and the dispatcher share: the config, the HTTP client and the clock.
#[derive(Clone)]
pub struct Webhooks {
    pub config: Arc<WebhookConfig>,
    pub sender: Sender,
    pub clock: SharedClock,
    pub jitter: Jitter,
}

impl Webhooks {
    /// How long a claimed delivery is held, as a chrono duration.
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1))
    }

    pub fn new(config: WebhookConfig) -> Result<Self, String> {
        Self::with_clock(config, Arc::new(SystemClock), schedule::random_jitter())
    }

    pub fn with_clock(
        config: WebhookConfig,
        clock: SharedClock,
        jitter: Jitter,
    ) -> Result<Self, String> {
        if config.lease <= config.timeout {
            return Err("the webhook lease must be longer than the webhook timeout".to_owned());
        }
        let sender = Sender::new(config.timeout, config.allow_private_targets)?;
        Ok(Webhooks {
            config: Arc::new(config),
            sender,
            clock,
            jitter,
        })
    }

    /// What managing subscriptions needs of these settings.
    pub fn policy(&self) -> subscriptions::Policy {
        subscriptions::Policy {
            secret_box: self.config.secret_box.clone(),
            allow_private_targets: self.config.allow_private_targets,
            lease: self.lease(),
        }
    }

    /// Sends a signed `webhook.test` event to one subscription now (enabled or not) and
    /// returns the attempt.
    pub async fn send_test(&self, db: &Database, actor: &Actor, id: &str) -> AppResult<Recorded> {
        let prepared =
            subscriptions::prepare_test(db, &self.policy(), actor, id, self.clock.now()).await?;
        let claim = Claim {
            delivery: prepared.delivery,
            subscription: Some(Arc::new(prepared.subscription)),
            event: Some(Arc::new(prepared.event)),
        };
        Dispatcher::new(db.clone(), self.clone())
            .attempt(claim, Mode::Test)
            .await?
            .ok_or_else(|| AppError::Conflict("the test delivery was taken over".to_owned()))
    }
}

/// The deployment's webhook backlog: deliveries due now (to enabled subscriptions) and
/// how long the most overdue one has waited. Deliveries waiting for a later retry are not
/// backlog: a partner's failing endpoint shows in the attempts, not here.
pub async fn backlog(db: &Database) -> AppResult<(u64, Duration)> {
    use entities::{webhook_delivery as delivery, webhook_subscription as subscription};
    use sea_orm::sea_query::Query;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let now = crate::time::now();
    let enabled = Query::select()
        .column(subscription::Column::Id)
        .from(subscription::Entity)
        .and_where(subscription::Column::Enabled.eq(true))
        .to_owned();
    let row: Option<(i64, Option<chrono::DateTime<chrono::Utc>>)> = delivery::Entity::find()
        .select_only()
        .column_as(delivery::Column::Id.count(), "pending")
        .column_as(delivery::Column::NextAttemptAt.min(), "oldest")
        .filter(delivery::Column::Status.eq(delivery::DeliveryStatus::Pending))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .filter(delivery::Column::SubscriptionId.in_subquery(enabled))
        .into_tuple()
        .one(db.conn())
        .await?;
    let (pending, oldest) = row.unwrap_or((0, None));
    let age = oldest
        .and_then(|at| (now - at).to_std().ok())
        .unwrap_or_default();
    Ok((pending.max(0) as u64, age))
}
