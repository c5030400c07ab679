//! From a request's text to draft needs.
//!
//! 1. The text is cut into units (items and sentences, see `split`).
//! 2. Each unit is scored against the taxonomy (BM25, see `score`); a unit whose best
//!    area (among those with a strong term there) reaches [`MIN_UNIT_SCORE`] belongs to
//!    that area, the others are context. When
//!    the unit also speaks of an area the text has already raised (most of its best
//!    score, or a good part of it within the same prose paragraph), it goes there: a
//!    closing remark or a second sentence about the same project is not a new need.
//! 3. Units of the same area form one need, in the order the text first raises the area
//!    (the template's "one per subject area"); an area whose units add up to less than
//!    [`MIN_NEED_SCORE`] is a passing mention and does not make a need of its own.
//! 4. A context sentence belongs to the need of the nearest unit in its paragraph; a
//!    paragraph with no need unit (the preamble, a closing line) speaks for every need.
//! 5. Each need is scored again as a whole for its sub-areas (only of its own area), and
//!    reads its kinds of help, weapon domains, funding modes, languages, dates and money
//!    from its own units, its context and the text-wide context.

use std::collections::BTreeSet;

use clearinghouse_domain::Area;

use crate::Reader;
use crate::analyze::Document;
use crate::codes::present;
use crate::countries::Countries;
use crate::evidence::Excerpt;
use crate::lexicon::Lexicon;
use crate::score::{self, TaxonomyScores, confidence, sub_index};
use crate::split::{Unit, UnitKind, units};
use crate::suggestion::{
    DateSuggestion, LanguageSuggestion, MoneySuggestion, NeedSuggestion, NeedSuggestions,
    StateSuggestion, SubAreaSuggestion,
};
use crate::{dates, languages, money, title};

/// Least area score for a unit to belong to an area.
pub(crate) const MIN_UNIT_SCORE: f32 = 2.0;
/// Least total area score for an area to make a need of its own.
pub(crate) const MIN_NEED_SCORE: f32 = 3.0;
/// A unit goes to an area the text already raised when its score there is at least this
/// share of its best area's score...
pub(crate) const RAISED_SHARE: f32 = 0.75;
/// ...or this share when the area was raised by a sentence of the same prose paragraph
/// (prose keeps to one subject per paragraph more often than not)...
pub(crate) const PROSE_SHARE: f32 = 0.25;
/// ...and at least this score.
pub(crate) const MIN_SUPPORT: f32 = 1.0;

/// A text's units with what they hold.
pub(crate) struct Passages<'d, 't> {
    /// The text read once.
    pub doc: &'d Document<'t>,
    /// The lexicon of its language.
    pub lex: &'d Lexicon,
    /// Its items and sentences, in text order.
    pub units: Vec<Unit>,
    /// Hits (indices) whose first character lies in each unit.
    pub hits: Vec<Vec<usize>>,
    /// Content words in each unit.
    pub len: Vec<usize>,
}

impl<'d, 't> Passages<'d, 't> {
    /// Splits the document and files its hits under their units.
    pub fn new(doc: &'d Document<'t>, lex: &'d Lexicon) -> Self {
        let units = units(doc, lex);
        let mut hits = vec![Vec::new(); units.len()];
        for (h, hit) in doc.hits.iter().enumerate() {
            let u = units.partition_point(|u| u.end <= hit.start);
            if units.get(u).is_some_and(|u| u.start <= hit.start) {
                hits[u].push(h);
            }
        }
        let len = units
            .iter()
            .map(|u| {
                let (a, b) = (doc.token_at(u.start), doc.token_at(u.end));
                (a..b).filter(|&i| doc.stems[i].is_some()).count()
            })
            .collect();
        Passages {
            doc,
            lex,
            units,
            hits,
            len,
        }
    }

    /// Hits of a set of units that count as evidence.
    pub fn counting_hits(&self, set: &[usize]) -> Vec<usize> {
        set.iter()
            .flat_map(|&u| self.hits[u].iter().copied())
            .filter(|&h| self.doc.hits[h].counts())
            .collect()
    }

    /// Taxonomy scores of a set of units read as one passage.
    pub fn scores(&self, set: &[usize]) -> TaxonomyScores {
        let len = set.iter().map(|&u| self.len[u]).sum();
        score::score(self.doc, self.lex, &self.counting_hits(set), len)
    }

    /// Whether character `c` lies in one of the units of `set`.
    pub fn covers(&self, set: &[usize], start: u32) -> bool {
        set.iter()
            .any(|&u| self.units[u].start <= start && start < self.units[u].end)
    }
}

