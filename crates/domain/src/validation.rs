//! Field-level validation that reports every bad field at once, within bounds.
//!
//! Entry point: [`Violations`], an accumulator that constructors fill and then turn
//! into a [`ValidationError`] if anything was wrong. However large the input, an error
//! keeps at most [`MAX_VIOLATIONS`] violations (the rest are counted in
//! [`ValidationError::omitted`]), and a message quotes at most [`MAX_SHOWN_CHARS`]
//! characters of a value the client sent ([`shown`]).

use std::fmt;

/// Violations one error keeps; further ones are only counted.
pub const MAX_VIOLATIONS: usize = 50;

/// Characters of a client's value quoted in a message.
pub const MAX_SHOWN_CHARS: usize = 32;

/// Longest list [`check_unique`] compares pairwise; a longer one is already refused by its
/// count, and comparing it would take quadratic time.
pub const MAX_UNIQUE_CHECK: usize = 1024;

/// Longest description a violation keeps, in bytes (the longest list of choices fits).
pub const MAX_DESCRIPTION_BYTES: usize = 2048;

/// Longest field path a violation keeps, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// Longest [`ValidationError`] summary (its `Display`), in bytes, before "and N more".
const MAX_SUMMARY_BYTES: usize = 400;

/// A client's value as a message quotes it: in single quotes, at most
/// [`MAX_SHOWN_CHARS`] characters (then `…`), control characters escaped.
pub fn shown(value: &str) -> String {
    let mut out = String::with_capacity(MAX_SHOWN_CHARS + 8);
    out.push('\'');
    for (i, c) in value.chars().enumerate() {
        if i == MAX_SHOWN_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}
/// One bad field: its path (proto field name, dotted for nested fields) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path such as `need.sub_areas[1]`.
    pub field: String,
    /// Lowercase message saying what is wrong and what to send instead.
    pub description: String,
}

/// Every bad field of one input (the first [`MAX_VIOLATIONS`] of them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The violations, in the order they were found.
    pub violations: Vec<FieldViolation>,
    /// Violations found beyond [`MAX_VIOLATIONS`], counted but not kept.
    pub omitted: usize,
}

impl fmt::Display for ValidationError {
    /// A summary of bounded length: violations in order while they fit, then how many more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input: ")?;
        let mut written = 0;
        for (i, v) in self.violations.iter().enumerate() {
            let part = format!("{}: {}", v.field, v.description);
            if i > 0 && written + part.len() > MAX_SUMMARY_BYTES {
                let more = self.violations.len() - i + self.omitted;
                return write!(f, "; and {more} more");
            }
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&part)?;
            written += part.len() + 2;
        }
        if self.omitted > 0 {
            write!(f, "; and {} more", self.omitted)?;
        }
        Ok(())
    }
}

impl ValidationError {
    /// A single-field error.
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            violations: vec![FieldViolation {
                field: field.into(),
                description: description.into(),
            }],
            omitted: 0,
        }
    }
}

/// Accumulates violations; the field names are prefixed with a path.
#[derive(Debug, Default, Clone)]
pub struct Violations {
    prefix: String,
    list: Vec<FieldViolation>,
    omitted: usize,
}

impl Violations {
    /// An empty accumulator whose fields are reported as `prefix.field`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            list: Vec::new(),
            omitted: 0,
        }
    }

    /// Records a violation of `field` (past [`MAX_VIOLATIONS`], only counts it).
    pub fn add(&mut self, field: impl AsRef<str>, description: impl Into<String>) {
        if self.list.len() >= MAX_VIOLATIONS {
            self.omitted += 1;
            return;
        }
        let field = field.as_ref();
        let mut field = if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{}", self.prefix, field)
        };
        let mut description = description.into();
        cut(&mut field, MAX_FIELD_BYTES);
        cut(&mut description, MAX_DESCRIPTION_BYTES);
        self.list.push(FieldViolation { field, description });
    }

    /// Checks a required text field's presence and length (in characters) and that it has no
    /// control characters other than line breaks and tabs.
    pub fn text(&mut self, field: &str, value: &str, required: bool, max_chars: usize) {
        if required && value.trim().is_empty() {
            self.add(field, "is required");
            return;
        }
        let n = value.chars().count();
        if n > max_chars {
            self.add(
                field,
                format!("is {n} characters long; the maximum is {max_chars}"),
            );
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.add(field, "contains control characters; remove them");
        }
    }

    /// Checks the number of entries of a repeated field; `true` if it is within bounds.
    pub fn count(&mut self, field: &str, len: usize, min: usize, max: usize) -> bool {
        if len < min {
            self.add(field, format!("needs at least {min} entries"));
            false
        } else if len > max {
            self.add(field, format!("has {len} entries; the maximum is {max}"));
            false
        } else {
            true
        }
    }

    /// Appends all violations of another accumulator (within [`MAX_VIOLATIONS`]).
    pub fn extend(&mut self, other: Violations) {
        let room = MAX_VIOLATIONS.saturating_sub(self.list.len());
        let extra = other.list.len().saturating_sub(room);
        self.omitted += other.omitted + extra;
        self.list.extend(other.list.into_iter().take(room));
    }

    /// Combines these (edge) violations with a later validation error, dropping the later
    /// ones about a field already reported here.
    pub fn merge(self, later: Option<ValidationError>) -> Option<ValidationError> {
        let mut list = self.list;
        let mut omitted = self.omitted;
        let first = list.len();
        let (later, later_omitted) = later.map_or((Vec::new(), 0), |e| (e.violations, e.omitted));
        omitted += later_omitted;
        for v in later {
            let dup = list[..first].iter().any(|x| {
                x.field == v.field
                    || x.field.starts_with(&format!("{}[", v.field))
                    || v.field.starts_with(&format!("{}[", x.field))
            });
            if dup {
                continue;
            }
            if list.len() < MAX_VIOLATIONS {
                list.push(v);
            } else {
                omitted += 1;
            }
        }
        (!list.is_empty()).then_some(ValidationError {
            violations: list,
            omitted,
        })
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `Ok(value)` if nothing was recorded, the error otherwise.
    pub fn finish<T>(self, value: T) -> Result<T, ValidationError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(ValidationError {
                violations: self.list,
                omitted: self.omitted,
            })
        }
    }

    /// `Ok(())` if nothing was recorded.
    pub fn into_result(self) -> Result<(), ValidationError> {
        self.finish(())
    }
}

