//! Compact features: the hard filters of [`crate::fit::passes`] and every factor of
//! [`crate::fit::score`] as bit masks, integer days, packed language codes and country
//! indices, computed once per indexed item and kept contiguous, so filtering and scoring a
//! pair touch a few cache lines instead of chasing every heap field of a need and an
//! offer. [`passes`] must agree with `fit::passes`, [`score`]
//! must equal `fit::score` to the bit wherever it answers, and [`upper_bound`] must never
//! be below `fit::score`; debug builds assert all three on every pair the engine ranks.

use std::sync::OnceLock;

use clearinghouse_domain::{
    AssistanceKind, Date, FundingMode, Money, Need, NeedStatus, Offer, SubArea, WeaponDomain,
    geo::{self, ScopeMatch},
};

use crate::{
    factors::{
        Capacity, Coverage, Focus, LanguageMatch, area_bit, assemble, capacity_of, coverage_of,
        funding_credit, mean_credit, mean_precision, precision_credit, remaining_ceiling,
        shortfall_of, touched_areas, window_share,
    },
    fit::{FitContext, NeedStage, to_milli},
    policy::{
        GLOBAL_CREDIT, OTHER_MODE_CREDIT, PARENT_AREA_CREDIT, REGION_CREDIT, SUBREGION_CREDIT,
    },
    rates::ExchangeRates,
};

fn subregions() -> &'static [&'static str] {
    static S: OnceLock<Vec<&'static str>> = OnceLock::new();
    S.get_or_init(|| {
        let mut v: Vec<&'static str> = Vec::new();
        for c in geo::countries() {
            if !v.contains(&c.subregion) {
                v.push(c.subregion);
            }
        }
        v
    })
}

/// The M49 regions of the country table, in table order.
pub(crate) fn regions() -> &'static [&'static str] {
    static R: OnceLock<Vec<&'static str>> = OnceLock::new();
    R.get_or_init(|| {
        let mut v: Vec<&'static str> = Vec::new();
        for c in geo::countries() {
            if !v.contains(&c.region) {
                v.push(c.region);
            }
        }
        v
    })
}

fn bit32(list: &[&str], name: &str) -> u32 {
    list.iter()
        .position(|x| *x == name)
        .and_then(|i| u32::try_from(i).ok())
        .map_or(0, |i| 1u32.checked_shl(i).unwrap_or(0))
}

/// The region and sub-region bits of each country of the table, by country index.
fn country_bits() -> &'static [(u32, u32)] {
    static B: OnceLock<Vec<(u32, u32)>> = OnceLock::new();
    B.get_or_init(|| {
        geo::countries()
            .iter()
            .map(|c| (bit32(regions(), c.region), bit32(subregions(), c.subregion)))
            .collect()
    })
}

/// Whether every name is either absent from `list` or has a bit of its own in a `u32`
/// mask (the masks drop the rest, which the records would still match).
fn all_have_bits(list: &[&str], names: &[String]) -> bool {
    names
        .iter()
        .all(|n| list.iter().position(|x| x == n).is_none_or(|i| i < 32))
}

/// Whether a list holds no entry twice (the features count set bits, the records count
/// entries).
fn unique<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, x)| !items[..i].contains(x))
}

/// Most sub-areas of a need (the validated maximum) whose order the features keep.
const MAX_SUBS: usize = 16;

/// Most countries served by a regional need (lead included) whose order the features
/// keep; a need serving more is scored from its record.
const MAX_SERVED: usize = 16;

fn set(bits: &mut [u64; 4], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1u64 << (i % 64);
    }
}

