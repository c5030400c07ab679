//! The columns of needs and offers as files and CSV see them: one table per resource
//! naming each column, what it holds, how to read it from a cell (import) and how to
//! write it to one (`--output csv`). Lists are `;`-separated, enums are short codes
//! (`EXPORT_TRANSSHIPMENT`), amounts are `CUR AMOUNT` in major units (`USD 250000`),
//! dates `YYYY-MM-DD`. What `--output csv` writes, `import` reads back.

pub mod need;
pub mod offer;

use super::{enums, money};
use crate::pb;

/// Reads a cell into the message; `Err` says what is wrong with the value.
pub type Setter<T> = fn(&mut T, &str) -> Result<(), String>;

/// One column of a resource file.
#[derive(Debug)]
pub struct FieldSpec<T: 'static> {
    /// Column name (the API's field name where there is one).
    pub name: &'static str,
    /// What the column holds, for `--help` and the README.
    pub doc: &'static str,
    /// Whether a row must fill it.
    pub required: bool,
    /// Writes the cell of a resource.
    pub get: fn(&T) -> String,
    /// Reads the cell; `None` for columns the server fills (ignored on import).
    pub set: Option<Setter<T>>,
}

/// The spec of column `name`, if any.
pub fn find<T>(specs: &'static [FieldSpec<T>], name: &str) -> Option<&'static FieldSpec<T>> {
    specs.iter().find(|s| s.name == name)
}

/// The columns as a help table: `name  (required)  doc`.
pub fn help_table<T>(specs: &[FieldSpec<T>]) -> String {
    let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in specs.iter().filter(|s| s.set.is_some()) {
        let req = if s.required { "*" } else { " " };
        out.push_str(&format!("  {:width$} {req} {}\n", s.name, s.doc));
    }
    out
}

/// The columns as a Markdown table (for the README).
pub fn markdown_table<T>(specs: &[FieldSpec<T>]) -> String {
    let mut out = String::from("| column | required | what it holds |\n| --- | --- | --- |\n");
    for s in specs.iter().filter(|s| s.set.is_some()) {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            s.name,
            if s.required { "yes" } else { "" },
            s.doc
        ));
    }
    out
}

/// An enum cell: empty is unset.
pub fn enum_cell(full_name: &str, v: &str) -> Result<i32, String> {
    if v.trim().is_empty() {
        Ok(0)
    } else {
        enums::parse(full_name, v)
    }
}

/// A list of enums.
pub fn enum_list(full_name: &str, v: &str) -> Result<Vec<i32>, String> {
    enums::parse_list(full_name, v)
}

/// A list of text values (`;` or `,` separated).
pub fn text_list(v: &str) -> Vec<String> {
    enums::split_list(v).map(str::to_owned).collect()
}

/// A list of codes, upper-cased (ISO3 countries).
pub fn code_list(v: &str) -> Vec<String> {
    enums::split_list(v).map(str::to_ascii_uppercase).collect()
}

/// An optional amount.
pub fn money_cell(v: &str) -> Result<Option<pb::Money>, String> {
    if v.trim().is_empty() {
        Ok(None)
    } else {
        money::parse(v).map(Some)
    }
}

/// A whole number of at least zero; empty is zero.
pub fn count_cell(v: &str) -> Result<i32, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("'{v}' is not a whole number of at least 0"))
}

/// `true`/`false` (also yes/no, 1/0); empty is false.
pub fn bool_cell(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        other => Err(format!("'{other}' is not true or false")),
    }
}

/// A text cell, trimmed.
pub fn text(v: &str) -> String {
    v.trim().to_owned()
}

/// A `YYYY-MM-DD` cell, trimmed; checked by the domain rules on validation.
pub fn date(v: &str) -> String {
    v.trim().to_owned()
}

/// Writes a list of enums.
pub fn enum_list_out(full_name: &str, v: &[i32]) -> String {
    enums::labels(full_name, v, ";")
}

/// Writes an optional amount (plain digits).
pub fn money_out(m: Option<&pb::Money>) -> String {
    money::format_opt(m, false)
}

/// The contact of a message, created when first written.
pub fn contact(c: &mut Option<pb::ContactPoint>) -> &mut pb::ContactPoint {
    c.get_or_insert_with(pb::ContactPoint::default)
}

/// A timestamp as RFC 3339 (UTC, seconds).
pub fn time_out(t: Option<&prost_types::Timestamp>) -> String {
    super::views::cells::time(t, super::output::Mode::Machine)
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

    #[test]
    fn the_readme_documents_every_import_column_as_the_code_defines_it() {
        for (name, table) in [
            ("need", markdown_table(need::FIELDS)),
            ("offer", markdown_table(offer::FIELDS)),
        ] {
            assert!(
                README.contains(&table),
                "README.md lacks the {name} columns; paste:\n{table}"
            );
        }
    }

    #[test]
    fn the_readme_lists_every_exit_code_of_the_help() {
        for line in crate::cli::exit::EXIT_CODES_HELP.lines().skip(1) {
            let (code, meaning) = line.trim().split_once("  ").expect("code and meaning");
            let row = format!("| {code} | {} |", meaning.trim());
            assert!(README.contains(&row), "README.md lacks: {row}");
        }
    }

    #[test]
    fn every_settable_column_reads_back_what_it_writes() {
        let n = pb::Need {
            external_id: "KEN-1".into(),
            sub_areas: vec![pb::SubArea::ControlLists as i32],
            estimated_budget: Some(pb::Money {
                currency_code: "USD".into(),
                minor_units: 25_000_050,
            }),
            contact: Some(pb::ContactPoint {
                email: "desk@example.org".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut back = pb::Need::default();
        for s in need::FIELDS {
            if let Some(set) = s.set {
                set(&mut back, &(s.get)(&n)).expect(s.name);
            }
        }
        assert_eq!(back, n);
    }
}
