//! The intake reader: turns the text of a 1540 assistance request (a note verbale, a
//! filled request template, an e-mail; English, French or Spanish) into draft needs
//! classified with the project's taxonomy codes, and a programme description into an
//! offer's scope — each code with the words of the text that justify it.
//!
//! Pure and deterministic: no I/O, no clock, no network, no model. The lexicons
//! (`lexicon/*.toml`) and country names (`data/*.tsv`) are embedded at build time and
//! compiled once into a [`Reader`]; the same text gives the same answer on every machine.
//!
//! Entry points: [`suggest_needs`] and [`suggest_offer_scope`] (through a shared
//! [`Reader`] built on first use), or a [`Reader`] of your own for extended lexicons.
//! Evidence offsets are in Unicode scalar values (`char`s) of the input, end exclusive
//! (see [`Evidence`]).
//!
//! How it reads: `token` (folding, offsets) → `language` → `analyze` (stems, `negation`,
//! lexicon hits) → `split` (items and sentences) → `score` (BM25 per passage) → `needs` /
//! `offer` (grouping, `codes`, `countries`, `money`, `dates`, `languages`, `geo`,
//! `title`).

mod analyze;
mod codes;
mod countries;
mod dates;
mod error;
mod evidence;
mod fold;
mod geo;
mod language;
mod languages;
mod lexicon;
mod money;
mod names;
mod needs;
mod negation;
mod offer;
mod score;
mod split;
mod suggestion;
mod title;
mod token;

use std::sync::LazyLock;

pub use error::{IntakeError, LexiconError, MAX_TEXT_BYTES};
pub use evidence::{Coded, Evidence, Excerpt};
pub use language::Language;
pub use lexicon::EMBEDDED as EMBEDDED_LEXICONS;
pub use suggestion::{
    AreaSuggestion, DateSuggestion, GeoScopeSuggestion, LanguageSuggestion, MoneySuggestion,
    NeedSuggestion, NeedSuggestions, OfferScopeSuggestion, StateSuggestion, SubAreaSuggestion,
};
pub use title::MAX_TITLE_CHARS;

use lexicon::Lexicon;

/// The compiled lexicons and name tables. Build it once ([`Reader::new`] takes a few
/// milliseconds) and share it: reading does not change it.
#[derive(Debug)]
pub struct Reader {
    lexicons: [Lexicon; 3],
    countries: countries::Countries,
    places: geo::Places,
}

impl Reader {
    /// A reader with the lexicons shipped in `lexicon/`.
    pub fn new() -> Result<Reader, LexiconError> {
        Reader::from_sources(EMBEDDED_LEXICONS)
    }

    /// A reader with the given lexicon files (English, French, Spanish TOML, in the format
    /// of `lexicon/en.toml`), e.g. to try a broker's additions before committing them.
    pub fn from_sources(sources: [&str; 3]) -> Result<Reader, LexiconError> {
        let lexicons = lexicon::compile_all(sources)?;
        let countries = countries::Countries::new(&lexicons);
        Ok(Reader {
            lexicons,
            countries,
            places: geo::Places::new(),
        })
    }

    /// Reads a request into draft needs, one per thematic area it raises.
    pub fn suggest_needs(&self, text: &str) -> Result<NeedSuggestions, IntakeError> {
        error::check_text(text)?;
        Ok(needs::suggest(self, text))
    }

    /// Reads a programme description into an offer's scope.
    pub fn suggest_offer_scope(&self, text: &str) -> Result<OfferScopeSuggestion, IntakeError> {
        error::check_text(text)?;
        Ok(offer::suggest(self, text))
    }

    /// The language a text would be read in.
    pub fn detect_language(&self, text: &str) -> Language {
        let tokens = token::tokenize(text);
        language::detect(
            tokens
                .iter()
                .filter(|t| t.is_term())
                .map(|t| t.folded.as_str()),
            &self.lexicons,
        )
    }
}

static SHARED: LazyLock<Result<Reader, LexiconError>> = LazyLock::new(Reader::new);

/// The shared reader with the shipped lexicons, built on first use.
pub fn reader() -> Result<&'static Reader, IntakeError> {
    SHARED.as_ref().map_err(|e| IntakeError::Lexicon(e.clone()))
}

/// Reads a request (at most [`MAX_TEXT_BYTES`]) into draft needs, one per thematic area.
pub fn suggest_needs(text: &str) -> Result<NeedSuggestions, IntakeError> {
    reader()?.suggest_needs(text)
}

/// Reads a programme description (at most [`MAX_TEXT_BYTES`]) into an offer's scope.
pub fn suggest_offer_scope(text: &str) -> Result<OfferScopeSuggestion, IntakeError> {
    reader()?.suggest_offer_scope(text)
}
