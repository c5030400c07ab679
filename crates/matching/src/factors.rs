//! The soft factors and must-have gates of one need–offer pair, each a pure function in
//! [0, 1]. [`crate::fit`] multiplies the gates into the weighted sum of the factors for
//! the score and reads the same values for the explanation; [`crate::features`] mirrors
//! them on compact features for the score's upper bound.

use clearinghouse_domain::{
    Area, Date, FundingMode, Money, Need, Offer, SubArea, WeaponDomain, geo::ScopeMatch,
};

use crate::{
    fit::FitContext,
    policy::{
        GLOBAL_CREDIT, Gates, OTHER_LANGUAGE_CREDIT, OTHER_MODE_CREDIT, PARENT_AREA_CREDIT,
        REGION_CREDIT, SUBREGION_CREDIT, UNSTATED_LANGUAGE_CREDIT, Weights,
    },
    rates::ExchangeRates,
};

/// Factor values in [`crate::fit::FACTORS`] order and gate shortfalls in
/// [`crate::fit::GATES`] order: everything a score is computed from, so that a recorded
/// decision can be rescored under other weights ([`crate::tune`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Values {
    /// Additive factors, each in [0, 1].
    pub factors: [f64; 9],
    /// How far each must-have falls short, in [0, 1]: 1 when the offer gives none of the
    /// kinds asked, 1 when no working language is shared, the share of the budget missing
    /// when the offer must fund the need alone; 0 when the must-have is met.
    pub shortfalls: [f64; 3],
}

impl Values {
    /// The gate multipliers under `gates`: 1 − penalty × shortfall each.
    pub fn multipliers(&self, gates: &Gates) -> [f64; 3] {
        let p = gates.to_array();
        std::array::from_fn(|i| 1.0 - p[i] * self.shortfalls[i])
    }

    /// Gates × Σ weight × factor, in [0, 1].
    pub fn score_with(&self, weights: &Weights, gates: &Gates) -> f64 {
        let sum: f64 = weights
            .to_array()
            .iter()
            .zip(self.factors)
            .map(|(w, v)| w * v)
            .sum();
        self.multipliers(gates).iter().product::<f64>() * sum
    }
}

