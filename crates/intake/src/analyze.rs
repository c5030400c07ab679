//! One text read once: tokens, language, stems, negation and every lexicon hit. The
//! splitting, scoring and extraction steps all work on this [`Document`].

use std::collections::HashMap;

use crate::evidence::Evidence;
use crate::language::{self, Language};
use crate::lexicon::Lexicon;
use crate::negation::negated_tokens;
use crate::token::{Token, tokenize};

/// Most stopwords allowed between two words of a phrase.
const MAX_PHRASE_GAP: usize = 3;

/// A term of the lexicon found in the text.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Index of the term in the lexicon.
    pub term: u32,
    /// First token, inclusive.
    pub first: usize,
    /// Last token, inclusive.
    pub last: usize,
    /// First character, inclusive.
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
    /// A negation cue covers it: it is no evidence.
    pub negated: bool,
    /// A longer hit of the same family covers it: the longer one counts instead.
    pub hidden: bool,
}

impl Hit {
    /// Whether the hit counts as evidence.
    pub fn counts(&self) -> bool {
        !self.negated && !self.hidden
    }
}

/// A text read once.
#[derive(Debug)]
pub(crate) struct Document<'t> {
    /// The input.
    pub text: &'t str,
    /// Byte offset of each character, plus the text's length at the end.
    byte_at: Vec<usize>,
    /// Tokens.
    pub tokens: Vec<Token>,
    /// Detected language.
    pub language: Language,
    /// Stem of each token that is a content word (not a stopword).
    pub stems: Vec<Option<String>>,
    /// Whether each token lies in a negation scope.
    pub negated: Vec<bool>,
    /// Every lexicon hit, in text order.
    pub hits: Vec<Hit>,
}

impl<'t> Document<'t> {
    /// Reads `text` with the lexicon of its language.
    pub fn read(text: &'t str, lexicons: &[Lexicon; 3]) -> Document<'t> {
        let tokens = tokenize(text);
        let language = language::detect(
            tokens
                .iter()
                .filter(|t| t.is_term())
                .map(|t| t.folded.as_str()),
            lexicons,
        );
        let lex = &lexicons[language.index()];
        let mut cache: HashMap<&str, String> = HashMap::new();
        let stems: Vec<Option<String>> = tokens
            .iter()
            .map(|t| {
                (t.is_term() && !lex.stopwords.contains(&t.folded)).then(|| {
                    cache
                        .entry(t.folded.as_str())
                        .or_insert_with(|| lex.stem(&t.folded))
                        .clone()
                })
            })
            .collect();
        let negated = negated_tokens(&tokens, &lex.negation);
        let mut byte_at: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        byte_at.push(text.len());
        let mut doc = Document {
            text,
            byte_at,
            tokens,
            language,
            stems,
            negated,
            hits: Vec::new(),
        };
        doc.hits = find_hits(&doc, lex);
        doc
    }

    /// The text between two character offsets.
    pub fn slice(&self, start: u32, end: u32) -> &'t str {
        let b = |c: u32| {
            self.byte_at
                .get(c as usize)
                .copied()
                .unwrap_or(self.text.len())
        };
        self.text.get(b(start)..b(end)).unwrap_or("")
    }

    /// Evidence for the characters `start..end`.
    pub fn evidence(&self, start: u32, end: u32) -> Evidence {
        Evidence {
            phrase: self.slice(start, end).to_owned(),
            start,
            end,
        }
    }

    /// Index of the first token starting at or after character `c`.
    pub fn token_at(&self, c: u32) -> usize {
        self.tokens.partition_point(|t| t.start < c)
    }
}

/// Every occurrence of every term, longest first at each position, with negation and
/// hiding applied.
fn find_hits(doc: &Document<'_>, lex: &Lexicon) -> Vec<Hit> {
    let content: Vec<usize> = (0..doc.tokens.len())
        .filter(|&i| doc.stems[i].is_some())
        .collect();
    let mut hits = Vec::new();
    for (ci, &ti) in content.iter().enumerate() {
        let Some(stem) = doc.stems[ti].as_deref() else {
            continue;
        };
        let Some(ids) = lex.by_first.get(stem) else {
            continue;
        };
        for &id in ids {
            let term = &lex.terms[id as usize];
            if let Some(last) = match_rest(doc, &content, ci, &term.stems) {
                hits.push(Hit {
                    term: id,
                    first: ti,
                    last,
                    start: doc.tokens[ti].start,
                    end: doc.tokens[last].end,
                    negated: doc.negated[ti],
                    hidden: false,
                });
            }
        }
    }
    hide_contained(&mut hits, lex);
    hits
}

/// If the term's stems continue from content position `ci`, the last token matched.
fn match_rest(doc: &Document<'_>, content: &[usize], ci: usize, stems: &[String]) -> Option<usize> {
    let mut prev = content[ci];
    for (k, want) in stems.iter().enumerate().skip(1) {
        let ti = *content.get(ci + k)?;
        if doc.stems[ti].as_deref() != Some(want.as_str()) {
            return None;
        }
        if ti - prev > MAX_PHRASE_GAP + 1 || doc.tokens[prev + 1..ti].iter().any(Token::ends_clause)
        {
            return None;
        }
        prev = ti;
    }
    Some(prev)
}

/// Hides every hit that a strictly longer hit of the same family covers.
fn hide_contained(hits: &mut [Hit], lex: &Lexicon) {
    let family = |h: &Hit| lex.terms[h.term as usize].target.family();
    for i in 0..hits.len() {
        let (fi, li, fam) = (hits[i].first, hits[i].last, family(&hits[i]));
        let covered = hits.iter().any(|o| {
            family(o) == fam && o.first <= fi && o.last >= li && (o.last - o.first) > (li - fi)
        });
        hits[i].hidden = covered;
    }
}
