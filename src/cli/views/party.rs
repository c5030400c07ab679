//! Parties: list columns and the detail view.

use super::cells::{pairs, time};
use crate::{
    cli::{
        enums::{PARTY_KIND, label},
        output::{Column, Doc, Mode},
    },
    pb,
};

/// Columns of `party list` (table and CSV).
pub static COLUMNS: &[Column<pb::Party>] = &[
    Column {
        name: "id",
        title: "ID",
        cell: |p, _| p.id.clone(),
    },
    Column {
        name: "kind",
        title: "KIND",
        cell: |p, _| label(PARTY_KIND, p.kind),
    },
    Column {
        name: "short_name",
        title: "SHORT",
        cell: |p, _| p.short_name.clone(),
    },
    Column {
        name: "display_name",
        title: "NAME",
        cell: |p, _| p.display_name.clone(),
    },
    Column {
        name: "country_code",
        title: "COUNTRY",
        cell: |p, _| p.country_code.clone(),
    },
    Column {
        name: "subregion",
        title: "SUB-REGION",
        cell: |p, _| p.subregion.clone(),
    },
    Column {
        name: "external_id",
        title: "EXTERNAL ID",
        cell: |p, _| p.external_id.clone(),
    },
];

/// A list of parties.
pub fn list(parties: &[pb::Party]) -> Doc {
    Doc::list(parties, COLUMNS)
}

/// One party.
pub fn record(p: &pb::Party) -> Doc {
    let fields = pairs(vec![
        ("Id", p.id.clone()),
        ("Kind", label(PARTY_KIND, p.kind)),
        ("Name", p.display_name.clone()),
        ("Short name", p.short_name.clone()),
        ("Country", p.country_code.clone()),
        (
            "Region",
            [p.region.as_str(), p.subregion.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" / "),
        ),
        ("External id", p.external_id.clone()),
        ("Description", p.description.clone()),
        ("Etag", p.etag.clone()),
        ("Created", time(p.create_time.as_ref(), Mode::Human)),
        ("Updated", time(p.update_time.as_ref(), Mode::Human)),
    ]);
    Doc::record(p, fields, COLUMNS)
}
