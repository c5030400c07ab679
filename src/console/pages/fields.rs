//! Values as pages show them and the choices forms offer: code lists as labelled
//! options, money with its currency and separators, party names, a fit factor as a bar.

use std::collections::HashMap;

use maud::{Markup, html};

use clearinghouse_domain::{Money, PartyId, geo};
use clearinghouse_matching::fit::Explanation;
use clearinghouse_reports::money::format_money;

use crate::{
    app::App,
    console::{form::encode, html::humanize},
};

/// `(code, label)` options of a code list.
pub fn options<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<(String, String)> {
    all.iter()
        .map(|x| (code(*x).to_owned(), humanize(code(*x))))
        .collect()
}

/// The M49 regions, as filters name them.
pub fn regions() -> Vec<(String, String)> {
    let mut r: Vec<&str> = geo::countries()
        .iter()
        .map(|c| c.region)
        .filter(|r| !r.is_empty())
        .collect();
    r.sort_unstable();
    r.dedup();
    r.into_iter()
        .map(|x| (x.to_owned(), x.to_owned()))
        .collect()
}

/// Money for people: `USD 250,000.00`.
pub fn money(m: Option<Money>) -> String {
    m.map_or_else(
        || "Not stated".to_owned(),
        |m| format_money(m.minor_units, m.currency.as_str()),
    )
}

/// Codes joined for people (`Training, Equipment`); `empty` when there are none.
pub fn list<T: std::fmt::Display>(items: &[T], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items
        .iter()
        .map(|x| humanize(&x.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A link to a need.
pub fn need_link(id: &str, text: &str) -> Markup {
    html! { a href={"/console/needs/" (encode(id))} { (if text.is_empty() { id } else { text }) } }
}

/// A link to an offer.
pub fn offer_link(id: &str, text: &str) -> Markup {
    html! { a href={"/console/offers/" (encode(id))} { (if text.is_empty() { id } else { text }) } }
}

/// A link to a match.
pub fn match_link(id: &str) -> Markup {
    html! { a href={"/console/matches/" (encode(id))} { "Match " (id) } }
}

/// Party names by id, read once per page.
#[derive(Debug, Default)]
pub struct Names(HashMap<String, String>);

impl Names {
    /// The names of `ids` (a party that cannot be read keeps its id).
    pub async fn load(app: &App, ids: Vec<PartyId>) -> Names {
        let mut map = HashMap::new();
        for id in ids {
            if map.contains_key(&id.0) {
                continue;
            }
            let name = match app.get_party(id.0.clone()).await {
                Ok(p) if !p.fields.display_name.is_empty() => p.fields.display_name,
                _ => id.0.clone(),
            };
            map.insert(id.0, name);
        }
        Names(map)
    }

    /// The name of `id`.
    pub fn of<'a>(&'a self, id: &'a PartyId) -> &'a str {
        self.0.get(&id.0).map_or(id.0.as_str(), String::as_str)
    }
}

/// A score in thousandths as a decimal (`0.742`).
pub fn score(milli: u32) -> String {
    format!("{:.3}", f64::from(milli) / 1000.0)
}

/// A horizontal bar for a value in [0, 1], drawn in SVG (no inline style) and labelled.
pub fn bar(value: f64, label: &str) -> Markup {
    let v = value.clamp(0.0, 1.0);
    let width = 120.0;
    let filled = format!("{:.1}", v * width);
    html! {
        svg.bar width="120" height="14" viewBox="0 0 120 14" role="img" aria-label=(label) {
            rect width="120" height="14" fill="#dee0e2" {}
            rect width=(filled) height="14" fill="#1d70b8" {}
        }
    }
}

/// Each factor of an explanation with its weight, value bar and reason.
pub fn factors_table(caption: &str, e: &Explanation) -> Markup {
    html! {
        div.table-wrap {
            table {
                caption { (caption) }
                thead { tr {
                    th scope="col" { "Factor" }
                    th scope="col" class="num" { "Weight" }
                    th scope="col" { "Fit" }
                    th scope="col" class="num" { "Adds to score" }
                    th scope="col" { "Why" }
                } }
                tbody {
                    @for f in &e.factors {
                        tr {
                            th scope="row" { (humanize(f.kind.name())) }
                            td.num { (format!("{:.2}", f.weight)) }
                            td { (bar(f.value, &format!("{} fit {:.0} %", humanize(f.kind.name()), f.value * 100.0))) " " (format!("{:.0} %", f.value * 100.0)) }
                            td.num { (format!("{:.3}", f.contribution)) }
                            td { (f.reason) }
                        }
                    }
                }
            }
        }
    }
}
