//! Evidence: the words of the input that justify a suggestion, with their position.
//!
//! Positions are offsets in Unicode scalar values (Rust `char`s) of the input text,
//! `start` inclusive and `end` exclusive, so `text.chars().skip(start).take(end - start)`
//! gives back `phrase`. (Not bytes, not UTF-16 code units: a browser must convert.)

/// Words of the input that justify a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// The words as written in the input.
    pub phrase: String,
    /// First character, inclusive (Unicode scalar values from the start of the input).
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
}

/// A passage of the input a suggestion was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// First character, inclusive (Unicode scalar values).
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
    /// The passage as written.
    pub text: String,
}

/// A code with the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded<T> {
    /// The code.
    pub code: T,
    /// Where the text says it, in text order.
    pub evidence: Vec<Evidence>,
}