fn has(bits: &[u64; 4], i: usize) -> bool {
    bits.get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

fn sub_mask(subs: impl Iterator<Item = SubArea>) -> u64 {
    subs.fold(0, |m, s| {
        m | 1u64 << SubArea::ALL.iter().position(|x| *x == s).unwrap_or(63)
    })
}

fn mode_mask(m: &[FundingMode]) -> u8 {
    m.iter().fold(0, |acc, x| {
        acc | 1u8 << FundingMode::ALL.iter().position(|y| y == x).unwrap_or(7)
    })
}

fn domain_mask(d: &[WeaponDomain]) -> u8 {
    d.iter().fold(0, |acc, x| {
        acc | 1u8 << WeaponDomain::ALL.iter().position(|y| y == x).unwrap_or(7)
    })
}

fn kind_mask(k: &[AssistanceKind]) -> u16 {
    k.iter().fold(0, |acc, x| {
        acc | 1u16
            << AssistanceKind::ALL
                .iter()
                .position(|y| y == x)
                .unwrap_or(15)
    })
}

/// Modes in which others can fund the rest of a project.
fn pooling_modes() -> u8 {
    mode_mask(&[FundingMode::JointlyFunded, FundingMode::PooledIoFund])
}

/// Every weapon domain (what an empty set means).
fn all_domains() -> u8 {
    domain_mask(WeaponDomain::ALL)
}

/// An ISO 639-1 code packed in 16 bits (33..=858 for two lowercase letters, which is
/// what validation admits; anything else packs to `u16::MAX`); 0 marks an empty slot.
fn lang_code(l: &str) -> u16 {
    match l.as_bytes() {
        [a @ b'a'..=b'z', b @ b'a'..=b'z'] => {
            ((u16::from(a - b'a') + 1) << 5) | (u16::from(b - b'a') + 1)
        }
        _ => u16::MAX,
    }
}

/// Up to 8 languages (the validated maximum), in their order.
fn lang_list(ls: &[String]) -> [u16; 8] {
    let mut out = [0u16; 8];
    for (slot, l) in out.iter_mut().zip(ls) {
        *slot = lang_code(l);
    }
    out
}

fn speaks(list: &[u16; 8], code: u16) -> bool {
    code != 0 && list.contains(&code)
}

/// Filter, score and bound features of an offer. Laid out in cache lines: the first
/// holds everything [`passes`] reads (the country bit sets only when the scope names
/// countries or exclusions) and the sub-area masks scoring reads, so filtering a pair
/// touches one line of memory; the rest follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct OfferFeatures {
    subs: u64,
    valid_from: i32,
    valid_until: i32,
    lead_days: i32,
    regions: u32,
    subregions: u32,
    kinds: u16,
    langs: [u16; 8],
    domains: u8,
    modes: u8,
    open: bool,
    global: bool,
    /// Whether `countries` has a bit set.
    any_countries: bool,
    /// Whether `excluded` has a bit set.
    any_excluded: bool,
    areas: u8,
    /// Whether [`score`] can score this offer exactly: every list is free of repeats, every
    /// country of its scope is in the table, every language is a valid code.
    exact: bool,
    direct_subs: u64,
    countries: [u64; 4],
    excluded: [u64; 4],
    remaining: Option<Money>,
    max_contribution: Option<Money>,
    /// Version of the offer these features describe.
    pub version: u64,
    /// Creation time (ranking tie-break), milliseconds.
    pub created_at: i64,
}

/// Filter and bound features of a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedFeatures {
    matchable: bool,
    authenticated: bool,
    regional: bool,
    subs: u64,
    areas: u8,
    domains: u8,
    modes: u8,
    country: Option<usize>,
    region: u32,
    subregion: u32,
    wanted_from: Option<i32>,
    needed_by: Option<i32>,
    preferred: u8,
    kinds: u16,
    required_kinds: u16,
    langs: [u16; 8],
    required_langs: [u16; 8],
    budget: Option<Money>,
    /// Indices of the need's sub-areas in its order (the first `sub_count`).
    sub_order: [u8; MAX_SUBS],
    sub_count: u8,
    /// Indices of the countries a regional need serves, lead first (the first
    /// `served_count`).
    served: [u8; MAX_SERVED],
    served_count: u8,
    /// Whether [`score`] can score this need exactly (see [`OfferFeatures`]).
    exact: bool,
    /// Version of the need these features describe.
    pub version: u64,
    /// Creation time (ranking tie-break), milliseconds.
    pub created_at: i64,
}

