//! Errors of the intake reader.

use thiserror::Error;

/// Largest text accepted, in bytes of UTF-8 (64 KiB).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Why a text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntakeError {
    /// The text is empty or only whitespace.
    #[error("text is empty; paste the request or programme description")]
    Empty,
    /// The text is longer than [`MAX_TEXT_BYTES`].
    #[error("text is {bytes} bytes; the limit is {max} bytes (64 KiB)")]
    TooLong {
        /// Its size in bytes of UTF-8.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A lexicon file could not be compiled (a defect of the build, not of the text).
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
}

/// A lexicon file that does not parse or misses a code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("lexicon {language}: {problem}")]
pub struct LexiconError {
    /// ISO 639-1 code of the lexicon.
    pub language: &'static str,
    /// What is wrong, naming the entry.
    pub problem: String,
}

/// Checks the size limits of a text.
pub(crate) fn check_text(text: &str) -> Result<(), IntakeError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(IntakeError::TooLong {
            bytes: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    if text.trim().is_empty() {
        return Err(IntakeError::Empty);
    }
    Ok(())
}
