//! What the reader returns: draft needs and offer scopes, every code with the evidence
//! for it. These are suggestions for a person to confirm, never records.

use clearinghouse_domain::{Area, AssistanceKind, Date, FundingMode, Money, SubArea, WeaponDomain};

use crate::evidence::{Coded, Evidence, Excerpt};
use crate::language::Language;

/// A sub-area the text points to.
#[derive(Debug, Clone, PartialEq)]
pub struct SubAreaSuggestion {
    /// The sub-area.
    pub sub_area: SubArea,
    /// Confidence in [0, 1]: the BM25 score of the passage for this sub-area, squashed.
    pub confidence: f32,
    /// The words behind it, in text order.
    pub evidence: Vec<Evidence>,
}

/// An area the text points to as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaSuggestion {
    /// The area.
    pub area: Area,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// The words behind it, in text order.
    pub evidence: Vec<Evidence>,
}

/// A sum of money the text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneySuggestion {
    /// Amount and currency.
    pub money: Money,
    /// Where the text says it.
    pub evidence: Evidence,
}

/// A date the text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateSuggestion {
    /// The date.
    pub date: Date,
    /// The cue and the date expression, as written.
    pub evidence: Evidence,
}

/// The requesting State.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSuggestion {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: &'static str,
    /// Where the text names it (the deciding mention first).
    pub evidence: Vec<Evidence>,
}

/// A working language the text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageSuggestion {
    /// ISO 639-1 code.
    pub code: &'static str,
    /// Where the text says it.
    pub evidence: Vec<Evidence>,
}

/// One draft need: one thematic area, as the request template has one per subject area.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedSuggestion {
    /// Its thematic area.
    pub thematic_area: Area,
    /// Confidence in the area, in [0, 1].
    pub area_confidence: f32,
    /// Sub-areas of `thematic_area` only, best first.
    pub sub_areas: Vec<SubAreaSuggestion>,
    /// Weapon domains named (empty: the text names none, which a need reads as all).
    pub weapon_domains: Vec<Coded<WeaponDomain>>,
    /// Kinds of help asked for.
    pub assistance_kinds: Vec<Coded<AssistanceKind>>,
    /// Funding modes the text accepts or prefers.
    pub funding_modes: Vec<Coded<FundingMode>>,
    /// Working languages asked for.
    pub languages: Vec<LanguageSuggestion>,
    /// A short title (at most 120 characters) taken from the text.
    pub title: String,
    /// The passages this need was read from, in text order (several when items of the
    /// same area were merged).
    pub excerpts: Vec<Excerpt>,
    /// The requesting State, when the text names it.
    pub requesting_state: Option<StateSuggestion>,
    /// Estimated budget, when the text names one for this need (or for the whole text
    /// when it holds a single need).
    pub money: Option<MoneySuggestion>,
    /// Wanted from.
    pub wanted_from: Option<DateSuggestion>,
    /// Needed by.
    pub needed_by: Option<DateSuggestion>,
}

/// Everything read from a request.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedSuggestions {
    /// The language the text was read in.
    pub language: Language,
    /// The requesting State, when the text names it (also on each need).
    pub requesting_state: Option<StateSuggestion>,
    /// One draft need per thematic area, in the order the text raises them. Empty when the
    /// text points to no area.
    pub needs: Vec<NeedSuggestion>,
    /// A sum the text names outside every need's own passages (typically the total cost
    /// of a request with several needs); a single need carries it as its own `money`.
    pub text_money: Option<MoneySuggestion>,
}

/// Where a programme offers help.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeoScopeSuggestion {
    /// The text says worldwide; the evidence, when it does.
    pub global: Option<Vec<Evidence>>,
    /// M49 regions (as `clearinghouse_domain::geo` names them).
    pub regions: Vec<Coded<&'static str>>,
    /// M49 sub-regions.
    pub subregions: Vec<Coded<&'static str>>,
    /// States named as beneficiaries (ISO3).
    pub countries: Vec<Coded<&'static str>>,
    /// States named as excluded ("except", "excluding"; ISO3).
    pub excluded_countries: Vec<Coded<&'static str>>,
}

/// Everything read from a programme description.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferScopeSuggestion {
    /// The language the text was read in.
    pub language: Language,
    /// Areas covered as a whole (most of their sub-areas named).
    pub areas: Vec<AreaSuggestion>,
    /// Sub-areas named, any area, best first.
    pub sub_areas: Vec<SubAreaSuggestion>,
    /// Weapon domains named.
    pub weapon_domains: Vec<Coded<WeaponDomain>>,
    /// Kinds of help offered.
    pub assistance_kinds: Vec<Coded<AssistanceKind>>,
    /// Funding modes offered.
    pub funding_modes: Vec<Coded<FundingMode>>,
    /// Geographic scope.
    pub geo: GeoScopeSuggestion,
    /// Working languages offered.
    pub languages: Vec<LanguageSuggestion>,
    /// A budget or ceiling the text names (the first one).
    pub budget: Option<MoneySuggestion>,
}
