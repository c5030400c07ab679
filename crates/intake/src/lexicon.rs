//! The lexicon: per language, the terms that point to each taxonomy code, kind of help,
//! weapon domain and funding mode, plus the words that steer reading (stopwords,
//! negation cues, ordinal item markers). Loaded from the TOML files under `lexicon/`
//! (embedded at build time) and compiled once: every term is folded, tokenized, stripped
//! of stopwords and stemmed exactly like the text it will be matched against.

use std::collections::{BTreeMap, HashMap, HashSet};

use clearinghouse_domain::{Area, AssistanceKind, FundingMode, SubArea, WeaponDomain};
use rust_stemmers::Stemmer;
use serde::Deserialize;

use crate::error::LexiconError;
use crate::language::Language;
use crate::token::{TokenKind, tokenize};

/// The lexicon files shipped with the crate, in [`Language::ALL`] order.
pub const EMBEDDED: [&str; 3] = [
    include_str!("../lexicon/en.toml"),
    include_str!("../lexicon/fr.toml"),
    include_str!("../lexicon/es.toml"),
];

/// Weight of a strong term before the phrase factor.
const STRONG: f32 = 1.0;
/// Weight of a weak term before the phrase factor.
const WEAK: f32 = 0.35;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    language: String,
    stopwords: Vec<String>,
    negation: RawNegation,
    split: RawSplit,
    #[serde(default)]
    area: BTreeMap<String, RawEntry>,
    sub_area: BTreeMap<String, RawEntry>,
    weapon_domain: BTreeMap<String, RawEntry>,
    kind: BTreeMap<String, RawEntry>,
    funding_mode: BTreeMap<String, RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegation {
    forward: Vec<String>,
    backward: Vec<String>,
    #[serde(default)]
    exceptions: Vec<String>,
    #[serde(default)]
    clause_breaks: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    ordinals: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    strong: Vec<String>,
    #[serde(default)]
    weak: Vec<String>,
}

/// What a term points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Target {
    /// A thematic area as a whole (generic phrases such as "border control").
    Area(Area),
    /// A sub-area.
    SubArea(SubArea),
    /// A weapon domain.
    Domain(WeaponDomain),
    /// A kind of help.
    Kind(AssistanceKind),
    /// A funding mode.
    Funding(FundingMode),
}

impl Target {
    /// The family of targets a term competes in: a longer term hides the shorter terms it
    /// contains only within the same family.
    pub fn family(self) -> u8 {
        match self {
            Target::Area(_) | Target::SubArea(_) => 0,
            Target::Domain(_) => 1,
            Target::Kind(_) => 2,
            Target::Funding(_) => 3,
        }
    }
}

/// One compiled term.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// What it points to.
    pub target: Target,
    /// Stems of its content words, in order.
    pub stems: Vec<String>,
    /// Strength times the phrase factor.
    pub weight: f32,
    /// A strong term (specific to its code).
    pub strong: bool,
    /// Inverse document frequency over the taxonomy entries (1 for other families).
    pub idf: f32,
}

/// A token pattern of folded words; a word ending in `*` matches by prefix.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(pub Vec<(String, bool)>);

impl Pattern {
    fn parse(s: &str) -> Pattern {
        Pattern(
            s.split(|c: char| c.is_whitespace() || c == '\'' || c == '’' || c == '-')
                .filter(|w| !w.is_empty())
                .map(|w| match w.strip_suffix('*') {
                    Some(p) => (crate::fold::fold(p), true),
                    None => (crate::fold::fold(w), false),
                })
                .collect(),
        )
    }

