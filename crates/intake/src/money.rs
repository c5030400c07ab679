//! Amounts of money: a number (with thousands separators and decimal comma or point as
//! English, French and Spanish write them), an optional multiplier (million, millions,
//! millones, k, mil) and a currency before or after it (ISO 4217 code, symbol or name):
//! "USD 250,000", "250 000 euros", "€1.2 million", "1,5 millones de dólares",
//! "90 000 dollars des États-Unis". A bare "$" or "dollars" is read as US dollars.
//!
//! Amounts become integer minor units of the currency (ISO 4217 exponent), never floats.

use clearinghouse_domain::{CurrencyCode, Money};

use crate::fold::fold;

/// A sum found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundMoney {
    /// The amount.
    pub money: Money,
    /// First character of the expression.
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
}

/// Currency symbols written before or after an amount.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("U.S.$", "USD"),
    ("$US", "USD"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("$", "USD"),
];

/// Currency names after an amount (folded), longest first within each currency.
const NAMES: &[(&str, &str)] = &[
    ("dollars des etats unis", "USD"),
    ("dollars americains", "USD"),
    ("dolares de los estados unidos", "USD"),
    ("dolares estadounidenses", "USD"),
    ("dolares americanos", "USD"),
    ("united states dollars", "USD"),
    ("us dollars", "USD"),
    ("canadian dollars", "CAD"),
    ("dollars canadiens", "CAD"),
    ("dolares canadienses", "CAD"),
    ("australian dollars", "AUD"),
    ("new zealand dollars", "NZD"),
    ("dollars", "USD"),
    ("dollar", "USD"),
    ("dolares", "USD"),
    ("dolar", "USD"),
    ("euros", "EUR"),
    ("euro", "EUR"),
    ("pounds sterling", "GBP"),
    ("livres sterling", "GBP"),
    ("libras esterlinas", "GBP"),
    ("swiss francs", "CHF"),
    ("francs suisses", "CHF"),
    ("francos suizos", "CHF"),
    ("yen", "JPY"),
    ("yens", "JPY"),
    ("lempiras", "HNL"),
    ("lempira", "HNL"),
    ("quetzales", "GTQ"),
    ("quetzal", "GTQ"),
    ("colones", "CRC"),
    ("guaranies", "PYG"),
    ("soles", "PEN"),
    ("bolivianos", "BOB"),
    ("rand", "ZAR"),
    ("naira", "NGN"),
    ("kenyan shillings", "KES"),
    ("cedis", "GHS"),
    ("norwegian kroner", "NOK"),
    ("swedish kronor", "SEK"),
    ("danish kroner", "DKK"),
];

/// Multipliers after a number (folded words).
const MULTIPLIERS: &[(&str, u64)] = &[
    ("mil millones", 1_000_000_000),
    ("billion", 1_000_000_000),
    ("billions", 1_000_000_000),
    ("milliard", 1_000_000_000),
    ("milliards", 1_000_000_000),
    ("bn", 1_000_000_000),
    ("million", 1_000_000),
    ("millions", 1_000_000),
    ("millon", 1_000_000),
    ("millones", 1_000_000),
    ("mio", 1_000_000),
    ("mn", 1_000_000),
    ("m", 1_000_000),
    ("thousand", 1_000),
    ("mille", 1_000),
    ("mil", 1_000),
    ("k", 1_000),
];

/// Words that may stand between the amount and the currency name.
const LINKS: &[&str] = &["de", "d", "of", "en"];

