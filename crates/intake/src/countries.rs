//! States named in a text, and which of them is the requesting State.
//!
//! Names come from `data/country_names.tsv` (English, French and Spanish names of the UN
//! member and observer States, generated once from pycountry) and
//! `data/country_aliases.tsv` (hand-written short and UN-style names); demonyms
//! ("Kenyan", "béninoise", "guatemaltecas") from `data/country_demonyms.tsv`, matched on
//! stems so gender and number do not matter.

use crate::analyze::Document;
use crate::evidence::Evidence;
use crate::language::Language;
use crate::lexicon::Lexicon;
use crate::names::{Found, NameTable, folded_words};

const NAMES: &str = include_str!("../data/country_names.tsv");
const ALIASES: &str = include_str!("../data/country_aliases.tsv");
const DEMONYMS: &str = include_str!("../data/country_demonyms.tsv");

/// Words just before a State's name that make it the requester ("Permanent Mission of",
/// "Gouvernement du", "Estado solicitante:").
const REQUESTER_CUES: &[&[&str]] = &[
    &["mission"],
    &["mision"],
    &["government"],
    &["gouvernement"],
    &["gobierno"],
    &["requesting", "state"],
    &["requesting", "country"],
    &["etat", "demandeur"],
    &["pays", "demandeur"],
    &["estado", "solicitante"],
    &["pais", "solicitante"],
    &["embassy"],
    &["ambassade"],
    &["embajada"],
];

/// Verbs right after a State's name that make it the requester ("Jamaica requests").
const REQUEST_VERBS: &[&str] = &[
    "requests",
    "request",
    "seeks",
    "seek",
    "wishes",
    "would",
    "asks",
    "needs",
    "intends",
    "sollicite",
    "souhaite",
    "souhaiterait",
    "demande",
    "requiert",
    "solicita",
    "desea",
    "requiere",
    "pide",
    "necesita",
    "quisiera",
];

/// Nouns next to a demonym that make it the requester ("Kenyan Government",
/// "Agence béninoise", "autoridades guatemaltecas").
const AUTHORITY_NOUNS: &[&str] = &[
    "government",
    "authorities",
    "authority",
    "ministry",
    "agency",
    "mission",
    "delegation",
    "customs",
    "police",
    "institute",
    "council",
    "commission",
    "gouvernement",
    "autorites",
    "autorite",
    "ministere",
    "agence",
    "delegation",
    "douanes",
    "douane",
    "institut",
    "conseil",
    "direction",
    "gobierno",
    "autoridades",
    "autoridad",
    "ministerio",
    "agencia",
    "mision",
    "delegacion",
    "aduana",
    "aduanas",
    "policia",
    "instituto",
    "consejo",
    "comision",
    "unidad",
];

/// Name tables built once.
#[derive(Debug)]
pub(crate) struct Countries {
    names: NameTable<&'static str>,
    /// Demonym stems, one table per language.
    demonyms: Vec<NameTable<&'static str>>,
}

/// A State named in a text.
#[derive(Debug, Clone)]
pub(crate) struct Mention {
    /// ISO3 code.
    pub iso3: &'static str,
    /// Where.
    pub found: Found<&'static str>,
    /// Named by a demonym rather than its name.
    pub demonym: bool,
}

