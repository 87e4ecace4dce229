use rust_decimal::Decimal;

/// A commission rate: the fraction of a payment a team member earns, between 0 and 1
/// with at most six decimal places. Held as integer millionths so it is exact in every
/// database and never passes through a binary float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommissionRate(i64);

const SCALE: u32 = 6;
const ONE: i64 = 1_000_000;

impl CommissionRate {
    pub fn from_ppm(ppm: i64) -> Result<Self, String> {
        if (0..=ONE).contains(&ppm) {
            Ok(CommissionRate(ppm))
        } else {
            Err("must be between 0 and 1".to_owned())
        }
    }

    /// Parses a decimal string such as `"0.125"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Decimal = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a decimal number"))?;
        Self::from_decimal(value)
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, String> {
        if value.scale() > SCALE && value.normalize().scale() > SCALE {
            return Err("has more than 6 decimal places".to_owned());
        }
        if value.is_sign_negative() && !value.is_zero() || value > Decimal::ONE {
            return Err("must be between 0 and 1".to_owned());
        }
        let ppm = (value * Decimal::from(ONE)).trunc();
        let ppm = i64::try_from(ppm).map_err(|_| "must be between 0 and 1".to_owned())?;
        Self::from_ppm(ppm)
    }

    pub fn ppm(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, SCALE).normalize()
    }
}

impl std::fmt::Display for CommissionRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        let rate = CommissionRate::parse("0.125").unwrap();
        assert_eq!(rate.ppm(), 125_000);
        assert_eq!(rate.to_string(), "0.125");
        assert_eq!(CommissionRate::parse("0.1").unwrap().to_string(), "0.1");
        assert_eq!(CommissionRate::parse("1").unwrap().ppm(), 1_000_000);
        assert_eq!(CommissionRate::parse("0").unwrap().to_string(), "0");
        assert_eq!(CommissionRate::parse("0.000001").unwrap().ppm(), 1);
        assert_eq!(CommissionRate::parse("0.1500000").unwrap().ppm(), 150_000);
    }

    #[test]
    fn rejects_out_of_range_and_too_precise() {
        for bad in ["-0.1", "1.01", "0.0000001", "abc", "", "NaN"] {
            assert!(CommissionRate::parse(bad).is_err(), "{bad}");
        }
    }
}
