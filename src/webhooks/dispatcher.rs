//! The dispatcher: claims due deliveries, sends them, and records every attempt.
//!
//! Claiming sets a lease (`lease_until`) in one statement; on PostgreSQL the rows are
//! picked with `FOR UPDATE SKIP LOCKED`, so concurrent dispatchers never pick the same
//! delivery, and on SQLite the statement runs under the database's single write lock. A
//! dispatcher that dies leaves its leases to expire; the deliveries are then claimed
//! again (at-least-once; the `webhook-id` lets receivers de-duplicate). Recording an
//! attempt checks the attempt count it started from, and attempts are unique per
//! (delivery, number), so no schedule slot is ever recorded twice.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entities::{event, webhook_attempt, webhook_delivery, webhook_subscription};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Webhooks;
use super::schedule::{DISABLE_AFTER, next_delay};
use super::sender::{AttemptOutcome, Message};
use crate::crypto::SigningSecret;
use crate::db::tenant::TenantEntity;
use crate::db::{Database, Signal};
use crate::error::AppResult;
use crate::ids::{self, IdKind};
use webhook_delivery::DeliveryStatus;

/// Whether a failed attempt is retried on the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A delivery of a real event: retried on the schedule.
    Scheduled,
    /// `POST /v1/webhooks/{id}/test`: one attempt, reported to the caller.
    Test,
}

#[derive(Clone)]
pub struct Dispatcher {
    db: Database,
    hooks: Webhooks,
}

/// A claimed delivery with its subscription and event, as loaded with the claim (`None`
/// when deleted meanwhile).
pub struct Claim {
    pub delivery: webhook_delivery::Model,
    pub subscription: Option<Arc<webhook_subscription::Model>>,
    pub event: Option<Arc<event::Model>>,
}

/// An attempt as recorded, and the delivery after it.
pub struct Recorded {
    pub attempt: webhook_attempt::Model,
    pub delivery: webhook_delivery::Model,
}

impl Dispatcher {
    pub fn new(db: Database, hooks: Webhooks) -> Self {
        Dispatcher { db, hooks }
    }

