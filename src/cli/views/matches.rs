//! Matches: list columns, the detail view with contributions, and watch events.

use super::cells::{amount, history, pairs, score, time};
use crate::{
    cli::{
        enums::{ACCEPTANCE, CONTRIBUTION_ROLE, FUNDING_MODE, MATCH_STATUS, REASON_CODE, label},
        output::{Block, Column, Doc, Grid, Mode},
    },
    pb,
};

fn offers(m: &pb::Match, mode: Mode) -> String {
    m.contributions
        .iter()
        .map(|c| c.offer_id.clone())
        .collect::<Vec<_>>()
        .join(match mode {
            Mode::Human => "\n",
            Mode::Machine => ";",
        })
}

fn pledged(m: &pb::Match, mode: Mode) -> String {
    m.contributions
        .iter()
        .map(|c| {
            if c.amount.is_some() {
                amount(c.amount.as_ref(), mode)
            } else {
                "in kind".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(match mode {
            Mode::Human => "\n",
            Mode::Machine => ";",
        })
}

/// Columns of `match list` (table and CSV).
pub static COLUMNS: &[Column<pb::Match>] = &[
    Column {
        name: "id",
        title: "ID",
        cell: |m, _| m.id.clone(),
    },
    Column {
        name: "status",
        title: "STATUS",
        cell: |m, _| label(MATCH_STATUS, m.status),
    },
    Column {
        name: "need_id",
        title: "NEED",
        cell: |m, _| m.need_id.clone(),
    },
    Column {
        name: "requester_party_id",
        title: "REQUESTER",
        cell: |m, _| m.requester_party_id.clone(),
    },
    Column {
        name: "offer_ids",
        title: "OFFERS",
        cell: offers,
    },
    Column {
        name: "amounts",
        title: "PLEDGED",
        cell: pledged,
    },
    Column {
        name: "funding_mode",
        title: "FUNDING",
        cell: |m, _| label(FUNDING_MODE, m.funding_mode),
    },
    Column {
        name: "score",
        title: "SCORE",
        cell: |m, _| score(m.score),
    },
    Column {
        name: "update_time",
        title: "UPDATED",
        cell: |m, mode| time(m.update_time.as_ref(), mode),
    },
];

/// A list of matches.
pub fn list(matches: &[pb::Match]) -> Doc {
    Doc::list(matches, COLUMNS)
}

/// One match: its fields, then one row per contribution.
pub fn record(m: &pb::Match) -> Doc {
    let h = Mode::Human;
    let end = match (
        label(REASON_CODE, m.end_reason_code),
        m.end_reason_text.as_str(),
    ) {
        (c, "") => c,
        (c, t) if c.is_empty() => t.to_owned(),
        (c, t) => format!("{c}: {t}"),
    };
    let fields = pairs(vec![
        ("Id", m.id.clone()),
        ("Status", label(MATCH_STATUS, m.status)),
        ("Need", m.need_id.clone()),
        ("Requester", m.requester_party_id.clone()),
        (
            "Requester answer",
            label(ACCEPTANCE, m.requester_acceptance),
        ),
        ("Funding mode", label(FUNDING_MODE, m.funding_mode)),
        ("Score", score(m.score)),
        ("Gap", amount(m.gap.as_ref(), h)),
        (
            "Proposed by",
            format!("{} {}", m.origin, m.create_principal_id)
                .trim()
                .to_owned(),
        ),
        ("Ended because", end),
        ("IATI status", iati_status(m.iati_activity_status)),
        ("Explanation", m.explanation.join("\n")),
        ("Etag", m.etag.clone()),
        ("Created", time(m.create_time.as_ref(), h)),
        ("Updated", time(m.update_time.as_ref(), h)),
        ("History", history(&m.status_history)),
    ]);
    let mut contributions = Grid::new(&[
        "OFFER",
        "PROVIDER",
        "ROLE",
        "PLEDGED",
        "ANSWER",
        "DECLINED BECAUSE",
    ]);
    for c in &m.contributions {
        contributions.push(vec![
            c.offer_id.clone(),
            c.provider_party_id.clone(),
            label(CONTRIBUTION_ROLE, c.role),
            if c.amount.is_some() {
                amount(c.amount.as_ref(), h)
            } else {
                format!("in kind: {}", c.in_kind)
            },
            label(ACCEPTANCE, c.acceptance),
            match (
                label(REASON_CODE, c.decline_reason_code),
                c.decline_reason_text.as_str(),
            ) {
                (a, "") => a,
                (a, t) => format!("{a}: {t}"),
            },
        ]);
    }
    Doc::record(m, fields, COLUMNS).then(Block::Grid(contributions))
}

/// The header of `match watch` in a table.
pub const WATCH_HEADER: [&str; 6] = ["SEQ", "TIME", "ACTION", "MATCH", "STATUS NOW", "NEED"];

/// The CSV header of `match watch`.
pub const WATCH_CSV_HEADER: [&str; 6] = [
    "sequence",
    "event_time",
    "action",
    "match_id",
    "status",
    "need_id",
];

/// One watch event as cells.
pub fn watch_row(e: &pb::WatchMatchesResponse, mode: Mode) -> Vec<String> {
    let m = e.r#match.as_ref();
    vec![
        e.sequence.to_string(),
        time(e.event_time.as_ref(), mode),
        e.action.clone(),
        e.match_id.clone(),
        m.map(|m| label(MATCH_STATUS, m.status)).unwrap_or_default(),
        m.map(|m| m.need_id.clone()).unwrap_or_default(),
    ]
}

/// One watch event as a fixed-width line for a live table.
pub fn watch_line(cells: &[String]) -> String {
    let widths = [6, 16, 22, 26, 22, 26];
    let mut out = String::new();
    for (i, c) in cells.iter().enumerate() {
        let w = widths.get(i).copied().unwrap_or(0);
        if i + 1 == cells.len() {
            out.push_str(c);
        } else {
            out.push_str(&format!("{c:<w$}  "));
        }
    }
    out.trim_end().to_owned()
}

/// An IATI activity status as a person reads it: the code and its name (empty when unset).
fn iati_status(code: i32) -> String {
    if code == 0 {
        return String::new();
    }
    match u8::try_from(code)
        .ok()
        .and_then(clearinghouse_domain::matches::iati_activity_status_name)
    {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    }
}
