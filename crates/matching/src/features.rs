//! Compact filter features: the hard filters of [`crate::fit::passes`] as bit masks,
//! integer days and packed language codes, computed once per indexed item and kept
//! contiguous, so filtering a pair touches a few cache lines instead of chasing every heap
//! field of a need and an offer. [`passes`] must agree with `fit::passes`, and
//! [`upper_bound`] must never be below `fit::score`; debug builds assert both on every
//! pair the engine ranks.

use std::sync::OnceLock;

use clearinghouse_domain::{
    AssistanceKind, Date, FundingMode, Money, Need, NeedStatus, Offer, SubArea, WeaponDomain, geo,
};

use crate::{
    factors::{
        Coverage, LanguageMatch, area_bit, capacity_of, coverage_of, remaining_ceiling,
        touched_areas,
    },
    fit::{FitContext, NeedStage},
    policy::{
        GLOBAL_CREDIT, OTHER_MODE_CREDIT, PARENT_AREA_CREDIT, REGION_CREDIT, SUBREGION_CREDIT,
    },
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

fn country_index(iso3: &str) -> Option<usize> {
    geo::countries().iter().position(|c| c.iso3 == iso3)
}

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

/// Filter and bound features of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferFeatures {
    open: bool,
    valid_from: i32,
    valid_until: i32,
    lead_days: i32,
    subs: u64,
    areas: u8,
    domains: u8,
    modes: u8,
    global: bool,
    regions: u32,
    subregions: u32,
    countries: [u64; 4],
    excluded: [u64; 4],
    direct_subs: u64,
    kinds: u16,
    langs: [u16; 8],
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
            .filter_map(|c| country_index(c))
            .for_each(|i| set(&mut countries, i));
        f.scope
            .excluded_countries
            .iter()
            .filter_map(|c| country_index(c))
            .for_each(|i| set(&mut excluded, i));
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
            countries,
            excluded,
            direct_subs: sub_mask(f.sub_areas.iter().copied()),
            kinds: kind_mask(&f.assistance_kinds),
            langs: lang_list(&f.languages),
            remaining: remaining_ceiling(o),
            max_contribution: f.max_contribution,
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
        NeedFeatures {
            matchable: n.status.is_matchable(),
            authenticated: n.status == NeedStatus::Authenticated,
            regional: !f.beneficiary_countries.is_empty(),
            subs: sub_mask(f.sub_areas.iter().copied()),
            areas: f.sub_areas.iter().fold(0, |m, s| m | area_bit(s.area())),
            domains: domain_mask(&f.weapon_domains),
            modes: mode_mask(&f.accepted_funding_modes),
            country: country_index(&f.country_code),
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
            version: n.version,
            created_at: n.created_at.0,
        }
    }
}

/// The hard filters on features; equal to `fit::passes` on the records.
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
    if o.langs[0] != 0
        && !n
            .required_langs
            .iter()
            .all(|l| *l == 0 || speaks(&o.langs, *l))
    {
        return false;
    }
    let in_scope = match n.country {
        None => false,
        Some(c) if has(&o.excluded, c) => false,
        Some(c) => {
            has(&o.countries, c)
                || o.subregions & n.subregion != 0
                || o.regions & n.region != 0
                || o.global
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
