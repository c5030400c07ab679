//! Coverage: needs by thematic area × M49 region (and by sub-area), how many are
//! matched, partially matched or unmatched, their estimated budgets and how much of them
//! agreed matches fund.
//!
//! Which needs count: authenticated and later, not withdrawn (see
//! [`NeedClass::of`](crate::classify::NeedClass::of)). Funded means pledged: the amounts
//! of the live contributions of the need's matches that are `AGREED` or later and not
//! ended. Columns are the M49 regions; with a region filter, that region's sub-regions.
//! A need with several sub-areas counts once in each sub-area row, so sub-area rows do
//! not add up to their area.

use std::collections::{BTreeSet, HashMap};

use clearinghouse_domain::{Area, Money, Need, NeedId, SubArea, geo};
use serde::{Deserialize, Serialize};

use crate::{
    classify::{NeedClass, is_reserving},
    filter::GeoFilter,
    input::{MissingRates, ReportInput},
    meta::{Applies, ReportMeta},
    money::basis_points,
};

/// Column used for needs whose country is not in the country table.
pub const UNKNOWN_GEO: &str = "(unknown)";

/// The figures of one group of needs. `needs = needs_with_budget + needs_without_budget
/// + needs_without_rate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageFigures {
    /// Needs counted (authenticated and later, not withdrawn).
    pub needs: u32,
    /// Of which matched, fulfilled or closed.
    pub matched: u32,
    /// Of which partially matched.
    pub partially_matched: u32,
    /// Of which without an agreed match (authenticated, circulated, lapsed).
    pub unmatched: u32,
    /// Needs with an estimated budget, all of whose amounts convert to the base currency.
    pub needs_with_budget: u32,
    /// Needs without an estimated budget (their pledges still count in `funded_minor`).
    pub needs_without_budget: u32,
    /// Needs whose budget or a pledge is in a currency without an exchange rate: counted
    /// here and left out of every money figure.
    pub needs_without_rate: u32,
    /// Sum of the estimated budgets of `needs_with_budget`, base minor units.
    pub estimated_budget_minor: i64,
    /// Pledged amounts of reserving matches of every need with converted amounts, base
    /// minor units.
    pub funded_minor: i64,
    /// Pledges of `needs_with_budget`, each need's counted up to its own budget.
    pub funded_within_budget_minor: i64,
    /// Funded share: `funded_within_budget_minor` as a share of `estimated_budget_minor`
    /// (the estimated budgets of needs with a budget), basis points rounded down; `None`
    /// without any budget.
    pub funded_share_bp: Option<u32>,
}

/// One row of figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    /// What the row groups: an area code, a full sub-area code (`AREA.SUB_AREA`), a
    /// region or sub-region name, or `TOTAL`.
    pub key: String,
    /// Its figures.
    pub figures: CoverageFigures,
}

/// One cell of the area × geography matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageCell {
    /// Area code.
    pub area: String,
    /// Region or sub-region name.
    pub geo: String,
    /// Its figures.
    pub figures: CoverageFigures,
}

/// The coverage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// Heading.
    pub meta: ReportMeta,
    /// What the columns are: `M49 region` or `M49 sub-region`.
    pub geo_level: String,
    /// Area codes, in taxonomy order.
    pub areas: Vec<String>,
    /// Column names.
    pub columns: Vec<String>,
    /// Every area × column cell, area-major, in `areas` × `columns` order.
    pub cells: Vec<CoverageCell>,
    /// Per area.
    pub by_area: Vec<CoverageRow>,
    /// Per column.
    pub by_geo: Vec<CoverageRow>,
    /// Per sub-area with at least one need, in taxonomy order.
    pub by_sub_area: Vec<CoverageRow>,
    /// All needs counted.
    pub total: CoverageFigures,
    /// Currencies met without an exchange rate.
    pub missing_rates: Vec<String>,
}

/// Money of one need in base minor units, or `None` when an amount had no rate.
#[derive(Debug, Clone, Copy)]
struct NeedMoney {
    budget: Option<i64>,
    funded: i64,
}

impl CoverageFigures {
    fn add(&mut self, class: NeedClass, money: Option<NeedMoney>) {
        self.needs += 1;
        match class {
            NeedClass::Matched => self.matched += 1,
            NeedClass::PartiallyMatched => self.partially_matched += 1,
            NeedClass::Unmatched => self.unmatched += 1,
        }
        match money {
            None => self.needs_without_rate += 1,
            Some(NeedMoney {
                budget: Some(b),
                funded,
            }) => {
                self.needs_with_budget += 1;
                self.estimated_budget_minor = self.estimated_budget_minor.saturating_add(b);
                self.funded_minor = self.funded_minor.saturating_add(funded);
                self.funded_within_budget_minor = self
                    .funded_within_budget_minor
                    .saturating_add(funded.min(b));
            }
            Some(NeedMoney {
                budget: None,
                funded,
            }) => {
                self.needs_without_budget += 1;
                self.funded_minor = self.funded_minor.saturating_add(funded);
            }
        }
        self.funded_share_bp =
            basis_points(self.funded_within_budget_minor, self.estimated_budget_minor);
    }
}

fn columns(filter: Option<&GeoFilter>) -> (String, Vec<String>) {
    let mut set: BTreeSet<&str> = BTreeSet::new();
    match filter {
        None => {
            for c in geo::countries().iter().filter(|c| !c.region.is_empty()) {
                set.insert(c.region);
            }
            // Antarctica has no requesting State; it appears only if a need names it.
            set.remove("Antarctica");
            (
                "M49 region".to_owned(),
                set.iter().map(|s| (*s).to_owned()).collect(),
            )
        }
        Some(GeoFilter::Region(r)) => {
            for c in geo::countries()
                .iter()
                .filter(|c| c.region == r && !c.subregion.is_empty())
            {
                set.insert(c.subregion);
            }
            (
                "M49 sub-region".to_owned(),
                set.iter().map(|s| (*s).to_owned()).collect(),
            )
        }
        Some(GeoFilter::SubRegion(s)) => ("M49 sub-region".to_owned(), vec![s.clone()]),
    }
}

