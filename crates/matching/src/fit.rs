//! Fit of one need and one offer: hard filters, must-have gates multiplied into weighted
//! soft factors, and an explanation a broker can read aloud (`docs/matching.md`). The
//! score and the explanation come from the same factor functions ([`crate::factors`]),
//! so they cannot disagree.
//!
//! Entry points: [`passes`] and [`score`] (allocation-free, for bulk ranking),
//! [`explain`] (every factor and gate with its reason, or every failed filter with its
//! reason).

use clearinghouse_domain::{Date, FundingMode, Need, NeedStatus, Offer, SubArea, WeaponDomain};

pub use crate::factors::{Capacity, Values, capacity, need_budget, values};
use crate::{
    factors::{self, need_window, offer_window},
    policy::Policy,
    rates::ExchangeRates,
    reasons,
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
    /// Weights, gates and bounds.
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
    /// The offer lacks a kind of help the need requires.
    RequiredKind,
    /// The offer states its languages and lacks one the need requires.
    RequiredLanguage,
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
            HardFilter::RequiredKind => "REQUIRED_KIND",
            HardFilter::RequiredLanguage => "REQUIRED_LANGUAGE",
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

/// A soft factor (added, weighted) or a must-have gate (multiplied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    /// Thematic coverage.
    Thematic,
    /// Geographic precision, or share of beneficiaries in scope.
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
    /// Share of the need's weapon domains covered.
    Domain,
    /// Focus of the offer on what the need asks.
    Specificity,
    /// Gate: the offer gives none of the kinds of help asked.
    KindsGate,
    /// Gate: no working language in common.
    LanguageGate,
    /// Gate: a single donor falls short of the budget.
    BudgetGate,
}

/// Additive factors in the order of [`crate::policy::Weights::named`].
pub const FACTORS: [FactorKind; 9] = [
    FactorKind::Thematic,
    FactorKind::Geography,
    FactorKind::Funding,
    FactorKind::Budget,
    FactorKind::Assistance,
    FactorKind::Timing,
    FactorKind::Language,
    FactorKind::Domain,
    FactorKind::Specificity,
];

/// Gates in the order of [`crate::policy::Gates::named`].
pub const GATES: [FactorKind; 3] = [
    FactorKind::KindsGate,
    FactorKind::LanguageGate,
    FactorKind::BudgetGate,
];

impl FactorKind {
    /// Lower-case name, as in the policy and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            FactorKind::Thematic => "thematic",
            FactorKind::Geography => "geography",
            FactorKind::Funding => "funding",
            FactorKind::Budget => "budget",
            FactorKind::Assistance => "assistance",
            FactorKind::Timing => "timing",
            FactorKind::Language => "language",
            FactorKind::Domain => "domain",
            FactorKind::Specificity => "specificity",
            FactorKind::KindsGate => "kinds_gate",
            FactorKind::LanguageGate => "language_gate",
            FactorKind::BudgetGate => "budget_gate",
        }
    }

    /// Whether this is a must-have gate (multiplied) rather than an additive factor.
    pub fn is_gate(self) -> bool {
        GATES.contains(&self)
    }
}

/// One line of an explanation: an additive factor or a gate.
///
/// For a factor, `value` is in [0, 1], `weight` its policy weight and `contribution`
/// weight × value. For a gate, `value` is the multiplier it applied (1 when the
/// must-have is met), `weight` the policy's penalty and `contribution` the (negative)
/// change it made to the score. Contributions of all lines sum to the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// Which factor or gate.
    pub kind: FactorKind,
    /// Its value (a factor) or multiplier (a gate).
    pub value: f64,
    /// Its weight (a factor) or penalty (a gate).
    pub weight: f64,
    /// What it adds to (or, for a gate, takes from) the score.
    pub contribution: f64,
    /// Why, in words.
    pub reason: String,
}

/// A scored pair with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Score in thousandths (the reported score is this / 1000).
    pub score_milli: u32,
    /// Every factor, then every gate.
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

fn in_scope(need: &Need, offer: &Offer) -> bool {
    offer
        .fields
        .scope
        .covers(&need.fields.country_code)
        .is_some()
}

fn common_mode(need: &Need, offer: &Offer) -> bool {
    need.fields
        .accepted_funding_modes
        .iter()
        .any(|m| offer.fields.funding_modes.contains(m))
}

fn windows_overlap(need: &Need, offer: &Offer, today: Date) -> bool {
    let (ns, ne) = need_window(need, today);
    let (os, oe) = offer_window(offer, today);
    ne.is_none_or(|ne| os <= ne) && oe.is_none_or(|oe| ns <= oe)
}