/// Every amount with a currency in `text`, in text order.
pub(crate) fn find(text: &str) -> Vec<FoundMoney> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_alphanumeric()) {
            i += 1;
            continue;
        }
        let (num_end, mantissa, decimals) = read_number(&chars, i);
        let mut end = num_end;
        let (mult, after_mult) = read_multiplier(&chars, end);
        end = after_mult;
        let before = currency_before(&chars, i);
        let after = currency_after(&chars, end);
        let (code, start, stop) = match (before, after) {
            (Some((c, s)), _) => (c, s, end),
            (None, Some((c, e))) => (c, i, e),
            (None, None) => {
                i = num_end.max(i + 1);
                continue;
            }
        };
        if let Some(money) = to_money(code, mantissa, decimals, mult) {
            out.push(FoundMoney {
                money,
                start: as_u32(start),
                end: as_u32(stop),
            });
        }
        i = stop.max(num_end).max(i + 1);
    }
    out
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Reads digits and separators from `i`: returns (end, mantissa, decimals).
fn read_number(chars: &[char], i: usize) -> (usize, u128, u32) {
    let mut groups: Vec<(char, String)> = vec![(' ', String::new())];
    let mut j = i;
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            if let Some(g) = groups.last_mut() {
                g.1.push(c);
            }
            j += 1;
            continue;
        }
        let is_sep = matches!(c, '.' | ',' | '\'' | '’' | ' ' | '\u{a0}' | '\u{202f}');
        let next_digits = chars[j + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if !is_sep || next_digits == 0 {
            break;
        }
        // A space separates thousands only before exactly three digits.
        if matches!(c, ' ' | '\u{a0}' | '\u{202f}') && next_digits != 3 {
            break;
        }
        groups.push((c, String::new()));
        j += 1;
    }
    let mut decimal_at = None;
    if groups.len() > 1 {
        let last = groups.len() - 1;
        let (sep, digits) = &groups[last];
        let earlier_differs = groups[1..last].iter().any(|(s, _)| s != sep);
        let decimal_mark = matches!(sep, '.' | ',');
        let shared_with_earlier = groups[1..last].iter().any(|(s, _)| s == sep);
        if decimal_mark && !shared_with_earlier && (digits.len() != 3 || earlier_differs) {
            decimal_at = Some(last);
        }
    }
    let mut mantissa: u128 = 0;
    let mut decimals = 0u32;
    for (k, (_, digits)) in groups.iter().enumerate() {
        for d in digits.chars() {
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(u128::from(d.to_digit(10).unwrap_or(0)));
            if decimal_at.is_some_and(|at| k >= at) {
                decimals += 1;
            }
        }
    }
    (j, mantissa, decimals)
}

/// Skips spaces from `j`.
fn skip_spaces(chars: &[char], mut j: usize) -> usize {
    while j < chars.len() && (chars[j] == ' ' || chars[j] == '\u{a0}' || chars[j] == '\u{202f}') {
        j += 1;
    }
    j
}

/// Folded words starting at `j` (up to `n`), each with the character index after it;
/// stops at a line break or clause punctuation.
fn words_from(chars: &[char], j: usize, n: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut k = j;
    while out.len() < n {
        while k < chars.len() && !chars[k].is_alphanumeric() {
            if matches!(chars[k], '\n' | '.' | ';' | ':' | ',' | '(' | ')') {
                return out;
            }
            k += 1;
        }
        let s = k;
        while k < chars.len() && chars[k].is_alphanumeric() {
            k += 1;
        }
        if s == k {
            break;
        }
        let word: String = chars[s..k].iter().collect();
        out.push((fold(&word), k));
    }
    out
}

fn read_multiplier(chars: &[char], end: usize) -> (u64, usize) {
    let j = skip_spaces(chars, end);
    let words = words_from(chars, j, 2);
    for (name, mult) in MULTIPLIERS {
        let parts: Vec<&str> = name.split(' ').collect();
        if parts.len() <= words.len() && parts.iter().zip(&words).all(|(p, (w, _))| p == w) {
            return (*mult, words[parts.len() - 1].1);
        }
    }
    (1, end)
}

/// A currency code or symbol just before the number at `i`: (code, start).
fn currency_before(chars: &[char], i: usize) -> Option<(&'static str, usize)> {
    let mut j = i;
    while j > 0 && (chars[j - 1] == ' ' || chars[j - 1] == '\u{a0}') {
        j -= 1;
    }
    for (sym, code) in SYMBOLS {
        let n = sym.chars().count();
        if j >= n && chars[j - n..j].iter().copied().eq(sym.chars()) {
            return Some((code, j - n));
        }
    }
    if j >= 3 {
        let code: String = chars[j - 3..j].iter().collect();
        let boundary = j == 3 || !chars[j - 4].is_alphanumeric();
        if boundary
            && code.chars().all(|c| c.is_ascii_uppercase())
            && let Some(c) = CurrencyCode::parse(&code)
        {
            return Some((static_code(c), j - 3));
        }
    }
    None
}

