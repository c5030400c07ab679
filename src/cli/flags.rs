//! Resource fields as flags: each flag is named after its file column
//! (`--sub-areas`, `--estimated-budget`) and read by that column's setter, so flags,
//! files and CSV output share one definition. Updates build their field mask from the
//! flags given.

use super::{failure::CliError, fields::FieldSpec};

/// Declares a struct of optional text flags, one per file column, and `values()`
/// listing the ones given as `(column, value)`.
macro_rules! field_flags {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct $name {
            $($(#[$fmeta])*
            #[arg(long, value_name = "VALUE", help_heading = "Fields")]
            pub $field: Option<String>,)+
        }

        impl $name {
            /// The flags given, as `(column, value)`.
            pub fn values(&self) -> Vec<(&'static str, &str)> {
                let mut v = Vec::new();
                $(if let Some(x) = &self.$field {
                    v.push((stringify!($field), x.as_str()));
                })+
                v
            }
        }
    };
}
pub(crate) use field_flags;

/// The field-mask path a column changes: the contact and scope columns change their
/// message as a whole.
pub fn mask_path(column: &str) -> &str {
    if column.starts_with("contact_") {
        "contact"
    } else if column.starts_with("scope_") {
        "scope"
    } else {
        column
    }
}

/// Applies `(column, value)` pairs to `target` through the column setters, reporting
/// every bad value at once (as `--flag: problem`), and returns the mask paths changed.
pub fn apply<T>(
    specs: &'static [FieldSpec<T>],
    target: &mut T,
    values: &[(&str, &str)],
) -> Result<Vec<String>, CliError> {
    let mut problems = Vec::new();
    let mut mask: Vec<String> = Vec::new();
    for (column, value) in values {
        let Some(set) = super::fields::find(specs, column).and_then(|s| s.set) else {
            problems.push(format!("--{}: not a field that can be set", flag(column)));
            continue;
        };
        if let Err(e) = set(target, value) {
            problems.push(format!("--{}: {e}", flag(column)));
        }
        let path = mask_path(column).to_owned();
        if !mask.contains(&path) {
            mask.push(path);
        }
    }
    if problems.is_empty() {
        Ok(mask)
    } else {
        Err(CliError::Usage(problems.join("\n")))
    }
}

/// `sub_areas` as the flag `sub-areas`.
pub fn flag(column: &str) -> String {
    column.replace('_', "-")
}
