//! Needs: list columns, the detail view, and the full CSV (the import columns).

use super::cells::{amount, contact, enum_list, history, list as join, pairs, time, window};
use crate::{
    cli::{
        enums::{
            AREA, ASSISTANCE_KIND, CHANNEL, CONSENT, FUNDING_MODE, NEED_STATUS, PRIORITY, SUB_AREA,
            VISIBILITY, WEAPON_DOMAIN, label,
        },
        fields,
        output::{Block, Column, Doc, Mode},
    },
    pb,
};

/// Columns of `need list` in a table (the deadline and the rest are in `need get` and the
/// CSV; a 120-column terminal leaves the title room to read).
pub static COLUMNS: &[Column<pb::Need>] = &[
    Column {
        name: "id",
        title: "ID",
        cell: |n, _| n.id.clone(),
    },
    Column {
        name: "status",
        title: "STATUS",
        cell: |n, _| label(NEED_STATUS, n.status),
    },
    Column {
        name: "requester_party_id",
        title: "REQUESTER",
        cell: |n, _| n.requester_party_id.clone(),
    },
    Column {
        name: "area",
        title: "AREA",
        cell: |n, _| label(AREA, n.area),
    },
    Column {
        name: "title",
        title: "TITLE",
        cell: |n, _| n.title.clone(),
    },
    Column {
        name: "estimated_budget",
        title: "BUDGET",
        cell: |n, m| amount(n.estimated_budget.as_ref(), m),
    },
];

/// A list of needs: the compact table; CSV carries every column of a need file.
pub fn list(needs: &[pb::Need]) -> Doc {
    Doc {
        blocks: vec![Block::Grid(super::super::output::Grid::of(
            needs,
            COLUMNS,
            Mode::Human,
        ))],
        csv: super::cells::spec_grid(needs, fields::need::FIELDS),
    }
}

/// One need, every field a person reads.
pub fn record(n: &pb::Need) -> Doc {
    let h = Mode::Human;
    let mut f = pairs(vec![
        ("Id", n.id.clone()),
        ("Status", label(NEED_STATUS, n.status)),
        ("Title", n.title.clone()),
        ("Requester", n.requester_party_id.clone()),
        (
            "Country",
            [
                n.country_code.as_str(),
                n.subregion.as_str(),
                n.region.as_str(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        ),
        ("Beneficiaries", join(&n.beneficiary_countries, h)),
        ("Area", label(AREA, n.area)),
        ("Sub-areas", enum_list(SUB_AREA, &n.sub_areas, h)),
        (
            "Weapon domains",
            enum_list(WEAPON_DOMAIN, &n.weapon_domains, h),
        ),
        (
            "Kinds of help",
            enum_list(ASSISTANCE_KIND, &n.assistance_kinds, h),
        ),
        ("Priority", label(PRIORITY, n.priority)),
        ("Window", window(&n.wanted_from, &n.needed_by)),
        ("Budget", amount(n.estimated_budget.as_ref(), h)),
        (
            "Funding",
            match label(FUNDING_MODE, n.preferred_funding_mode) {
                p if p.is_empty() => enum_list(FUNDING_MODE, &n.accepted_funding_modes, h),
                p => format!(
                    "{} (prefers {p})",
                    enum_list(FUNDING_MODE, &n.accepted_funding_modes, h)
                ),
            },
        ),
        ("Languages", join(&n.languages, h)),
        ("Description", n.description.clone()),
        ("Public summary", n.public_summary.clone()),
        ("Action plan item", n.national_action_plan_ref.clone()),
        ("IAEA plan item", n.iaea_plan_ref.clone()),
        ("Already received", n.assistance_received.clone()),
        ("Channel", label(CHANNEL, n.channel)),
        ("Note verbale", n.note_verbale_reference.clone()),
        ("Request date", n.request_date.clone()),
        ("Consent", label(CONSENT, n.publication_consent)),
        ("Consent window ends", n.consent_window_ends.clone()),
        ("Visibility", label(VISIBILITY, n.visibility)),
        ("Follow-up due", n.follow_up_due.clone()),
        ("Contact", contact(n.contact.as_ref())),
        ("External id", n.external_id.clone()),
        ("Etag", n.etag.clone()),
        ("Created", time(n.create_time.as_ref(), h)),
        ("Updated", time(n.update_time.as_ref(), h)),
        ("History", history(&n.status_history)),
    ]);
    if !n.feedback.is_empty() {
        f.push((
            "Feedback".to_owned(),
            n.feedback
                .iter()
                .map(|x| format!("{}  {}", time(x.create_time.as_ref(), h), x.text))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    Doc {
        blocks: vec![Block::Fields(f)],
        csv: super::cells::spec_grid(std::slice::from_ref(n), fields::need::FIELDS),
    }
}