fn geo_of(need: &Need, by_subregion: bool) -> String {
    match geo::country(&need.fields.country_code) {
        Some(c) if by_subregion => c.subregion.to_owned(),
        Some(c) => c.region.to_owned(),
        None => UNKNOWN_GEO.to_owned(),
    }
}

fn pledges_by_need<'a>(input: &ReportInput<'a>) -> HashMap<&'a NeedId, Vec<Money>> {
    let mut out: HashMap<&NeedId, Vec<Money>> = HashMap::new();
    for m in input.matches.iter().filter(|m| is_reserving(m.status)) {
        let list = out.entry(&m.need).or_default();
        list.extend(m.reserving().filter_map(|c| c.amount));
    }
    out
}

fn need_money(
    input: &ReportInput<'_>,
    need: &Need,
    pledges: &[Money],
    missing: &mut MissingRates,
) -> Option<NeedMoney> {
    let mut ok = true;
    let budget = match need.fields.estimated_budget {
        None => None,
        Some(b) => match input.rates.to_base(b) {
            Some(v) => Some(v),
            None => {
                missing.note(b.currency);
                ok = false;
                None
            }
        },
    };
    let mut funded = 0i64;
    for p in pledges {
        match input.rates.to_base(*p) {
            Some(v) => funded = funded.saturating_add(v),
            None => {
                missing.note(p.currency);
                ok = false;
            }
        }
    }
    ok.then_some(NeedMoney { budget, funded })
}

/// Computes the coverage report.
pub fn coverage(input: &ReportInput<'_>) -> CoverageReport {
    let mut meta = ReportMeta::new(
        "coverage",
        "Coverage of needs by thematic area and region",
        input,
        Applies {
            needs_not_applicable: None,
            gp_not_applicable: Some("needs carry no GP sub-working group"),
        },
    );
    let by_subregion = input.filter.geography.is_some();
    let (geo_level, mut cols) = columns(input.filter.geography.as_ref());
    let areas: Vec<Area> = match input.filter.area {
        Some(a) => vec![a],
        None => Area::ALL.to_vec(),
    };
    let pledges = pledges_by_need(input);
    let mut missing = MissingRates::default();

    let counted: Vec<(&Need, NeedClass, Option<NeedMoney>, String)> = input
        .needs
        .iter()
        .filter(|n| input.filter.need_passes(n))
        .filter_map(|n| {
            let class = NeedClass::of(n.status)?;
            let p = pledges.get(&n.id).map_or(&[][..], Vec::as_slice);
            let money = need_money(input, n, p, &mut missing);
            Some((n, class, money, geo_of(n, by_subregion)))
        })
        .collect();
    for (_, _, _, g) in &counted {
        if !cols.contains(g) {
            cols.push(g.clone());
        }
    }

    let mut cell_figs: HashMap<(Area, &str), CoverageFigures> = HashMap::new();
    let mut area_figs: HashMap<Area, CoverageFigures> = HashMap::new();
    let mut geo_figs: HashMap<&str, CoverageFigures> = HashMap::new();
    let mut sub_figs: HashMap<SubArea, CoverageFigures> = HashMap::new();
    let mut total = CoverageFigures::default();
    let mut without_area = 0u32;
    for (n, class, money, g) in &counted {
        total.add(*class, *money);
        geo_figs.entry(g.as_str()).or_default().add(*class, *money);
        let Some(area) = n.fields.area else {
            without_area += 1;
            continue;
        };
        cell_figs
            .entry((area, g.as_str()))
            .or_default()
            .add(*class, *money);
        area_figs.entry(area).or_default().add(*class, *money);
        for s in &n.fields.sub_areas {
            sub_figs.entry(*s).or_default().add(*class, *money);
        }
    }
    if without_area > 0 {
        meta.notes.push(format!(
            "{without_area} need(s) without a thematic area count in the totals only"
        ));
    }
    let missing_rates = missing.codes();
    if !missing_rates.is_empty() {
        meta.notes.push(format!(
            "{} need(s) have amounts in {} without an exchange rate to {}: counted, left out of money figures",
            total.needs_without_rate,
            missing_rates.join(", "),
            meta.base_currency
        ));
    }

    let cells = areas
        .iter()
        .flat_map(|a| {
            cols.iter().map(|g| CoverageCell {
                area: a.code().to_owned(),
                geo: g.clone(),
                figures: cell_figs
                    .get(&(*a, g.as_str()))
                    .copied()
                    .unwrap_or_default(),
            })
        })
        .collect();
    let by_area = areas
        .iter()
        .map(|a| CoverageRow {
            key: a.code().to_owned(),
            figures: area_figs.get(a).copied().unwrap_or_default(),
        })
        .collect();
    let by_geo = cols
        .iter()
        .map(|g| CoverageRow {
            key: g.clone(),
            figures: geo_figs.get(g.as_str()).copied().unwrap_or_default(),
        })
        .collect();
    let by_sub_area = SubArea::ALL
        .iter()
        .filter_map(|s| {
            sub_figs.get(s).map(|f| CoverageRow {
                key: s.full_code(),
                figures: *f,
            })
        })
        .collect();
    CoverageReport {
        meta,
        geo_level,
        areas: areas.iter().map(|a| a.code().to_owned()).collect(),
        columns: cols,
        cells,
        by_area,
        by_geo,
        by_sub_area,
        total,
        missing_rates,
    }
}
