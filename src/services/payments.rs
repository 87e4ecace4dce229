//! Payments: record, update, refund.
//!
//! Commissions follow the rates in force when a payment was paid: whenever a payment is
//! recorded, becomes `SUCCEEDED`, or changes its paid time, closer or setter, the
//! closer's and setter's rates are snapshotted again from their history
//! (`commissions::rates_for`) as of `paidAt` (as of recording for a payment not yet
//! paid), so later rate changes never rewrite what was earned.

use chrono::{DateTime, Duration, Utc};
use entities::{lead, payment, product, team_member};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::{Patch, commissions, optional_id, optional_reference};
use crate::db::Database;
use crate::db::lookup::{reference, target};
use crate::domain::status::{
    payment_may_ask_for, payment_may_move, payment_may_refund, payment_may_start_as,
};
use crate::domain::text::{optional_text, required_text};
use crate::domain::{Action, Actor, Currency, PositiveAmount};
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::views;

/// Clocks differ; a `paidAt` this far ahead of ours is still "now".
const CLOCK_SKEW: Duration = Duration::minutes(5);

pub struct NewPayment {
    pub lead_id: String,
    pub product_id: Option<String>,
    pub closer_id: Option<String>,
    pub setter_id: Option<String>,
    /// Minor units of `currency`, more than zero.
    pub amount: i64,
    pub currency: String,
    /// `SUCCEEDED` when omitted.
    pub status: Option<payment::PaymentStatus>,
    /// `manual` when omitted.
    pub processor: Option<String>,
    pub external_id: Option<String>,
    /// For a `SUCCEEDED` payment only; now when omitted.
    pub paid_at: Option<DateTime<Utc>>,
}

/// Omitted fields keep their value. Amount and currency never change.
#[derive(Default)]
pub struct PaymentChanges {
    pub status: Option<payment::PaymentStatus>,
    pub paid_at: Option<DateTime<Utc>>,
    pub processor: Option<String>,
    pub external_id: Patch<String>,
    pub product_id: Patch<String>,
    pub closer_id: Patch<String>,
    pub setter_id: Patch<String>,
}

fn paid_at(value: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    if value > crate::time::now() + CLOCK_SKEW {
        return Err(AppError::validation("paidAt", "cannot be in the future"));
    }
    Ok(value)
}

fn processor(value: &str) -> AppResult<String> {
    required_text("processor", value, 32)
}

fn external_id(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("externalId", value, 200)
}

/// The time a payment's commission rates are taken at.
fn rate_time(
    status: payment::PaymentStatus,
    paid_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
) -> DateTime<Utc> {
    match (status, paid_at) {
        (payment::PaymentStatus::Succeeded | payment::PaymentStatus::Refunded, Some(at)) => at,
        _ => created_at,
    }
}

