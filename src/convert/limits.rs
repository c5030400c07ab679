//! Bounds the edge checks before it looks at any element of a request: the number of
//! entries of every repeated field, the paths of an update mask, and the range of every
//! `google.protobuf.Timestamp` a client sends.
//!
//! A list over its maximum is reported once (`has N entries; the maximum is M`) and only
//! its first M entries are converted, so the work and the reply stay bounded however long
//! the list was. Unit tests walk the descriptor set: every repeated, `Timestamp` or
//! `Duration` field a request can carry (except those documented "Output only", which
//! the server ignores) must be listed here, so a new one cannot slip past the edge.

use clearinghouse_domain::{Timestamp, Violations, validation::shown};

use crate::error::ApiError;

/// `Need.sub_areas` (the domain's maximum).
pub const NEED_SUB_AREAS: usize = 16;
/// `Need.weapon_domains`.
pub const NEED_WEAPON_DOMAINS: usize = 4;
/// `Need.assistance_kinds`.
pub const NEED_ASSISTANCE_KINDS: usize = 9;
/// `Need.accepted_funding_modes`.
pub const NEED_FUNDING_MODES: usize = 4;
/// `Need.languages` and `Offer.languages`.
pub const LANGUAGES: usize = 8;
/// `Need.beneficiary_countries`.
pub const NEED_BENEFICIARY_COUNTRIES: usize = 64;
/// `Offer.implementing_party_ids`.
pub const OFFER_IMPLEMENTING_PARTIES: usize = 16;
/// `Offer.areas`.
pub const OFFER_AREAS: usize = 7;
/// `Offer.sub_areas`.
pub const OFFER_SUB_AREAS: usize = 37;
/// `Offer.weapon_domains`.
pub const OFFER_WEAPON_DOMAINS: usize = 4;
/// `Offer.assistance_kinds`.
pub const OFFER_ASSISTANCE_KINDS: usize = 9;
/// `Offer.funding_modes`.
pub const OFFER_FUNDING_MODES: usize = 4;
/// `GeoScope.regions`.
pub const SCOPE_REGIONS: usize = 6;
/// `GeoScope.subregions`.
pub const SCOPE_SUBREGIONS: usize = 32;
/// `GeoScope.countries` and `GeoScope.excluded_countries`.
pub const SCOPE_COUNTRIES: usize = 256;
/// `CreateMatchRequest.contributions`.
pub const MATCH_CONTRIBUTIONS: usize = 16;
/// `SetExchangeRatesRequest.rates`.
pub const EXCHANGE_RATES: usize = 200;
/// `FieldMask.paths` (more than any resource has fields and sub-fields).
pub const MASK_PATHS: usize = 64;
/// Longest field-mask path; no field name of the contract is this long.
pub const MASK_PATH_BYTES: usize = 64;

