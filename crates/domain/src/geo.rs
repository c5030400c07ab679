//! Countries (ISO 3166-1) with their UN M49 region and sub-region, embedded from
//! `countries.csv`, and the geographic scope of offers.
//!
//! Entry points: [`country`] to look a code up, [`countries`] for the whole table,
//! [`GeoScope`] for where an offer applies.

use std::{collections::HashMap, sync::OnceLock};

use crate::validation::{Violations, shown};

const CSV: &str = include_str!("countries.csv");

/// One ISO 3166-1 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: &'static str,
    /// ISO 3166-1 alpha-2 code.
    pub iso2: &'static str,
    /// UN M49 numeric code, three digits.
    pub m49: &'static str,
    /// English short name.
    pub name: String,
    /// M49 region (Africa, Americas, Asia, Europe, Oceania, Antarctica).
    pub region: &'static str,
    /// M49 sub-region.
    pub subregion: &'static str,
    /// Year the State joined the UN; `None` for non-members.
    pub un_member_since: Option<u16>,
    /// OECD DAC recipient code, where there is one.
    pub dac_code: Option<&'static str>,
}

struct Table {
    list: Vec<Country>,
    by_iso3: HashMap<&'static str, usize>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let list: Vec<Country> = CSV.lines().skip(1).filter_map(parse_line).collect();
        let by_iso3 = list.iter().enumerate().map(|(i, c)| (c.iso3, i)).collect();
        Table { list, by_iso3 }
    })
}

/// Splits one CSV line (double quotes around fields that hold commas).
fn split_csv(line: &'static str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        if let Some(stripped) = rest.strip_prefix('"') {
            let end = stripped.find('"').unwrap_or(stripped.len());
            out.push(&stripped[..end]);
            rest = stripped.get(end + 1..).unwrap_or("");
            rest = rest.strip_prefix(',').unwrap_or(rest);
            if rest.is_empty() && !line.ends_with(',') {
                break;
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(rest);
                    break;
                }
            }
        }
    }
    out
}

fn parse_line(line: &'static str) -> Option<Country> {
    let f = split_csv(line);
    if f.len() < 8 {
        return None;
    }
    Some(Country {
        iso3: f[0],
        iso2: f[1],
        m49: f[2],
        name: f[3].to_owned(),
        region: f[4],
        subregion: f[5],
        un_member_since: f[6].parse().ok(),
        dac_code: (!f[7].is_empty()).then_some(f[7]),
    })
}

/// Every ISO 3166-1 entry, in the order of the embedded table.
pub fn countries() -> &'static [Country] {
    &table().list
}

/// The UN member States.
pub fn un_members() -> impl Iterator<Item = &'static Country> {
    countries().iter().filter(|c| c.un_member_since.is_some())
}

/// Looks a country up by its ISO3 code (upper case).
pub fn country(iso3: &str) -> Option<&'static Country> {
    let t = table();
    t.by_iso3.get(iso3).map(|&i| &t.list[i])
}

/// The position of a country in [`countries`], by its ISO3 code (upper case).
pub fn country_index(iso3: &str) -> Option<usize> {
    table().by_iso3.get(iso3).copied()
}

/// Whether `name` is an M49 region of the table.
pub fn is_region(name: &str) -> bool {
    countries().iter().any(|c| c.region == name)
}

/// Whether `name` is an M49 sub-region of the table.
pub fn is_subregion(name: &str) -> bool {
    countries().iter().any(|c| c.subregion == name)
}

/// Checks that `code` is a known ISO3 country code, recording a violation otherwise.
pub fn check_country(v: &mut Violations, field: &str, code: &str) -> Option<&'static Country> {
    match country(code) {
        Some(c) => Some(c),
        None => {
            v.add(
                field,
                format!(
                    "{} is not an ISO 3166-1 alpha-3 country code (e.g. KEN, FRA)",
                    shown(code)
                ),
            );
            None
        }
    }
}

/// Where an offer applies: global, or a union of regions, sub-regions and countries, minus
/// exclusions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeoScope {
    /// Worldwide.
    pub global: bool,
    /// M49 region names.
    pub regions: Vec<String>,
    /// M49 sub-region names.
    pub subregions: Vec<String>,
    /// ISO3 codes.
    pub countries: Vec<String>,
    /// ISO3 codes excluded.
    pub excluded_countries: Vec<String>,
}

/// How a country falls inside a scope, from the most to the least specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScopeMatch {
    /// The scope names the country.
    Country,
    /// The scope names the country's sub-region.
    Subregion,
    /// The scope names the country's region.
    Region,
    /// The scope is global.
    Global,
}

