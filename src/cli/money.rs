//! Amounts as people write them (`USD 250000`, `250,000.50 EUR`) ↔ `Money` in integer
//! minor units, using each currency's ISO 4217 number of decimals. Never floating point.

use clearinghouse_domain::{CurrencyCode, money::decimal_amount};

use crate::pb;

/// Decimals of a currency's minor unit (2 unless ISO 4217 says otherwise).
pub use clearinghouse_domain::money::minor_unit_exponent as decimals;

/// Parses `CUR AMOUNT` or `AMOUNT CUR` (space optional; `,` and `_` group thousands, `.`
/// marks decimals).
pub fn parse(input: &str) -> Result<pb::Money, String> {
    let s = input.trim();
    let letters = |t: &str| t.len() >= 3 && t.is_char_boundary(3);
    let (cur, amount) = if letters(s) && s[..3].chars().all(|c| c.is_ascii_alphabetic()) {
        (&s[..3], s[3..].trim())
    } else if s.len() >= 3
        && s.is_char_boundary(s.len() - 3)
        && s[s.len() - 3..].chars().all(|c| c.is_ascii_alphabetic())
    {
        (&s[s.len() - 3..], s[..s.len() - 3].trim())
    } else {
        return Err(format!(
            "'{s}' is not an amount; write a currency and a number such as 'USD 250000' or '1,500.50 EUR'"
        ));
    };
    parse_parts(cur, amount)
}

/// Parses an amount in major units (`250000`, `1,500.50`) of `currency`.
pub fn parse_parts(currency: &str, amount: &str) -> Result<pb::Money, String> {
    let cur = currency.trim().to_ascii_uppercase();
    if CurrencyCode::parse(&cur).is_none() {
        return Err(format!(
            "'{}' is not an ISO 4217 currency code; use e.g. USD, EUR",
            currency.trim()
        ));
    }
    let digits: String = amount
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let places = decimals(&cur);
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(format!(
            "'{}' is not a non-negative number; write e.g. 250000 or 1,500.50",
            amount.trim()
        ));
    }
    if frac.len() > places as usize {
        return Err(format!(
            "{cur} has {places} decimal places; '{}' has {}",
            amount.trim(),
            frac.len()
        ));
    }
    let scale = 10_i64.pow(places);
    let frac_units: i64 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = places as usize);
        padded.parse().map_err(|_| "amount too large".to_owned())?
    };
    let minor = whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(scale))
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(|| format!("'{}' is too large", amount.trim()))?;
    Ok(pb::Money {
        currency_code: cur,
        minor_units: minor,
    })
}

/// `USD 250,000.00` (grouped) or `USD 250000.00` (plain, for CSV).
pub fn format(m: &pb::Money, grouped: bool) -> String {
    format!(
        "{} {}",
        m.currency_code,
        decimal_amount(m.minor_units, &m.currency_code, grouped)
    )
}

/// An optional amount; empty when absent.
pub fn format_opt(m: Option<&pb::Money>, grouped: bool) -> String {
    m.map(|m| format(m, grouped)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(cur: &str, minor: i64) -> pb::Money {
        pb::Money {
            currency_code: cur.into(),
            minor_units: minor,
        }
    }

    #[test]
    fn amounts_parse_in_either_order_with_grouping_and_decimals() {
        assert_eq!(parse("USD 250000"), Ok(m("USD", 25_000_000)));
        assert_eq!(parse("250,000.5 eur"), Ok(m("EUR", 25_000_050)));
        assert_eq!(parse("JPY1000000"), Ok(m("JPY", 1_000_000)));
        assert_eq!(parse("KWD 1.250"), Ok(m("KWD", 1250)));
    }

    #[test]
    fn bad_amounts_say_what_to_write() {
        assert!(parse("250000").is_err());
        assert!(parse("XYZ 5").expect_err("currency").contains("ISO 4217"));
        assert!(
            parse("USD -5")
                .expect_err("negative")
                .contains("non-negative")
        );
        assert!(
            parse("JPY 1.5")
                .expect_err("decimals")
                .contains("0 decimal")
        );
        assert!(parse("USD 99999999999999999999").is_err());
    }

    #[test]
    fn formatting_groups_thousands_and_respects_the_currency_decimals() {
        assert_eq!(format(&m("USD", 25_000_050), true), "USD 250,000.50");
        assert_eq!(format(&m("USD", 25_000_050), false), "USD 250000.50");
        assert_eq!(format(&m("JPY", 1_000_000), true), "JPY 1,000,000");
        assert_eq!(format(&m("EUR", 5), true), "EUR 0.05");
    }
}
