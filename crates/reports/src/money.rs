//! Money and shares as people and programs read them: ISO 4217 minor-unit exponents,
//! thousands separators, basis points as percentages.

use clearinghouse_domain::money::{decimal_amount, format_amount, group_thousands};

/// An amount for people: currency code, thousands separators, the currency's decimals
/// (`USD 1,234,567.89`, `JPY 1,500`).
pub fn format_money(minor: i64, currency: &str) -> String {
    format_amount(minor, currency)
}

/// The number part of [`format_money`] (`1,234,567.89`).
pub fn format_number(minor: i64, currency: &str) -> String {
    decimal_amount(minor, currency, true)
}

/// An amount for programs: a plain decimal in major units, no separators (`1234567.89`).
pub fn plain_decimal(minor: i64, currency: &str) -> String {
    decimal_amount(minor, currency, false)
}

/// A whole count with thousands separators.
pub fn format_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// `part / whole` in basis points (1/100 of a percent), rounded down; `None` when the
/// whole is not positive.
pub fn basis_points(part: i64, whole: i64) -> Option<u32> {
    if whole <= 0 {
        return None;
    }
    let bp = i128::from(part.max(0)) * 10_000 / i128::from(whole);
    u32::try_from(bp).ok()
}

/// Basis points as a percentage with one decimal (`3750` → `37.5 %`); `n/a` for none.
pub fn format_share(bp: Option<u32>) -> String {
    match bp {
        Some(bp) => format!("{} %", plain_share(bp)),
        None => "n/a".to_owned(),
    }
}

/// Basis points as a plain percentage with one decimal, rounded down (`3750` → `37.5`).
pub fn plain_share(bp: u32) -> String {
    format!("{}.{}", bp / 100, (bp % 100) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_its_currency_separators_and_decimals() {
        assert_eq!(format_money(123_456_789, "USD"), "USD 1,234,567.89");
        assert_eq!(format_money(5, "EUR"), "EUR 0.05");
        assert_eq!(format_money(1_500, "JPY"), "JPY 1,500");
        assert_eq!(format_money(1_234_567, "KWD"), "KWD 1,234.567");
        assert_eq!(format_money(-100_000, "USD"), "USD -1,000.00");
        assert_eq!(plain_decimal(123_456_789, "USD"), "1234567.89");
        assert_eq!(format_count(1_000_000), "1,000,000");
        assert_eq!(format_count(999), "999");
    }

    #[test]
    fn shares_round_down_and_say_when_undefined() {
        assert_eq!(basis_points(1, 3), Some(3333));
        assert_eq!(basis_points(3, 8), Some(3750));
        assert_eq!(basis_points(1, 0), None);
        assert_eq!(format_share(Some(3750)), "37.5 %");
        assert_eq!(format_share(Some(10_000)), "100.0 %");
        assert_eq!(format_share(None), "n/a");
    }
}
