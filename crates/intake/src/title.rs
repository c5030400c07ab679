//! A short title for a draft need, taken from the passage that speaks most of its area:
//! the first sentence of that passage without its item marker and without the
//! diplomatic lead-in ("… has the honour to request assistance in"), cut at a word
//! boundary to at most [`MAX_TITLE_CHARS`] characters.

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 120;

/// Words after which the substance of a request starts.
const LEAD_INS: &[&str] = &[
    "has the honour to request ",
    "has the honor to request ",
    "requests ",
    "request ",
    "seeks ",
    "would welcome ",
    "would appreciate ",
    "wishes to ",
    "is seeking ",
    "a l'honneur de solliciter ",
    "sollicite ",
    "souhaite ",
    "souhaiterait ",
    "tiene el honor de solicitar ",
    "solicita ",
    "desea ",
    "requiere ",
];

/// A title from the body of a passage.
pub(crate) fn title(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = first_sentence(&flat);
    let lower = sentence.to_lowercase();
    let mut text = sentence;
    for lead in LEAD_INS {
        if let Some(at) = lower.find(lead) {
            let rest = sentence.get(at + lead.len()..).unwrap_or("");
            if rest.chars().count() >= 20 {
                text = rest;
                break;
            }
        }
    }
    let text = text.trim().trim_end_matches(['.', ';', ':', ',']);
    let mut out = capitalize(text);
    if out.chars().count() > MAX_TITLE_CHARS {
        let cut: String = out.chars().take(MAX_TITLE_CHARS - 1).collect();
        let at = cut.rfind(' ').unwrap_or(cut.len());
        out = format!("{}…", cut[..at].trim_end_matches([',', ';', ':']));
    }
    out
}

fn first_sentence(s: &str) -> &str {
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        if matches!(c, '.' | ';' | '!' | '?') && i > 20 && prev.is_lowercase() {
            let next = s[i + c.len_utf8()..].chars().next();
            if next.is_none_or(char::is_whitespace) {
                return &s[..i];
            }
        }
        prev = c;
    }
    s
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_drop_the_lead_in_and_stay_short() {
        let t = title(
            "The Permanent Mission of Mongolia has the honour to request assistance in the preparation of a national implementation action plan. More text.",
        );
        assert_eq!(
            t,
            "Assistance in the preparation of a national implementation action plan"
        );
        let long = "word ".repeat(60);
        let t = title(&long);
        assert!(t.chars().count() <= MAX_TITLE_CHARS);
        assert!(t.ends_with('…'));
    }
}