impl OfferFeatures {
    /// Features of `o`.
    pub fn of(o: &Offer) -> OfferFeatures {
        let f = &o.fields;
        let mut countries = [0u64; 4];
        let mut excluded = [0u64; 4];
        f.scope
            .countries
            .iter()
            .filter_map(|c| geo::country_index(c))
            .for_each(|i| set(&mut countries, i));
        f.scope
            .excluded_countries
            .iter()
            .filter_map(|c| geo::country_index(c))
            .for_each(|i| set(&mut excluded, i));
        let scope = &f.scope;
        let exact = unique(&f.areas)
            && unique(&f.sub_areas)
            && unique(&f.weapon_domains)
            && scope
                .countries
                .iter()
                .chain(&scope.excluded_countries)
                .all(|c| geo::country_index(c).is_some())
            && all_have_bits(regions(), &scope.regions)
            && all_have_bits(subregions(), &scope.subregions)
            && f.languages.len() <= 8
            && f.languages.iter().all(|l| lang_code(l) != u16::MAX);
        OfferFeatures {
            open: o.status.is_open(),
            valid_from: f.valid_from.map_or(i32::MIN, |d| d.0),
            valid_until: f.valid_until.map_or(i32::MAX, |d| d.0),
            lead_days: i32::try_from(f.lead_time_days).unwrap_or(i32::MAX),
            subs: sub_mask(SubArea::ALL.iter().copied().filter(|s| f.covers(*s))),
            areas: touched_areas(o),
            domains: domain_mask(&f.weapon_domains),
            modes: mode_mask(&f.funding_modes),
            global: f.scope.global,
            regions: f
                .scope
                .regions
                .iter()
                .fold(0, |m, r| m | bit32(regions(), r)),
            subregions: f
                .scope
                .subregions
                .iter()
                .fold(0, |m, s| m | bit32(subregions(), s)),
            any_countries: countries.iter().any(|w| *w != 0),
            any_excluded: excluded.iter().any(|w| *w != 0),
            countries,
            excluded,
            direct_subs: sub_mask(f.sub_areas.iter().copied()),
            kinds: kind_mask(&f.assistance_kinds),
            langs: lang_list(&f.languages),
            remaining: remaining_ceiling(o),
            max_contribution: f.max_contribution,
            exact,
            version: o.version,
            created_at: o.created_at.0,
        }
    }
}

impl NeedFeatures {
    /// Features of `n`.
    pub fn of(n: &Need) -> NeedFeatures {
        let f = &n.fields;
        let c = geo::country(&f.country_code);
        let mut sub_order = [0u8; MAX_SUBS];
        for (slot, s) in sub_order.iter_mut().zip(&f.sub_areas) {
            *slot = SubArea::ALL
                .iter()
                .position(|x| x == s)
                .and_then(|i| u8::try_from(i).ok())
                .unwrap_or(u8::MAX);
        }
        let served_codes: Vec<Option<usize>> = crate::factors::beneficiaries(n)
            .map(geo::country_index)
            .collect();
        let mut served = [0u8; MAX_SERVED];
        for (slot, c) in served.iter_mut().zip(&served_codes) {
            *slot = c.and_then(|i| u8::try_from(i).ok()).unwrap_or(u8::MAX);
        }
        let exact = f.sub_areas.len() <= MAX_SUBS
            && unique(&f.sub_areas)
            && unique(&f.weapon_domains)
            && unique(&f.assistance_kinds)
            && (f.beneficiary_countries.is_empty()
                || served_codes.len() <= MAX_SERVED
                    && served_codes
                        .iter()
                        .all(|c| c.is_some_and(|i| u8::try_from(i).is_ok())))
            && f.languages.len() <= 8
            && f.languages.iter().all(|l| lang_code(l) != u16::MAX);
        NeedFeatures {
            matchable: n.status.is_matchable(),
            authenticated: n.status == NeedStatus::Authenticated,
            regional: !f.beneficiary_countries.is_empty(),
            subs: sub_mask(f.sub_areas.iter().copied()),
            areas: f.sub_areas.iter().fold(0, |m, s| m | area_bit(s.area())),
            domains: domain_mask(&f.weapon_domains),
            modes: mode_mask(&f.accepted_funding_modes),
            country: geo::country_index(&f.country_code),
            region: c.map_or(0, |c| bit32(regions(), c.region)),
            subregion: c.map_or(0, |c| bit32(subregions(), c.subregion)),
            wanted_from: f.wanted_from.map(|d| d.0),
            needed_by: f.needed_by.map(|d| d.0),
            preferred: f.preferred_funding_mode.map_or(0, |m| mode_mask(&[m])),
            kinds: kind_mask(&f.assistance_kinds),
            required_kinds: kind_mask(&f.required_assistance_kinds),
            langs: lang_list(&f.languages),
            required_langs: lang_list(&f.required_languages),
            budget: f.estimated_budget,
            sub_order,
            sub_count: u8::try_from(f.sub_areas.len().min(MAX_SUBS)).unwrap_or(0),
            served,
            served_count: u8::try_from(served_codes.len().min(MAX_SERVED)).unwrap_or(0),
            exact,
            version: n.version,
            created_at: n.created_at.0,
        }
    }
}

