//! Wanted dates: when the requester wants help to start ("from January 2027", "à partir
//! de mars 2027", "a partir de marzo de 2027") and by when it is needed ("by March 2027",
//! "d'ici juin 2027", "antes de diciembre de 2027", "by the end of 2027"), or a window
//! ("in the first half of 2027", "au cours du second semestre 2027", "durante el primer
//! trimestre de 2027").
//!
//! A date expression counts only after such a cue: a bare date is usually the date of the
//! note or of a past event. "By X" means the last day of X; "before X" the day before X
//! starts ("before the end of 2027" = 31 December 2027); a window gives both ends.

use clearinghouse_domain::Date;

use crate::analyze::Document;
use crate::token::TokenKind;

/// What a cue says about a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Needed by the end of the period.
    By,
    /// Needed before the period starts.
    Before,
    /// Wanted from the start of the period.
    From,
    /// Wanted within the period.
    Window,
}

/// A dated wish found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundDate {
    /// Wanted from, if the text says it.
    pub from: Option<Date>,
    /// Needed by, if the text says it.
    pub by: Option<Date>,
    /// First character (the cue's).
    pub start: u32,
    /// Last character of the date expression, exclusive.
    pub end: u32,
}

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("janvier", 1),
    ("enero", 1),
    ("february", 2),
    ("feb", 2),
    ("fevrier", 2),
    ("febrero", 2),
    ("march", 3),
    ("mars", 3),
    ("marzo", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("abril", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("june", 6),
    ("jun", 6),
    ("juin", 6),
    ("junio", 6),
    ("july", 7),
    ("jul", 7),
    ("juillet", 7),
    ("julio", 7),
    ("august", 8),
    ("aug", 8),
    ("aout", 8),
    ("agosto", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("october", 10),
    ("oct", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("december", 12),
    ("dec", 12),
    ("decembre", 12),
    ("diciembre", 12),
];

const CUES: &[(&[&str], Role)] = &[
    (&["no", "later", "than"], Role::By),
    (&["not", "later", "than"], Role::By),
    (&["au", "plus", "tard"], Role::By),
    (&["a", "mas", "tardar"], Role::By),
    (&["d", "ici"], Role::By),
    (&["jusqu", "a"], Role::By),
    (&["jusqu", "au"], Role::By),
    (&["jusqu", "en"], Role::By),
    (&["by"], Role::By),
    (&["until"], Role::By),
    (&["till"], Role::By),
    (&["deadline"], Role::By),
    (&["hasta"], Role::By),
    (&["para"], Role::By),
    (&["antes", "de"], Role::Before),
    (&["antes", "del"], Role::Before),
    (&["before"], Role::Before),
    (&["prior", "to"], Role::Before),
    (&["avant"], Role::Before),
    (&["a", "partir", "de"], Role::From),
    (&["a", "partir", "du"], Role::From),
    (&["a", "partir", "del"], Role::From),
    (&["a", "compter", "de"], Role::From),
    (&["a", "compter", "du"], Role::From),
    (&["as", "of"], Role::From),
    (&["as", "from"], Role::From),
    (&["from"], Role::From),
    (&["starting"], Role::From),
    (&["start"], Role::From),
    (&["beginning"], Role::From),
    (&["desde"], Role::From),
    (&["in"], Role::Window),
    (&["during"], Role::Window),
    (&["within"], Role::Window),
    (&["over"], Role::Window),
    (&["en"], Role::Window),
    (&["durante"], Role::Window),
    (&["au", "cours", "de"], Role::Window),
    (&["au", "cours", "du"], Role::Window),
    (&["courant"], Role::Window),
    (&["pendant"], Role::Window),
    (&["dans"], Role::Window),
    (&["timeframe"], Role::Window),
    (&["calendrier"], Role::Window),
    (&["plazo"], Role::Window),
    (&["calendario"], Role::Window),
];

/// Articles skipped between a cue and its date ("by the end of").
const ARTICLES: &[&str] = &["the", "la", "le", "l", "el", "les", "los", "las"];

/// A period of days and whether it names an end point ("the end of 2027").
#[derive(Debug, Clone, Copy)]
struct Period {
    first: Date,
    last: Date,
    /// The expression was a bare year (accepted only after strong cues).
    bare_year: bool,
}

/// Every cued date expression, in text order.
pub(crate) fn find(doc: &Document<'_>) -> Vec<FoundDate> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < doc.tokens.len() {
        if !doc.tokens[i].is_term() {
            i += 1;
            continue;
        }
        let Some((period, last)) = period_at(doc, i) else {
            i += 1;
            continue;
        };
        if let Some((role, cue_start)) = cue_before(doc, i) {
            let weak_cue = matches!(role, Role::Window)
                && !matches!(
                    doc.tokens[cue_start].folded.as_str(),
                    "during"
                        | "durante"
                        | "courant"
                        | "pendant"
                        | "timeframe"
                        | "calendrier"
                        | "plazo"
                        | "calendario"
                        | "au"
                );
            if !(period.bare_year && weak_cue) {
                let (from, by) = match role {
                    Role::By => (None, Some(period.last)),
                    Role::Before if period.first == period.last => (None, Some(period.last)),
                    Role::Before => (None, Some(period.first.add_days(-1))),
                    Role::From => (Some(period.first), None),
                    Role::Window => (Some(period.first), Some(period.last)),
                };
                out.push(FoundDate {
                    from,
                    by,
                    start: doc.tokens[cue_start].start,
                    end: doc.tokens[last].end,
                });
            }
        }
        i = last + 1;
    }
    out
}

/// The cue ending just before token `i` (articles skipped): its role and first token.
fn cue_before(doc: &Document<'_>, i: usize) -> Option<(Role, usize)> {
    let mut idx: Vec<usize> = Vec::new();
    let mut j = i;
    while j > 0 && idx.len() < 5 {
        j -= 1;
        let t = &doc.tokens[j];
        if t.is_term() {
            idx.push(j);
        } else if !matches!(t.kind, TokenKind::Punct(':' | ',')) {
            break;
        }
    }
    idx.reverse();
    let mut words: Vec<&str> = idx.iter().map(|&k| doc.tokens[k].folded.as_str()).collect();
    while words.last().is_some_and(|w| ARTICLES.contains(w)) {
        words.pop();
    }
    for (cue, role) in CUES {
        if words.ends_with(cue) {
            let first = idx[words.len() - cue.len()];
            return Some((*role, first));
        }
    }
    None
}

fn month(word: &str) -> Option<u32> {
    MONTHS.iter().find(|(m, _)| *m == word).map(|(_, n)| *n)
}

fn year(tok: &crate::token::Token) -> Option<i32> {
    (tok.kind == TokenKind::Number && tok.folded.len() == 4)
        .then(|| tok.folded.parse().ok())
        .flatten()
        .filter(|y| (1990..=2100).contains(y))
}

fn day(tok: &crate::token::Token) -> Option<u32> {
    (tok.kind == TokenKind::Number && tok.folded.len() <= 2)
        .then(|| tok.folded.parse().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d))
}

/// Term tokens from `i`, skipping commas and the linking words "de", "del", "of", "du",
/// returning (token index) list of up to `n`.
fn words_from(doc: &Document<'_>, i: usize, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut j = i;
    while j < doc.tokens.len() && out.len() < n {
        let t = &doc.tokens[j];
        if t.is_term() {
            if out.is_empty() || !matches!(t.folded.as_str(), "de" | "del" | "of" | "du" | "the") {
                out.push(j);
            }
        } else if !matches!(t.kind, TokenKind::Punct(',')) {
            break;
        }
        j += 1;
    }
    out
}

fn month_period(y: i32, m: u32) -> Option<Period> {
    let first = Date::from_ymd(y, m, 1)?;
    let last = first.add_months(1).add_days(-1);
    Some(Period {
        first,
        last,
        bare_year: false,
    })
}

fn span(y: i32, m1: u32, m2: u32) -> Option<Period> {
    let a = month_period(y, m1)?;
    let b = month_period(y, m2)?;
    Some(Period {
        first: a.first,
        last: b.last,
        bare_year: false,
    })
}

/// A date expression starting at token `i`: its period and last token.
fn period_at(doc: &Document<'_>, i: usize) -> Option<(Period, usize)> {
    let w = words_from(doc, i, 4);
    let tok = |k: usize| w.get(k).map(|&x| &doc.tokens[x]);
    let word = |k: usize| tok(k).map(|t| t.folded.as_str()).unwrap_or("");
    // ISO 2027-03-15 or 15/03/2027.
    if let Some(p) = numeric_date(doc, i) {
        return Some(p);
    }
    // 15 March 2027 / 15 de marzo de 2027.
    if let (Some(d), Some(m), Some(y)) =
        (tok(0).and_then(day), month(word(1)), tok(2).and_then(year))
    {
        let date = Date::from_ymd(y, m, d)?;
        return Some((
            Period {
                first: date,
                last: date,
                bare_year: false,
            },
            w[2],
        ));
    }
    // March 15, 2027.
    if let (Some(m), Some(d), Some(y)) =
        (month(word(0)), tok(1).and_then(day), tok(2).and_then(year))
    {
        let date = Date::from_ymd(y, m, d)?;
        return Some((
            Period {
                first: date,
                last: date,
                bare_year: false,
            },
            w[2],
        ));
    }
    // March 2027 / juin 2027 / diciembre de 2027.
    if let (Some(m), Some(y)) = (month(word(0)), tok(1).and_then(year)) {
        return Some((month_period(y, m)?, w[1]));
    }
    let ordinal = |s: &str| -> Option<u32> {
        match s {
            "first" | "1st" | "premier" | "premiere" | "primer" | "primero" | "primera" => Some(1),
            "second" | "2nd" | "deuxieme" | "seconde" | "segundo" | "segunda" => Some(2),
            "third" | "3rd" | "troisieme" | "tercer" | "tercero" | "tercera" => Some(3),
            "fourth" | "4th" | "quatrieme" | "cuarto" | "cuarta" => Some(4),
            _ => None,
        }
    };
    // first half of 2027 / premier semestre 2027 / segundo semestre de 2027.
    if let (Some(n), Some(y)) = (ordinal(word(0)), tok(2).and_then(year)) {
        let p = match word(1) {
            "half" | "semester" | "semestre" if n <= 2 => span(y, 6 * n - 5, 6 * n),
            "quarter" | "trimestre" => span(y, 3 * n - 2, 3 * n),
            _ => None,
        };
        if let Some(p) = p {
            return Some((p, w[2]));
        }
    }
    // Q1 2027 / H2 2027.
    let q = word(0);
    if let (Some(y), true) = (tok(1).and_then(year), q.len() == 2) {
        let n = q[1..].parse::<u32>().ok();
        let p = match (q.as_bytes()[0], n) {
            (b'q', Some(n @ 1..=4)) => span(y, 3 * n - 2, 3 * n),
            (b'h', Some(n @ 1..=2)) => span(y, 6 * n - 5, 6 * n),
            _ => None,
        };
        if let Some(p) = p {
            return Some((p, w[1]));
        }
    }
    // end of 2027 / fin de 2027 / finales de 2027 / early 2027 / mid-2027.
    let edge = match word(0) {
        "end" | "fin" | "finales" | "fines" | "finale" => Some((12, 12, true)),
        "late" => Some((10, 12, false)),
        "beginning" | "start" | "early" | "debut" | "principios" | "comienzos" | "inicios" => {
            Some((1, 3, false))
        }
        "mid" | "mi" | "mediados" | "milieu" => Some((5, 8, false)),
        _ => None,
    };
    if let Some((m1, m2, end_point)) = edge {
        if let (Some(m), Some(y)) = (month(word(1)), tok(2).and_then(year)) {
            let p = month_period(y, m)?;
            let p = if end_point {
                Period { first: p.last, ..p }
            } else {
                p
            };
            return Some((p, w[2]));
        }
        if let Some(y) = tok(1).and_then(year) {
            let p = span(y, m1, m2)?;
            let p = if end_point {
                let last = p.last;
                Period {
                    first: last,
                    last,
                    bare_year: false,
                }
            } else {
                p
            };
            return Some((p, w[1]));
        }
    }
    // A bare year: 2027.
    if let Some(y) = tok(0).and_then(year) {
        let p = span(y, 1, 12)?;
        return Some((
            Period {
                bare_year: true,
                ..p
            },
            w[0],
        ));
    }
    None
}

/// 2027-03-15 or 15/03/2027 starting at token `i`.
fn numeric_date(doc: &Document<'_>, i: usize) -> Option<(Period, usize)> {
    let t = |k: usize| {
        doc.tokens
            .get(i + k)
            .filter(|t| t.kind == TokenKind::Number)
    };
    let (a, b, c) = (t(0)?, t(1)?, t(2)?);
    let sep1 = doc.slice(a.end, b.start);
    let sep2 = doc.slice(b.end, c.start);
    if sep1 != sep2 || !(sep1 == "-" || sep1 == "/" || sep1 == ".") {
        return None;
    }
    let (y, m, d) = if a.folded.len() == 4 && sep1 == "-" {
        (
            a.folded.parse().ok()?,
            b.folded.parse().ok()?,
            c.folded.parse().ok()?,
        )
    } else if c.folded.len() == 4 && sep1 != "-" {
        (
            c.folded.parse().ok()?,
            b.folded.parse().ok()?,
            a.folded.parse().ok()?,
        )
    } else {
        return None;
    };
    if !(1990..=2100).contains(&y) {
        return None;
    }
    let date = Date::from_ymd(y, m, d)?;
    Some((
        Period {
            first: date,
            last: date,
            bare_year: false,
        },
        i + 2,
    ))
}