/// A currency code, symbol or name after the amount ending at `end`: (code, end).
fn currency_after(chars: &[char], end: usize) -> Option<(&'static str, usize)> {
    let j = skip_spaces(chars, end);
    for (sym, code) in SYMBOLS {
        let n = sym.chars().count();
        if j + n <= chars.len() && chars[j..j + n].iter().copied().eq(sym.chars()) {
            return Some((code, j + n));
        }
    }
    if j + 3 <= chars.len() {
        let code: String = chars[j..j + 3].iter().collect();
        let boundary = chars.get(j + 3).is_none_or(|c| !c.is_alphanumeric());
        if boundary
            && code.chars().all(|c| c.is_ascii_uppercase())
            && let Some(c) = CurrencyCode::parse(&code)
        {
            return Some((static_code(c), j + 3));
        }
    }
    let words = words_from(chars, j, 6);
    let skip = words
        .first()
        .is_some_and(|(w, _)| LINKS.contains(&w.as_str())) as usize;
    for (name, code) in NAMES {
        let parts: Vec<&str> = name.split(' ').collect();
        let rest = &words[skip.min(words.len())..];
        if parts.len() <= rest.len() && parts.iter().zip(rest).all(|(p, (w, _))| p == w) {
            return Some((code, rest[parts.len() - 1].1));
        }
    }
    None
}

/// The code as a `'static` string (from the ISO list itself).
fn static_code(c: CurrencyCode) -> &'static str {
    const ALL: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD \
BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS \
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT \
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR \
PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL \
THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XDR XOF XPF YER ZAR ZMW ZWL";
    ALL.split(' ').find(|s| *s == c.as_str()).unwrap_or("USD")
}

/// Integer minor units of `mantissa / 10^decimals × mult` in `code`, truncated.
fn to_money(code: &str, mantissa: u128, decimals: u32, mult: u64) -> Option<Money> {
    let currency = CurrencyCode::parse(code)?;
    let exponent = clearinghouse_domain::money::minor_unit_exponent(code);
    let scaled = mantissa
        .checked_mul(u128::from(mult))?
        .checked_mul(10u128.checked_pow(exponent)?)?;
    let minor = scaled / 10u128.checked_pow(decimals)?;
    if minor == 0 {
        return None;
    }
    Some(Money {
        currency,
        minor_units: i64::try_from(minor).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (String, i64, String) {
        let found = find(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        let f = &found[0];
        let span: String = text
            .chars()
            .skip(f.start as usize)
            .take((f.end - f.start) as usize)
            .collect();
        (f.money.currency.to_string(), f.money.minor_units, span)
    }

    #[test]
    fn reads_amounts_in_english_french_and_spanish() {
        assert_eq!(
            one("cost: USD 250,000."),
            ("USD".into(), 25_000_000, "USD 250,000".into())
        );
        assert_eq!(
            one("soit 250 000 euros pour"),
            ("EUR".into(), 25_000_000, "250 000 euros".into())
        );
        assert_eq!(
            one("about €1.2 million in"),
            ("EUR".into(), 120_000_000, "€1.2 million".into())
        );
        assert_eq!(
            one("de 1,5 millones de dólares para"),
            ("USD".into(), 150_000_000, "1,5 millones de dólares".into())
        );
        assert_eq!(
            one("USD 75.000 y"),
            ("USD".into(), 7_500_000, "USD 75.000".into())
        );
        assert_eq!(
            one("est de 90 000 dollars des États-Unis."),
            (
                "USD".into(),
                9_000_000,
                "90 000 dollars des États-Unis".into()
            )
        );
        assert_eq!(
            one("EUR 2 million per project"),
            ("EUR".into(), 200_000_000, "EUR 2 million".into())
        );
        assert_eq!(
            one("1,5 millones de lempiras"),
            ("HNL".into(), 150_000_000, "1,5 millones de lempiras".into())
        );
        assert_eq!(
            one("JPY 5,000,000"),
            ("JPY".into(), 5_000_000, "JPY 5,000,000".into())
        );
    }

    #[test]
    fn numbers_without_a_currency_are_not_money() {
        assert!(find("resolution 1540 (2004), paragraph 7, 12 months, 3 sites").is_empty());
    }
}
