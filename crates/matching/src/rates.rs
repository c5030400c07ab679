//! Exchange rates supplied by the deployment (never fetched): how many minor units of
//! the base currency one minor unit of a currency is worth, as an exact fraction, so
//! amounts convert in integer arithmetic.

use std::collections::BTreeMap;

use clearinghouse_domain::{CurrencyCode, Money};

/// A rate as a fraction `num / den` of base minor units per minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Numerator.
    pub num: u64,
    /// Denominator (never 0).
    pub den: u64,
}

impl Rate {
    /// Parses a positive decimal such as `1.0842` (at most 9 decimals).
    pub fn parse(s: &str) -> Option<Rate> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() && frac.is_empty() || frac.len() > 9 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let den = 10u64.checked_pow(u32::try_from(frac.len()).ok()?)?;
        let num: u64 = format!("{int}{frac}").parse().ok()?;
        (num > 0).then_some(Rate { num, den })
    }
}

impl std::fmt::Display for Rate {
    /// The rate as a decimal, exact when the denominator is a power of ten (as every
    /// parsed rate's is), e.g. `1.0842`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut den = self.den;
        let mut places = 0usize;
        while den > 1 && den.is_multiple_of(10) {
            den /= 10;
            places += 1;
        }
        if den != 1 {
            return write!(f, "{}/{}", self.num, self.den);
        }
        let digits = self.num.to_string();
        if places == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = places + 1);
        let (int, frac) = padded.split_at(padded.len() - places);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            f.write_str(int)
        } else {
            write!(f, "{int}.{frac}")
        }
    }
}

/// Rates into one base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRates {
    /// The currency every amount is compared in.
    pub base: CurrencyCode,
    /// Rates of the other currencies into `base`.
    pub to_base: BTreeMap<CurrencyCode, Rate>,
}

impl ExchangeRates {
    /// A table with only the base currency.
    pub fn only(base: CurrencyCode) -> ExchangeRates {
        ExchangeRates {
            base,
            to_base: BTreeMap::new(),
        }
    }

    /// `m` in base minor units, or `None` when no rate is known.
    pub fn to_base(&self, m: Money) -> Option<i64> {
        if m.currency == self.base {
            return Some(m.minor_units);
        }
        let r = self.to_base.get(&m.currency)?;
        let v = i128::from(m.minor_units) * i128::from(r.num) / i128::from(r.den);
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> CurrencyCode {
        CurrencyCode::parse(c).expect("currency")
    }

    #[test]
    fn parses_decimals_and_converts_exactly() {
        assert_eq!(Rate::parse("1.25"), Some(Rate { num: 125, den: 100 }));
        assert_eq!(Rate::parse("2"), Some(Rate { num: 2, den: 1 }));
        for bad in ["", "0", "-1", "1.2.3", "abc", "1.0000000001"] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
        let mut t = ExchangeRates::only(cur("USD"));
        t.to_base.insert(cur("EUR"), Rate { num: 108, den: 100 });
        assert_eq!(
            t.to_base(Money {
                currency: cur("EUR"),
                minor_units: 1000
            }),
            Some(1080)
        );
        assert_eq!(
            t.to_base(Money {
                currency: cur("USD"),
                minor_units: 7
            }),
            Some(7)
        );
        assert_eq!(
            t.to_base(Money {
                currency: cur("JPY"),
                minor_units: 7
            }),
            None
        );
    }
}
