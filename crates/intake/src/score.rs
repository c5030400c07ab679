//! Scoring like a search engine: each taxonomy entry (an area's generic phrases, or a
//! sub-area's terms) is a query, a passage of the text is the document, and Okapi BM25
//! ranks the entries for the passage.
//!
//! `score(entry, passage) = Σ_terms idf(t) · w(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))`
//!
//! - `idf(t)` is computed over the 44 taxonomy entries of the lexicon (see
//!   `lexicon::set_idf`): a word found in many entries weighs little.
//! - `w(t)` is the term's strength (strong 1, weak 0.35) times a phrase factor (1 for a
//!   word, 1.5 for two, 2 for three or more), so "radiation portal monitor" outweighs
//!   "monitor".
//! - `tf` saturates (k1 = 1.2): the tenth "customs" adds little; `len` is the passage's
//!   number of content words, so a long passage needs more evidence (b = 0.5).
//!
//! Confidence is the score squashed into [0, 1): `1 − exp(−score / 2)`; one strong
//! two-word phrase of a specific entry gives about 0.75, a single weak word about 0.2.

use clearinghouse_domain::{Area, SubArea};

use crate::analyze::{Document, Hit};
use crate::lexicon::{Lexicon, Target};

const K1: f32 = 1.2;
const B: f32 = 0.5;
/// Typical number of content words in a passage of a request (one numbered item).
const AVG_LEN: f32 = 25.0;
/// Scale of the confidence squash.
const TAU: f32 = 2.0;

/// Position of a sub-area in [`SubArea::ALL`].
pub(crate) fn sub_index(s: SubArea) -> usize {
    SubArea::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// Position of an area in [`Area::ALL`].
pub(crate) fn area_index(a: Area) -> usize {
    Area::ALL.iter().position(|x| *x == a).unwrap_or(0)
}

/// BM25 scores of every taxonomy entry for one passage, with the hits behind them.
#[derive(Debug, Clone)]
pub(crate) struct TaxonomyScores {
    /// By position in [`SubArea::ALL`].
    pub sub: Vec<f32>,
    /// Generic area phrases, by position in [`Area::ALL`].
    pub area_terms: Vec<f32>,
    /// Hits (indices into `Document::hits`) behind each sub-area.
    pub sub_hits: Vec<Vec<usize>>,
    /// Hits behind each area's generic phrases.
    pub area_hits: Vec<Vec<usize>>,
    /// Whether a strong term of each sub-area is among the hits.
    pub sub_strong: Vec<bool>,
    /// Whether a strong term of each area (its generic phrases or any of its sub-areas)
    /// is among the hits.
    pub area_strong: Vec<bool>,
}

impl TaxonomyScores {
    /// Evidence for `area` as a whole: its generic phrases plus all its sub-areas.
    pub fn area_total(&self, area: Area) -> f32 {
        self.area_terms[area_index(area)]
            + area
                .sub_areas()
                .map(|s| self.sub[sub_index(s)])
                .sum::<f32>()
    }

    /// The area with the most evidence among those with a strong term, and its score
    /// (first in taxonomy order on a tie); `None` when no strong term is there: weak
    /// terms support an area but never decide one alone.
    pub fn best_area(&self) -> Option<(Area, f32)> {
        let mut best: Option<(Area, f32)> = None;
        for &a in Area::ALL {
            if !self.area_strong[area_index(a)] {
                continue;
            }
            let s = self.area_total(a);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((a, s));
            }
        }
        best
    }
}

/// Squashes a score into a confidence in [0, 1).
pub(crate) fn confidence(score: f32) -> f32 {
    1.0 - (-score / TAU).exp()
}

/// Scores the taxonomy entries for the passage made of `hits` (indices into the
/// document's hits that count) over `content_len` content words.
pub(crate) fn score(
    doc: &Document<'_>,
    lex: &Lexicon,
    hits: &[usize],
    content_len: usize,
) -> TaxonomyScores {
    let mut out = TaxonomyScores {
        sub: vec![0.0; SubArea::ALL.len()],
        area_terms: vec![0.0; Area::ALL.len()],
        sub_hits: vec![Vec::new(); SubArea::ALL.len()],
        area_hits: vec![Vec::new(); Area::ALL.len()],
        sub_strong: vec![false; SubArea::ALL.len()],
        area_strong: vec![false; Area::ALL.len()],
    };
    // Term frequencies per (term) within the passage.
    let mut tf: Vec<(u32, u32)> = Vec::new();
    for &h in hits {
        let hit: &Hit = &doc.hits[h];
        let term = &lex.terms[hit.term as usize];
        match term.target {
            Target::SubArea(s) => {
                out.sub_hits[sub_index(s)].push(h);
                out.sub_strong[sub_index(s)] |= term.strong;
                out.area_strong[area_index(s.area())] |= term.strong;
            }
            Target::Area(a) => {
                out.area_hits[area_index(a)].push(h);
                out.area_strong[area_index(a)] |= term.strong;
            }
            _ => continue,
        }
        match tf.iter_mut().find(|(t, _)| *t == hit.term) {
            Some((_, n)) => *n += 1,
            None => tf.push((hit.term, 1)),
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let norm = K1 * (1.0 - B + B * (content_len.max(1) as f32) / AVG_LEN);
    for (id, n) in tf {
        let term = &lex.terms[id as usize];
        #[allow(clippy::cast_precision_loss)]
        let n = n as f32;
        let s = term.idf * term.weight * n * (K1 + 1.0) / (n + norm);
        match term.target {
            Target::SubArea(sub) => out.sub[sub_index(sub)] += s,
            Target::Area(a) => out.area_terms[area_index(a)] += s,
            _ => {}
        }
    }
    out
}