/// The hard filters on features; equal to `fit::passes` on the records.
#[inline]
pub fn passes(n: &NeedFeatures, o: &OfferFeatures, today: Date, stage: NeedStage) -> bool {
    let need_open = n.matchable || (stage == NeedStage::AuthenticatedToo && n.authenticated);
    if !need_open || !o.open || o.valid_until < today.0 {
        return false;
    }
    if n.subs & o.subs == 0 || n.modes & o.modes == 0 {
        return false;
    }
    if n.domains != 0 && o.domains != 0 && n.domains & o.domains == 0 {
        return false;
    }
    if n.required_kinds & !o.kinds != 0 {
        return false;
    }
    if n.required_langs[0] != 0
        && o.langs[0] != 0
        && !n
            .required_langs
            .iter()
            .all(|l| *l == 0 || speaks(&o.langs, *l))
    {
        return false;
    }
    let in_scope = match n.country {
        None => false,
        Some(c) if o.any_excluded && has(&o.excluded, c) => false,
        Some(c) => {
            o.subregions & n.subregion != 0
                || o.regions & n.region != 0
                || o.global
                || o.any_countries && has(&o.countries, c)
        }
    };
    if !in_scope {
        return false;
    }
    let ns = n.wanted_from.unwrap_or(today.0);
    let os = o.valid_from.max(today.0.saturating_add(o.lead_days));
    n.needed_by.is_none_or(|ne| os <= ne) && ns <= o.valid_until
}

fn language_match(n: &NeedFeatures, o: &OfferFeatures) -> LanguageMatch {
    if n.langs[0] == 0 {
        LanguageMatch::NotAsked
    } else if o.langs[0] == 0 {
        LanguageMatch::Unstated
    } else if speaks(&o.langs, n.langs[0]) {
        LanguageMatch::Main
    } else if n.langs.iter().any(|l| speaks(&o.langs, *l)) {
        LanguageMatch::Other
    } else {
        LanguageMatch::NoneShared
    }
}