/// Every factor and gate shortfall of a pair that passes the hard filters (computed the
/// same way for any pair; meaningful for candidates).
pub fn values(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> Values {
    let kinds = assistance(need, offer);
    let lang = language_match(need, offer);
    let cover = coverage(need, offer, ctx.rates);
    assemble(
        [
            thematic(need, offer),
            geography(need, offer),
            funding(need, offer),
            cover.credit(),
            kinds,
            timing(need, offer, ctx.today),
            lang.credit(),
            domain_coverage(need, offer),
            specificity(need, offer).value(),
        ],
        !need.fields.assistance_kinds.is_empty(),
        lang,
        budget_shortfall(need, offer, cover),
    )
}

/// Values from the factors (in [`crate::fit::FACTORS`] order), whether the need asks any
/// kind of help, how the languages meet and the budget shortfall: the one place the gate
/// shortfalls are derived, for the records and the features alike.
pub(crate) fn assemble(
    factors: [f64; 9],
    asks_kinds: bool,
    lang: LanguageMatch,
    budget_shortfall: f64,
) -> Values {
    let kinds = factors[4];
    Values {
        factors,
        shortfalls: [
            if !asks_kinds || kinds > 0.0 { 0.0 } else { 1.0 },
            if lang == LanguageMatch::NoneShared {
                1.0
            } else {
                0.0
            },
            budget_shortfall,
        ],
    }
}

// ------------------------------------------------------------------ thematic

/// Credit of one of the need's sub-areas: 1 named, [`PARENT_AREA_CREDIT`] through the
/// whole area, 0 otherwise.
pub(crate) fn sub_credit(sub: SubArea, offer: &Offer) -> f64 {
    if offer.fields.sub_areas.contains(&sub) {
        1.0
    } else if offer.fields.areas.contains(&sub.area()) {
        PARENT_AREA_CREDIT
    } else {
        0.0
    }
}

/// `part / whole`, 1 when there is nothing to cover.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// Mean credit of the need's sub-areas.
fn thematic(need: &Need, offer: &Offer) -> f64 {
    let subs = &need.fields.sub_areas;
    if subs.is_empty() {
        return 0.0;
    }
    mean_credit(subs.iter().map(|s| sub_credit(*s, offer)), subs.len())
}

/// The thematic factor from the credits of a need's sub-areas, in the need's order (one
/// summation order, so the records and the features give the same bits).
pub(crate) fn mean_credit(credits: impl Iterator<Item = f64>, count: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = count as f64;
    credits.sum::<f64>() / n
}

// ------------------------------------------------------------------ geography

/// The countries a need serves: its (lead) country, then its beneficiaries (validated
/// unique; the lead is not counted twice). Allocation-free.
pub(crate) fn beneficiaries(need: &Need) -> impl Iterator<Item = &str> {
    let lead = need.fields.country_code.as_str();
    std::iter::once(lead).chain(
        need.fields
            .beneficiary_countries
            .iter()
            .map(String::as_str)
            .filter(move |c| *c != lead),
    )
}

pub(crate) fn precision_credit(m: Option<ScopeMatch>) -> f64 {
    match m {
        Some(ScopeMatch::Country) => 1.0,
        Some(ScopeMatch::Subregion) => SUBREGION_CREDIT,
        Some(ScopeMatch::Region) => REGION_CREDIT,
        Some(ScopeMatch::Global) => GLOBAL_CREDIT,
        None => 0.0,
    }
}

/// A national need: how precisely the scope names its country. A regional need (one with
/// beneficiary countries): the mean of that credit over every country it serves, so a
/// country outside the scope counts 0.
fn geography(need: &Need, offer: &Offer) -> f64 {
    let scope = &offer.fields.scope;
    if need.fields.beneficiary_countries.is_empty() {
        return precision_credit(scope.covers(&need.fields.country_code));
    }
    mean_precision(beneficiaries(need).map(|c| scope.covers(c)))
}

/// The geography factor of a regional need from how the scope meets each country it
/// serves, in [`beneficiaries`] order.
pub(crate) fn mean_precision(matches: impl Iterator<Item = Option<ScopeMatch>>) -> f64 {
    let (sum, n) = matches.fold((0.0, 0u32), |(sum, n), m| {
        (sum + precision_credit(m), n + 1)
    });
    sum / f64::from(n.max(1))
}

// ------------------------------------------------------------------ funding, budget

/// 1 for the preferred mode, [`OTHER_MODE_CREDIT`] for another shared one.
fn funding(need: &Need, offer: &Offer) -> f64 {
    let common = need
        .fields
        .accepted_funding_modes
        .iter()
        .any(|m| offer.fields.funding_modes.contains(m));
    let preferred = need
        .fields
        .preferred_funding_mode
        .is_some_and(|p| offer.fields.funding_modes.contains(&p));
    funding_credit(preferred, common)
}

/// The funding factor: 1 when the offer works in the preferred mode, else
/// [`OTHER_MODE_CREDIT`] when it shares another accepted one.
pub(crate) fn funding_credit(preferred: bool, common: bool) -> f64 {
    if preferred {
        1.0
    } else if common {
        OTHER_MODE_CREDIT
    } else {
        0.0
    }
}

/// What an offer can put into one project, in base minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// No ceiling and no per-project maximum.
    Unlimited,
    /// At most this much.
    Amount(i64),
    /// An amount exists but its currency has no rate.
    NoRate,
}

/// The offer's capacity for one project: the smaller of its per-project maximum and its
/// remaining ceiling.
pub fn capacity(offer: &Offer, rates: &ExchangeRates) -> Capacity {
    capacity_of(
        remaining_ceiling(offer),
        offer.fields.max_contribution,
        rates,
    )
}

/// What is left of the offer's ceiling after agreed matches (none: no ceiling).
pub(crate) fn remaining_ceiling(offer: &Offer) -> Option<Money> {
    offer.fields.budget_ceiling.map(|c| Money {
        minor_units: (c.minor_units - offer.committed_minor_units).max(0),
        ..c
    })
}

/// The smaller of a remaining ceiling and a per-project maximum, in base minor units.
pub(crate) fn capacity_of(
    remaining: Option<Money>,
    max_contribution: Option<Money>,
    rates: &ExchangeRates,
) -> Capacity {
    let mut cap = Capacity::Unlimited;
    for m in [remaining, max_contribution].into_iter().flatten() {
        match rates.to_base(m) {
            None => return Capacity::NoRate,
            Some(v) => {
                cap = match cap {
                    Capacity::Amount(c) => Capacity::Amount(c.min(v)),
                    _ => Capacity::Amount(v),
                }
            }
        }
    }
    cap
}

/// The need's budget in base minor units: `None` if it states none, `Err` if no rate.
pub fn need_budget(need: &Need, rates: &ExchangeRates) -> Option<Result<i64, ()>> {
    need.fields
        .estimated_budget
        .map(|b| rates.to_base(b).ok_or(()))
}

/// How much of the need's budget the offer can put in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Coverage {
    /// All of it (no budget stated, a zero budget, or no capacity limit).
    Whole,
    /// This share, in [0, 1].
    Share(f64),
    /// An amount has no exchange rate: not comparable.
    NoRate,
}

