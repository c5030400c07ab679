//! Offers: list columns, the detail view, and the full CSV (the import columns).

use super::cells::{amount, contact, enum_list, history, list as join, pairs, time, window};
use crate::{
    cli::{
        enums::{
            AREA, ASSISTANCE_KIND, BUDGET_STATUS, FUNDING_MODE, GP_GROUP, OFFER_STATUS, SUB_AREA,
            WEAPON_DOMAIN, label,
        },
        fields,
        output::{Block, Column, Doc, Grid, Mode},
    },
    pb,
};

/// The scope of an offer on one line: `global`, or regions, sub-regions and countries,
/// then `except ...`.
pub fn scope(s: Option<&pb::GeoScope>) -> String {
    let Some(s) = s else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if s.global {
        parts.push("global".to_owned());
    }
    parts.extend(s.regions.iter().cloned());
    parts.extend(s.subregions.iter().cloned());
    parts.extend(s.countries.iter().cloned());
    let mut out = parts.join(", ");
    if !s.excluded_countries.is_empty() {
        out.push_str(&format!(" except {}", s.excluded_countries.join(", ")));
    }
    out
}

/// Areas and sub-areas covered, on one line.
fn coverage(o: &pb::Offer, mode: Mode) -> String {
    let mut parts = Vec::new();
    let areas = enum_list(AREA, &o.areas, mode);
    if !areas.is_empty() {
        parts.push(areas);
    }
    let subs = enum_list(SUB_AREA, &o.sub_areas, mode);
    if !subs.is_empty() {
        parts.push(subs);
    }
    parts.join(match mode {
        Mode::Human => ", ",
        Mode::Machine => ";",
    })
}

/// Columns of `offer list` in a table.
pub static COLUMNS: &[Column<pb::Offer>] = &[
    Column {
        name: "id",
        title: "ID",
        cell: |o, _| o.id.clone(),
    },
    Column {
        name: "status",
        title: "STATUS",
        cell: |o, _| label(OFFER_STATUS, o.status),
    },
    Column {
        name: "provider_party_id",
        title: "PROVIDER",
        cell: |o, _| o.provider_party_id.clone(),
    },
    Column {
        name: "programme_name",
        title: "PROGRAMME",
        cell: |o, _| o.programme_name.clone(),
    },
    Column {
        name: "covers",
        title: "COVERS",
        cell: coverage,
    },
    Column {
        name: "scope",
        title: "SCOPE",
        cell: |o, _| scope(o.scope.as_ref()),
    },
    Column {
        name: "budget_ceiling",
        title: "CEILING",
        cell: |o, m| amount(o.budget_ceiling.as_ref(), m),
    },
    Column {
        name: "valid_until",
        title: "UNTIL",
        cell: |o, _| o.valid_until.clone(),
    },
];

/// A list of offers: the compact table; CSV carries every column of an offer file.
pub fn list(offers: &[pb::Offer]) -> Doc {
    Doc {
        blocks: vec![Block::Grid(Grid::of(offers, COLUMNS, Mode::Human))],
        csv: super::cells::spec_grid(offers, fields::offer::FIELDS),
    }
}

/// One offer, every field a person reads.
pub fn record(o: &pb::Offer) -> Doc {
    let h = Mode::Human;
    let f = pairs(vec![
        ("Id", o.id.clone()),
        ("Status", label(OFFER_STATUS, o.status)),
        ("Programme", o.programme_name.clone()),
        ("Provider", o.provider_party_id.clone()),
        ("Implementers", join(&o.implementing_party_ids, h)),
        ("Covers", coverage(o, h)),
        (
            "Weapon domains",
            enum_list(WEAPON_DOMAIN, &o.weapon_domains, h),
        ),
        (
            "Kinds of help",
            enum_list(ASSISTANCE_KIND, &o.assistance_kinds, h),
        ),
        ("Scope", scope(o.scope.as_ref())),
        (
            "Funding modes",
            enum_list(FUNDING_MODE, &o.funding_modes, h),
        ),
        ("Languages", join(&o.languages, h)),
        ("Budget ceiling", amount(o.budget_ceiling.as_ref(), h)),
        ("Committed", amount(o.committed.as_ref(), h)),
        (
            "Per project",
            match (
                amount(o.min_contribution.as_ref(), h),
                amount(o.max_contribution.as_ref(), h),
            ) {
                (a, b) if a.is_empty() && b.is_empty() => String::new(),
                (a, b) if a.is_empty() => format!("at most {b}"),
                (a, b) if b.is_empty() => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            },
        ),
        (
            "Max engagements",
            if o.max_engagements == 0 {
                String::new()
            } else {
                o.max_engagements.to_string()
            },
        ),
        ("Budget status", label(BUDGET_STATUS, o.budget_status)),
        ("Valid", window(&o.valid_from, &o.valid_until)),
        (
            "Lead time",
            if o.lead_time_days == 0 {
                String::new()
            } else {
                format!("{} days", o.lead_time_days)
            },
        ),
        (
            "GP sub-working group",
            label(GP_GROUP, o.gp_sub_working_group),
        ),
        ("Description", o.description.clone()),
        ("Eligibility", o.eligibility_notes.clone()),
        ("Contact", contact(o.contact.as_ref())),
        ("External id", o.external_id.clone()),
        ("Etag", o.etag.clone()),
        ("Created", time(o.create_time.as_ref(), h)),
        ("Updated", time(o.update_time.as_ref(), h)),
        ("History", history(&o.status_history)),
    ]);
    Doc {
        blocks: vec![Block::Fields(f)],
        csv: super::cells::spec_grid(std::slice::from_ref(o), fields::offer::FIELDS),
    }
}
