//! How single values are written in cells: times, lists, amounts, scores.

use clearinghouse_domain::Timestamp;

use crate::{
    cli::{enums, fields::FieldSpec, money, output::Grid, output::Mode},
    pb,
};

/// `2026-11-24 10:02` (UTC) for people; `2026-11-24T10:02:03Z` for programs.
pub fn time(t: Option<&prost_types::Timestamp>, mode: Mode) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let day = Timestamp(t.seconds.saturating_mul(1000)).date();
    let secs = t.seconds.rem_euclid(86_400);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match mode {
        Mode::Human => format!("{day} {h:02}:{m:02}"),
        Mode::Machine => format!("{day}T{h:02}:{m:02}:{s:02}Z"),
    }
}

/// A list: `a, b` for people, `a;b` for programs.
pub fn list(items: &[String], mode: Mode) -> String {
    items.join(match mode {
        Mode::Human => ", ",
        Mode::Machine => ";",
    })
}

/// A list of enum values as short codes.
pub fn enum_list(full_name: &str, values: &[i32], mode: Mode) -> String {
    enums::labels(
        full_name,
        values,
        match mode {
            Mode::Human => ", ",
            Mode::Machine => ";",
        },
    )
}

/// An amount: `USD 250,000` (whole amounts without decimals) for people, `USD 250000.00`
/// for programs.
pub fn amount(m: Option<&pb::Money>, mode: Mode) -> String {
    match (m, mode) {
        (None, _) => String::new(),
        (Some(m), Mode::Machine) => money::format(m, false),
        (Some(m), Mode::Human) => {
            let s = money::format(m, true);
            let places = money::decimals(&m.currency_code);
            let zeros = format!(".{}", "0".repeat(places as usize));
            match s.strip_suffix(&zeros) {
                Some(whole) if places > 0 => whole.to_owned(),
                _ => s,
            }
        }
    }
}

/// A fit score with three decimals.
pub fn score(s: f64) -> String {
    format!("{s:.3}")
}

/// A yes/no flag for people, true/false for programs.
pub fn flag(b: bool, mode: Mode) -> String {
    match (mode, b) {
        (Mode::Human, true) => "yes".to_owned(),
        (Mode::Human, false) => "no".to_owned(),
        (Mode::Machine, b) => b.to_string(),
    }
}

/// A CSV grid of `items` through a file's column specs (every column, import order).
pub fn spec_grid<T>(items: &[T], specs: &[FieldSpec<T>]) -> Grid {
    Grid {
        headers: specs.iter().map(|s| s.name.to_owned()).collect(),
        rows: items
            .iter()
            .map(|i| specs.iter().map(|s| (s.get)(i)).collect())
            .collect(),
    }
}

/// `from – to` of two optional dates.
pub fn window(from: &str, to: &str) -> String {
    match (from.is_empty(), to.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("from {from}"),
        (true, false) => format!("by {to}"),
        (false, false) => format!("{from} to {to}"),
    }
}

/// A contact point on one line.
pub fn contact(c: Option<&pb::ContactPoint>) -> String {
    let Some(c) = c else {
        return String::new();
    };
    [&c.name, &c.organization, &c.email, &c.phone]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Status history, one change per line.
pub fn history(h: &[pb::StatusChange]) -> String {
    h.iter()
        .map(|c| {
            let mut line = format!(
                "{}  {}{}",
                time(c.change_time.as_ref(), Mode::Human),
                if c.from_status.is_empty() {
                    String::new()
                } else {
                    format!("{} -> ", c.from_status)
                },
                c.to_status
            );
            if !c.actor_principal_id.is_empty() {
                line.push_str(&format!("  by {}", c.actor_principal_id));
            }
            if !c.reason.is_empty() {
                line.push_str(&format!(": {}", c.reason));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Label/value pairs, leaving out empty values.
pub fn pairs(items: Vec<(&str, String)>) -> Vec<(String, String)> {
    items
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_minutes_for_people_and_rfc3339_for_programs() {
        let t = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        };
        assert_eq!(time(Some(&t), Mode::Human), "2023-11-14 22:13");
        assert_eq!(time(Some(&t), Mode::Machine), "2023-11-14T22:13:20Z");
        assert_eq!(time(None, Mode::Human), "");
    }

    #[test]
    fn whole_amounts_drop_their_decimals_for_people_only() {
        let m = pb::Money {
            currency_code: "USD".into(),
            minor_units: 25_000_000,
        };
        assert_eq!(amount(Some(&m), Mode::Human), "USD 250,000");
        assert_eq!(amount(Some(&m), Mode::Machine), "USD 250000.00");
    }
}