/// Every repeated field a request may carry, by full proto name, with its maximum.
pub const REPEATED: &[(&str, usize)] = &[
    ("clearinghouse.v1.Need.sub_areas", NEED_SUB_AREAS),
    ("clearinghouse.v1.Need.weapon_domains", NEED_WEAPON_DOMAINS),
    (
        "clearinghouse.v1.Need.assistance_kinds",
        NEED_ASSISTANCE_KINDS,
    ),
    (
        "clearinghouse.v1.Need.accepted_funding_modes",
        NEED_FUNDING_MODES,
    ),
    ("clearinghouse.v1.Need.languages", LANGUAGES),
    (
        "clearinghouse.v1.Need.required_assistance_kinds",
        NEED_ASSISTANCE_KINDS,
    ),
    ("clearinghouse.v1.Need.required_languages", LANGUAGES),
    (
        "clearinghouse.v1.Need.beneficiary_countries",
        NEED_BENEFICIARY_COUNTRIES,
    ),
    (
        "clearinghouse.v1.Offer.implementing_party_ids",
        OFFER_IMPLEMENTING_PARTIES,
    ),
    ("clearinghouse.v1.Offer.areas", OFFER_AREAS),
    ("clearinghouse.v1.Offer.sub_areas", OFFER_SUB_AREAS),
    (
        "clearinghouse.v1.Offer.weapon_domains",
        OFFER_WEAPON_DOMAINS,
    ),
    (
        "clearinghouse.v1.Offer.assistance_kinds",
        OFFER_ASSISTANCE_KINDS,
    ),
    ("clearinghouse.v1.Offer.funding_modes", OFFER_FUNDING_MODES),
    ("clearinghouse.v1.Offer.languages", LANGUAGES),
    ("clearinghouse.v1.GeoScope.regions", SCOPE_REGIONS),
    ("clearinghouse.v1.GeoScope.subregions", SCOPE_SUBREGIONS),
    ("clearinghouse.v1.GeoScope.countries", SCOPE_COUNTRIES),
    (
        "clearinghouse.v1.GeoScope.excluded_countries",
        SCOPE_COUNTRIES,
    ),
    (
        "clearinghouse.v1.CreateMatchRequest.contributions",
        MATCH_CONTRIBUTIONS,
    ),
    (
        "clearinghouse.v1.SetExchangeRatesRequest.rates",
        EXCHANGE_RATES,
    ),
    ("google.protobuf.FieldMask.paths", MASK_PATHS),
];

/// Every `Timestamp` or `Duration` field a request may carry, checked with
/// [`timestamp_in`] / [`duration_in`].
pub const TIMES: &[&str] = &[
    "clearinghouse.v1.Principal.expire_time",
    "clearinghouse.v1.ListNeedsRequest.updated_since",
    "clearinghouse.v1.ListOffersRequest.updated_since",
    "clearinghouse.v1.ListDecisionsRequest.start_time",
    "clearinghouse.v1.ListDecisionsRequest.end_time",
];

/// The first `max` entries of `items`; a longer list is reported under `field` once,
/// before any of its entries is looked at.
pub fn capped<'a, T>(v: &mut Violations, field: &str, items: &'a [T], max: usize) -> &'a [T] {
    if items.len() > max {
        v.add(
            field,
            format!("has {} entries; the maximum is {max}", items.len()),
        );
        &items[..max]
    } else {
        items
    }
}