    /// Whether the pattern matches the folded words starting at `words[0]`.
    pub fn matches(&self, words: &[&str]) -> bool {
        self.0.len() <= words.len()
            && self.0.iter().zip(words).all(|((p, prefix), w)| {
                if *prefix {
                    w.starts_with(p.as_str())
                } else {
                    w == p
                }
            })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Negation cues of one language.
#[derive(Debug, Clone)]
pub(crate) struct Negation {
    /// Negate what follows, to the end of the clause.
    pub forward: Vec<Pattern>,
    /// Negate what precedes, back to the start of the clause.
    pub backward: Vec<Pattern>,
    /// Never cues (e.g. "not only", "no later than", "has no").
    pub exceptions: Vec<Pattern>,
    /// Words that end a clause besides punctuation.
    pub clause_breaks: Vec<Pattern>,
}

/// One language's compiled lexicon.
pub(crate) struct Lexicon {
    /// Its language.
    pub language: Language,
    /// Folded function words.
    pub stopwords: HashSet<String>,
    /// Every term.
    pub terms: Vec<Term>,
    /// Term ids by their first stem, longest first.
    pub by_first: HashMap<String, Vec<u32>>,
    /// Negation cues.
    pub negation: Negation,
    /// Ordinal item markers ("firstly", "premièrement").
    pub ordinals: Vec<Pattern>,
    /// The stemmer.
    pub stemmer: Stemmer,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("language", &self.language)
            .field("terms", &self.terms.len())
            .finish_non_exhaustive()
    }
}

impl Lexicon {
    /// Parses and compiles one lexicon file, which must be for `expected`.
    pub fn compile(source: &str, expected: Language) -> Result<Lexicon, LexiconError> {
        let err = |problem: String| LexiconError {
            language: expected.code(),
            problem,
        };
        let raw: RawLexicon = toml::from_str(source).map_err(|e| err(e.to_string()))?;
        if raw.language != expected.code() {
            return Err(err(format!("file says language = \"{}\"", raw.language)));
        }
        let stemmer = Stemmer::create(expected.stemmer_algorithm());
        let stopwords: HashSet<String> =
            raw.stopwords.iter().map(|w| crate::fold::fold(w)).collect();
        let mut terms = Vec::new();
        let mut add =
            |target: Target, entry: &RawEntry, label: String| -> Result<(), LexiconError> {
                for (list, strength) in [(&entry.strong, STRONG), (&entry.weak, WEAK)] {
                    for text in list {
                        let stems = stem_words(text, &stopwords, &stemmer);
                        if stems.is_empty() {
                            return Err(err(format!(
                                "term \"{text}\" of {label} has no content word (only stopwords)"
                            )));
                        }
                        #[allow(clippy::cast_precision_loss)]
                        let phrase = (1.0 + 0.5 * (stems.len() as f32 - 1.0)).min(2.0);
                        terms.push(Term {
                            target,
                            stems,
                            weight: strength * phrase,
                            strong: strength >= STRONG,
                            idf: 1.0,
                        });
                    }
                }
                Ok(())
            };
        for (code, entry) in &raw.area {
            let area = Area::from_code(code).ok_or_else(|| err(format!("unknown area {code}")))?;
            add(Target::Area(area), entry, format!("area.{code}"))?;
        }
        for (code, entry) in &raw.sub_area {
            let sub =
                SubArea::from_code(code).ok_or_else(|| err(format!("unknown sub-area {code}")))?;
            add(Target::SubArea(sub), entry, format!("sub_area.{code}"))?;
        }
        for (code, entry) in &raw.weapon_domain {
            let d = WeaponDomain::from_code(code)
                .ok_or_else(|| err(format!("unknown weapon domain {code}")))?;
            add(Target::Domain(d), entry, format!("weapon_domain.{code}"))?;
        }
        for (code, entry) in &raw.kind {
            let k = AssistanceKind::from_code(code)
                .ok_or_else(|| err(format!("unknown kind of help {code}")))?;
            add(Target::Kind(k), entry, format!("kind.{code}"))?;
        }
        for (code, entry) in &raw.funding_mode {
            let m = FundingMode::from_code(code)
                .ok_or_else(|| err(format!("unknown funding mode {code}")))?;
            add(Target::Funding(m), entry, format!("funding_mode.{code}"))?;
        }
        let missing = missing_codes(&terms);
        if !missing.is_empty() {
            return Err(err(format!("no terms for {}", missing.join(", "))));
        }
        set_idf(&mut terms);
        let mut by_first: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, t) in terms.iter().enumerate() {
            let id = u32::try_from(i).map_err(|_| err("too many terms".to_owned()))?;
            by_first.entry(t.stems[0].clone()).or_default().push(id);
        }
        for ids in by_first.values_mut() {
            ids.sort_by_key(|&i| std::cmp::Reverse(terms[i as usize].stems.len()));
        }
        let patterns = |v: &[String]| v.iter().map(|s| Pattern::parse(s)).collect::<Vec<_>>();
        Ok(Lexicon {
            language: expected,
            negation: Negation {
                forward: patterns(&raw.negation.forward),
                backward: patterns(&raw.negation.backward),
                exceptions: patterns(&raw.negation.exceptions),
                clause_breaks: patterns(&raw.negation.clause_breaks),
            },
            ordinals: patterns(&raw.split.ordinals),
            stopwords,
            terms,
            by_first,
            stemmer,
        })
    }

