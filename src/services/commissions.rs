//! Commission rates over time: a member's rate history, the rates a payment snapshots
//! when it is paid, and what a member earned over a period.

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
use crate::domain::commission::EarnedTotal;
use crate::error::AppResult;

/// The rate a member had at `at`: the newest history row in force then.
#[tracing::instrument(name = "service.commissions.rate_at", skip_all)]
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
#[tracing::instrument(name = "service.commissions.record_rate", skip_all)]
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
#[tracing::instrument(name = "service.commissions.rates_for", skip_all)]
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

#[derive(FromQueryResult)]
struct SumRow {
    currency: String,
    micro_units: Option<i64>,
    payments: i64,
}

/// Sums what `team_member_id` earned, as closer and as setter, on payments that succeeded
/// and were paid in `[paid_after, paid_before)`.
#[tracing::instrument(name = "service.commissions.earned", skip_all)]
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