    /// Sends due deliveries until `shutdown` resolves, then lets in-flight attempts finish
    /// (their leases would otherwise hold them until they expire).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let config = self.hooks.config.clone();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut in_flight: JoinSet<Uuid> = JoinSet::new();
        let mut per_subscription: HashMap<Uuid, usize> = HashMap::new();
        // A commit in this process (a new event, a manual retry) is worth a look at once.
        let mut commits = self.db.bus().subscribe();
        let claiming = crate::error::FaultLog::new("claiming webhook deliveries");
        let recording = Arc::new(crate::error::FaultLog::new("recording a webhook attempt"));
        // Attempts finish concurrently; one task records them in batches.
        let (to_record, queue) = mpsc::channel::<ToRecord>(config.concurrency.max(1) * 2);
        let recorder = tokio::spawn(recorder(self.clone(), queue));
        tracing::info!(
            concurrency = config.concurrency,
            per_subscription = config.per_subscription,
            "webhook dispatcher started"
        );
        // Whether a claim may find something: set by a commit, the poll, a claim that came
        // back full, or a finished attempt of a subscription that was at its limit. A claim
        // that finds nothing still costs a round trip (about a millisecond on PostgreSQL),
        // so finished attempts alone do not trigger one.
        let mut look = true;
        let mut poll = tokio::time::interval(config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let free = config.concurrency.saturating_sub(in_flight.len());
            if free > 0 && look {
                look = false;
                let saturated: Vec<Uuid> = per_subscription
                    .iter()
                    .filter(|(_, n)| **n >= config.per_subscription)
                    .map(|(id, _)| *id)
                    .collect();
                match self.claim_loaded(free, &saturated).await {
                    Ok(claimed) => {
                        claiming.succeeded();
                        // A full claim may have left more behind.
                        look = claimed.len() == free;
                        for claim in claimed {
                            *per_subscription
                                .entry(claim.delivery.subscription_id)
                                .or_default() += 1;
                            let dispatcher = self.clone();
                            let recording = recording.clone();
                            let to_record = to_record.clone();
                            in_flight.spawn(async move {
                                let subscription = claim.delivery.subscription_id;
                                let recorded = match dispatcher.send(claim, Mode::Scheduled).await {
                                    Ok(Some(sent)) => {
                                        let (answer, answered) = oneshot::channel();
                                        match to_record.send((sent, answer)).await {
                                            Ok(()) => answered.await.unwrap_or(Ok(None)),
                                            Err(_) => Ok(None),
                                        }
                                    }
                                    Ok(None) => Ok(None),
                                    Err(err) => Err(err),
                                };
                                match recorded {
                                    Ok(_) => recording.succeeded(),
                                    Err(err) => recording.failed(&err),
                                }
                                subscription
                            });
                        }
                    }
                    Err(err) => claiming.failed(&err),
                }
            }
            tokio::select! {
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    if let Ok(subscription) = done
                        && let Some(n) = per_subscription.get_mut(&subscription)
                    {
                        // Its deliveries were left out of claims while it was full.
                        look |= *n >= config.per_subscription;
                        *n -= 1;
                        if *n == 0 {
                            per_subscription.remove(&subscription);
                        }
                    }
                }
                _ = poll.tick() => look = true,
                signal = commits.recv() => {
                    // A missed signal (lagged) may have been a commit.
                    look |= !matches!(signal, Ok(Signal::KeyChanged(_) | Signal::KeysUnknown));
                }
                _ = &mut shutdown => break,
            }
        }
        tracing::info!(in_flight = in_flight.len(), "webhook dispatcher stopping");
        while in_flight.join_next().await.is_some() {}
        drop(to_record);
        let _ = recorder.await;
    }

    /// Claims and sends every delivery due now, waiting for each; returns how many were
    /// attempted. What `run` does in a loop, one round at a time (tests drive the clock
    /// between rounds).
    pub async fn run_due(&self) -> AppResult<usize> {
        let mut attempted = 0;
        loop {
            let claimed = self
                .claim_loaded(self.hooks.config.concurrency, &[])
                .await?;
            if claimed.is_empty() {
                return Ok(attempted);
            }
            let mut round = JoinSet::new();
            for claim in claimed {
                let dispatcher = self.clone();
                round.spawn(async move { dispatcher.attempt(claim, Mode::Scheduled).await });
            }
            while let Some(done) = round.join_next().await {
                if let Ok(Ok(Some(_))) = done {
                    attempted += 1;
                }
            }
        }
    }

    /// Leases up to `limit` due deliveries of enabled subscriptions, oldest due first,
    /// skipping the subscriptions in `skip`.
    pub async fn claim(
        &self,
        limit: usize,
        skip: &[Uuid],
    ) -> AppResult<Vec<webhook_delivery::Model>> {
        use webhook_delivery::Column as D;
        let now = self.hooks.clock.now();
        let lease_until = now + self.hooks.lease();
        let enabled = Query::select()
            .column(webhook_subscription::Column::Id)
            .from(webhook_subscription::Entity)
            .and_where(Expr::col(webhook_subscription::Column::Enabled).eq(true))
            .to_owned();
        let mut due = Query::select();
        due.column(D::Id)
            .from(webhook_delivery::Entity)
            .and_where(Expr::col(D::Status).eq(DeliveryStatus::Pending.to_value()))
            .and_where(Expr::col(D::NextAttemptAt).lte(now))
            .and_where(
                Expr::col(D::LeaseUntil)
                    .is_null()
                    .or(Expr::col(D::LeaseUntil).lt(now)),
            )
            .and_where(Expr::col(D::SubscriptionId).in_subquery(enabled))
            .order_by(D::NextAttemptAt, Order::Asc)
            .limit(limit as u64);
        if !skip.is_empty() {
            due.and_where(Expr::col(D::SubscriptionId).is_not_in(skip.iter().copied()));
        }
        if self.db.get_database_backend() == DbBackend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claimed = webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseUntil, Expr::value(lease_until))
            .filter(D::Id.in_subquery(due.to_owned()))
            .exec_with_returning(self.db.conn())
            .await?;
        Ok(claimed)
    }

    /// [`claim`](Self::claim), with each delivery's subscription and event: two more
    /// statements for the whole claim, not two per delivery.
    pub async fn claim_loaded(&self, limit: usize, skip: &[Uuid]) -> AppResult<Vec<Claim>> {
        let claimed = self.claim(limit, skip).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let subscriptions = self
            .load_by_id::<webhook_subscription::Entity>(claimed.iter().map(|d| d.subscription_id))
            .await?;
        let events = self
            .load_by_id::<event::Entity>(claimed.iter().map(|d| d.event_id))
            .await?;
        Ok(claimed
            .into_iter()
            .map(|delivery| Claim {
                subscription: subscriptions.get(&delivery.subscription_id).cloned(),
                event: events.get(&delivery.event_id).cloned(),
                delivery,
            })
            .collect())
    }

    /// Rows of `E` by id, in one statement, shared by the deliveries that point at them.
    async fn load_by_id<E>(
        &self,
        ids: impl Iterator<Item = Uuid>,
    ) -> AppResult<HashMap<Uuid, Arc<E::Model>>>
    where
        E: TenantEntity,
    {
        let ids: HashSet<Uuid> = ids.collect();
        Ok(E::find()
            .filter(E::id_column().is_in(ids))
            .all(self.db.conn())
            .await?
            .into_iter()
            .map(|row| (E::id_of(&row), Arc::new(row)))
            .collect())
    }

    /// Makes the next attempt at a delivery this dispatcher holds, and records it. `None`
    /// when there was nothing to send (the subscription was disabled or deleted meanwhile,
    /// or another dispatcher recorded this slot first).
    pub async fn attempt(&self, claim: Claim, mode: Mode) -> AppResult<Option<Recorded>> {
        match self.send(claim, mode).await? {
            Some(sent) => self.record(vec![sent]).await.pop().unwrap_or(Ok(None)),
            None => Ok(None),
        }
    }

    /// Sends a claimed delivery, without recording the attempt. `None` when there was
    /// nothing to send (see [`attempt`](Self::attempt)).
    async fn send(&self, claim: Claim, mode: Mode) -> AppResult<Option<Sent>> {
        let Claim {
            delivery,
            subscription,
            event,
        } = claim;
        let Some(subscription) = subscription else {
            return Ok(None);
        };
        if mode == Mode::Scheduled && !subscription.enabled {
            // Kept pending: it goes out if the subscription is enabled again.
            self.release(&delivery).await?;
            return Ok(None);
        }
        let Some(event) = event else {
            return Ok(None);
        };
        let now = self.hooks.clock.now();
        if delivery.attempt_count == 0 && mode == Mode::Scheduled {
            crate::meter::outbox_lag((now - event.created_at).to_std().unwrap_or_default());
        }
        let secrets = signing_secrets(&self.hooks, &subscription, now)?;
        let webhook_id = ids::encode(IdKind::Event, event.id);
        let body = payload(&event);
        let outcome = self
            .hooks
            .sender
            .send(
                &subscription.url,
                &Message {
                    id: &webhook_id,
                    body: &body,
                },
                &secrets,
                now,
            )
            .await;
        crate::meter::webhook_attempt(outcome.succeeded());
        Ok(Some(Sent {
            delivery,
            subscription,
            outcome,
            mode,
        }))
    }

    async fn release(&self, delivery: &webhook_delivery::Model) -> AppResult<()> {
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .exec(self.db.conn())
            .await?;
        Ok(())
    }

    /// Records finished attempts, all in one transaction (one commit for the batch, not
    /// one per attempt: the commit is most of an attempt's database cost). Each gets its
    /// own answer: `None` when another dispatcher recorded that slot first. If the
    /// transaction fails, every delivery in it stays leased and is attempted again when
    /// the lease expires (at least once).
    async fn record(&self, batch: Vec<Sent>) -> Vec<AppResult<Option<Recorded>>> {
        let count = batch.len();
        match self.record_all(batch).await {
            Ok(recorded) => recorded.into_iter().map(Ok).collect(),
            Err(err) => {
                let message = err.to_string();
                (0..count)
                    .map(|_| Err(crate::error::AppError::internal(message.clone())))
                    .collect()
            }
        }
    }

    async fn record_all(&self, batch: Vec<Sent>) -> AppResult<Vec<Option<Recorded>>> {
        let at = self.hooks.clock.now();
        let txn = self.db.begin_write().await?;
        let mut recorded = Vec::with_capacity(batch.len());
        let mut attempts = Vec::new();
        for sent in batch {
            let Sent {
                delivery,
                subscription,
                outcome,
                mode,
            } = sent;
            let number = delivery.attempt_count + 1;
            let (status, next_attempt_at) = if outcome.succeeded() {
                (DeliveryStatus::Succeeded, None)
            } else if mode == Mode::Test || outcome.gone() {
                (DeliveryStatus::Failed, None)
            } else {
                match next_delay(number, (self.hooks.jitter)(), outcome.retry_after) {
                    Some(delay) => (DeliveryStatus::Pending, Some(at + delay)),
                    None => (DeliveryStatus::Failed, None),
                }
            };
            let previous_count = delivery.attempt_count;
            let changes = webhook_delivery::ActiveModel {
                status: Set(status),
                attempt_count: Set(number),
                next_attempt_at: Set(next_attempt_at),
                lease_until: Set(None),
                last_attempt_at: Set(Some(at)),
                updated_at: Set(at),
                ..Default::default()
            };
            let updated = webhook_delivery::Entity::update_many()
                .set(changes)
                .filter(webhook_delivery::Column::Id.eq(delivery.id))
                .filter(webhook_delivery::Column::AttemptCount.eq(previous_count))
                .exec(&txn)
                .await?;
            if updated.rows_affected == 0 {
                tracing::warn!("a webhook attempt slot was recorded by another dispatcher");
                recorded.push(None);
                continue;
            }
            let delivery = webhook_delivery::Model {
                status,
                attempt_count: number,
                next_attempt_at,
                lease_until: None,
                last_attempt_at: Some(at),
                updated_at: at,
                ..delivery
            };
            let attempt = webhook_attempt::Model {
                id: crate::ids::new_uuid(),
                organization_id: delivery.organization_id,
                delivery_id: delivery.id,
                attempt_number: number,
                status_code: outcome.status_code.map(i32::from),
                error: outcome.error.clone(),
                latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
                response_excerpt: outcome.response_excerpt.clone(),
                created_at: at,
                updated_at: at,
            };
            if mode == Mode::Scheduled {
                update_health(&txn, Arc::unwrap_or_clone(subscription), &outcome, at).await?;
            }
            attempts.push(attempt.clone().into_active_model());
            recorded.push(Some(Recorded { attempt, delivery }));
        }
        if !attempts.is_empty() {
            webhook_attempt::Entity::insert_many(attempts)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(recorded)
    }
}