/// The units of one area: a need in the making.
struct Group {
    /// The area.
    area: Area,
    /// Units classified in this area.
    own: Vec<usize>,
    /// Context units attached to it.
    context: Vec<usize>,
    /// Sum of the units' scores for the area.
    total: f32,
}

/// Reads a request.
pub(crate) fn suggest(reader: &Reader, text: &str) -> NeedSuggestions {
    let doc = Document::read(text, &reader.lexicons);
    let lex = &reader.lexicons[doc.language.index()];
    let p = Passages::new(&doc, lex);

    // 2. Classify units, preferring an area the text has already raised.
    let mut area_of: Vec<Option<(Area, f32)>> = Vec::with_capacity(p.units.len());
    for u in 0..p.units.len() {
        let scores = p.scores(&[u]);
        let Some((best, s)) = scores.best_area().filter(|(_, s)| *s >= MIN_UNIT_SCORE) else {
            area_of.push(None);
            continue;
        };
        let mut choice = (best, s);
        for (v, a) in area_of.iter().enumerate() {
            let Some((area, _)) = *a else { continue };
            if area == best {
                continue;
            }
            let same_prose_paragraph = p.units[u].kind == UnitKind::Sentence
                && p.units[v].kind == UnitKind::Sentence
                && p.units[v].paragraph == p.units[u].paragraph;
            let share = if same_prose_paragraph {
                PROSE_SHARE
            } else {
                RAISED_SHARE
            };
            let sa = scores.area_total(area);
            if sa >= share * s && sa >= MIN_SUPPORT && (choice.0 == best || sa > choice.1) {
                choice = (area, sa);
            }
        }
        area_of.push(Some(choice));
    }

    // 3. Group by area, in order of first appearance.
    let mut groups: Vec<Group> = Vec::new();
    for (u, a) in area_of.iter().enumerate() {
        let Some((area, s)) = *a else { continue };
        match groups.iter_mut().find(|g| g.area == area) {
            Some(g) => {
                g.own.push(u);
                g.total += s;
            }
            None => groups.push(Group {
                area,
                own: vec![u],
                context: Vec::new(),
                total: s,
            }),
        }
    }
    let strongest = groups.iter().map(|g| g.total).fold(0.0f32, f32::max);
    let (kept, dropped): (Vec<Group>, Vec<Group>) = groups
        .into_iter()
        .partition(|g| g.total >= MIN_NEED_SCORE || g.total >= strongest);
    let mut groups = kept;
    let mut is_context: Vec<bool> = area_of.iter().map(Option::is_none).collect();
    for g in &dropped {
        for &u in &g.own {
            is_context[u] = true;
        }
    }

    // 4. Attach context.
    let mut global: Vec<usize> = Vec::new();
    for u in (0..p.units.len()).filter(|&u| is_context[u]) {
        let para = p.units[u].paragraph;
        let nearest = groups
            .iter()
            .enumerate()
            .flat_map(|(gi, g)| g.own.iter().map(move |&o| (gi, o)))
            .filter(|&(_, o)| p.units[o].paragraph == para)
            .min_by_key(|&(_, o)| (o > u, o.abs_diff(u)));
        match nearest {
            Some((gi, _)) => groups[gi].context.push(u),
            None => global.push(u),
        }
    }

    // Text-wide facts.
    let mentions = reader.countries.mentions(&doc, lex);
    let state = Countries::requester(&doc, &mentions)
        .map(|(iso3, evidence)| StateSuggestion { iso3, evidence });
    let all_money = money::find(text);
    let all_dates = dates::find(&doc);
    let all_languages = languages::find(&doc);
    let single = groups.len() == 1;

    let needs = groups
        .iter()
        .map(|g| {
            let mut own_and_context: Vec<usize> = g.own.iter().chain(&g.context).copied().collect();
            own_and_context.sort_unstable();
            let mut reach = own_and_context.clone();
            reach.extend(&global);
            reach.sort_unstable();
            build_need(
                &p,
                g,
                &own_and_context,
                &reach,
                single,
                state.clone(),
                &all_money,
                &all_dates,
                &all_languages,
            )
        })
        .collect();
    let owned: Vec<usize> = groups
        .iter()
        .flat_map(|g| g.own.iter().chain(&g.context).copied())
        .collect();
    let text_money = all_money
        .iter()
        .find(|m| !p.covers(&owned, m.start))
        .map(|m| MoneySuggestion {
            money: m.money,
            evidence: doc.evidence(m.start, m.end),
        });
    NeedSuggestions {
        language: doc.language,
        requesting_state: state,
        needs,
        text_money,
    }
}

