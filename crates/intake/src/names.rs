//! Matching multi-word names (countries, regions, languages) on the folded words of a
//! text: longest name first at each position, left to right, never overlapping.

use std::collections::HashMap;

use crate::analyze::Document;
use crate::token::TokenKind;

/// A name table: folded word sequences to a value.
#[derive(Debug, Clone)]
pub(crate) struct NameTable<V> {
    by_first: HashMap<String, Vec<(Vec<String>, V)>>,
}

/// A name found in the text.
#[derive(Debug, Clone)]
pub(crate) struct Found<V> {
    /// The value of the name.
    pub value: V,
    /// First token.
    pub first: usize,
    /// Last token, inclusive.
    pub last: usize,
    /// First character.
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
}

impl<V: Clone> NameTable<V> {
    /// An empty table.
    pub fn new() -> Self {
        NameTable {
            by_first: HashMap::new(),
        }
    }

    /// Adds a name given as words (already folded or stemmed as the lookup will be).
    pub fn insert(&mut self, words: Vec<String>, value: V) {
        let Some(first) = words.first().cloned() else {
            return;
        };
        let list = self.by_first.entry(first).or_default();
        if list.iter().any(|(w, _)| *w == words) {
            return;
        }
        list.push((words, value));
        list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    }

    /// Every name found in `doc`, comparing `key(token)` with the table's words. Between
    /// two words of a name only brackets and commas may stand.
    pub fn find(&self, doc: &Document<'_>, key: impl Fn(usize) -> Option<String>) -> Vec<Found<V>> {
        let n = doc.tokens.len();
        let keys: Vec<Option<String>> = (0..n).map(&key).collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            let Some(k) = keys[i].as_deref() else {
                i += 1;
                continue;
            };
            let Some(cands) = self.by_first.get(k) else {
                i += 1;
                continue;
            };
            let mut matched = None;
            for (words, value) in cands {
                if let Some(last) = follow(doc, &keys, i, words) {
                    matched = Some((last, value.clone()));
                    break;
                }
            }
            match matched {
                Some((last, value)) => {
                    out.push(Found {
                        value,
                        first: i,
                        last,
                        start: doc.tokens[i].start,
                        end: doc.tokens[last].end,
                    });
                    i = last + 1;
                }
                None => i += 1,
            }
        }
        out
    }
}

fn follow(
    doc: &Document<'_>,
    keys: &[Option<String>],
    from: usize,
    words: &[String],
) -> Option<usize> {
    let mut at = from;
    for w in &words[1..] {
        let mut j = at + 1;
        while doc
            .tokens
            .get(j)
            .is_some_and(|t| matches!(t.kind, TokenKind::Punct('(' | ')' | ',')))
        {
            j += 1;
        }
        if keys.get(j)?.as_deref() != Some(w.as_str()) {
            return None;
        }
        at = j;
    }
    Some(at)
}

/// Folded words of a name as written in a data file.
pub(crate) fn folded_words(name: &str) -> Vec<String> {
    crate::token::tokenize(name)
        .into_iter()
        .filter(|t| t.is_term())
        .map(|t| t.folded)
        .collect()
}
