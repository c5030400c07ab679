//! Splitting a text into the passages a need is read from.
//!
//! A request lists its needs as numbered items ("1.", "2)", "(a)", "ii.", bullets,
//! "Part 2", "Section B") or with ordinal words at the start of a sentence ("Firstly,",
//! "Deuxièmement,", "En primer lugar,"). When a text has at least two such markers, each
//! marker opens an *item* that runs to the next marker or the end of its paragraph; every
//! other sentence of the text is a *sentence* unit (preamble, closing, prose). A text
//! with fewer than two markers is read sentence by sentence. Sentences end at `.`, `!`,
//! `?` or `;` before a space, and at line breaks; abbreviations ("e.g.", "No.") do not
//! end them.

use crate::analyze::Document;
use crate::lexicon::Lexicon;
use crate::token::TokenKind;

/// What kind of passage a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// A numbered or bulleted item.
    Item,
    /// A sentence outside items.
    Sentence,
}

/// A passage of the text.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// First character (the marker of an item included).
    pub start: u32,
    /// Last character, exclusive (trailing spaces left out).
    pub end: u32,
    /// Item or sentence.
    pub kind: UnitKind,
    /// Paragraph number (paragraphs are separated by empty lines).
    pub paragraph: usize,
    /// First character after the item marker (`start` for sentences).
    pub body_start: u32,
}

/// Words that never end a sentence when a period follows them.
const ABBREVIATIONS: &[&str] = &[
    "e", "g", "i", "eg", "ie", "no", "nos", "mr", "mrs", "ms", "dr", "st", "art", "para", "paras",
    "op", "vol", "p", "pp", "ref", "sr", "sra", "m", "mme", "av", "núm", "num", "n", "cf", "vs",
    "approx", "inc", "ltd", "co", "dept", "gov", "govt", "ee", "uu", "u", "s",
];

/// Words that introduce a numbered part of a template.
const PART_WORDS: &[&str] = &[
    "part",
    "section",
    "item",
    "partie",
    "section",
    "point",
    "parte",
    "seccion",
    "sección",
    "punto",
    "apartado",
    "rubrique",
    "annex",
    "annexe",
    "anexo",
    "need",
    "besoin",
    "necesidad",
    "request",
    "demande",
    "solicitud",
];

#[derive(Debug, Clone)]
struct Segment {
    start: u32,
    end: u32,
    paragraph: usize,
    /// Length of the list or ordinal marker at its start, if any.
    marker: Option<u32>,
}

/// Splits the document into units, in text order.
pub(crate) fn units(doc: &Document<'_>, lex: &Lexicon) -> Vec<Unit> {
    let chars: Vec<char> = doc.text.chars().collect();
    let segments = segments(doc, lex, &chars);
    let markers = segments.iter().filter(|s| s.marker.is_some()).count();
    let mut out: Vec<Unit> = Vec::new();
    let mut open_item = false;
    for seg in segments {
        if markers >= 2 {
            if let Some(m) = seg.marker {
                out.push(Unit {
                    start: seg.start,
                    end: seg.end,
                    kind: UnitKind::Item,
                    paragraph: seg.paragraph,
                    body_start: seg.start + m,
                });
                open_item = true;
                continue;
            }
            if open_item
                && let Some(last) = out.last_mut()
                && last.paragraph == seg.paragraph
            {
                last.end = seg.end;
                continue;
            }
            open_item = false;
        }
        out.push(Unit {
            start: seg.start,
            end: seg.end,
            kind: UnitKind::Sentence,
            paragraph: seg.paragraph,
            body_start: seg.start,
        });
    }
    out
}