impl GeoScope {
    /// Validates names and codes, recording every problem under `field`.
    pub fn validate(&self, v: &mut Violations, field: &str) {
        if !self.global
            && self.regions.is_empty()
            && self.subregions.is_empty()
            && self.countries.is_empty()
        {
            v.add(
                field,
                "is empty; set global or name at least one region, sub-region or country",
            );
        }
        v.count(&format!("{field}.regions"), self.regions.len(), 0, 6);
        v.count(&format!("{field}.subregions"), self.subregions.len(), 0, 32);
        v.count(&format!("{field}.countries"), self.countries.len(), 0, 256);
        v.count(
            &format!("{field}.excluded_countries"),
            self.excluded_countries.len(),
            0,
            256,
        );
        for (i, r) in self.regions.iter().enumerate() {
            if !is_region(r) {
                v.add(
                    format!("{field}.regions[{i}]"),
                    format!(
                        "{} is not an M49 region; use Africa, Americas, Asia, Europe or Oceania",
                        shown(r)
                    ),
                );
            }
        }
        for (i, r) in self.subregions.iter().enumerate() {
            if !is_subregion(r) {
                v.add(
                    format!("{field}.subregions[{i}]"),
                    format!(
                        "{} is not an M49 sub-region (e.g. 'Eastern Africa')",
                        shown(r)
                    ),
                );
            }
        }
        for (i, c) in self.countries.iter().enumerate() {
            check_country(v, &format!("{field}.countries[{i}]"), c);
        }
        for (i, c) in self.excluded_countries.iter().enumerate() {
            check_country(v, &format!("{field}.excluded_countries[{i}]"), c);
        }
    }

    /// How `iso3` falls inside this scope, or `None` if it is outside or excluded.
    pub fn covers(&self, iso3: &str) -> Option<ScopeMatch> {
        if self.excluded_countries.iter().any(|c| c == iso3) {
            return None;
        }
        if self.countries.iter().any(|c| c == iso3) {
            return Some(ScopeMatch::Country);
        }
        let c = country(iso3)?;
        if self.subregions.iter().any(|s| s == c.subregion) {
            return Some(ScopeMatch::Subregion);
        }
        if self.regions.iter().any(|r| r == c.region) {
            return Some(ScopeMatch::Region);
        }
        self.global.then_some(ScopeMatch::Global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_holds_every_iso_entry_and_193_un_members() {
        assert_eq!(countries().len(), 256);
        assert_eq!(un_members().count(), 193);
    }

    #[test]
    fn looks_up_regions_and_quoted_names() {
        let ken = country("KEN").expect("KEN");
        assert_eq!(
            (ken.region, ken.subregion, ken.iso2),
            ("Africa", "Eastern Africa", "KE")
        );
        let fsm = country("FSM").expect("FSM");
        assert_eq!(fsm.name, "Micronesia, Fed. Sts.");
        assert_eq!(fsm.subregion, "Micronesia");
        assert_eq!(fsm.un_member_since, Some(1991));
        assert_eq!(country("BES").map(|c| c.un_member_since), Some(None));
        assert!(country("XXX").is_none());
        assert!(country("ken").is_none());
    }

    #[test]
    fn scope_matches_from_most_specific() {
        let scope = GeoScope {
            global: false,
            regions: vec!["Africa".into()],
            subregions: vec!["Caribbean".into()],
            countries: vec!["PER".into()],
            excluded_countries: vec!["SDN".into()],
        };
        assert_eq!(scope.covers("PER"), Some(ScopeMatch::Country));
        assert_eq!(scope.covers("JAM"), Some(ScopeMatch::Subregion));
        assert_eq!(scope.covers("KEN"), Some(ScopeMatch::Region));
        assert_eq!(scope.covers("SDN"), None);
        assert_eq!(scope.covers("FRA"), None);
        let global = GeoScope {
            global: true,
            ..GeoScope::default()
        };
        assert_eq!(global.covers("FRA"), Some(ScopeMatch::Global));
    }

    #[test]
    fn scope_validation_names_each_bad_entry() {
        let scope = GeoScope {
            global: false,
            regions: vec!["Atlantis".into()],
            subregions: vec![],
            countries: vec!["KEN".into(), "ZZZ".into()],
            excluded_countries: vec![],
        };
        let mut v = Violations::new("offer");
        scope.validate(&mut v, "scope");
        let err = v.into_result().expect_err("invalid");
        let fields: Vec<&str> = err.violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["offer.scope.regions[0]", "offer.scope.countries[1]"]
        );
    }
}
