//! What a payment earns: the closer's and setter's commission, from the rates the payment
//! carries (snapshotted when it was paid), exact, and in whole minor units rounded half to
//! even for the wire's integer money.

use entities::payment;
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

use super::CommissionRate;

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
    /// Minor units of the payment's currency, exact; zero unless the payment succeeded.
    pub amount: Decimal,
    pub currency: String,
}

/// An exact amount of minor units in whole minor units, rounded half to even (banker's
/// rounding: `12462.5` → `12462`, `12463.5` → `12464`), so rounding many commissions does
/// not drift upwards. Saturates far beyond any real amount.
pub fn whole_minor_units(exact: Decimal) -> i64 {
    let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    i64::try_from(rounded).unwrap_or(if rounded.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

impl Commission {
    /// [`Commission::amount`] in whole minor units, rounded half to even.
    pub fn whole_amount(&self) -> i64 {
        whole_minor_units(self.amount)
    }
}

/// A member's earned commissions over a period, in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnedTotal {
    pub currency: String,
    /// Minor units, exact.
    pub amount: Decimal,
    /// Succeeded payments that earned it.
    pub payments: i64,
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
    fn whole_amounts_round_half_to_even() {
        let whole = |text: &str| whole_minor_units(text.parse().unwrap());
        assert_eq!(whole("12462.5"), 12462);
        assert_eq!(whole("12463.5"), 12464);
        assert_eq!(whole("3323.3001"), 3323);
        assert_eq!(whole("0.5"), 0);
        assert_eq!(whole("1.5"), 2);
        assert_eq!(whole("2.4999"), 2);
        assert_eq!(whole("625000000000"), 625_000_000_000);
        let c = of_payment(&payment(
            99_700,
            payment::PaymentStatus::Succeeded,
            Some(125_000),
            None,
        ));
        assert_eq!(c[0].whole_amount(), 12462);
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
