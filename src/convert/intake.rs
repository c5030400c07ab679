//! Intake suggestions (`clearinghouse-intake`) to the wire.

use clearinghouse_intake::{
    Coded, DateSuggestion, Evidence, Excerpt, LanguageSuggestion, MoneySuggestion, NeedSuggestion,
    NeedSuggestions, OfferScopeSuggestion,
};

use super::{enums, money_out};
use crate::pb;

fn evidence(e: &Evidence) -> pb::Evidence {
    pb::Evidence {
        phrase: e.phrase.clone(),
        start: e.start,
        end: e.end,
    }
}

fn evidences(es: &[Evidence]) -> Vec<pb::Evidence> {
    es.iter().map(evidence).collect()
}

fn excerpt(x: &Excerpt) -> pb::Excerpt {
    pb::Excerpt {
        start: x.start,
        end: x.end,
        text: x.text.clone(),
    }
}

fn money(m: Option<&MoneySuggestion>) -> Option<pb::MoneySuggestion> {
    m.map(|m| pb::MoneySuggestion {
        money: money_out(Some(m.money)),
        evidence: Some(evidence(&m.evidence)),
    })
}

fn date(d: Option<&DateSuggestion>) -> Option<pb::DateSuggestion> {
    d.map(|d| pb::DateSuggestion {
        date: d.date.to_string(),
        evidence: Some(evidence(&d.evidence)),
    })
}

/// Collects the evidence of coded suggestions under their wire names.
#[derive(Default)]
struct Codes(Vec<pb::CodeEvidence>);

impl Codes {
    fn add(&mut self, code: impl Into<String>, ev: &[Evidence]) {
        self.0.push(pb::CodeEvidence {
            code: code.into(),
            evidence: evidences(ev),
        });
    }

    fn enums<D: Copy, P: TryFrom<i32>>(
        &mut self,
        items: &[Coded<D>],
        out: impl Fn(D) -> i32,
        name: impl Fn(P) -> &'static str,
    ) -> Vec<i32> {
        items
            .iter()
            .map(|c| {
                let raw = out(c.code);
                if let Ok(p) = P::try_from(raw) {
                    self.add(name(p), &c.evidence);
                }
                raw
            })
            .collect()
    }

    fn languages(&mut self, ls: &[LanguageSuggestion]) -> Vec<String> {
        ls.iter()
            .map(|l| {
                self.add(l.code, &l.evidence);
                l.code.to_owned()
            })
            .collect()
    }

    fn names(&mut self, items: &[Coded<&'static str>]) -> Vec<String> {
        items
            .iter()
            .map(|c| {
                self.add(c.code, &c.evidence);
                c.code.to_owned()
            })
            .collect()
    }
}

fn need(n: &NeedSuggestion) -> pb::NeedSuggestion {
    let mut codes = Codes::default();
    let weapon_domains = codes.enums(
        &n.weapon_domains,
        |d| enums::WEAPON_DOMAIN.out(d),
        |p: pb::WeaponDomain| p.as_str_name(),
    );
    let assistance_kinds = codes.enums(
        &n.assistance_kinds,
        |d| enums::ASSISTANCE_KIND.out(d),
        |p: pb::AssistanceKind| p.as_str_name(),
    );
    let funding_modes = codes.enums(
        &n.funding_modes,
        |d| enums::FUNDING_MODE.out(d),
        |p: pb::FundingMode| p.as_str_name(),
    );
    let languages = codes.languages(&n.languages);
    pb::NeedSuggestion {
        thematic_area: enums::AREA.out(n.thematic_area),
        area_confidence: n.area_confidence,
        sub_areas: n
            .sub_areas
            .iter()
            .map(|s| pb::SubAreaSuggestion {
                sub_area: enums::SUB_AREA.out(s.sub_area),
                confidence: s.confidence,
                evidence: evidences(&s.evidence),
            })
            .collect(),
        weapon_domains,
        assistance_kinds,
        funding_modes,
        languages,
        evidence: codes.0,
        title: n.title.clone(),
        excerpts: n.excerpts.iter().map(excerpt).collect(),
        requesting_state: n
            .requesting_state
            .as_ref()
            .map(|s| s.iso3.to_owned())
            .unwrap_or_default(),
        requesting_state_evidence: n
            .requesting_state
            .as_ref()
            .map(|s| evidences(&s.evidence))
            .unwrap_or_default(),
        money: money(n.money.as_ref()),
        wanted_from: date(n.wanted_from.as_ref()),
        needed_by: date(n.needed_by.as_ref()),
    }
}

/// Draft needs for the wire.
pub fn needs_out(s: &NeedSuggestions) -> pb::SuggestNeedsResponse {
    pb::SuggestNeedsResponse {
        needs: s.needs.iter().map(need).collect(),
        language: s.language.code().to_owned(),
        requesting_state: s
            .requesting_state
            .as_ref()
            .map(|r| r.iso3.to_owned())
            .unwrap_or_default(),
        text_money: money(s.text_money.as_ref()),
    }
}

/// An offer's suggested scope for the wire.
pub fn scope_out(s: &OfferScopeSuggestion) -> pb::SuggestOfferScopeResponse {
    let mut codes = Codes::default();
    let weapon_domains = codes.enums(
        &s.weapon_domains,
        |d| enums::WEAPON_DOMAIN.out(d),
        |p: pb::WeaponDomain| p.as_str_name(),
    );
    let assistance_kinds = codes.enums(
        &s.assistance_kinds,
        |d| enums::ASSISTANCE_KIND.out(d),
        |p: pb::AssistanceKind| p.as_str_name(),
    );
    let funding_modes = codes.enums(
        &s.funding_modes,
        |d| enums::FUNDING_MODE.out(d),
        |p: pb::FundingMode| p.as_str_name(),
    );
    let languages = codes.languages(&s.languages);
    if let Some(ev) = &s.geo.global {
        codes.add("GLOBAL", ev);
    }
    let regions = codes.names(&s.geo.regions);
    let subregions = codes.names(&s.geo.subregions);
    let countries = codes.names(&s.geo.countries);
    let excluded_countries = codes.names(&s.geo.excluded_countries);
    pb::SuggestOfferScopeResponse {
        language: s.language.code().to_owned(),
        areas: s
            .areas
            .iter()
            .map(|a| pb::AreaSuggestion {
                area: enums::AREA.out(a.area),
                confidence: a.confidence,
                evidence: evidences(&a.evidence),
            })
            .collect(),
        sub_areas: s
            .sub_areas
            .iter()
            .map(|x| pb::SubAreaSuggestion {
                sub_area: enums::SUB_AREA.out(x.sub_area),
                confidence: x.confidence,
                evidence: evidences(&x.evidence),
            })
            .collect(),
        weapon_domains,
        assistance_kinds,
        funding_modes,
        languages,
        global: s.geo.global.is_some(),
        regions,
        subregions,
        countries,
        excluded_countries,
        evidence: codes.0,
        budget: money(s.budget.as_ref()),
    }
}
