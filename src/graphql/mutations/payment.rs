//! `recordPayment`, `updatePayment`, `refundPayment`.
//!
//! Commissions follow the rates in force when a payment was paid: whenever a payment is
//! recorded, becomes `SUCCEEDED`, or changes its paid time, closer or setter, the
//! closer's and setter's rates are snapshotted again from their history
//! (`commissions::rates_for`) as of `paidAt` (as of recording for a payment not yet
//! paid), so later rate changes never rewrite what was earned.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::{patch, patch_id};
use crate::graphql::context::{actor, core};
use crate::graphql::resources::payment::{Payment, PaymentStatus};
use crate::graphql::scalars::{DateTime, Money};
use crate::services::payments::{self, NewPayment, PaymentChanges};

/// A new payment.
#[derive(InputObject)]
pub struct RecordPaymentInput {
    /// The lead who paid, in your organization.
    pub lead_id: ID,
    /// The product paid for, in your organization.
    pub product_id: Option<ID>,
    /// Who closed the sale. Team members who have left may still be credited.
    pub closer_id: Option<ID>,
    /// Who set the sale up.
    pub setter_id: Option<ID>,
    /// Minor units of `currency` (cents for USD), more than zero.
    pub amount: Money,
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

/// Changes to a payment. Omitted fields keep their value; `null` clears a clearable one.
/// Amount and currency never change: record a new payment instead.
#[derive(InputObject)]
pub struct UpdatePaymentInput {
    /// `PENDING`, `SUCCEEDED` or `FAILED`, from `PENDING` or `FAILED`. A succeeded payment
    /// can only be refunded (`refundPayment`).
    pub status: Option<PaymentStatus>,
    /// When the money arrived; only for a payment that is (or becomes) `SUCCEEDED`, which
    /// otherwise gets now.
    pub paid_at: Option<DateTime>,
    /// Who processed it (`stripe`, `wire`, …), at most 32 characters.
    pub processor: Option<String>,
    /// The processor's id for the payment; `null` clears it.
    pub external_id: MaybeUndefined<String>,
    /// The product paid for; `null` clears it.
    pub product_id: MaybeUndefined<ID>,
    /// Who closed the sale; `null` clears it.
    pub closer_id: MaybeUndefined<ID>,
    /// Who set the sale up; `null` clears it.
    pub setter_id: MaybeUndefined<ID>,
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
        #[graphql(desc = "The payment to record.")] input: RecordPaymentInput,
    ) -> Result<Payment> {
        let input = NewPayment {
            lead_id: input.lead_id.0,
            product_id: input.product_id.map(|id| id.0),
            closer_id: input.closer_id.map(|id| id.0),
            setter_id: input.setter_id.map(|id| id.0),
            amount: input.amount.0,
            currency: input.currency,
            status: input.status.map(|s| s.get()),
            processor: input.processor,
            external_id: input.external_id,
            paid_at: input.paid_at.map(|d| d.0),
        };
        Ok(payments::record(&core(ctx).db, actor(ctx)?, input)
            .await?
            .into())
    }

    /// Moves a payment on (`PENDING` to `SUCCEEDED` or `FAILED`), corrects its paid time,
    /// processor details, product, closer or setter. Commission rates are snapshotted
    /// again when it becomes `SUCCEEDED` or who or when changes. Records
    /// `payment.updated`. Organization members and admins (Clerk).
    async fn update_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment's id (`pay_…`).")] id: ID,
        #[graphql(desc = "What to change; omitted fields keep their value.")]
        input: UpdatePaymentInput,
    ) -> Result<Payment> {
        let changes = PaymentChanges {
            status: input.status.map(|s| s.get()),
            paid_at: input.paid_at.map(|d| d.0),
            processor: input.processor,
            external_id: patch(input.external_id),
            product_id: patch_id(input.product_id),
            closer_id: patch_id(input.closer_id),
            setter_id: patch_id(input.setter_id),
        };
        Ok(
            payments::update(&core(ctx).db, actor(ctx)?, id.as_str(), changes)
                .await?
                .into(),
        )
    }

    /// Refunds a succeeded payment in full: its status becomes `REFUNDED` and it earns no
    /// more commission. Refunding twice changes nothing. Records `payment.refunded`.
    /// Organization admins (Clerk) only.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment's id (`pay_…`).")] id: ID,
    ) -> Result<Payment> {
        Ok(payments::refund(&core(ctx).db, actor(ctx)?, id.as_str())
            .await?
            .into())
    }
}
