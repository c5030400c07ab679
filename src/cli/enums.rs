//! The API's enums on the command line and in tables, read from the descriptor set: a
//! person types `export-transshipment`, `EXPORT_TRANSSHIPMENT` or the full
//! `THEMATIC_AREA_EXPORT_TRANSSHIPMENT`; tables show the short upper-case code.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};
use prost_reflect::EnumDescriptor;

use crate::json;

/// `ThematicArea`.
pub const AREA: &str = "clearinghouse.v1.ThematicArea";
/// `SubArea`.
pub const SUB_AREA: &str = "clearinghouse.v1.SubArea";
/// `WeaponDomain`.
pub const WEAPON_DOMAIN: &str = "clearinghouse.v1.WeaponDomain";
/// `AssistanceKind`.
pub const ASSISTANCE_KIND: &str = "clearinghouse.v1.AssistanceKind";
/// `FundingMode`.
pub const FUNDING_MODE: &str = "clearinghouse.v1.FundingMode";
/// `Priority`.
pub const PRIORITY: &str = "clearinghouse.v1.Priority";
/// `SubmissionChannel`.
pub const CHANNEL: &str = "clearinghouse.v1.SubmissionChannel";
/// `PublicationConsent`.
pub const CONSENT: &str = "clearinghouse.v1.PublicationConsent";
/// `Visibility`.
pub const VISIBILITY: &str = "clearinghouse.v1.Visibility";
/// `NeedStatus`.
pub const NEED_STATUS: &str = "clearinghouse.v1.NeedStatus";
/// `OfferStatus`.
pub const OFFER_STATUS: &str = "clearinghouse.v1.OfferStatus";
/// `BudgetStatus`.
pub const BUDGET_STATUS: &str = "clearinghouse.v1.BudgetStatus";
/// `GpSubWorkingGroup`.
pub const GP_GROUP: &str = "clearinghouse.v1.GpSubWorkingGroup";
/// `PartyKind`.
pub const PARTY_KIND: &str = "clearinghouse.v1.PartyKind";
/// `MatchStatus`.
pub const MATCH_STATUS: &str = "clearinghouse.v1.MatchStatus";
/// `ReasonCode`.
pub const REASON_CODE: &str = "clearinghouse.v1.ReasonCode";
/// `ContributionRole`.
pub const CONTRIBUTION_ROLE: &str = "clearinghouse.v1.ContributionRole";
/// `Acceptance`.
pub const ACCEPTANCE: &str = "clearinghouse.v1.Acceptance";
/// `Role`.
pub const ROLE: &str = "clearinghouse.v1.Role";
/// `AllocationMethod`.
pub const ALLOCATION_METHOD: &str = "clearinghouse.v1.AllocationMethod";
/// `ConsortiumMethod`.
pub const CONSORTIUM_METHOD: &str = "clearinghouse.v1.ConsortiumMethod";

fn descriptor(full_name: &str) -> Option<EnumDescriptor> {
    json::pool().ok()?.get_enum_by_name(full_name)
}

/// The prefix every value of the enum carries (`THEMATIC_AREA_`), from its zero value.
fn prefix(desc: &EnumDescriptor) -> String {
    desc.get_value(0)
        .and_then(|v| v.name().strip_suffix("UNSPECIFIED").map(str::to_owned))
        .unwrap_or_default()
}

/// The short codes of every value but the zero one, in declaration order.
pub fn codes(full_name: &str) -> Vec<String> {
    let Some(desc) = descriptor(full_name) else {
        return Vec::new();
    };
    let p = prefix(&desc);
    desc.values()
        .filter(|v| v.number() != 0)
        .map(|v| v.name().strip_prefix(&p).unwrap_or(v.name()).to_owned())
        .collect()
}

/// The short code of a value (`EXPORT_TRANSSHIPMENT`); empty for the zero value; the number
/// for a value this client does not know.
pub fn label(full_name: &str, value: i32) -> String {
    if value == 0 {
        return String::new();
    }
    let Some(desc) = descriptor(full_name) else {
        return value.to_string();
    };
    let p = prefix(&desc);
    desc.get_value(value).map_or_else(
        || value.to_string(),
        |v| v.name().strip_prefix(&p).unwrap_or(v.name()).to_owned(),
    )
}

