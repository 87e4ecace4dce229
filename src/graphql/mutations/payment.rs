//! `recordPayment`, `updatePayment`, `refundPayment`.
//!
//! Commissions follow the rates in force when a payment was paid: whenever a payment is
//! recorded, becomes `SUCCEEDED`, or changes its paid time, closer or setter, the
//! closer's and setter's rates are snapshotted again from their history
//! (`commissions::rates_for`) as of `paidAt` (as of recording for a payment not yet
//! paid), so later rate changes never rewrite what was earned.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime as ChronoDateTime, Duration, Utc};
use entities::{lead, payment, product, team_member};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use super::{clearable, currency, optional_text, reference, required_text, target, writer};
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::events::{self, EventType};
use crate::graphql::resources::payment::{Payment, PaymentStatus};
use crate::graphql::scalars::DateTime;
use crate::rest::representation::Resource;

/// Clocks differ; a `paidAt` this far ahead of ours is still "now".
const CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The lead who paid, in your organization.
    pub lead_id: ID,
    pub product_id: Option<ID>,
    /// Who closed the sale. Team members who have left may still be credited.
    pub closer_id: Option<ID>,
    /// Who set the sale up.
    pub setter_id: Option<ID>,
    /// Minor units of `currency` (cents for USD), more than zero.
    pub amount: i64,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// `SUCCEEDED` when omitted; `PENDING` and `FAILED` too. `REFUNDED` is reached only
    /// through `refundPayment`.
    pub status: Option<PaymentStatus>,
    /// Who processed it (`stripe`, `wire`, …), at most 32 characters; `manual` when
    /// omitted.
    pub processor: Option<String>,
    /// The processor's id for the payment, at most 200 characters.
    pub external_id: Option<String>,
    /// When the money arrived, for a `SUCCEEDED` payment only; now when omitted. Not in
    /// the future.
    pub paid_at: Option<DateTime>,
}

/// Omitted fields keep their value; `null` clears a clearable one. Amount and currency
/// never change: record a new payment instead.
#[derive(InputObject)]
pub struct UpdatePaymentInput {
    /// `PENDING`, `SUCCEEDED` or `FAILED`, from `PENDING` or `FAILED`. A succeeded payment
    /// can only be refunded (`refundPayment`).
    pub status: Option<PaymentStatus>,
    /// When the money arrived; only for a payment that is (or becomes) `SUCCEEDED`, which
    /// otherwise gets now.
    pub paid_at: Option<DateTime>,
    pub processor: Option<String>,
    pub external_id: MaybeUndefined<String>,
    pub product_id: MaybeUndefined<ID>,
    pub closer_id: MaybeUndefined<ID>,
    pub setter_id: MaybeUndefined<ID>,
}

fn paid_at(value: DateTime) -> AppResult<ChronoDateTime<Utc>> {
    if value.0 > crate::time::now() + CLOCK_SKEW {
        return Err(AppError::validation("paidAt", "cannot be in the future"));
    }
    Ok(value.0)
}

fn processor(value: &str) -> AppResult<String> {
    required_text("processor", value, 32)
}

fn external_id(value: Option<&str>) -> AppResult<Option<String>> {
    optional_text("externalId", value, 200)
}

/// A referenced id that may be cleared: `None` keeps it, `Some(None)` clears it.
async fn optional_reference<E, C>(
    db: &C,
    org: Uuid,
    field: &str,
    value: &MaybeUndefined<ID>,
) -> AppResult<Option<Option<Uuid>>>
where
    E: crate::graphql::tenant::TenantEntity,
    C: ConnectionTrait,
{
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(id) => {
            let row = reference::<E, _>(db, org, field, id).await?;
            Ok(Some(Some(E::id_of(&row))))
        }
    }
}

/// The time a payment's commission rates are taken at.
fn rate_time(
    status: payment::PaymentStatus,
    paid_at: Option<ChronoDateTime<Utc>>,
    created_at: ChronoDateTime<Utc>,
) -> ChronoDateTime<Utc> {
    match (status, paid_at) {
        (payment::PaymentStatus::Succeeded | payment::PaymentStatus::Refunded, Some(at)) => at,
        _ => created_at,
    }
}

#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Records a payment, with the closer's and setter's commission rates as of `paidAt`.
    /// Records `payment.created`. Organization members and admins (Clerk).
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordPaymentInput,
    ) -> Result<Payment> {
        Ok(record_payment(ctx, input).await?)
    }

    /// Moves a payment on (`PENDING` to `SUCCEEDED` or `FAILED`), corrects its paid time,
    /// processor details, product, closer or setter. Commission rates are snapshotted
    /// again when it becomes `SUCCEEDED` or who or when changes. Records
    /// `payment.updated`. Organization members and admins (Clerk).
    async fn update_payment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePaymentInput,
    ) -> Result<Payment> {
        Ok(update_payment(ctx, id, input).await?)
    }

    /// Refunds a succeeded payment in full: its status becomes `REFUNDED` and it earns no
    /// more commission. Refunding twice changes nothing. Records `payment.refunded`.
    /// Organization admins (Clerk) only.
    async fn refund_payment(&self, ctx: &Context<'_>, id: ID) -> Result<Payment> {
        Ok(refund_payment(ctx, id).await?)
    }
}