    /// The stem of a folded word.
    pub fn stem(&self, folded: &str) -> String {
        self.stemmer.stem(folded).into_owned()
    }
}

/// Folds, tokenizes, drops stopwords and stems a term.
fn stem_words(text: &str, stopwords: &HashSet<String>, stemmer: &Stemmer) -> Vec<String> {
    tokenize(text)
        .into_iter()
        .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::Number))
        .filter(|t| !stopwords.contains(&t.folded))
        .map(|t| stemmer.stem(&t.folded).into_owned())
        .collect()
}

/// Codes of every closed list that have no term.
fn missing_codes(terms: &[Term]) -> Vec<String> {
    let has: HashSet<Target> = terms.iter().map(|t| t.target).collect();
    let mut missing = Vec::new();
    let all = SubArea::ALL
        .iter()
        .map(|s| Target::SubArea(*s))
        .chain(WeaponDomain::ALL.iter().map(|d| Target::Domain(*d)))
        .chain(AssistanceKind::ALL.iter().map(|k| Target::Kind(*k)))
        .chain(FundingMode::ALL.iter().map(|m| Target::Funding(*m)));
    for target in all {
        if !has.contains(&target) {
            missing.push(format!("{target:?}"));
        }
    }
    missing
}

/// Inverse document frequency of each taxonomy term, the "documents" being the taxonomy
/// entries (areas and sub-areas): a term that also occurs inside the terms of many other
/// entries ("control", "security") says little about any of them.
fn set_idf(terms: &mut [Term]) {
    let taxonomy: Vec<usize> = (0..terms.len())
        .filter(|&i| terms[i].target.family() == 0)
        .collect();
    let entries: HashSet<Target> = taxonomy.iter().map(|&i| terms[i].target).collect();
    #[allow(clippy::cast_precision_loss)]
    let n = entries.len() as f32;
    let mut idfs = Vec::with_capacity(taxonomy.len());
    for &i in &taxonomy {
        let needle = &terms[i].stems;
        let containing: HashSet<Target> = taxonomy
            .iter()
            .filter(|&&j| contains_run(&terms[j].stems, needle))
            .map(|&j| terms[j].target)
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let df = containing.len() as f32;
        idfs.push((1.0 + (n - df + 0.5) / (df + 0.5)).ln());
    }
    for (&i, idf) in taxonomy.iter().zip(idfs) {
        terms[i].idf = idf;
    }
}

/// Whether `needle` occurs as a contiguous run in `hay`.
fn contains_run(hay: &[String], needle: &[String]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every lexicon compiled, or the first problem found.
pub(crate) fn compile_all(sources: [&str; 3]) -> Result<[Lexicon; 3], LexiconError> {
    let [en, fr, es] = sources;
    Ok([
        Lexicon::compile(en, Language::English)?,
        Lexicon::compile(fr, Language::French)?,
        Lexicon::compile(es, Language::Spanish)?,
    ])
}
