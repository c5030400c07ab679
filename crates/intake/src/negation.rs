//! Negation scopes: which tokens a negation cue takes out of the evidence.
//!
//! A *forward* cue ("no", "other than", "excluding", "aucun", "ningún", "no se solicita")
//! negates the words after it up to the end of its clause; a *backward* cue ("is not
//! requested", "n'est pas demandé", "no se solicitan") negates the words of its clause
//! before it. A clause ends at punctuation, a line break, a contrast word ("but", "mais",
//! "pero") or after [`MAX_SCOPE`] words. Exceptions ("not only", "no later than", "has
//! no", "ne dispose pas") are never cues: saying a State *lacks* something is how a need
//! is stated, not a refusal of it.

use crate::lexicon::{Negation, Pattern};
use crate::token::{Token, TokenKind};

/// Most words a cue reaches.
const MAX_SCOPE: usize = 8;

/// For every token, whether a negation cue covers it.
pub(crate) fn negated_tokens(tokens: &[Token], neg: &Negation) -> Vec<bool> {
    let words: Vec<&str> = tokens
        .iter()
        .map(|t| if t.is_term() { t.folded.as_str() } else { "" })
        .collect();
    let mut excepted = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        if let Some(len) = longest(&neg.exceptions, &words[i..]) {
            excepted[i..i + len].iter_mut().for_each(|e| *e = true);
        }
    }
    let mut negated = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        if excepted[i] || !tokens[i].is_term() {
            continue;
        }
        if let Some(len) = longest(&neg.forward, &words[i..]) {
            let no_number_after = !matches!(
                tokens.get(i + len).map(|t| t.kind),
                Some(TokenKind::Number | TokenKind::Punct('.'))
            );
            if no_number_after {
                mark_forward(tokens, &words, neg, i + len, &mut negated);
            }
        }
        if longest(&neg.backward, &words[i..]).is_some() {
            mark_backward(tokens, &words, neg, i, &mut negated);
        }
    }
    negated
}

/// Length of the longest pattern of `patterns` matching at the start of `words`.
fn longest(patterns: &[Pattern], words: &[&str]) -> Option<usize> {
    patterns
        .iter()
        .filter(|p| p.matches(words))
        .map(Pattern::len)
        .max()
}

fn mark_forward(
    tokens: &[Token],
    words: &[&str],
    neg: &Negation,
    from: usize,
    negated: &mut [bool],
) {
    let mut seen = 0;
    for j in from..tokens.len() {
        if tokens[j].ends_clause() || longest(&neg.clause_breaks, &words[j..]).is_some() {
            break;
        }
        negated[j] = true;
        seen += 1;
        if seen >= MAX_SCOPE {
            break;
        }
    }
}

fn mark_backward(
    tokens: &[Token],
    words: &[&str],
    neg: &Negation,
    cue: usize,
    negated: &mut [bool],
) {
    let mut seen = 0;
    for j in (0..cue).rev() {
        if tokens[j].ends_clause() || longest(&neg.clause_breaks, &words[j..]).is_some() {
            break;
        }
        negated[j] = true;
        seen += 1;
        if seen >= MAX_SCOPE {
            break;
        }
    }
}