async fn record_payment(ctx: &Context<'_>, input: RecordPaymentInput) -> AppResult<Payment> {
    let (state, org) = writer(ctx, Action::RecordPayments)?;
    if input.amount <= 0 {
        return Err(AppError::validation(
            "amount",
            "must be more than zero (minor units)",
        ));
    }
    let currency = currency("currency", &input.currency)?;
    let status = input
        .status
        .map_or(payment::PaymentStatus::Succeeded, Into::into);
    if status == payment::PaymentStatus::Refunded {
        return Err(AppError::validation(
            "status",
            "a payment is recorded as PENDING, SUCCEEDED or FAILED; refund it with refundPayment",
        ));
    }
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

    let txn = crate::db::begin_write(&state.db).await?;
    let lead = reference::<lead::Entity, _>(&txn, org, "leadId", &input.lead_id).await?;
    let product = match &input.product_id {
        Some(id) => Some(
            reference::<product::Entity, _>(&txn, org, "productId", id)
                .await?
                .id,
        ),
        None => None,
    };
    let closer = match &input.closer_id {
        Some(id) => Some(
            reference::<team_member::Entity, _>(&txn, org, "closerId", id)
                .await?
                .id,
        ),
        None => None,
    };
    let setter = match &input.setter_id {
        Some(id) => Some(
            reference::<team_member::Entity, _>(&txn, org, "setterId", id)
                .await?
                .id,
        ),
        None => None,
    };
    let (closer_rate, setter_rate) =
        crate::commissions::rates_for(&txn, closer, setter, rate_time(status, paid_at, at)).await?;
    let created = payment::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(org),
        lead_id: Set(lead.id),
        product_id: Set(product),
        closer_id: Set(closer),
        setter_id: Set(setter),
        amount: Set(input.amount),
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
        Resource::Payment(created.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Payment::from(created))
}

async fn update_payment(
    ctx: &Context<'_>,
    id: ID,
    input: UpdatePaymentInput,
) -> AppResult<Payment> {
    let (state, org) = writer(ctx, Action::RecordPayments)?;
    let wanted_status = input.status.map(payment::PaymentStatus::from);
    if wanted_status == Some(payment::PaymentStatus::Refunded) {
        return Err(AppError::validation(
            "status",
            "refund a payment with refundPayment",
        ));
    }
    let wanted_paid_at = input.paid_at.map(paid_at).transpose()?;
    let processor = input.processor.as_deref().map(processor).transpose()?;
    let external_id = clearable(input.external_id, |v| external_id(Some(&v)))?;

    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<payment::Entity, _>(&txn, org, &id).await?;
    let product =
        optional_reference::<product::Entity, _>(&txn, org, "productId", &input.product_id).await?;
    let closer =
        optional_reference::<team_member::Entity, _>(&txn, org, "closerId", &input.closer_id)
            .await?;
    let setter =
        optional_reference::<team_member::Entity, _>(&txn, org, "setterId", &input.setter_id)
            .await?;

    use payment::PaymentStatus::{Failed, Pending, Refunded, Succeeded};
    let status = wanted_status.unwrap_or(current.status);
    match (current.status, status) {
        (Refunded, _) => {
            return Err(AppError::Conflict(
                "a refunded payment cannot change".to_owned(),
            ));
        }
        (Succeeded, Pending | Failed) => {
            return Err(AppError::Conflict(
                "a succeeded payment can only be refunded (refundPayment)".to_owned(),
            ));
        }
        _ => {}
    }
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
        return Ok(Payment::from(current));
    }
    if active.status.is_set()
        || active.paid_at.is_set()
        || active.closer_id.is_set()
        || active.setter_id.is_set()
    {
        let closer = closer.unwrap_or(current.closer_id);
        let setter = setter.unwrap_or(current.setter_id);
        let (closer_rate, setter_rate) = crate::commissions::rates_for(
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
        Resource::Payment(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Payment::from(updated))
}

async fn refund_payment(ctx: &Context<'_>, id: ID) -> AppResult<Payment> {
    let (state, org) = writer(ctx, Action::RefundPayments)?;
    let txn = crate::db::begin_write(&state.db).await?;
    let current = target::<payment::Entity, _>(&txn, org, &id).await?;
    match current.status {
        payment::PaymentStatus::Refunded => return Ok(Payment::from(current)),
        payment::PaymentStatus::Succeeded => {}
        _ => {
            return Err(AppError::Conflict(
                "only a succeeded payment can be refunded".to_owned(),
            ));
        }
    }
    let mut active: payment::ActiveModel = current.into();
    active.status = Set(payment::PaymentStatus::Refunded);
    active.updated_at = Set(crate::time::now());
    let updated = active.update(&txn).await?;
    events::record(
        &txn,
        org,
        EventType::PaymentRefunded,
        Resource::Payment(updated.clone()),
    )
    .await?;
    txn.commit().await?;
    Ok(Payment::from(updated))
}