/// The short codes of a list, joined with `sep`.
pub fn labels(full_name: &str, values: &[i32], sep: &str) -> String {
    values
        .iter()
        .map(|v| label(full_name, *v))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Parses a value in any of the accepted spellings: `export-transshipment`,
/// `EXPORT_TRANSSHIPMENT`, `THEMATIC_AREA_EXPORT_TRANSSHIPMENT`, and for sub-areas the full
/// code `EXPORT_TRANSSHIPMENT.CONTROL_LISTS`.
pub fn parse(full_name: &str, input: &str) -> Result<i32, String> {
    let desc = descriptor(full_name).ok_or_else(|| format!("unknown enum {full_name}"))?;
    let p = prefix(&desc);
    let mut norm: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    if let Some((_, last)) = norm.rsplit_once('.') {
        norm = last.to_owned();
    }
    let full = if norm.starts_with(&p) {
        norm.clone()
    } else {
        format!("{p}{norm}")
    };
    match desc.get_value_by_name(&full) {
        Some(v) if v.number() != 0 => Ok(v.number()),
        _ => Err(format!(
            "'{}' is not a {}; use one of {}",
            input.trim(),
            human_name(&desc),
            codes(full_name).join(", ")
        )),
    }
}

/// Parses a comma- or semicolon-separated list of values.
pub fn parse_list(full_name: &str, input: &str) -> Result<Vec<i32>, String> {
    split_list(input)
        .map(|s| parse(full_name, s))
        .collect::<Result<Vec<_>, _>>()
}

/// Splits a list cell or flag value on `;` or `,`, trimming and dropping empty entries.
pub fn split_list(input: &str) -> impl Iterator<Item = &str> {
    input
        .split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// "thematic area" for `ThematicArea`.
fn human_name(desc: &EnumDescriptor) -> String {
    let mut out = String::new();
    for (i, c) in desc.name().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A clap value parser for one API enum: accepts every spelling [`parse`] does and offers
/// the kebab-case codes for help and shell completion.
#[derive(Debug, Clone, Copy)]
pub struct EnumArg(pub &'static str);

impl TypedValueParser for EnumArg {
    type Value = i32;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<i32, clap::Error> {
        let text = value.to_str().ok_or_else(|| {
            clap::Error::raw(clap::error::ErrorKind::InvalidUtf8, "not UTF-8\n").with_cmd(cmd)
        })?;
        parse(self.0, text).map_err(|m| {
            let name = arg.map(|a| a.to_string()).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value for {name}: {m}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(codes(self.0).into_iter().map(|c| {
            PossibleValue::new(c.to_ascii_lowercase().replace('_', "-"))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn every_spelling_of_a_value_parses_to_the_same_number() {
        let want = pb::ThematicArea::ExportTransshipment as i32;
        for s in [
            "export-transshipment",
            "EXPORT_TRANSSHIPMENT",
            "THEMATIC_AREA_EXPORT_TRANSSHIPMENT",
            " Export_Transshipment ",
        ] {
            assert_eq!(parse(AREA, s), Ok(want), "{s}");
        }
        assert_eq!(
            parse(SUB_AREA, "EXPORT_TRANSSHIPMENT.CONTROL_LISTS"),
            Ok(pb::SubArea::ControlLists as i32)
        );
    }

    #[test]
    fn an_unknown_or_unspecified_value_names_the_choices() {
        let e = parse(PRIORITY, "urgent").expect_err("unknown");
        assert_eq!(
            e,
            "'urgent' is not a priority; use one of HIGH, MEDIUM, LOW"
        );
        assert!(parse(PRIORITY, "unspecified").is_err());
    }

    #[test]
    fn labels_drop_the_prefix_and_leave_unset_values_empty() {
        assert_eq!(
            label(NEED_STATUS, pb::NeedStatus::Circulated as i32),
            "CIRCULATED"
        );
        assert_eq!(label(NEED_STATUS, 0), "");
        assert_eq!(label(NEED_STATUS, 999), "999");
        assert_eq!(
            labels(
                FUNDING_MODE,
                &[
                    pb::FundingMode::SingleDonor as i32,
                    pb::FundingMode::InKind as i32
                ],
                ", "
            ),
            "SINGLE_DONOR, IN_KIND"
        );
    }

    #[test]
    fn lists_split_on_commas_and_semicolons() {
        assert_eq!(
            parse_list(WEAPON_DOMAIN, "nuclear; chemical,BIOLOGICAL"),
            Ok(vec![1, 2, 3])
        );
        assert_eq!(parse_list(WEAPON_DOMAIN, ""), Ok(vec![]));
    }
}