impl Coverage {
    /// The budget factor: the share covered; 0 when the amounts cannot be compared.
    pub fn credit(self) -> f64 {
        match self {
            Coverage::Whole => 1.0,
            Coverage::Share(s) => s,
            Coverage::NoRate => 0.0,
        }
    }
}

/// Coverage from base amounts (shared with the features' bound).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn coverage_of(budget: Option<Result<i64, ()>>, cap: Capacity) -> Coverage {
    match (budget, cap) {
        (Some(Err(())), _) | (_, Capacity::NoRate) => Coverage::NoRate,
        (None | Some(Ok(0)), _) | (_, Capacity::Unlimited) => Coverage::Whole,
        (Some(Ok(b)), Capacity::Amount(a)) => {
            Coverage::Share((a as f64 / b as f64).clamp(0.0, 1.0))
        }
    }
}

/// How much of the need's budget the offer can put in, converted with `rates`.
pub(crate) fn coverage(need: &Need, offer: &Offer, rates: &ExchangeRates) -> Coverage {
    coverage_of(need_budget(need, rates), capacity(offer, rates))
}

/// Whether need and offer share a mode in which others can fund the rest (joint or
/// through an IO fund); otherwise the offer would carry the need alone.
pub(crate) fn pools_with_others(need: &Need, offer: &Offer) -> bool {
    [FundingMode::JointlyFunded, FundingMode::PooledIoFund]
        .iter()
        .any(|m| {
            need.fields.accepted_funding_modes.contains(m) && offer.fields.funding_modes.contains(m)
        })
}

/// The share of the budget missing when the offer must carry the need alone; 0 when
/// others can fund the rest or the amounts cannot be compared (then the budget factor is
/// 0 and the explanation says so).
pub(crate) fn budget_shortfall(need: &Need, offer: &Offer, cover: Coverage) -> f64 {
    shortfall_of(cover, pools_with_others(need, offer))
}

/// The budget gate's shortfall from the coverage and whether others can fund the rest.
pub(crate) fn shortfall_of(cover: Coverage, pools: bool) -> f64 {
    match cover {
        Coverage::Share(s) if !pools => 1.0 - s,
        _ => 0.0,
    }
}

// ------------------------------------------------------------------ kinds of help

/// Share of the kinds of help asked that the offer gives.
fn assistance(need: &Need, offer: &Offer) -> f64 {
    let kinds = &need.fields.assistance_kinds;
    share(
        kinds
            .iter()
            .filter(|k| offer.fields.assistance_kinds.contains(k))
            .count(),
        kinds.len(),
    )
}

// ------------------------------------------------------------------ timing

/// The need's window: from `wanted_from` (or today) to `needed_by` (open if none).
pub(crate) fn need_window(need: &Need, today: Date) -> (Date, Option<Date>) {
    (
        need.fields.wanted_from.unwrap_or(today),
        need.fields.needed_by,
    )
}

/// The offer's availability: from the later of `valid_from` and today + lead time, to
/// `valid_until` (open if none).
pub(crate) fn offer_window(offer: &Offer, today: Date) -> (Date, Option<Date>) {
    let lead = today.add_days(i32::try_from(offer.fields.lead_time_days).unwrap_or(i32::MAX));
    let start = offer.fields.valid_from.map_or(lead, |f| f.max(lead));
    (start, offer.fields.valid_until)
}

/// Share of the need's window (days) in which the offer is available.
fn timing(need: &Need, offer: &Offer, today: Date) -> f64 {
    window_share(need_window(need, today), offer_window(offer, today))
}

/// The timing factor from the two windows: the share of the need's days in which the
/// offer is available (1 when the need has no end).
pub(crate) fn window_share(need: (Date, Option<Date>), offer: (Date, Option<Date>)) -> f64 {
    let (ns, ne) = need;
    let Some(ne) = ne else { return 1.0 };
    let (os, oe) = offer;
    let start = ns.max(os);
    let end = oe.map_or(ne, |oe| oe.min(ne));
    let whole = i64::from(ne.0 - ns.0).max(0) + 1;
    let covered = (i64::from(end.0 - start.0) + 1).clamp(0, whole);
    #[allow(clippy::cast_precision_loss)]
    let v = covered as f64 / whole as f64;
    v
}

// ------------------------------------------------------------------ language

/// How the working languages of a pair meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LanguageMatch {
    /// The need states no language.
    NotAsked,
    /// The offer states no language.
    Unstated,
    /// The offer works in the need's first (main) language.
    Main,
    /// The offer shares another of the need's languages.
    Other,
    /// Both state languages and share none.
    NoneShared,
}

