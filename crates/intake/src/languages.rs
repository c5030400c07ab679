//! Working languages a text asks for: "in French", "into Portuguese", "Spanish
//! interpretation", "training materials in Arabic", "en español", "al francés", "langue
//! souhaitée : français", "Idioma: español", "francophone". A language name counts only
//! next to such a cue, since "French" alone is as often a nationality.

use crate::analyze::Document;
use crate::evidence::Evidence;
use crate::token::TokenKind;

/// Language names (folded) and their ISO 639-1 codes.
const NAMES: &[(&str, &str)] = &[
    ("english", "en"),
    ("anglais", "en"),
    ("ingles", "en"),
    ("french", "fr"),
    ("francais", "fr"),
    ("frances", "fr"),
    ("spanish", "es"),
    ("espagnol", "es"),
    ("espanol", "es"),
    ("castellano", "es"),
    ("arabic", "ar"),
    ("arabe", "ar"),
    ("russian", "ru"),
    ("russe", "ru"),
    ("ruso", "ru"),
    ("chinese", "zh"),
    ("mandarin", "zh"),
    ("chinois", "zh"),
    ("chino", "zh"),
    ("portuguese", "pt"),
    ("portugais", "pt"),
    ("portugues", "pt"),
    ("german", "de"),
    ("allemand", "de"),
    ("aleman", "de"),
    ("italian", "it"),
    ("italien", "it"),
    ("italiano", "it"),
    ("swahili", "sw"),
    ("kiswahili", "sw"),
    ("persian", "fa"),
    ("farsi", "fa"),
    ("persan", "fa"),
    ("turkish", "tr"),
    ("turc", "tr"),
    ("turco", "tr"),
    ("ukrainian", "uk"),
    ("ukrainien", "uk"),
    ("ucraniano", "uk"),
    ("vietnamese", "vi"),
    ("vietnamien", "vi"),
    ("vietnamita", "vi"),
    ("indonesian", "id"),
    ("hindi", "hi"),
    ("urdu", "ur"),
    ("amharic", "am"),
    ("dutch", "nl"),
    ("japanese", "ja"),
    ("korean", "ko"),
];

/// Words that speak of a language community by themselves.
const COMMUNITY: &[(&str, &str)] = &[
    ("francophone", "fr"),
    ("anglophone", "en"),
    ("hispanophone", "es"),
    ("hispanohablante", "es"),
    ("hispanohablantes", "es"),
    ("lusophone", "pt"),
    ("arabophone", "ar"),
    ("russophone", "ru"),
    ("francophones", "fr"),
    ("anglophones", "en"),
    ("lusophones", "pt"),
    ("arabophones", "ar"),
];

/// Words right before a language name that make it a working language.
const BEFORE: &[&str] = &[
    "in",
    "into",
    "en",
    "al",
    "language",
    "languages",
    "langue",
    "langues",
    "idioma",
    "idiomas",
    "lengua",
    "lenguas",
    "souhaitee",
    "souhaitees",
    "preferred",
    "preferido",
    "preferida",
];

/// Words right after a language name that make it a working language.
const AFTER: &[&str] = &[
    "interpretation",
    "translation",
    "translations",
    "version",
    "versions",
    "speaking",
    "language",
    "materials",
    "interpreters",
    "interpreter",
    "texts",
];

/// Words joining names in a list ("English, French and Spanish").
const JOINERS: &[&str] = &["and", "or", "et", "ou", "y", "e", "o"];

fn code_of(word: &str) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == word).map(|(_, c)| *c)
}

/// Working languages named in the text, each with its evidence, in text order.
pub(crate) fn find(doc: &Document<'_>) -> Vec<(&'static str, Evidence)> {
    let toks = &doc.tokens;
    let mut out: Vec<(&'static str, Evidence)> = Vec::new();
    let prev_word = |i: usize| -> Option<&str> {
        let mut j = i;
        while j > 0 {
            j -= 1;
            let t = &toks[j];
            if t.is_term() {
                return Some(t.folded.as_str());
            }
            if !matches!(t.kind, TokenKind::Punct(':')) {
                return None;
            }
        }
        None
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if !t.is_term() {
            i += 1;
            continue;
        }
        if let Some((_, code)) = COMMUNITY.iter().find(|(w, _)| *w == t.folded) {
            out.push((code, doc.evidence(t.start, t.end)));
            i += 1;
            continue;
        }
        let Some(code) = code_of(&t.folded) else {
            i += 1;
            continue;
        };
        let cued_before = prev_word(i).is_some_and(|w| BEFORE.contains(&w));
        // Read a list of names: "English, French and Spanish".
        let mut list = vec![(code, i)];
        let mut j = i + 1;
        loop {
            let mut k = j;
            let mut joined = false;
            while toks
                .get(k)
                .is_some_and(|t| matches!(t.kind, TokenKind::Punct(',')))
            {
                k += 1;
                joined = true;
            }
            if toks
                .get(k)
                .is_some_and(|t| t.is_term() && JOINERS.contains(&t.folded.as_str()))
            {
                k += 1;
                joined = true;
            }
            if !joined {
                break;
            }
            match toks
                .get(k)
                .filter(|t| t.is_term())
                .and_then(|t| code_of(&t.folded))
            {
                Some(c) => {
                    list.push((c, k));
                    j = k + 1;
                }
                None => break,
            }
        }
        let last = list.last().map_or(i, |(_, k)| *k);
        let cued_after = toks
            .get(last + 1)
            .is_some_and(|t| AFTER.contains(&t.folded.as_str()));
        if cued_before || cued_after {
            for (c, k) in &list {
                let tk = &toks[*k];
                out.push((c, doc.evidence(tk.start, tk.end)));
            }
        }
        i = last + 1;
    }
    out
}
