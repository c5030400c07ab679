//! From a programme's description to an offer's scope: the whole text is one passage.
//! Sub-areas of any area are suggested when one of their strong terms is there and their
//! confidence reaches [`MIN_SUB_CONFIDENCE`]; an area is suggested as a whole when most of its sub-areas
//! are (at least [`AREA_SHARE`] of them, and two). Places give the geographic scope;
//! States after a cue that marks the provider ("The Government of Japan offers") are not
//! scope, and States in a negated clause ("except", "excluding") are excluded.

use clearinghouse_domain::Area;

use crate::Reader;
use crate::analyze::Document;
use crate::codes::present;
use crate::evidence::{Coded, Evidence};
use crate::geo::Place;
use crate::needs::Passages;
use crate::score::{confidence, sub_index};
use crate::suggestion::{
    AreaSuggestion, GeoScopeSuggestion, LanguageSuggestion, MoneySuggestion, OfferScopeSuggestion,
    SubAreaSuggestion,
};
use crate::{languages, money};

/// Least confidence for a sub-area to be part of an offer's scope.
pub(crate) const MIN_SUB_CONFIDENCE: f32 = 0.5;
/// Share of an area's sub-areas that makes the area suggested as a whole.
pub(crate) const AREA_SHARE: f32 = 0.6;

/// Reads a programme description.
pub(crate) fn suggest(reader: &Reader, text: &str) -> OfferScopeSuggestion {
    let doc = Document::read(text, &reader.lexicons);
    let lex = &reader.lexicons[doc.language.index()];
    let p = Passages::new(&doc, lex);
    let all: Vec<usize> = (0..p.units.len()).collect();
    let scores = p.scores(&all);

    let mut sub_areas: Vec<SubAreaSuggestion> = Vec::new();
    for s in clearinghouse_domain::SubArea::ALL {
        let i = sub_index(*s);
        let c = confidence(scores.sub[i]);
        if c >= MIN_SUB_CONFIDENCE && scores.sub_strong[i] {
            sub_areas.push(SubAreaSuggestion {
                sub_area: *s,
                confidence: c,
                evidence: evidence_of(&doc, &scores.sub_hits[i]),
            });
        }
    }
    sub_areas.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));

    let mut areas = Vec::new();
    for area in Area::ALL {
        let total = area.sub_areas().count();
        let named: Vec<&SubAreaSuggestion> = sub_areas
            .iter()
            .filter(|s| s.sub_area.area() == *area)
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let share = named.len() as f32 / total as f32;
        if named.len() >= 2 && share >= AREA_SHARE {
            let mut evidence: Vec<Evidence> =
                evidence_of(&doc, &scores.area_hits[crate::score::area_index(*area)]);
            for s in &named {
                evidence.extend(s.evidence.iter().cloned());
            }
            evidence.sort_by_key(|e| e.start);
            evidence.dedup();
            areas.push(AreaSuggestion {
                area: *area,
                confidence: confidence(scores.area_total(*area)),
                evidence,
            });
        }
    }

    let codes = present(&doc, lex, &p.counting_hits(&all));
    let geo = geo_scope(reader, &doc);
    let mut langs: Vec<LanguageSuggestion> = Vec::new();
    for (code, ev) in languages::find(&doc) {
        match langs.iter_mut().find(|l| l.code == code) {
            Some(l) => l.evidence.push(ev),
            None => langs.push(LanguageSuggestion {
                code,
                evidence: vec![ev],
            }),
        }
    }
    let budget = money::find(text)
        .into_iter()
        .next()
        .map(|m| MoneySuggestion {
            money: m.money,
            evidence: doc.evidence(m.start, m.end),
        });
    OfferScopeSuggestion {
        language: doc.language,
        areas,
        sub_areas,
        weapon_domains: codes.domains,
        assistance_kinds: codes.kinds,
        funding_modes: codes.funding,
        geo,
        languages: langs,
        budget,
    }
}

fn evidence_of(doc: &Document<'_>, hits: &[usize]) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = Vec::new();
    for &h in hits {
        let ev = doc.evidence(doc.hits[h].start, doc.hits[h].end);
        if !out.contains(&ev) {
            out.push(ev);
        }
    }
    out.sort_by_key(|e| e.start);
    out
}

fn push<T: PartialEq>(list: &mut Vec<Coded<T>>, code: T, ev: Evidence) {
    match list.iter_mut().find(|c| c.code == code) {
        Some(c) => c.evidence.push(ev),
        None => list.push(Coded {
            code,
            evidence: vec![ev],
        }),
    }
}

fn geo_scope(reader: &Reader, doc: &Document<'_>) -> GeoScopeSuggestion {
    let lex = &reader.lexicons[doc.language.index()];
    let mentions = reader.countries.mentions(doc, lex);
    let mut in_name = vec![false; doc.tokens.len()];
    for m in mentions.iter().filter(|m| !m.demonym) {
        in_name[m.found.first..=m.found.last]
            .iter_mut()
            .for_each(|x| *x = true);
    }
    let provider = crate::countries::Countries::requester(doc, &mentions)
        .filter(|(iso3, _)| {
            mentions
                .iter()
                .filter(|m| m.iso3 == *iso3 && !m.demonym)
                .count()
                == 1
        })
        .filter(|(_, ev)| ev.first().is_some_and(|e| provider_cue(doc, e)))
        .map(|(iso3, _)| iso3);
    let mut geo = GeoScopeSuggestion::default();
    for m in mentions.iter().filter(|m| !m.demonym) {
        if Some(m.iso3) == provider {
            continue;
        }
        let ev = doc.evidence(m.found.start, m.found.end);
        if doc.negated[m.found.first] {
            push(&mut geo.excluded_countries, m.iso3, ev);
        } else {
            push(&mut geo.countries, m.iso3, ev);
        }
    }
    for (place, ev, first) in reader.places.find(doc, &in_name) {
        if doc.negated[first] {
            continue;
        }
        match place {
            Place::Global => geo.global.get_or_insert_with(Vec::new).push(ev),
            Place::Region(r) => push(&mut geo.regions, r, ev),
            Place::Subregion(s) => push(&mut geo.subregions, s, ev),
            Place::Subregions(list) => {
                for s in list {
                    push(&mut geo.subregions, s, ev.clone());
                }
            }
        }
    }
    geo
}

/// Whether the words just before a State's name mark it as the provider ("Government
/// of", "Gouvernement du", "Gobierno de").
fn provider_cue(doc: &Document<'_>, ev: &Evidence) -> bool {
    let before = doc
        .slice(ev.start.saturating_sub(20), ev.start)
        .to_lowercase();
    ["government of", "gouvernement", "gobierno"]
        .iter()
        .any(|c| before.contains(c))
}
