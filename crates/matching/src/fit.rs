//! Fit of one need and one offer: hard filters, weighted soft factors and an explanation
//! a broker can read aloud. The score and the explanation come from the same factor
//! functions, so they cannot disagree.
//!
//! Entry points: [`passes`] and [`score`] (allocation-free, for bulk ranking),
//! [`explain`] (every factor with its reason, or every failed filter with its reason).

use clearinghouse_domain::{
    Date, FundingMode, Need, NeedStatus, Offer, SubArea, WeaponDomain, geo::ScopeMatch,
};

use crate::{
    policy::{
        GLOBAL_CREDIT, OTHER_MODE_CREDIT, PARENT_AREA_CREDIT, Policy, REGION_CREDIT,
        SUBREGION_CREDIT,
    },
    rates::ExchangeRates,
};

/// Which need statuses count as open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedStage {
    /// Circulated or partially matched (what providers may match).
    Circulated,
    /// Also authenticated, not yet circulated (brokers may look ahead).
    AuthenticatedToo,
}

/// Everything scoring depends on besides the pair. `today` comes from the caller.
#[derive(Debug, Clone, Copy)]
pub struct FitContext<'a> {
    /// Weights and bounds.
    pub policy: &'a Policy,
    /// Currency conversion.
    pub rates: &'a ExchangeRates,
    /// Today (validity and lead times).
    pub today: Date,
    /// Which needs are open.
    pub stage: NeedStage,
}

/// A hard filter: a pair failing one is not a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HardFilter {
    /// The need is not open for matching.
    NeedNotOpen,
    /// The offer is not active.
    OfferNotOpen,
    /// The offer's validity has ended.
    OfferExpired,
    /// No sub-area of the need is covered.
    Thematic,
    /// No weapon domain in common.
    WeaponDomain,
    /// The need's country is outside the offer's scope.
    Geography,
    /// No funding mode both accept.
    Funding,
    /// The availability windows do not overlap.
    Timing,
}

impl HardFilter {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            HardFilter::NeedNotOpen => "NEED_NOT_OPEN",
            HardFilter::OfferNotOpen => "OFFER_NOT_OPEN",
            HardFilter::OfferExpired => "OFFER_EXPIRED",
            HardFilter::Thematic => "THEMATIC",
            HardFilter::WeaponDomain => "WEAPON_DOMAIN",
            HardFilter::Geography => "GEOGRAPHY",
            HardFilter::Funding => "FUNDING",
            HardFilter::Timing => "TIMING",
        }
    }
}

/// A failed hard filter and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Which filter.
    pub filter: HardFilter,
    /// Readable reason.
    pub reason: String,
}

/// A soft factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// Thematic coverage.
    Thematic,
    /// Geographic precision.
    Geography,
    /// Funding-mode preference.
    Funding,
    /// Budget coverage.
    Budget,
    /// Kinds of help.
    Assistance,
    /// Window coverage.
    Timing,
    /// Shared language.
    Language,
}

/// Factors in the order of [`crate::policy::Weights::named`].
pub const FACTORS: [FactorKind; 7] = [
    FactorKind::Thematic,
    FactorKind::Geography,
    FactorKind::Funding,
    FactorKind::Budget,
    FactorKind::Assistance,
    FactorKind::Timing,
    FactorKind::Language,
];

/// One factor of an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// Which factor.
    pub kind: FactorKind,
    /// Its value in [0, 1].
    pub value: f64,
    /// Its weight.
    pub weight: f64,
    /// weight × value.
    pub contribution: f64,
    /// Why, in words.
    pub reason: String,
}

/// A scored pair with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Score in thousandths (the reported score is this / 1000).
    pub score_milli: u32,
    /// Every factor.
    pub factors: Vec<Factor>,
}

// ------------------------------------------------------------------ hard filters

fn need_open(need: &Need, stage: NeedStage) -> bool {
    need.status.is_matchable()
        || (stage == NeedStage::AuthenticatedToo && need.status == NeedStatus::Authenticated)
}

fn offer_expired(offer: &Offer, today: Date) -> bool {
    offer.fields.valid_until.is_some_and(|u| u < today)
}

fn covers_any(need: &Need, offer: &Offer) -> bool {
    need.fields
        .sub_areas
        .iter()
        .any(|s| offer.fields.covers(*s))
}