impl LanguageMatch {
    /// The language factor.
    pub fn credit(self) -> f64 {
        match self {
            LanguageMatch::NotAsked | LanguageMatch::Main => 1.0,
            LanguageMatch::Other => OTHER_LANGUAGE_CREDIT,
            LanguageMatch::Unstated => UNSTATED_LANGUAGE_CREDIT,
            LanguageMatch::NoneShared => 0.0,
        }
    }
}

/// How the need's working languages meet the offer's.
pub(crate) fn language_match(need: &Need, offer: &Offer) -> LanguageMatch {
    let (asked, spoken) = (&need.fields.languages, &offer.fields.languages);
    match asked.first() {
        None => LanguageMatch::NotAsked,
        Some(_) if spoken.is_empty() => LanguageMatch::Unstated,
        Some(main) if spoken.contains(main) => LanguageMatch::Main,
        Some(_) if asked.iter().any(|l| spoken.contains(l)) => LanguageMatch::Other,
        Some(_) => LanguageMatch::NoneShared,
    }
}

// ------------------------------------------------------------------ weapon domains

/// A domain set with "empty means all" resolved.
pub(crate) fn domains_or_all(d: &[WeaponDomain]) -> &[WeaponDomain] {
    if d.is_empty() { WeaponDomain::ALL } else { d }
}

/// Share of the need's weapon domains (all four if it names none) that the offer covers
/// (every one if it names none).
fn domain_coverage(need: &Need, offer: &Offer) -> f64 {
    let asked = domains_or_all(&need.fields.weapon_domains);
    let covered = domains_or_all(&offer.fields.weapon_domains);
    share(
        asked.iter().filter(|d| covered.contains(d)).count(),
        asked.len(),
    )
}

// ------------------------------------------------------------------ specificity

/// How focused an offer is on a need: which of the areas it touches, of the sub-areas it
/// covers and of its weapon domains are the need's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Focus {
    /// Thematic areas the offer touches (whole or through a sub-area).
    pub offer_areas: usize,
    /// Of those, the need's (its sub-areas all belong to one area).
    pub need_areas: usize,
    /// Sub-areas the offer covers (directly or through whole areas).
    pub offer_subs: usize,
    /// Of those, the need's.
    pub need_subs: usize,
    /// Weapon domains the offer works on (4 when it names none).
    pub offer_domains: usize,
    /// Of those, the need's (every one when the need names none).
    pub need_domains: usize,
}

impl Focus {
    /// The specificity factor: half thematic focus (areas and sub-areas alike), half
    /// weapon-domain focus.
    pub fn value(self) -> f64 {
        0.25 * share(self.need_areas, self.offer_areas)
            + 0.25 * share(self.need_subs, self.offer_subs)
            + 0.5 * share(self.need_domains, self.offer_domains)
    }
}

/// The bit of an area in an area mask.
pub(crate) fn area_bit(a: Area) -> u8 {
    Area::ALL
        .iter()
        .position(|x| *x == a)
        .and_then(|i| u32::try_from(i).ok())
        .map_or(0, |i| 1u8.checked_shl(i).unwrap_or(0))
}

/// Areas an offer touches, as a mask: its whole areas and those of its named sub-areas.
pub(crate) fn touched_areas(offer: &Offer) -> u8 {
    let f = &offer.fields;
    f.areas
        .iter()
        .copied()
        .chain(f.sub_areas.iter().map(|s| s.area()))
        .fold(0, |m, a| m | area_bit(a))
}

/// Sub-areas an offer covers: its whole areas' and its named ones outside those areas.
pub(crate) fn covered_sub_count(offer: &Offer) -> usize {
    let f = &offer.fields;
    let whole: usize = f.areas.iter().map(|a| a.sub_areas().count()).sum();
    whole
        + f.sub_areas
            .iter()
            .filter(|s| !f.areas.contains(&s.area()))
            .count()
}

/// How focused the offer is on the need.
pub(crate) fn specificity(need: &Need, offer: &Offer) -> Focus {
    let offer_domains = domains_or_all(&offer.fields.weapon_domains);
    let asked = domains_or_all(&need.fields.weapon_domains);
    let areas = touched_areas(offer);
    let asked_areas = need
        .fields
        .sub_areas
        .iter()
        .fold(0u8, |m, s| m | area_bit(s.area()));
    Focus {
        offer_areas: areas.count_ones() as usize,
        need_areas: (areas & asked_areas).count_ones() as usize,
        offer_subs: covered_sub_count(offer),
        need_subs: need
            .fields
            .sub_areas
            .iter()
            .filter(|s| offer.fields.covers(**s))
            .count(),
        offer_domains: offer_domains.len(),
        need_domains: offer_domains.iter().filter(|d| asked.contains(d)).count(),
    }
}