/// An attempt made and not yet recorded.
struct Sent {
    delivery: webhook_delivery::Model,
    subscription: Arc<webhook_subscription::Model>,
    outcome: AttemptOutcome,
    mode: Mode,
}

/// Attempts waiting to be recorded, each with where to send its answer.
type ToRecord = (Sent, oneshot::Sender<AppResult<Option<Recorded>>>);

/// The most attempts recorded in one transaction.
const RECORD_BATCH: usize = 128;

/// Records what the dispatcher's attempts send it, batching whatever finished meanwhile.
async fn recorder(dispatcher: Dispatcher, mut queue: mpsc::Receiver<ToRecord>) {
    let mut batch: Vec<ToRecord> = Vec::with_capacity(RECORD_BATCH);
    while queue.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let (sent, answers): (Vec<Sent>, Vec<_>) = batch.drain(..).unzip();
        let results = dispatcher.record(sent).await;
        for (answer, result) in answers.into_iter().zip(results) {
            let _ = answer.send(result);
        }
    }
}

/// A success clears the failure streak; a 410, or five days of failures, disables.
async fn update_health<C: sea_orm::ConnectionTrait>(
    db: &C,
    subscription: webhook_subscription::Model,
    outcome: &AttemptOutcome,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let failing_since = subscription.failing_since;
    let subscription_id = subscription.id;
    let mut changed = subscription.into_active_model();
    if outcome.succeeded() {
        if failing_since.is_none() {
            return Ok(());
        }
        changed.failing_since = Set(None);
    } else {
        let since = failing_since.unwrap_or(at);
        changed.failing_since = Set(Some(since));
        let reason = if outcome.gone() {
            Some("the endpoint answered 410 Gone".to_owned())
        } else if at - since >= DISABLE_AFTER {
            Some(format!(
                "every attempt failed for 5 days (since {})",
                crate::time::format_rfc3339(since)
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            tracing::info!(reason = %reason, "disabling a webhook subscription");
            changed.enabled = Set(false);
            changed.disabled_reason = Set(Some(reason));
        } else if failing_since.is_some() {
            return Ok(());
        } else {
            // The first failure seen from this snapshot. Another attempt of the same
            // subscription, in flight at the same time, may have recorded an earlier one:
            // keep the earliest, or the five days would restart.
            use webhook_subscription::Column as S;
            webhook_subscription::Entity::update_many()
                .col_expr(S::FailingSince, Expr::col(S::FailingSince).if_null(at))
                .col_expr(S::UpdatedAt, Expr::value(at))
                .filter(S::Id.eq(subscription_id))
                .exec(db)
                .await?;
            return Ok(());
        }
    }
    changed.updated_at = Set(at);
    changed.update(db).await?;
    Ok(())
}

/// The secrets that sign now: the current one, and the previous one during a rotation.
pub fn signing_secrets(
    hooks: &Webhooks,
    subscription: &webhook_subscription::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<SigningSecret>> {
    let secret_box = &hooks.config.secret_box;
    let mut secrets = vec![secret_box.open(subscription.id, &subscription.secret_sealed)?];
    if let (Some(previous), Some(until)) = (
        &subscription.previous_secret_sealed,
        subscription.previous_secret_expires_at,
    ) && until > now
    {
        // A previous secret sealed under a retired server key is dropped rather than
        // failing the delivery: rotating is how such a webhook recovers.
        match secret_box.open(subscription.id, previous) {
            Ok(secret) => secrets.push(secret),
            Err(err) => {
                tracing::warn!(error = %err, "skipping an unreadable previous webhook secret")
            }
        }
    }
    Ok(secrets)
}

/// The request body (`views::WebhookPayload`: `{"type", "timestamp", "data"}`), the same
/// bytes on every attempt.
pub fn payload(event: &event::Model) -> Vec<u8> {
    serde_json::to_vec(&crate::views::WebhookPayload::from(event)).unwrap_or_default()
}