impl Countries {
    /// Builds the tables; demonyms are stemmed with each language's stemmer.
    pub fn new(lexicons: &[Lexicon; 3]) -> Countries {
        let mut names = NameTable::new();
        for line in NAMES.lines().chain(ALIASES.lines()) {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let (iso3, name) = match cols.as_slice() {
                [iso3, _, name] | [iso3, name] => (*iso3, *name),
                _ => continue,
            };
            names.insert(folded_words(name), iso3);
        }
        let mut demonyms = vec![NameTable::new(), NameTable::new(), NameTable::new()];
        for line in DEMONYMS.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let Some((iso3, forms)) = cols.split_first() else {
                continue;
            };
            for (lang, cell) in Language::ALL.iter().zip(forms) {
                let lex = &lexicons[lang.index()];
                for form in cell.split('|') {
                    let stems: Vec<String> =
                        folded_words(form).iter().map(|w| lex.stem(w)).collect();
                    demonyms[lang.index()].insert(stems, *iso3);
                }
            }
        }
        Countries { names, demonyms }
    }

    /// Every State named in the text (names and demonyms), in text order.
    pub fn mentions(&self, doc: &Document<'_>, lex: &Lexicon) -> Vec<Mention> {
        let mut out: Vec<Mention> = self
            .names
            .find(doc, |i| {
                doc.tokens[i]
                    .is_term()
                    .then(|| doc.tokens[i].folded.clone())
            })
            .into_iter()
            .map(|found| Mention {
                iso3: found.value,
                found,
                demonym: false,
            })
            .collect();
        let table = &self.demonyms[lex.language.index()];
        for found in table.find(doc, |i| {
            doc.tokens[i]
                .is_term()
                .then(|| lex.stem(&doc.tokens[i].folded))
        }) {
            let overlaps = out
                .iter()
                .any(|m| !m.demonym && m.found.first <= found.last && found.first <= m.found.last);
            if !overlaps {
                out.push(Mention {
                    iso3: found.value,
                    found,
                    demonym: true,
                });
            }
        }
        out.sort_by_key(|m| m.found.start);
        out
    }

    /// The requesting State: a name after "Permanent Mission of", "Government of",
    /// "Requesting State:" (or their French and Spanish forms) first; then a name followed
    /// by a request verb or a possessive; then a demonym next to an authority ("Kenyan
    /// Government"); then the first State named.
    pub fn requester(
        doc: &Document<'_>,
        mentions: &[Mention],
    ) -> Option<(&'static str, Vec<Evidence>)> {
        let mut best: Option<(u8, usize)> = None;
        for (i, m) in mentions.iter().enumerate() {
            let rank = rank(doc, m);
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, i));
            }
        }
        let (_, i) = best?;
        let iso3 = mentions[i].iso3;
        let mut evidence: Vec<Evidence> = Vec::new();
        let chosen = &mentions[i];
        evidence.push(doc.evidence(chosen.found.start, chosen.found.end));
        for m in mentions.iter().filter(|m| m.iso3 == iso3) {
            let ev = doc.evidence(m.found.start, m.found.end);
            if !evidence.contains(&ev) && evidence.len() < 3 {
                evidence.push(ev);
            }
        }
        Some((iso3, evidence))
    }
}

/// How strongly a mention marks the requester (higher is stronger).
fn rank(doc: &Document<'_>, m: &Mention) -> u8 {
    let before = words_before(doc, m.found.first, 6);
    let after = words_after(doc, m.found.last, 3);
    if m.demonym {
        let near = before.iter().rev().take(2).chain(after.iter().take(3));
        let authority = near
            .into_iter()
            .any(|w| AUTHORITY_NOUNS.contains(&w.as_str()));
        return if authority { 2 } else { 0 };
    }
    let cue = REQUESTER_CUES.iter().any(|cue| {
        before
            .windows(cue.len())
            .any(|w| w.iter().zip(cue.iter()).all(|(a, b)| a == b))
    });
    if cue {
        return 4;
    }
    let verb = after
        .first()
        .is_some_and(|w| REQUEST_VERBS.contains(&w.as_str()) || w == "s");
    if verb {
        return 3;
    }
    1
}

/// Up to `n` folded words before token `first`, within the sentence, in text order.
fn words_before(doc: &Document<'_>, first: usize, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut j = first;
    while j > 0 && out.len() < n {
        j -= 1;
        let t = &doc.tokens[j];
        if t.is_term() {
            out.push(t.folded.clone());
        } else if !matches!(
            t.kind,
            crate::token::TokenKind::Punct(',' | ':' | '(' | ')')
        ) {
            break;
        }
    }
    out.reverse();
    out
}

/// Up to `n` folded words after token `last`, within the sentence.
fn words_after(doc: &Document<'_>, last: usize, n: usize) -> Vec<String> {
    doc.tokens[last + 1..]
        .iter()
        .take_while(|t| t.is_term())
        .take(n)
        .map(|t| t.folded.clone())
        .collect()
}
