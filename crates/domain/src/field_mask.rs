//! Field-mask paths of updates. A path is a field's proto name, or, for a field that is a
//! message, the name of one of its sub-fields after a dot (`contact.email`), which stands
//! for the whole field. Anything else — an unknown name, a sub-path of a scalar or list
//! field (`title.nonexistent`), an unknown sub-field, a deeper path — names no field.

/// Sub-fields of a contact point.
pub const CONTACT_PARTS: &[&str] = &["name", "email", "phone", "organization"];
/// Sub-fields of an amount of money.
pub const MONEY_PARTS: &[&str] = &["currency_code", "minor_units"];
/// Sub-fields of a geographic scope.
pub const SCOPE_PARTS: &[&str] = &[
    "global",
    "regions",
    "subregions",
    "countries",
    "excluded_countries",
];

/// The field `path` names among `fields` (proto name → field), where `parts(field)` lists
/// the sub-fields of a message field (empty for scalar and repeated fields).
pub fn resolve<F: Copy>(
    path: &str,
    fields: &[(&str, F)],
    parts: impl Fn(F) -> &'static [&'static str],
) -> Option<F> {
    let (head, sub) = match path.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (path, None),
    };
    let field = fields.iter().find(|(n, _)| *n == head).map(|(_, f)| *f)?;
    match sub {
        None => Some(field),
        Some(s) => parts(field).contains(&s).then_some(field),
    }
}

/// Every path [`resolve`] accepts, in table order.
pub fn paths<F: Copy>(
    fields: &[(&str, F)],
    parts: impl Fn(F) -> &'static [&'static str],
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, f) in fields {
        out.push((*name).to_owned());
        out.extend(parts(*f).iter().map(|p| format!("{name}.{p}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum F {
        Title,
        Contact,
    }
    const FIELDS: &[(&str, F)] = &[("title", F::Title), ("contact", F::Contact)];
    fn parts(f: F) -> &'static [&'static str] {
        match f {
            F::Contact => CONTACT_PARTS,
            F::Title => &[],
        }
    }

    #[test]
    fn only_fields_and_sub_fields_that_exist_resolve() {
        assert_eq!(resolve("title", FIELDS, parts), Some(F::Title));
        assert_eq!(resolve("contact", FIELDS, parts), Some(F::Contact));
        assert_eq!(resolve("contact.email", FIELDS, parts), Some(F::Contact));
        for bad in [
            "title.nonexistent",
            "title.",
            "contact.email.x",
            "contact.fax",
            "contact.",
            ".title",
            "",
            "budget.amount.x",
            "Title",
        ] {
            assert_eq!(resolve(bad, FIELDS, parts), None, "{bad:?}");
        }
        assert_eq!(
            paths(FIELDS, parts),
            [
                "title",
                "contact",
                "contact.name",
                "contact.email",
                "contact.phone",
                "contact.organization"
            ]
        );
    }
}
