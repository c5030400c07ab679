//! The three languages the reader knows, and how a text's language is told: by counting
//! the function words of each language's lexicon that occur in the text and no other
//! language's list (the words shared, like "de" or "a", decide nothing), plus the words
//! whose stem in that language starts one of its lexicon's terms (so a short line such as
//! "Equipos de detección de radiación" is read as Spanish).
//!
//! Why not a general detector: requests mix in codes, acronyms, numbers and proper names
//! that trigram models over 60+ languages misread on short texts (Spanish taken for
//! Portuguese or Galician, French for Catalan), and the reader has lexicons for three
//! languages only. Function words are frequent in every sentence of a request and
//! exclusive to one of the three, so a handful of them decides reliably; ties go to
//! English.

use crate::lexicon::Lexicon;

/// A language the reader has a lexicon for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English.
    English,
    /// French.
    French,
    /// Spanish.
    Spanish,
}

impl Language {
    /// Every language, in lexicon order.
    pub const ALL: [Language; 3] = [Language::English, Language::French, Language::Spanish];

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::French => "fr",
            Language::Spanish => "es",
        }
    }

    /// Looks a language up by its ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Position in [`Language::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Language::English => 0,
            Language::French => 1,
            Language::Spanish => 2,
        }
    }

    /// The Snowball algorithm for this language.
    pub(crate) fn stemmer_algorithm(self) -> rust_stemmers::Algorithm {
        match self {
            Language::English => rust_stemmers::Algorithm::English,
            Language::French => rust_stemmers::Algorithm::French,
            Language::Spanish => rust_stemmers::Algorithm::Spanish,
        }
    }
}

/// Picks the language with the highest count (an exclusive function word counts 2, a
/// word starting a lexicon term 1) among `words` (folded); English on a tie.
pub(crate) fn detect<'a>(
    words: impl Iterator<Item = &'a str>,
    lexicons: &[Lexicon; 3],
) -> Language {
    let mut counts = [0usize; 3];
    for w in words {
        let inside: [bool; 3] = std::array::from_fn(|i| lexicons[i].stopwords.contains(w));
        if inside.iter().filter(|b| **b).count() == 1
            && let Some(i) = inside.iter().position(|b| *b)
        {
            counts[i] += 2;
        }
        if !inside.iter().any(|b| *b) && w.chars().any(char::is_alphabetic) {
            for (i, lex) in lexicons.iter().enumerate() {
                if lex.by_first.contains_key(&lex.stem(w)) {
                    counts[i] += 1;
                }
            }
        }
    }
    let mut best = Language::English;
    for lang in Language::ALL {
        if counts[lang.index()] > counts[best.index()] {
            best = lang;
        }
    }
    best
}