fn has_required_kinds(need: &Need, offer: &Offer) -> bool {
    need.fields
        .required_assistance_kinds
        .iter()
        .all(|k| offer.fields.assistance_kinds.contains(k))
}

/// An offer that states no language cannot be held to a requirement it says nothing
/// about: the language factor and gate grade it instead.
fn has_required_languages(need: &Need, offer: &Offer) -> bool {
    let spoken = &offer.fields.languages;
    spoken.is_empty()
        || need
            .fields
            .required_languages
            .iter()
            .all(|l| spoken.contains(l))
}

/// Whether the pair passes every hard filter (allocation-free).
pub fn passes(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> bool {
    need_open(need, ctx.stage)
        && offer.status.is_open()
        && !offer_expired(offer, ctx.today)
        && covers_any(need, offer)
        && domains_overlap(&need.fields.weapon_domains, &offer.fields.weapon_domains)
        && in_scope(need, offer)
        && common_mode(need, offer)
        && windows_overlap(need, offer, ctx.today)
        && has_required_kinds(need, offer)
        && has_required_languages(need, offer)
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
    if !in_scope(need, offer) {
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
    if !has_required_kinds(need, offer) {
        let missing: Vec<&str> = need
            .fields
            .required_assistance_kinds
            .iter()
            .filter(|k| !offer.fields.assistance_kinds.contains(k))
            .map(|k| k.code())
            .collect();
        fail(
            HardFilter::RequiredKind,
            format!(
                "need requires {} and the offer does not give it",
                missing.join(", ")
            ),
        );
    }
    if !has_required_languages(need, offer) {
        let missing: Vec<&str> = need
            .fields
            .required_languages
            .iter()
            .filter(|l| !offer.fields.languages.contains(l))
            .map(String::as_str)
            .collect();
        fail(
            HardFilter::RequiredLanguage,
            format!(
                "need requires work in {} and the offer works in {}",
                missing.join(", "),
                offer.fields.languages.join(", ")
            ),
        );
    }
    out
}

/// Sub-areas in words: `control lists, export licensing`.
pub(crate) fn names(subs: &[SubArea]) -> String {
    subs.iter()
        .map(|s| s.code().to_lowercase().replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn modes(m: &[FundingMode]) -> String {
    m.iter().map(|x| x.code()).collect::<Vec<_>>().join("/")
}

// ------------------------------------------------------------------ score, explanation

pub(crate) fn to_milli(score: f64) -> u32 {
    // Scores are in [0, 1]; rounding to thousandths is what is reported and ranked.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = (score.clamp(0.0, 1.0) * 1000.0).round() as u32;
    m
}

/// Score of a pair that passes the filters, in thousandths (allocation-free): the gates'
/// product times the weighted sum of the factors.
pub fn score(need: &Need, offer: &Offer, ctx: &FitContext<'_>) -> u32 {
    to_milli(factors::values(need, offer, ctx).score_with(&ctx.policy.weights, &ctx.policy.gates))
}

/// Scores a pair and explains each factor and gate, or lists every failed filter.
pub fn explain(
    need: &Need,
    offer: &Offer,
    ctx: &FitContext<'_>,
) -> Result<Explanation, Vec<Rejection>> {
    let rejected = rejections(need, offer, ctx);
    if !rejected.is_empty() {
        return Err(rejected);
    }
    let vals = factors::values(need, offer, ctx);
    let mut lines: Vec<Factor> = FACTORS
        .iter()
        .zip(ctx.policy.weights.to_array())
        .zip(vals.factors)
        .map(|((kind, weight), value)| Factor {
            kind: *kind,
            value,
            weight,
            contribution: weight * value,
            reason: reasons::reason(*kind, value, need, offer, ctx),
        })
        .collect();
    // Each gate takes its share of what the factors and the gates before it left.
    let mut running: f64 = lines.iter().map(|f| f.contribution).sum();
    for ((kind, penalty), multiplier) in GATES
        .iter()
        .zip(ctx.policy.gates.to_array())
        .zip(vals.multipliers(&ctx.policy.gates))
    {
        let after = running * multiplier;
        lines.push(Factor {
            kind: *kind,
            value: multiplier,
            weight: penalty,
            contribution: after - running,
            reason: reasons::reason(*kind, multiplier, need, offer, ctx),
        });
        running = after;
    }
    Ok(Explanation {
        score_milli: score(need, offer, ctx),
        factors: lines,
    })
}