#[allow(clippy::too_many_arguments)]
fn build_need(
    p: &Passages<'_, '_>,
    g: &Group,
    local: &[usize],
    reach: &[usize],
    single: bool,
    requesting_state: Option<StateSuggestion>,
    all_money: &[money::FoundMoney],
    all_dates: &[dates::FoundDate],
    all_languages: &[(&'static str, crate::Evidence)],
) -> NeedSuggestion {
    let doc = p.doc;
    let scores = p.scores(&g.own);
    let mut sub_areas: Vec<SubAreaSuggestion> = g
        .area
        .sub_areas()
        .filter_map(|s| {
            let i = sub_index(s);
            let score = scores.sub[i];
            (score > 0.0).then(|| {
                let mut evidence: Vec<crate::Evidence> = Vec::new();
                for &h in &scores.sub_hits[i] {
                    let ev = doc.evidence(doc.hits[h].start, doc.hits[h].end);
                    if !evidence.contains(&ev) {
                        evidence.push(ev);
                    }
                }
                evidence.sort_by_key(|e| e.start);
                SubAreaSuggestion {
                    sub_area: s,
                    confidence: confidence(score),
                    evidence,
                }
            })
        })
        .collect();
    sub_areas.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));

    let codes = present(doc, p.lex, &p.counting_hits(reach));

    // Money: this need's own passages first; the text-wide one only for a single need.
    let money = all_money
        .iter()
        .find(|m| p.covers(local, m.start))
        .or_else(|| {
            single
                .then(|| {
                    all_money
                        .iter()
                        .find(|m| p.covers(reach, m.start) || !in_any_unit(p, m.start))
                })
                .flatten()
        })
        .map(|m| MoneySuggestion {
            money: m.money,
            evidence: doc.evidence(m.start, m.end),
        });

    let local_dates = all_dates.iter().filter(|d| p.covers(local, d.start));
    let reach_dates = all_dates.iter().filter(|d| p.covers(reach, d.start));
    let dates: Vec<&dates::FoundDate> = local_dates.chain(reach_dates).collect();
    let wanted_from = dates.iter().find_map(|d| {
        d.from.map(|date| DateSuggestion {
            date,
            evidence: doc.evidence(d.start, d.end),
        })
    });
    let needed_by = dates.iter().find_map(|d| {
        d.by.map(|date| DateSuggestion {
            date,
            evidence: doc.evidence(d.start, d.end),
        })
    });

    let mut langs: Vec<LanguageSuggestion> = Vec::new();
    for (code, ev) in all_languages
        .iter()
        .filter(|(_, e)| p.covers(reach, e.start))
    {
        match langs.iter_mut().find(|l| l.code == *code) {
            Some(l) => l.evidence.push(ev.clone()),
            None => langs.push(LanguageSuggestion {
                code,
                evidence: vec![ev.clone()],
            }),
        }
    }

    let best_unit = g
        .own
        .iter()
        .copied()
        .max_by(|&a, &b| {
            p.scores(&[a])
                .area_total(g.area)
                .total_cmp(&p.scores(&[b]).area_total(g.area))
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    let unit = &p.units[best_unit];
    let title = title::title(doc.slice(unit.body_start, unit.end));

    NeedSuggestion {
        thematic_area: g.area,
        area_confidence: confidence(scores.area_total(g.area)),
        sub_areas,
        weapon_domains: codes.domains,
        assistance_kinds: codes.kinds,
        funding_modes: codes.funding,
        languages: langs,
        title,
        excerpts: excerpts(p, &g.own),
        requesting_state,
        money,
        wanted_from,
        needed_by,
    }
}

fn in_any_unit(p: &Passages<'_, '_>, c: u32) -> bool {
    p.units.iter().any(|u| u.start <= c && c < u.end)
}

/// The passages of `own`, adjacent units merged.
fn excerpts(p: &Passages<'_, '_>, own: &[usize]) -> Vec<Excerpt> {
    let set: BTreeSet<usize> = own.iter().copied().collect();
    let mut out: Vec<Excerpt> = Vec::new();
    let mut last: Option<usize> = None;
    for u in set {
        let unit = &p.units[u];
        match (last, out.last_mut()) {
            (Some(l), Some(ex)) if l + 1 == u => {
                ex.end = unit.end;
            }
            _ => out.push(Excerpt {
                start: unit.start,
                end: unit.end,
                text: String::new(),
            }),
        }
        last = Some(u);
    }
    for ex in &mut out {
        ex.text = p.doc.slice(ex.start, ex.end).to_owned();
    }
    out
}