fn share(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        1.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

/// An upper bound, in thousandths, of `fit::score` for a pair that passes the filters.
/// Every factor and gate is computed from the features as `fit` computes it from the
/// records, except two taken as perfect: timing, and the geography of a regional need
/// (its beneficiaries are not in the features). One thousandth is added so that float
/// summation order can never push the bound below the score.
pub fn upper_bound(n: &NeedFeatures, o: &OfferFeatures, ctx: &FitContext<'_>) -> u32 {
    let (w, g) = (&ctx.policy.weights, &ctx.policy.gates);
    let count = |m: u64| f64::from(m.count_ones());
    let needed = count(n.subs);
    let thematic = if needed == 0.0 {
        0.0
    } else {
        let direct = n.subs & o.direct_subs;
        let parent = n.subs & o.subs & !o.direct_subs;
        (count(direct) + PARENT_AREA_CREDIT * count(parent)) / needed
    };
    let geography = match n.country {
        _ if n.regional => 1.0,
        Some(c) if has(&o.countries, c) => 1.0,
        _ if o.subregions & n.subregion != 0 => SUBREGION_CREDIT,
        _ if o.regions & n.region != 0 => REGION_CREDIT,
        _ if o.global => GLOBAL_CREDIT,
        _ => 0.0,
    };
    let funding = if n.preferred & o.modes != 0 {
        1.0
    } else {
        OTHER_MODE_CREDIT
    };
    let offered = (n.kinds & o.kinds).count_ones();
    let assistance = share(offered, n.kinds.count_ones());
    let lang = language_match(n, o);
    let budget = coverage_of(
        n.budget.map(|b| ctx.rates.to_base(b).ok_or(())),
        capacity_of(o.remaining, o.max_contribution, ctx.rates),
    );
    let (asked, covered) = (
        if n.domains == 0 {
            all_domains()
        } else {
            n.domains
        },
        if o.domains == 0 {
            all_domains()
        } else {
            o.domains
        },
    );
    let domain = share((asked & covered).count_ones(), asked.count_ones());
    let specificity = 0.25 * share((n.areas & o.areas).count_ones(), o.areas.count_ones())
        + 0.25 * share((n.subs & o.subs).count_ones(), o.subs.count_ones())
        + 0.5 * share((covered & asked).count_ones(), covered.count_ones());
    let sum = w.thematic * thematic
        + w.geography * geography
        + w.funding * funding
        + w.budget * budget.credit()
        + w.assistance * assistance
        + w.timing
        + w.language * lang.credit()
        + w.domain * domain
        + w.specificity * specificity;
    let kinds_gate = if n.kinds != 0 && offered == 0 {
        1.0 - g.missing_kinds
    } else {
        1.0
    };
    let language_gate = if lang == LanguageMatch::NoneShared {
        1.0 - g.no_common_language
    } else {
        1.0
    };
    let budget_gate = match budget {
        Coverage::Share(s) if n.modes & o.modes & pooling_modes() == 0 => {
            1.0 - g.single_donor_shortfall * (1.0 - s)
        }
        _ => 1.0,
    };
    let s = kinds_gate * language_gate * budget_gate * sum;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = (s.clamp(0.0, 1.0) * 1000.0).round() as u32;
    m + 1
}

/// The need's budget in the base currency of `rates`: `None` when it states none, `Err`
/// when its currency has no rate (as [`crate::fit::need_budget`] on the record).
pub fn budget_in(n: &NeedFeatures, rates: &ExchangeRates) -> Option<Result<i64, ()>> {
    n.budget.map(|b| rates.to_base(b).ok_or(()))
}

/// What the offer can put into one project in the base currency of `rates` (as
/// [`crate::fit::capacity`] on the record).
pub fn capacity_in(o: &OfferFeatures, rates: &ExchangeRates) -> Capacity {
    capacity_of(o.remaining, o.max_contribution, rates)
}

/// How the offer's scope meets the country with this index (as `GeoScope::covers`).
fn scope_match(o: &OfferFeatures, country: usize) -> Option<ScopeMatch> {
    if o.any_excluded && has(&o.excluded, country) {
        return None;
    }
    if o.any_countries && has(&o.countries, country) {
        return Some(ScopeMatch::Country);
    }
    let (region, subregion) = country_bits().get(country).copied()?;
    if o.subregions & subregion != 0 {
        Some(ScopeMatch::Subregion)
    } else if o.regions & region != 0 {
        Some(ScopeMatch::Region)
    } else {
        o.global.then_some(ScopeMatch::Global)
    }
}

fn count(m: u64) -> usize {
    m.count_ones() as usize
}

/// The score of a pair that passes the filters, in thousandths, from the features alone:
/// every factor and gate computed as [`crate::fit::score`] computes it from the records,
/// through the same functions and in the same order, so the two are equal to the bit.
/// `budget` and `capacity` are [`budget_in`] and [`capacity_in`] under the rates of
/// `ctx` (callers convert them once per item, not per pair). `None` when a side's
/// features cannot be exact (a repeated entry, a country outside the table, more
/// countries served than kept): then score the records.
pub fn score(
    n: &NeedFeatures,
    o: &OfferFeatures,
    budget: Option<Result<i64, ()>>,
    capacity: Capacity,
    ctx: &FitContext<'_>,
) -> Option<u32> {
    if !(n.exact && o.exact) {
        return None;
    }
    let subs = n.sub_order.get(..usize::from(n.sub_count))?;
    let thematic = if subs.is_empty() {
        0.0
    } else {
        let credit = |i: &u8| {
            let bit = 1u64.checked_shl(u32::from(*i)).unwrap_or(0);
            if o.direct_subs & bit != 0 {
                1.0
            } else if o.subs & bit != 0 {
                PARENT_AREA_CREDIT
            } else {
                0.0
            }
        };
        mean_credit(subs.iter().map(credit), subs.len())
    };
    let geography = if n.regional {
        let served = n.served.get(..usize::from(n.served_count))?;
        mean_precision(served.iter().map(|c| scope_match(o, usize::from(*c))))
    } else {
        precision_credit(n.country.and_then(|c| scope_match(o, c)))
    };
    let funding = funding_credit(n.preferred & o.modes != 0, n.modes & o.modes != 0);
    let cover = coverage_of(budget, capacity);
    let assistance = crate::factors::share(
        count(u64::from(n.kinds & o.kinds)),
        count(u64::from(n.kinds)),
    );
    let need_window = (
        Date(n.wanted_from.unwrap_or(ctx.today.0)),
        n.needed_by.map(Date),
    );
    let lead = ctx.today.add_days(o.lead_days);
    let offer_window = (
        Date(o.valid_from.max(lead.0)),
        (o.valid_until != i32::MAX).then_some(Date(o.valid_until)),
    );
    let timing = window_share(need_window, offer_window);
    let lang = language_match(n, o);
    let asked = if n.domains == 0 {
        all_domains()
    } else {
        n.domains
    };
    let covered = if o.domains == 0 {
        all_domains()
    } else {
        o.domains
    };
    let domain = crate::factors::share(count(u64::from(asked & covered)), count(u64::from(asked)));
    let specificity = Focus {
        offer_areas: count(u64::from(o.areas)),
        need_areas: count(u64::from(o.areas & n.areas)),
        offer_subs: count(o.subs),
        need_subs: count(n.subs & o.subs),
        offer_domains: count(u64::from(covered)),
        need_domains: count(u64::from(covered & asked)),
    }
    .value();
    let values = assemble(
        [
            thematic,
            geography,
            funding,
            cover.credit(),
            assistance,
            timing,
            lang.credit(),
            domain,
            specificity,
        ],
        n.kinds != 0,
        lang,
        shortfall_of(cover, n.modes & o.modes & pooling_modes() != 0),
    );
    Some(to_milli(
        values.score_with(&ctx.policy.weights, &ctx.policy.gates),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_filtering_and_scoring_read_of_an_offer_fits_its_first_cache_line() {
        assert_eq!(std::mem::align_of::<OfferFeatures>(), 64);
        let end_of_hot = std::mem::offset_of!(OfferFeatures, direct_subs) + 8;
        assert!(end_of_hot <= 64, "hot fields end at byte {end_of_hot}");
        for last in [
            std::mem::offset_of!(OfferFeatures, exact),
            std::mem::offset_of!(OfferFeatures, areas),
            std::mem::offset_of!(OfferFeatures, any_excluded),
            std::mem::offset_of!(OfferFeatures, langs) + 16,
        ] {
            assert!(last <= 64, "a hot field at byte {last}");
        }
    }
}
