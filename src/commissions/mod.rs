//! Commissions: what each payment earns its closer and setter, as exact decimals, from
//! the rates in force when it was paid. Rates live in `commission_rates` (a history per
//! team member); a payment carries the closer's and setter's rate from that history as of
//! its payment time, so later rate changes never rewrite earned commissions.

use chrono::{DateTime, Utc};
use entities::{commission_rate, payment};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domain::CommissionRate;
use crate::error::AppResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Closer,
    Setter,
}

/// What one payment earns one team member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    pub team_member_id: Uuid,
    pub side: Side,
    pub rate: CommissionRate,
    /// Minor units of the payment's currency; zero unless the payment succeeded.
    pub amount: Decimal,
    pub currency: String,
}

/// A payment's commissions. Pure: everything needed is on the payment row.
pub fn of_payment(payment: &payment::Model) -> Vec<Commission> {
    let earned = payment.status == payment::PaymentStatus::Succeeded;
    [
        (Side::Closer, payment.closer_id, payment.closer_rate_ppm),
        (Side::Setter, payment.setter_id, payment.setter_rate_ppm),
    ]
    .into_iter()
    .filter_map(|(side, member, rate)| {
        let member = member?;
        let rate = CommissionRate::from_ppm(rate.unwrap_or(0)).ok()?;
        let amount = if earned {
            (Decimal::from(payment.amount) * rate.to_decimal()).normalize()
        } else {
            Decimal::ZERO
        };
        Some(Commission {
            team_member_id: member,
            side,
            rate,
            amount,
            currency: payment.currency.clone(),
        })
    })
    .collect()
}

/// The rate a member had at `at`: the newest history row in force then.
pub async fn rate_at<C: ConnectionTrait>(
    db: &C,
    team_member_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let row = commission_rate::Entity::find()
        .filter(commission_rate::Column::TeamMemberId.eq(team_member_id))
        .filter(commission_rate::Column::EffectiveFrom.lte(at))
        .order_by_desc(commission_rate::Column::EffectiveFrom)
        .one(db)
        .await?;
    Ok(row.map(|r| r.rate_ppm))
}

/// Records that `rate` applies to the member from `effective_from` on.
pub async fn record_rate<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    team_member_id: Uuid,
    rate: CommissionRate,
    effective_from: DateTime<Utc>,
) -> AppResult<()> {
    commission_rate::ActiveModel {
        id: Set(crate::ids::new_uuid()),
        organization_id: Set(organization_id),
        team_member_id: Set(team_member_id),
        rate_ppm: Set(rate.ppm()),
        effective_from: Set(effective_from),
        created_at: Set(crate::time::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The closer's and setter's rates for a payment paid (or, if not yet paid, recorded) at
/// `at`. A member with no history earns nothing.
pub async fn rates_for<C: ConnectionTrait>(
    db: &C,
    closer: Option<Uuid>,
    setter: Option<Uuid>,
    at: DateTime<Utc>,
) -> AppResult<(Option<i64>, Option<i64>)> {
    let closer_rate = match closer {
        Some(id) => rate_at(db, id, at).await?,
        None => None,
    };
    let setter_rate = match setter {
        Some(id) => rate_at(db, id, at).await?,
        None => None,
    };
    Ok((closer_rate, setter_rate))
}

/// A member's earned commissions over a period, per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnedTotal {
    pub currency: String,
    /// Minor units, exact.
    pub amount: Decimal,
    /// Succeeded payments that earned it.
    pub payments: i64,
}

#[derive(FromQueryResult)]
struct SumRow {
    currency: String,
    micro_units: Option<i64>,
    payments: i64,
}

/// Sums what `team_member_id` earned, as closer and as setter, on payments that succeeded
/// and were paid in `[paid_after, paid_before)`.
pub async fn earned<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    team_member_id: Uuid,
    paid_after: Option<DateTime<Utc>>,
    paid_before: Option<DateTime<Utc>>,
) -> AppResult<Vec<EarnedTotal>> {
    let mut totals: std::collections::BTreeMap<String, EarnedTotal> = Default::default();
    for (member_column, rate_column) in [
        (payment::Column::CloserId, payment::Column::CloserRatePpm),
        (payment::Column::SetterId, payment::Column::SetterRatePpm),
    ] {
        let mut query = payment::Entity::find()
            .select_only()
            .column(payment::Column::Currency)
            // amount × rate in millionths is an integer: summing it keeps every digit.
            .column_as(
                // PostgreSQL sums BIGINTs into NUMERIC; the value fits a BIGINT again.
                Expr::from(Func::sum(
                    Expr::col(payment::Column::Amount)
                        .mul(Func::coalesce([Expr::col(rate_column), Expr::value(0i64)])),
                ))
                .cast_as("BIGINT"),
                "micro_units",
            )
            .column_as(
                Expr::from(Func::count(Expr::col(payment::Column::Id))),
                "payments",
            )
            .filter(payment::Column::OrganizationId.eq(organization_id))
            .filter(member_column.eq(team_member_id))
            .filter(payment::Column::Status.eq(payment::PaymentStatus::Succeeded))
            .filter(payment::Column::PaidAt.is_not_null())
            .group_by(payment::Column::Currency);
        if let Some(at) = paid_after {
            query = query.filter(payment::Column::PaidAt.gte(at));
        }
        if let Some(at) = paid_before {
            query = query.filter(payment::Column::PaidAt.lt(at));
        }
        for row in query.into_model::<SumRow>().all(db).await? {
            let entry = totals.entry(row.currency.clone()).or_insert(EarnedTotal {
                currency: row.currency,
                amount: Decimal::ZERO,
                payments: 0,
            });
            entry.amount += Decimal::new(row.micro_units.unwrap_or(0), 6);
            entry.payments += row.payments;
        }
    }
    Ok(totals
        .into_values()
        .map(|mut t| {
            t.amount = t.amount.normalize();
            t
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(
        amount: i64,
        status: payment::PaymentStatus,
        closer: Option<i64>,
        setter: Option<i64>,
    ) -> payment::Model {
        let now = crate::time::now();
        payment::Model {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            lead_id: Uuid::now_v7(),
            product_id: None,
            closer_id: Some(Uuid::now_v7()),
            setter_id: setter.map(|_| Uuid::now_v7()),
            amount,
            currency: "USD".into(),
            status,
            processor: "stripe".into(),
            external_id: None,
            paid_at: Some(now),
            closer_rate_ppm: closer,
            setter_rate_ppm: setter,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn commissions_are_exact() {
        let c = of_payment(&payment(
            99_700,
            payment::PaymentStatus::Succeeded,
            Some(125_000),
            Some(33_333),
        ));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].amount.to_string(), "12462.5");
        assert_eq!(c[0].rate.to_string(), "0.125");
        assert_eq!(c[1].amount.to_string(), "3323.3001");
        assert_eq!(c[1].side, Side::Setter);
    }

    #[test]
    fn only_succeeded_payments_earn() {
        for status in [
            payment::PaymentStatus::Pending,
            payment::PaymentStatus::Failed,
            payment::PaymentStatus::Refunded,
        ] {
            let c = of_payment(&payment(10_000, status, Some(100_000), None));
            assert_eq!(c.len(), 1);
            assert_eq!(c[0].amount, Decimal::ZERO);
        }
    }
}
