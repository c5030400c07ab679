//! Tokenization with character offsets. A token is a run of letters and digits; every
//! other character separates tokens, and the separators that matter for reading
//! (sentence and clause punctuation, line breaks) are kept as their own tokens.
//!
//! Offsets are in Unicode scalar values (`char`s) of the input, end exclusive, the unit
//! of [`crate::Evidence`].

use crate::fold::fold_char_into;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters, possibly with digits ("bsl3", "covid19").
    Word,
    /// Digits only.
    Number,
    /// A punctuation mark that ends a clause or a sentence (`, ; : . ! ? ( )`), or a dash
    /// standing between spaces.
    Punct(char),
    /// One or more line breaks; `blank` when they leave an empty line (a paragraph end).
    Break {
        /// The break leaves at least one empty line.
        blank: bool,
    },
}

/// One token of the input.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// Folded text (lower case, no accents) for words and numbers; the mark for
    /// punctuation; empty for breaks.
    pub folded: String,
    /// First character, inclusive.
    pub start: u32,
    /// Last character, exclusive.
    pub end: u32,
    /// What it is.
    pub kind: TokenKind,
}

impl Token {
    /// Whether the token is a word or a number.
    pub fn is_term(&self) -> bool {
        matches!(self.kind, TokenKind::Word | TokenKind::Number)
    }

    /// Whether the token ends a clause (punctuation or a break).
    pub fn ends_clause(&self) -> bool {
        matches!(self.kind, TokenKind::Punct(_) | TokenKind::Break { .. })
    }
}

fn is_clause_punct(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '.' | '!' | '?' | '(' | ')' | '[' | ']' | '–' | '—' | '…' | '¿' | '¡'
    )
}

/// Splits `text` into tokens.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::with_capacity(text.len() / 5);
    let mut word = String::new();
    let mut word_start = 0u32;
    let mut word_has_alpha = false;
    let mut newlines = 0u32;
    let mut break_start = 0u32;
    let mut pos = 0u32;
    let flush_word =
        |tokens: &mut Vec<Token>, word: &mut String, start: u32, end: u32, alpha: bool| {
            if !word.is_empty() {
                tokens.push(Token {
                    folded: std::mem::take(word),
                    start,
                    end,
                    kind: if alpha {
                        TokenKind::Word
                    } else {
                        TokenKind::Number
                    },
                });
            }
        };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if newlines > 0 {
                tokens.push(Token {
                    folded: String::new(),
                    start: break_start,
                    end: pos,
                    kind: TokenKind::Break {
                        blank: newlines > 1,
                    },
                });
                newlines = 0;
            }
            if word.is_empty() {
                word_start = pos;
                word_has_alpha = false;
            }
            word_has_alpha |= c.is_alphabetic();
            fold_char_into(c, &mut word);
        } else {
            flush_word(&mut tokens, &mut word, word_start, pos, word_has_alpha);
            if c == '\n' {
                if newlines == 0 {
                    break_start = pos;
                }
                newlines += 1;
            } else if is_clause_punct(c) {
                if newlines > 0 {
                    tokens.push(Token {
                        folded: String::new(),
                        start: break_start,
                        end: pos,
                        kind: TokenKind::Break {
                            blank: newlines > 1,
                        },
                    });
                    newlines = 0;
                }
                tokens.push(Token {
                    folded: c.to_string(),
                    start: pos,
                    end: pos + 1,
                    kind: TokenKind::Punct(c),
                });
            }
        }
        pos += 1;
    }
    flush_word(&mut tokens, &mut word, word_start, pos, word_has_alpha);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_char_offsets_across_accents_and_elisions() {
        let text = "L'autorité—contrôle, n°3\n\nBSL-3";
        let toks = tokenize(text);
        let chars: Vec<char> = text.chars().collect();
        for t in toks.iter().filter(|t| t.is_term()) {
            let original: String = chars[t.start as usize..t.end as usize].iter().collect();
            assert_eq!(crate::fold::fold(&original), t.folded);
        }
        let words: Vec<&str> = toks
            .iter()
            .filter(|t| t.is_term())
            .map(|t| t.folded.as_str())
            .collect();
        assert_eq!(words, ["l", "autorite", "controle", "n", "3", "bsl", "3"]);
        assert!(
            toks.iter()
                .any(|t| t.kind == TokenKind::Break { blank: true })
        );
    }
}
