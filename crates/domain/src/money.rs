//! Money as integer minor units of an ISO 4217 currency; never floating point.

use std::fmt;

use crate::validation::{Violations, shown};

/// Active ISO 4217 alphabetic codes accepted at the edge.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD \
BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS \
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT \
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR \
PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL \
THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XDR XOF XPF YER ZAR ZMW ZWL";

/// The codes of [`ISO_4217`], sorted (every stored amount is parsed again when read).
fn codes() -> &'static [[u8; 3]] {
    static CODES: std::sync::OnceLock<Vec<[u8; 3]>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| {
        let mut v: Vec<[u8; 3]> = ISO_4217
            .split(' ')
            .filter_map(|c| c.as_bytes().try_into().ok())
            .collect();
        v.sort_unstable();
        v
    })
}

/// An ISO 4217 alphabetic currency code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// US dollar, the default base currency of matching.
    pub const USD: CurrencyCode = CurrencyCode(*b"USD");

    /// Parses an active ISO 4217 code (upper case).
    pub fn parse(s: &str) -> Option<CurrencyCode> {
        let code: [u8; 3] = s.as_bytes().try_into().ok()?;
        codes()
            .binary_search(&code)
            .is_ok()
            .then_some(CurrencyCode(code))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount: non-negative integer minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// Currency.
    pub currency: CurrencyCode,
    /// Amount in minor units, never negative.
    pub minor_units: i64,
}

impl Money {
    /// Validates raw parts, recording violations under `field`.
    pub fn parse(
        v: &mut Violations,
        field: &str,
        currency: &str,
        minor_units: i64,
    ) -> Option<Money> {
        let cur = CurrencyCode::parse(currency);
        if cur.is_none() {
            v.add(
                format!("{field}.currency_code"),
                format!(
                    "{} is not an ISO 4217 currency code; use e.g. USD, EUR",
                    shown(currency)
                ),
            );
        }
        if minor_units < 0 {
            v.add(
                format!("{field}.minor_units"),
                format!("is {minor_units}; amounts cannot be negative"),
            );
        }
        let currency = cur?;
        (minor_units >= 0).then_some(Money {
            currency,
            minor_units,
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor_units, self.currency)
    }
}

/// Currencies whose minor unit is the major unit (ISO 4217 exponent 0).
const EXPONENT_0: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Currencies with three decimals (ISO 4217 exponent 3).
const EXPONENT_3: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Digits after the decimal point of a currency's minor unit (its ISO 4217 exponent): 2
/// unless the standard says otherwise (`XDR` has 2 here for readability).
pub fn minor_unit_exponent(currency: &str) -> u32 {
    if EXPONENT_0.contains(&currency) {
        0
    } else if EXPONENT_3.contains(&currency) {
        3
    } else {
        2
    }
}

/// Decimal digits with a comma every three places (`1234567` → `1,234,567`).
pub fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Minor units as a decimal in major units, with the currency's decimals and optionally
/// thousands separators (`1,234,567.89` or `1234567.89`; `-1,500` in yen).
pub fn decimal_amount(minor: i64, currency: &str, grouped: bool) -> String {
    let exp = minor_unit_exponent(currency);
    let scale = 10u64.pow(exp);
    let abs = minor.unsigned_abs();
    let digits = (abs / scale).to_string();
    let major = if grouped {
        group_thousands(&digits)
    } else {
        digits
    };
    let sign = if minor < 0 { "-" } else { "" };
    if exp == 0 {
        format!("{sign}{major}")
    } else {
        format!(
            "{sign}{major}.{:0width$}",
            abs % scale,
            width = exp as usize
        )
    }
}

/// An amount as people read it: the currency code, thousands separators and the
/// currency's decimals (`USD 5,400.00`, `JPY 1,500`, `KWD 1.250`).
pub fn format_amount(minor: i64, currency: &str) -> String {
    format!("{currency} {}", decimal_amount(minor, currency, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_with_each_currency_s_decimals_and_grouping() {
        assert_eq!(format_amount(540_000, "USD"), "USD 5,400.00");
        assert_eq!(format_amount(5, "EUR"), "EUR 0.05");
        assert_eq!(format_amount(1_500, "JPY"), "JPY 1,500");
        assert_eq!(format_amount(-1_250, "KWD"), "KWD -1.250");
        assert_eq!(
            format_amount(100_000_000_000, "USD"),
            "USD 1,000,000,000.00"
        );
        assert_eq!(decimal_amount(123_456_789, "USD", false), "1234567.89");
        assert_eq!(decimal_amount(0, "USD", true), "0.00");
        assert_eq!(group_thousands("100"), "100");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(minor_unit_exponent("XDR"), 2);
    }

    #[test]
    fn accepts_iso_codes_and_rejects_others() {
        assert!(CurrencyCode::parse("EUR").is_some());
        assert!(CurrencyCode::parse("usd").is_none());
        assert!(CurrencyCode::parse("XYZ").is_none());
        assert!(CurrencyCode::parse("EURO").is_none());
        assert!(CurrencyCode::parse("").is_none());
    }

    #[test]
    fn every_code_of_the_list_and_nothing_between_them_parses() {
        let listed: Vec<&str> = ISO_4217.split(' ').collect();
        assert_eq!(listed.len(), codes().len(), "every entry is three letters");
        for c in &listed {
            assert_eq!(
                CurrencyCode::parse(c).map(|p| p.to_string()),
                Some((*c).to_owned())
            );
        }
        // Every three-letter upper-case string: exactly the listed ones parse.
        let mut parsed = 0;
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                for c in b'A'..=b'Z' {
                    let s = String::from_utf8(vec![a, b, c]).expect("ascii");
                    if CurrencyCode::parse(&s).is_some() {
                        assert!(listed.contains(&s.as_str()), "{s}");
                        parsed += 1;
                    }
                }
            }
        }
        assert_eq!(parsed, listed.len());
    }

    #[test]
    fn negative_amounts_and_bad_currency_are_both_reported() {
        let mut v = Violations::new("need");
        assert!(Money::parse(&mut v, "estimated_budget", "ABC", -5).is_none());
        let err = v.into_result().expect_err("invalid");
        assert_eq!(err.violations.len(), 2);
        assert_eq!(err.violations[1].field, "need.estimated_budget.minor_units");
    }
}