/// Records a payment, with the closer's and setter's commission rates as of `paidAt`.
/// Records `payment.created`.
#[tracing::instrument(name = "service.payments.record", skip_all)]
pub async fn record(db: &Database, actor: &Actor, input: NewPayment) -> AppResult<payment::Model> {
    actor.require_action(Action::RecordPayments)?;
    let org = actor.organization_id;
    let amount = PositiveAmount::parse_field("amount", input.amount)?;
    let currency = Currency::parse_field("currency", &input.currency)?.into_string();
    let status = input.status.unwrap_or(payment::PaymentStatus::Succeeded);
    payment_may_start_as(status)?;
    let processor = processor(input.processor.as_deref().unwrap_or("manual"))?;
    let external_id = external_id(input.external_id.as_deref())?;
    let at = crate::time::now();
    let paid_at = match (status, input.paid_at) {
        (payment::PaymentStatus::Succeeded, Some(value)) => Some(paid_at(value)?),
        (payment::PaymentStatus::Succeeded, None) => Some(at),
        (_, Some(_)) => {
            return Err(AppError::validation(
                "paidAt",
                "only a SUCCEEDED payment has a payment time",
            ));
        }
        (_, None) => None,
    };

    let txn = db.begin_write().await?;
    let lead = reference::<lead::Entity, _>(&txn, org, "leadId", &input.lead_id).await?;
    let product =
        optional_id::<product::Entity, _>(&txn, org, "productId", input.product_id.as_deref())
            .await?;
    let closer =
        optional_id::<team_member::Entity, _>(&txn, org, "closerId", input.closer_id.as_deref())
            .await?;
    let setter =
        optional_id::<team_member::Entity, _>(&txn, org, "setterId", input.setter_id.as_deref())
            .await?;
    let (closer_rate, setter_rate) =
        commissions::rates_for(&txn, closer, setter, rate_time(status, paid_at, at)).await?;
    let created = payment::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        lead_id: Set(lead.id),
        product_id: Set(product),
        closer_id: Set(closer),
        setter_id: Set(setter),
        amount: Set(amount.get()),
        currency: Set(currency),
        status: Set(status),
        processor: Set(processor),
        external_id: Set(external_id),
        paid_at: Set(paid_at),
        closer_rate_ppm: Set(closer_rate),
        setter_rate_ppm: Set(setter_rate),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    events::record(
        &txn,
        org,
        EventType::PaymentCreated,
        &views::Payment::from(&created),
    )
    .await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Moves a payment on (`PENDING` to `SUCCEEDED` or `FAILED`), corrects its paid time,
/// processor details, product, closer or setter. Commission rates are snapshotted again
/// when it becomes `SUCCEEDED` or who or when changes. Records `payment.updated`.
#[tracing::instrument(name = "service.payments.update", skip_all)]
pub async fn update(
    db: &Database,
    actor: &Actor,
    id: &str,
    input: PaymentChanges,
) -> AppResult<payment::Model> {
    actor.require_action(Action::RecordPayments)?;
    let org = actor.organization_id;
    let wanted_status = input.status;
    if let Some(status) = wanted_status {
        payment_may_ask_for(status)?;
    }
    let wanted_paid_at = input.paid_at.map(paid_at).transpose()?;
    let processor = input.processor.as_deref().map(processor).transpose()?;
    let external_id = input.external_id.parse(|v| external_id(Some(&v)))?;

    let txn = db.begin_write().await?;
    let current = target::<payment::Entity, _>(&txn, org, id).await?;
    let product =
        optional_reference::<product::Entity, _>(&txn, org, "productId", &input.product_id).await?;
    let closer =
        optional_reference::<team_member::Entity, _>(&txn, org, "closerId", &input.closer_id)
            .await?;
    let setter =
        optional_reference::<team_member::Entity, _>(&txn, org, "setterId", &input.setter_id)
            .await?;

    use payment::PaymentStatus::Succeeded;
    let status = wanted_status.unwrap_or(current.status);
    payment_may_move(current.status, status)?;
    let paid_at = match (status, wanted_paid_at) {
        (Succeeded, Some(at)) => Some(at),
        (Succeeded, None) => Some(current.paid_at.unwrap_or_else(crate::time::now)),
        (_, Some(_)) => {
            return Err(AppError::validation(
                "paidAt",
                "only a SUCCEEDED payment has a payment time",
            ));
        }
        (_, None) => None,
    };

    let mut active: payment::ActiveModel = current.clone().into();
    active.status.set_ne(status);
    active.paid_at.set_ne(paid_at);
    if let Some(processor) = processor {
        active.processor.set_ne(processor);
    }
    if let Some(external_id) = external_id {
        active.external_id.set_ne(external_id);
    }
    if let Some(product) = product {
        active.product_id.set_ne(product);
    }
    if let Some(closer) = closer {
        active.closer_id.set_ne(closer);
    }
    if let Some(setter) = setter {
        active.setter_id.set_ne(setter);
    }
    if !active.is_changed() {
        return Ok(current);
    }
    if active.status.is_set()
        || active.paid_at.is_set()
        || active.closer_id.is_set()
        || active.setter_id.is_set()
    {
        let closer = closer.unwrap_or(current.closer_id);
        let setter = setter.unwrap_or(current.setter_id);
        let (closer_rate, setter_rate) = commissions::rates_for(
            &txn,
            closer,
            setter,
            rate_time(status, paid_at, current.created_at),
        )
        .await?;
        active.closer_rate_ppm.set_ne(closer_rate);
        active.setter_rate_ppm.set_ne(setter_rate);
    }
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::PaymentUpdated,
        &views::Payment::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}

/// Refunds a succeeded payment in full: its status becomes `REFUNDED` and it earns no more
/// commission. Refunding twice changes nothing. Records `payment.refunded`.
#[tracing::instrument(name = "service.payments.refund", skip_all)]
pub async fn refund(db: &Database, actor: &Actor, id: &str) -> AppResult<payment::Model> {
    actor.require_action(Action::RefundPayments)?;
    let txn = db.begin_write().await?;
    let current = target::<payment::Entity, _>(&txn, actor.organization_id, id).await?;
    if !payment_may_refund(current.status)? {
        return Ok(current);
    }
    let org = actor.organization_id;
    let mut active: payment::ActiveModel = current.into();
    active.status = Set(payment::PaymentStatus::Refunded);
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::PaymentRefunded,
        &views::Payment::from(&updated),
    )
    .await?;
    db.commit(txn).await?;
    Ok(updated)
}