/// Lines cut at sentence ends, with their markers.
fn segments(doc: &Document<'_>, lex: &Lexicon, chars: &[char]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut paragraph = 0usize;
    let mut line_start = 0usize;
    let mut previous_blank = false;
    for i in 0..=chars.len() {
        if i < chars.len() && chars[i] != '\n' {
            continue;
        }
        let line = &chars[line_start..i];
        let first = line.iter().position(|c| !c.is_whitespace());
        match first {
            None => {
                if !previous_blank {
                    paragraph += 1;
                }
                previous_blank = true;
            }
            Some(f) => {
                previous_blank = false;
                let abs = line_start + f;
                let marker = list_marker(&chars[abs..i]);
                cut_sentences(doc, lex, chars, abs, i, paragraph, marker, &mut out);
            }
        }
        line_start = i + 1;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn cut_sentences(
    doc: &Document<'_>,
    lex: &Lexicon,
    chars: &[char],
    from: usize,
    to: usize,
    paragraph: usize,
    list: Option<usize>,
    out: &mut Vec<Segment>,
) {
    let mut start = from;
    let mut k = from + list.unwrap_or(0);
    let mut first = true;
    while k <= to {
        let at_end = k == to;
        let ends = !at_end
            && matches!(chars[k], '.' | '!' | '?' | ';')
            && chars.get(k + 1).is_none_or(|c| c.is_whitespace())
            && !(chars[k] == '.' && is_abbreviation(chars, start, k));
        if at_end || ends {
            let stop = if at_end { to } else { k + 1 };
            let end = trim_end(chars, start, stop);
            if end > start {
                let marker = if first && list.is_some() {
                    list
                } else {
                    ordinal_marker(doc, lex, start, end)
                };
                out.push(Segment {
                    start: as_u32(start),
                    end: as_u32(end),
                    paragraph,
                    marker: marker.map(as_u32),
                });
            }
            first = false;
            start = stop;
            while start < to && chars[start].is_whitespace() {
                start += 1;
            }
            k = start;
            if at_end {
                break;
            }
            continue;
        }
        k += 1;
    }
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn trim_end(chars: &[char], start: usize, mut stop: usize) -> usize {
    while stop > start && chars[stop - 1].is_whitespace() {
        stop -= 1;
    }
    stop
}

/// Whether the period at `dot` follows an abbreviation or a single letter.
fn is_abbreviation(chars: &[char], start: usize, dot: usize) -> bool {
    let mut b = dot;
    while b > start && chars[b - 1].is_alphabetic() {
        b -= 1;
    }
    if b == dot {
        return false;
    }
    let word: String = chars[b..dot].iter().collect();
    let folded = crate::fold::fold(&word);
    ABBREVIATIONS.contains(&folded.as_str())
}

/// Length of the list marker at the start of a line (`1.`, `2)`, `(a)`, `iv.`, `-`,
/// `Part 2.`), spaces after it included.
fn list_marker(line: &[char]) -> Option<usize> {
    let first = *line.first()?;
    let after_space = |n: usize| -> Option<usize> {
        match line.get(n) {
            None => Some(n),
            Some(c) if c.is_whitespace() => {
                let mut m = n;
                while line.get(m).is_some_and(|c| c.is_whitespace()) {
                    m += 1;
                }
                Some(m)
            }
            _ => None,
        }
    };
    if matches!(
        first,
        '-' | '•'
            | '*'
            | '–'
            | '—'
            | '·'
            | '▪'
            | '◦'
            | '‣'
            | '●'
            | '○'
            | '■'
            | '□'
            | '➢'
            | '►'
            | '✓'
    ) {
        return after_space(1);
    }
    if first == '(' {
        let close = line.iter().take(6).position(|c| *c == ')')?;
        let inner: String = line[1..close].iter().collect();
        return is_enumerator(&inner)
            .then(|| after_space(close + 1))
            .flatten();
    }
    let word_len = line.iter().take_while(|c| c.is_alphanumeric()).count();
    if word_len == 0 {
        return None;
    }
    let word: String = line[..word_len].iter().collect();
    if is_enumerator(&word) && matches!(line.get(word_len), Some('.' | ')')) {
        return after_space(word_len + 1);
    }
    let folded = crate::fold::fold(&word);
    if PART_WORDS.contains(&folded.as_str()) {
        let rest = &line[word_len..];
        let spaces = rest.iter().take_while(|c| c.is_whitespace()).count();
        if spaces == 0 {
            return None;
        }
        let num_len = rest[spaces..]
            .iter()
            .take_while(|c| c.is_alphanumeric())
            .count();
        let num: String = rest[spaces..spaces + num_len].iter().collect();
        if num_len == 0 || !is_enumerator(&num) {
            return None;
        }
        let mut n = word_len + spaces + num_len;
        if matches!(line.get(n), Some('.' | ':' | ')' | '-' | '–')) {
            n += 1;
        }
        return after_space(n);
    }
    None
}

/// Whether `s` is an item number: 1–2 digits, one letter, or a roman numeral up to xii.
fn is_enumerator(s: &str) -> bool {
    let lower = s.to_lowercase();
    (!s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_digit()))
        || (s.chars().count() == 1 && s.chars().all(char::is_alphabetic))
        || matches!(
            lower.as_str(),
            "i" | "ii" | "iii" | "iv" | "v" | "vi" | "vii" | "viii" | "ix" | "x" | "xi" | "xii"
        )
}

/// Length of an ordinal word marker ("Firstly,", "En segundo lugar,") at the start of the
/// passage `start..end`, comma or colon included.
fn ordinal_marker(doc: &Document<'_>, lex: &Lexicon, start: usize, end: usize) -> Option<usize> {
    let t0 = doc.token_at(as_u32(start));
    let first = doc.tokens.get(t0)?;
    if first.start as usize != start || !first.is_term() {
        return None;
    }
    let words: Vec<&str> = doc.tokens[t0..]
        .iter()
        .take(5)
        .take_while(|t| t.is_term())
        .map(|t| t.folded.as_str())
        .collect();
    let len = lex
        .ordinals
        .iter()
        .filter(|p| p.matches(&words))
        .map(|p| p.len())
        .max()?;
    let last = &doc.tokens[t0 + len - 1];
    let next = doc.tokens.get(t0 + len);
    let punct = matches!(next.map(|t| t.kind), Some(TokenKind::Punct(',' | ':')));
    let adverb = len == 1
        && (last.folded.ends_with("ly")
            || last.folded.ends_with("ement")
            || last.folded.ends_with("mente"));
    if !(punct || adverb) {
        return None;
    }
    let marker_end = if punct {
        next.map_or(last.end, |t| t.end)
    } else {
        last.end
    };
    let body = (marker_end as usize).min(end);
    Some(body - start)
}