fn domains_overlap(a: &[WeaponDomain], b: &[WeaponDomain]) -> bool {
    a.is_empty() || b.is_empty() || a.iter().any(|d| b.contains(d))
}

fn scope_match(need: &Need, offer: &Offer) -> Option<ScopeMatch> {
    offer.fields.scope.covers(&need.fields.country_code)
}

fn common_mode(need: &Need, offer: &Offer) -> bool {
    need.fields
        .accepted_funding_modes
        .iter()
        .any(|m| offer.fields.funding_modes.contains(m))
}

/// The need's window: from `wanted_from` (or today) to `needed_by` (open if none).
fn need_window(need: &Need, today: Date) -> (Date, Option<Date>) {
    (
        need.fields.wanted_from.unwrap_or(today),
        need.fields.needed_by,
    )
}

/// The offer's availability: from the later of `valid_from` and today + lead time, to
/// `valid_until` (open if none).
fn offer_window(offer: &Offer, today: Date) -> (Date, Option<Date>) {
    let lead = today.add_days(i32::try_from(offer.fields.lead_time_days).unwrap_or(i32::MAX));
    let start = offer.fields.valid_from.map_or(lead, |f| f.max(lead));
    (start, offer.fields.valid_until)
}

fn windows_overlap(need: &Need, offer: &Offer, today: Date) -> bool {
    let (ns, ne) = need_window(need, today);
    let (os, oe) = offer_window(offer, today);
    ne.is_none_or(|ne| os <= ne) && oe.is_none_or(|oe| ns <= oe)
}

