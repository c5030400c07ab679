//! Case and accent folding of single characters, so that "Contrôle", "CONTROLE" and
//! "contrôle" compare equal. Folding works per character so a token keeps the character
//! offsets of the text it came from.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Appends the folded form of `c` to `out`: lower case, accents removed, ligatures
/// spelled out (œ → oe, æ → ae, ß → ss).
pub(crate) fn fold_char_into(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        match lower {
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            'ø' => out.push('o'),
            'đ' => out.push('d'),
            'ł' => out.push('l'),
            'ı' => out.push('i'),
            other => decompose_canonical(other, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            }),
        }
    }
}

/// The folded form of a whole string.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char_into(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_ligatures() {
        assert_eq!(fold("Contrôle"), "controle");
        assert_eq!(fold("DÉTECTION"), "detection");
        assert_eq!(fold("mise en œuvre"), "mise en oeuvre");
        assert_eq!(fold("Señor Ñandú"), "senor nandu");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Türkiye"), "turkiye");
    }
}