/// Shortens `s` to at most `max` bytes on a character boundary, ending it with `…` if cut.
fn cut(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
}

/// Checks an optional ISO 639-1 language code list (its entries only when their number is
/// within bounds).
pub fn check_languages(v: &mut Violations, field: &str, langs: &[String]) {
    if !v.count(field, langs.len(), 0, 8) {
        return;
    }
    for (i, l) in langs.iter().enumerate() {
        if l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase()) {
            v.add(
                format!("{field}[{i}]"),
                format!(
                    "{} is not an ISO 639-1 code; use two lowercase letters such as 'en'",
                    shown(l)
                ),
            );
        }
    }
}

/// Checks that a list has no repeated entry (lists longer than [`MAX_UNIQUE_CHECK`] are
/// left to their count check).
pub fn check_unique<T: PartialEq + fmt::Debug>(v: &mut Violations, field: &str, items: &[T]) {
    if items.len() > MAX_UNIQUE_CHECK {
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            v.add(
                format!("{field}[{i}]"),
                format!("{} is listed twice", shown(&format!("{item:?}"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_keeps_the_first_violations_and_counts_the_rest() {
        let mut v = Violations::new("need");
        for i in 0..100_000 {
            v.add(format!("sub_areas[{i}]"), "unknown value");
        }
        let e = v.into_result().expect_err("invalid");
        assert_eq!(e.violations.len(), MAX_VIOLATIONS);
        assert_eq!(e.violations[0].field, "need.sub_areas[0]");
        assert_eq!(e.omitted, 100_000 - MAX_VIOLATIONS);
        let text = e.to_string();
        assert!(text.len() < MAX_SUMMARY_BYTES + 100, "{} bytes", text.len());
        let listed = text.matches("unknown value").count();
        assert!(
            text.ends_with(&format!("; and {} more", 100_000 - listed)),
            "{text}"
        );
    }

    #[test]
    fn extend_and_merge_stay_within_the_cap() {
        let mut a = Violations::new("");
        let mut b = Violations::new("");
        for i in 0..40 {
            a.add(format!("a{i}"), "bad");
            b.add(format!("b{i}"), "bad");
        }
        a.extend(b);
        let e = a.into_result().expect_err("invalid");
        assert_eq!((e.violations.len(), e.omitted), (MAX_VIOLATIONS, 30));

        let mut edge = Violations::new("");
        edge.add("x", "bad");
        let later = ValidationError {
            violations: (0..MAX_VIOLATIONS)
                .map(|i| FieldViolation {
                    field: format!("y{i}"),
                    description: "bad".into(),
                })
                .collect(),
            omitted: 7,
        };
        let m = edge.merge(Some(later)).expect("invalid");
        assert_eq!((m.violations.len(), m.omitted), (MAX_VIOLATIONS, 8));
    }

    #[test]
    fn a_violation_keeps_a_bounded_field_and_description() {
        let mut v = Violations::new("x");
        v.add("é".repeat(10_000), "é".repeat(1_000_000));
        let e = v.into_result().expect_err("invalid");
        assert!(e.violations[0].field.len() <= MAX_FIELD_BYTES);
        assert!(e.violations[0].description.len() <= MAX_DESCRIPTION_BYTES);
        assert!(e.violations[0].description.ends_with('…'));
    }

    #[test]
    fn shown_values_are_short_quoted_prefixes_without_control_characters() {
        assert_eq!(shown("KEN"), "'KEN'");
        let long = shown(&"x".repeat(1_000_000));
        assert_eq!(long.chars().count(), MAX_SHOWN_CHARS + 3);
        assert!(long.ends_with("…'"));
        assert_eq!(shown("a\nb"), "'a\\nb'");
    }

    #[test]
    fn long_lists_skip_their_element_checks() {
        let mut v = Violations::new("");
        let langs = vec!["not a code".to_owned(); 100_000];
        check_languages(&mut v, "languages", &langs);
        let e = v.into_result().expect_err("invalid");
        assert_eq!(e.violations.len(), 1, "only the count is reported");
        assert_eq!(e.violations[0].field, "languages");
        let mut v = Violations::new("");
        check_unique(&mut v, "ids", &vec![1u8; MAX_UNIQUE_CHECK + 1]);
        assert!(v.is_empty(), "left to the count check");
    }
}
