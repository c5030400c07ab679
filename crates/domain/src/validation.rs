//! Field-level validation that reports every bad field at once.
//!
//! Entry point: [`Violations`], an accumulator that constructors fill and then turn
//! into a [`ValidationError`] if anything was wrong.

use std::fmt;

/// One bad field: its path (proto field name, dotted for nested fields) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path such as `need.sub_areas[1]`.
    pub field: String,
    /// Lowercase message saying what is wrong and what to send instead.
    pub description: String,
}

/// Every bad field of one input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The violations, in the order they were found.
    pub violations: Vec<FieldViolation>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        write!(f, "invalid input: {}", parts.join("; "))
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
        }
    }
}

/// Accumulates violations; the field names are prefixed with a path.
#[derive(Debug, Default, Clone)]
pub struct Violations {
    prefix: String,
    list: Vec<FieldViolation>,
}

impl Violations {
    /// An empty accumulator whose fields are reported as `prefix.field`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            list: Vec::new(),
        }
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl AsRef<str>, description: impl Into<String>) {
        let field = field.as_ref();
        let field = if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{}", self.prefix, field)
        };
        self.list.push(FieldViolation {
            field,
            description: description.into(),
        });
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

    /// Checks the number of entries of a repeated field.
    pub fn count(&mut self, field: &str, len: usize, min: usize, max: usize) {
        if len < min {
            self.add(field, format!("needs at least {min} entries"));
        } else if len > max {
            self.add(field, format!("has {len} entries; the maximum is {max}"));
        }
    }

    /// Appends all violations of another accumulator.
    pub fn extend(&mut self, other: Violations) {
        self.list.extend(other.list);
    }

    /// Combines these (edge) violations with a later validation error, dropping the later
    /// ones about a field already reported here.
    pub fn merge(self, later: Option<ValidationError>) -> Option<ValidationError> {
        let mut list = self.list;
        let first = list.len();
        for v in later.map(|e| e.violations).unwrap_or_default() {
            let dup = list[..first].iter().any(|x| {
                x.field == v.field
                    || x.field.starts_with(&format!("{}[", v.field))
                    || v.field.starts_with(&format!("{}[", x.field))
            });
            if !dup {
                list.push(v);
            }
        }
        (!list.is_empty()).then_some(ValidationError { violations: list })
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
            })
        }
    }

    /// `Ok(())` if nothing was recorded.
    pub fn into_result(self) -> Result<(), ValidationError> {
        self.finish(())
    }
}

/// Checks an optional ISO 639-1 language code list.
pub fn check_languages(v: &mut Violations, field: &str, langs: &[String]) {
    v.count(field, langs.len(), 0, 8);
    for (i, l) in langs.iter().enumerate() {
        if l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase()) {
            v.add(
                format!("{field}[{i}]"),
                format!("'{l}' is not an ISO 639-1 code; use two lowercase letters such as 'en'"),
            );
        }
    }
}

/// Checks that a list has no repeated entry.
pub fn check_unique<T: PartialEq + fmt::Debug>(v: &mut Violations, field: &str, items: &[T]) {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            v.add(format!("{field}[{i}]"), format!("{item:?} is listed twice"));
        }
    }
}