/// The paths of an update mask: at most [`MASK_PATHS`], each at most [`MASK_PATH_BYTES`]
/// long (a longer one is reported and dropped). Whether a path names a field is for the
/// resource's own parser.
pub fn mask_in(v: &mut Violations, mask: Option<prost_types::FieldMask>) -> Vec<String> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    let kept = capped(v, "update_mask.paths", &paths, MASK_PATHS);
    let mut out = Vec::with_capacity(kept.len());
    for (i, p) in kept.iter().enumerate() {
        if p.len() > MASK_PATH_BYTES {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!(
                    "{} is {} bytes long; no field path is longer than {MASK_PATH_BYTES}",
                    shown(p),
                    p.len()
                ),
            );
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Seconds of 0001-01-01T00:00:00Z, the first instant a `Timestamp` may hold.
pub const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// Seconds of 9999-12-31T23:59:59Z, the last second a `Timestamp` may hold.
pub const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
/// Largest magnitude of a `Duration`'s seconds (about 10,000 years).
pub const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// A timestamp within the protobuf range (0001-01-01 to 9999-12-31, nanos 0 to
/// 999,999,999) as a domain instant; outside it, a violation of `field` and `None`.
pub fn timestamp_in(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<Timestamp> {
    let t = t?;
    let mut ok = true;
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&t.seconds) {
        v.add(
            format!("{field}.seconds"),
            format!(
                "{} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z ({MIN_TIMESTAMP_SECONDS}..{MAX_TIMESTAMP_SECONDS})",
                t.seconds
            ),
        );
        ok = false;
    }
    if !(0..1_000_000_000).contains(&t.nanos) {
        v.add(
            format!("{field}.nanos"),
            format!("{} is outside 0..999999999", t.nanos),
        );
        ok = false;
    }
    ok.then(|| super::ts_in(t))
}

/// [`timestamp_in`] for a filter: the error alone.
pub fn timestamp_filter(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<Timestamp>, ApiError> {
    let mut v = Violations::new("");
    let out = timestamp_in(&mut v, field, t);
    v.into_result()?;
    Ok(out)
}

/// A duration within the protobuf range (±315,576,000,000 s, nanos of the same sign and
/// below one second) in milliseconds; outside it, a violation of `field` and `None`.
pub fn duration_in(
    v: &mut Violations,
    field: &str,
    d: Option<&prost_types::Duration>,
) -> Option<i64> {
    let d = d?;
    let mut ok = true;
    if !(-MAX_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&d.seconds) {
        v.add(
            format!("{field}.seconds"),
            format!(
                "{} is outside -{MAX_DURATION_SECONDS}..{MAX_DURATION_SECONDS}",
                d.seconds
            ),
        );
        ok = false;
    }
    let same_sign = d.seconds == 0 || d.nanos == 0 || (d.seconds > 0) == (d.nanos > 0);
    if !(-999_999_999..=999_999_999).contains(&d.nanos) || !same_sign {
        v.add(
            format!("{field}.nanos"),
            format!(
                "{} must be within ±999999999 with the sign of seconds",
                d.nanos
            ),
        );
        ok = false;
    }
    ok.then(|| d.seconds * 1000 + i64::from(d.nanos) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use prost::Message;
    use prost_types::{
        DescriptorProto, FileDescriptorSet, field_descriptor_proto::Label,
        field_descriptor_proto::Type,
    };

    use super::*;
    use crate::pb;

    /// Every message by full name (no leading dot) with its leading field comments.
    fn messages() -> HashMap<String, (DescriptorProto, Vec<String>)> {
        let fds = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let mut out = HashMap::new();
        for file in fds.file {
            let comments: HashMap<Vec<i32>, String> = file
                .source_code_info
                .iter()
                .flat_map(|s| s.location.iter())
                .map(|l| (l.path.clone(), l.leading_comments().to_owned()))
                .collect();
            for (i, m) in file.message_type.iter().enumerate() {
                let idx = i32::try_from(i).expect("index");
                let field_comments = (0..m.field.len())
                    .map(|j| {
                        let j = i32::try_from(j).expect("index");
                        comments
                            .get(&vec![4, idx, 2, j])
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect();
                out.insert(
                    format!("{}.{}", file.package(), m.name()),
                    (m.clone(), field_comments),
                );
            }
        }
        out
    }

    /// Fields a request can carry that the server reads: (full name, is repeated, type).
    fn request_fields() -> Vec<(String, bool, String)> {
        let msgs = messages();
        let fds = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
        let mut todo: Vec<String> = fds
            .file
            .iter()
            .filter(|f| f.package() == "clearinghouse.v1")
            .flat_map(|f| f.service.iter())
            .flat_map(|s| s.method.iter())
            .map(|m| m.input_type().trim_start_matches('.').to_owned())
            .collect();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let (m, comments) = msgs.get(&name).expect("known message");
            for (f, comment) in m.field.iter().zip(comments) {
                if comment.contains("Output only") {
                    continue;
                }
                let ty = f.type_name().trim_start_matches('.').to_owned();
                out.push((
                    format!("{name}.{}", f.name()),
                    f.label() == Label::Repeated,
                    ty.clone(),
                ));
                let time = ty == "google.protobuf.Timestamp" || ty == "google.protobuf.Duration";
                if f.r#type() == Type::Message && !time {
                    todo.push(ty);
                }
            }
        }
        out
    }

    #[test]
    fn every_repeated_field_of_a_request_has_a_maximum() {
        let fields = request_fields();
        let missing: Vec<&String> = fields
            .iter()
            .filter(|(name, repeated, _)| *repeated && !REPEATED.iter().any(|(n, _)| n == name))
            .map(|(n, _, _)| n)
            .collect();
        assert!(
            missing.is_empty(),
            "repeated request fields without a maximum in convert::limits::REPEATED: {missing:?}"
        );
        for (name, _) in REPEATED {
            assert!(
                fields.iter().any(|(n, r, _)| n == name && *r),
                "{name} is not a repeated request field"
            );
        }
    }

    #[test]
    fn every_timestamp_and_duration_of_a_request_is_checked() {
        let fields = request_fields();
        let missing: Vec<&String> = fields
            .iter()
            .filter(|(name, _, ty)| {
                (ty == "google.protobuf.Timestamp" || ty == "google.protobuf.Duration")
                    && !TIMES.contains(&name.as_str())
            })
            .map(|(n, _, _)| n)
            .collect();
        assert!(
            missing.is_empty(),
            "time fields of requests not in convert::limits::TIMES: {missing:?}"
        );
        for name in TIMES {
            assert!(
                fields.iter().any(|(n, _, _)| n == name),
                "{name} is not a request field"
            );
        }
    }

    #[test]
    fn timestamps_outside_the_protobuf_range_are_violations() {
        let ts = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
        let cases = [
            (ts(MIN_TIMESTAMP_SECONDS, 0), vec![]),
            (ts(MAX_TIMESTAMP_SECONDS, 999_999_999), vec![]),
            (ts(MAX_TIMESTAMP_SECONDS + 1, 0), vec!["t.seconds"]),
            (ts(MIN_TIMESTAMP_SECONDS - 1, 0), vec!["t.seconds"]),
            (ts(0, -1), vec!["t.nanos"]),
            (ts(0, 1_000_000_000), vec!["t.nanos"]),
            (ts(i64::MAX, i32::MIN), vec!["t.seconds", "t.nanos"]),
        ];
        for (t, bad) in cases {
            let mut v = Violations::new("");
            let got = timestamp_in(&mut v, "t", Some(&t));
            let fields: Vec<String> = v
                .into_result()
                .err()
                .map(|e| e.violations.into_iter().map(|f| f.field).collect())
                .unwrap_or_default();
            assert_eq!(fields, bad, "{t:?}");
            assert_eq!(got.is_some(), bad.is_empty());
        }
        let mut v = Violations::new("");
        let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(
            duration_in(&mut v, "d", Some(&d(1, 500_000_000))),
            Some(1500)
        );
        assert_eq!(duration_in(&mut v, "d", Some(&d(1, -1))), None);
        assert_eq!(
            duration_in(&mut v, "d", Some(&d(MAX_DURATION_SECONDS + 1, 0))),
            None
        );
        assert_eq!(v.into_result().expect_err("two bad").violations.len(), 2);
    }

    #[test]
    fn long_lists_and_mask_paths_are_reported_once_and_cut() {
        let mut v = Violations::new("need");
        let items = vec![0i32; 100_000];
        assert_eq!(
            capped(&mut v, "sub_areas", &items, NEED_SUB_AREAS).len(),
            NEED_SUB_AREAS
        );
        let paths = prost_types::FieldMask {
            paths: (0..1000)
                .map(|i| {
                    if i == 1 {
                        "x".repeat(10_000)
                    } else {
                        "title".into()
                    }
                })
                .collect(),
        };
        assert_eq!(mask_in(&mut v, Some(paths)).len(), MASK_PATHS - 1);
        let e = v.into_result().expect_err("invalid");
        let fields: Vec<&str> = e.violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "need.sub_areas",
                "need.update_mask.paths",
                "need.update_mask.paths[1]"
            ]
        );
        assert!(e.violations[2].description.len() < 200);
    }
}