/// Whether the pair passes every hard filter (allocation-free).
pub fn passes(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> bool {
    need_open(need, ctx.stage)
        && offer.status.is_open()
        && !offer_expired(offer, ctx.today)
        && covers_any(need, offer)
        && domains_overlap(&need.fields.weapon_domains, &offer.fields.weapon_domains)
        && scope_match(need, offer).is_some()
        && common_mode(need, offer)
        && windows_overlap(need, offer, ctx.today)
}

/// Every failed hard filter with its reason (empty when the pair is a candidate).
pub fn rejections(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> Vec<Rejection> {
    let mut out = Vec::new();
    let mut fail = |filter, reason: String| out.push(Rejection { filter, reason });
    if !need_open(need, ctx.stage) {
        fail(
            HardFilter::NeedNotOpen,
            format!("need is {}; only circulated needs are matched", need.status),
        );
    }
    if !offer.status.is_open() {
        fail(
            HardFilter::OfferNotOpen,
            format!("offer is {}; only active offers are matched", offer.status),
        );
    }
    if let Some(until) = offer.fields.valid_until.filter(|u| *u < ctx.today) {
        fail(
            HardFilter::OfferExpired,
            format!("offer was valid until {until}"),
        );
    }
    if !covers_any(need, offer) {
        fail(
            HardFilter::Thematic,
            format!(
                "offer covers none of the need's sub-areas: {}",
                names(&need.fields.sub_areas)
            ),
        );
    }
    if !domains_overlap(&need.fields.weapon_domains, &offer.fields.weapon_domains) {
        fail(
            HardFilter::WeaponDomain,
            "no weapon domain in common".to_owned(),
        );
    }
    if scope_match(need, offer).is_none() {
        let c = &need.fields.country_code;
        let why = if offer.fields.scope.excluded_countries.contains(c) {
            "is excluded by"
        } else {
            "is outside"
        };
        fail(
            HardFilter::Geography,
            format!("country {c} {why} the offer's scope"),
        );
    }
    if !common_mode(need, offer) {
        fail(
            HardFilter::Funding,
            format!(
                "need accepts {} but the offer works in {}",
                modes(&need.fields.accepted_funding_modes),
                modes(&offer.fields.funding_modes)
            ),
        );
    }
    if !windows_overlap(need, offer, ctx.today) {
        let (ns, ne) = need_window(need, ctx.today);
        let (os, oe) = offer_window(offer, ctx.today);
        fail(
            HardFilter::Timing,
            format!(
                "need wanted {ns} to {}, offer available {os} to {}",
                ne.map_or("open".to_owned(), |d| d.to_string()),
                oe.map_or("open".to_owned(), |d| d.to_string())
            ),
        );
    }
    out
}

fn names(subs: &[SubArea]) -> String {
    subs.iter()
        .map(|s| s.code().to_lowercase().replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn modes(m: &[FundingMode]) -> String {
    m.iter().map(|x| x.code()).collect::<Vec<_>>().join("/")
}

// ------------------------------------------------------------------ soft factors

fn sub_credit(sub: SubArea, offer: &Offer) -> f64 {
    if offer.fields.sub_areas.contains(&sub) {
        1.0
    } else if offer.fields.areas.contains(&sub.area()) {
        PARENT_AREA_CREDIT
    } else {
        0.0
    }
}

#[allow(clippy::cast_precision_loss)]
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

fn thematic(need: &Need, offer: &Offer) -> f64 {
    let subs = &need.fields.sub_areas;
    if subs.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = subs.len() as f64;
    subs.iter().map(|s| sub_credit(*s, offer)).sum::<f64>() / n
}

fn geography(need: &Need, offer: &Offer) -> f64 {
    match scope_match(need, offer) {
        Some(ScopeMatch::Country) => 1.0,
        Some(ScopeMatch::Subregion) => SUBREGION_CREDIT,
        Some(ScopeMatch::Region) => REGION_CREDIT,
        Some(ScopeMatch::Global) => GLOBAL_CREDIT,
        None => 0.0,
    }
}

fn funding(need: &Need, offer: &Offer) -> f64 {
    match need.fields.preferred_funding_mode {
        Some(p) if offer.fields.funding_modes.contains(&p) => 1.0,
        _ if common_mode(need, offer) => OTHER_MODE_CREDIT,
        _ => 0.0,
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
    let f = &offer.fields;
    let remaining = f.budget_ceiling.map(|c| clearinghouse_domain::Money {
        minor_units: (c.minor_units - offer.committed_minor_units).max(0),
        ..c
    });
    let mut cap = Capacity::Unlimited;
    for m in [remaining, f.max_contribution].into_iter().flatten() {
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

#[allow(clippy::cast_precision_loss)]
fn budget(need: &Need, offer: &Offer, rates: &ExchangeRates) -> f64 {
    match (need_budget(need, rates), capacity(offer, rates)) {
        (Some(Err(())), _) | (_, Capacity::NoRate) => 0.0,
        (None | Some(Ok(0)), _) | (_, Capacity::Unlimited) => 1.0,
        (Some(Ok(b)), Capacity::Amount(a)) => (a as f64 / b as f64).clamp(0.0, 1.0),
    }
}

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

fn timing(need: &Need, offer: &Offer, today: Date) -> f64 {
    let (ns, ne) = need_window(need, today);
    let Some(ne) = ne else { return 1.0 };
    let (os, oe) = offer_window(offer, today);
    let start = ns.max(os);
    let end = oe.map_or(ne, |oe| oe.min(ne));
    let whole = i64::from(ne.0 - ns.0).max(0) + 1;
    let covered = (i64::from(end.0 - start.0) + 1).clamp(0, whole);
    #[allow(clippy::cast_precision_loss)]
    let v = covered as f64 / whole as f64;
    v
}

fn language(need: &Need, offer: &Offer) -> f64 {
    let (a, b) = (&need.fields.languages, &offer.fields.languages);
    if a.is_empty() || b.is_empty() || a.iter().any(|l| b.contains(l)) {
        1.0
    } else {
        0.0
    }
}

/// Factor values in [`FACTORS`] order.
fn values(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> [f64; 7] {
    [
        thematic(need, offer),
        geography(need, offer),
        funding(need, offer),
        budget(need, offer, ctx.rates),
        assistance(need, offer),
        timing(need, offer, ctx.today),
        language(need, offer),
    ]
}

fn to_milli(score: f64) -> u32 {
    // Scores are in [0, 1]; rounding to thousandths is what is reported and ranked.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = (score.clamp(0.0, 1.0) * 1000.0).round() as u32;
    m
}

/// Score of a pair that passes the filters, in thousandths (allocation-free).
pub fn score(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> u32 {
    let w = ctx.policy.weights.named();
    let v = values(need, offer, ctx);
    to_milli(w.iter().zip(v).map(|((_, w), v)| w * v).sum())
}

/// Scores a pair and explains each factor, or lists every failed filter.
pub fn explain(
    need: &Need,
    offer: &Offer,
    ctx: &FitContext<'_>,
) -> Result<Explanation, Vec<Rejection>> {
    let rejected = rejections(need, offer, ctx);
    if !rejected.is_empty() {
        return Err(rejected);
    }
    let weights = ctx.policy.weights.named();
    let vals = values(need, offer, ctx);
    let factors = FACTORS
        .iter()
        .zip(weights)
        .zip(vals)
        .map(|((kind, (_, weight)), value)| Factor {
            kind: *kind,
            value,
            weight,
            contribution: weight * value,
            reason: reason(*kind, value, need, offer, ctx),
        })
        .collect();
    Ok(Explanation {
        score_milli: score(need, offer, ctx),
        factors,
    })
}

fn reason(
    kind: FactorKind,
    value: f64,
    need: &Need,
    offer: &Offer,
    ctx: &FitContext<'_>,
) -> String {
    match kind {
        FactorKind::Thematic => {
            let subs = &need.fields.sub_areas;
            let direct: Vec<SubArea> = subs
                .iter()
                .copied()
                .filter(|s| offer.fields.sub_areas.contains(s))
                .collect();
            let parent: Vec<SubArea> = subs
                .iter()
                .copied()
                .filter(|s| sub_credit(*s, offer) == PARENT_AREA_CREDIT)
                .collect();
            let missing: Vec<SubArea> = subs
                .iter()
                .copied()
                .filter(|s| !offer.fields.covers(*s))
                .collect();
            let mut r = format!(
                "covers {} of {} sub-areas",
                direct.len() + parent.len(),
                subs.len()
            );
            if !direct.is_empty() {
                r.push_str(&format!(": {}", names(&direct)));
            }
            if !parent.is_empty() {
                r.push_str(&format!("; through the whole area: {}", names(&parent)));
            }
            if !missing.is_empty() {
                r.push_str(&format!("; missing: {}", names(&missing)));
            }
            r
        }
        FactorKind::Geography => {
            let c = &need.fields.country_code;
            match scope_match(need, offer) {
                Some(ScopeMatch::Country) => format!("offer names country {c}"),
                Some(ScopeMatch::Subregion) => format!("offer covers {c}'s sub-region"),
                Some(ScopeMatch::Region) => format!("offer covers {c}'s region"),
                Some(ScopeMatch::Global) => "offer is global".to_owned(),
                None => format!("{c} is outside the scope"),
            }
        }
        FactorKind::Funding => match need.fields.preferred_funding_mode {
            Some(p) if value >= 1.0 => format!("offer works in the preferred mode {p}"),
            Some(p) => format!(
                "offer does not work in the preferred mode {p}; another accepted mode is shared"
            ),
            None => "a mutually accepted mode is shared".to_owned(),
        },
        FactorKind::Budget => match (need_budget(need, ctx.rates), capacity(offer, ctx.rates)) {
            (None, _) => "need states no budget".to_owned(),
            (Some(Err(())), _) | (_, Capacity::NoRate) => format!(
                "no exchange rate into {} for the amounts; budget not compared",
                ctx.rates.base
            ),
            (_, Capacity::Unlimited) => "offer states no capacity limit".to_owned(),
            (Some(Ok(b)), Capacity::Amount(a)) => format!(
                "offer can put {} of the need's {} {} ({:.0}%)",
                a.min(b),
                b,
                ctx.rates.base,
                value * 100.0
            ),
        },
        FactorKind::Assistance => {
            let missing: Vec<&str> = need
                .fields
                .assistance_kinds
                .iter()
                .filter(|k| !offer.fields.assistance_kinds.contains(k))
                .map(|k| k.code())
                .collect();
            if missing.is_empty() {
                "every kind of help asked for is offered".to_owned()
            } else {
                format!("not offered: {}", missing.join(", "))
            }
        }
        FactorKind::Timing => {
            if need.fields.needed_by.is_none() {
                "need has no deadline".to_owned()
            } else {
                format!(
                    "offer is available for {:.0}% of the wanted window",
                    value * 100.0
                )
            }
        }
        FactorKind::Language => {
            if value >= 1.0 {
                "a working language is shared or not stated".to_owned()
            } else {
                "no working language in common".to_owned()
            }
        }
    }
}

impl FactorKind {
    /// Lower-case name, as in the policy.
    pub fn name(self) -> &'static str {
        match self {
            FactorKind::Thematic => "thematic",
            FactorKind::Geography => "geography",
            FactorKind::Funding => "funding",
            FactorKind::Budget => "budget",
            FactorKind::Assistance => "assistance",
            FactorKind::Timing => "timing",
            FactorKind::Language => "language",
        }
    }
}
