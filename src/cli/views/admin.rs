//! Administration: principals, audit entries, the matching policy, exchange rates.

use super::cells::{flag, pairs, time};
use crate::{
    cli::{
        enums::{ROLE, label},
        output::{Block, Column, Doc, Grid, Mode},
    },
    pb,
};

/// Columns of `admin key list` (table and CSV).
pub static PRINCIPAL_COLUMNS: &[Column<pb::Principal>] = &[
    Column {
        name: "id",
        title: "ID",
        cell: |p, _| p.id.clone(),
    },
    Column {
        name: "role",
        title: "ROLE",
        cell: |p, _| label(ROLE, p.role),
    },
    Column {
        name: "party_id",
        title: "PARTY",
        cell: |p, _| p.party_id.clone(),
    },
    Column {
        name: "display_name",
        title: "NAME",
        cell: |p, _| p.display_name.clone(),
    },
    Column {
        name: "revoked",
        title: "REVOKED",
        cell: |p, m| flag(p.revoked, m),
    },
    Column {
        name: "expire_time",
        title: "EXPIRES",
        cell: |p, m| time(p.expire_time.as_ref(), m),
    },
    Column {
        name: "create_time",
        title: "CREATED",
        cell: |p, m| time(p.create_time.as_ref(), m),
    },
];

/// A list of principals.
pub fn principals(p: &[pb::Principal]) -> Doc {
    Doc::list(p, PRINCIPAL_COLUMNS)
}

/// One principal.
pub fn principal(p: &pb::Principal) -> Doc {
    let h = Mode::Human;
    let fields = pairs(vec![
        ("Id", p.id.clone()),
        ("Name", p.display_name.clone()),
        ("Role", label(ROLE, p.role)),
        ("Party", p.party_id.clone()),
        ("Revoked", flag(p.revoked, h)),
        ("Revoked at", time(p.revoke_time.as_ref(), h)),
        ("Expires", time(p.expire_time.as_ref(), h)),
        ("Created", time(p.create_time.as_ref(), h)),
        ("Created by", p.create_principal_id.clone()),
    ]);
    Doc::record(p, fields, PRINCIPAL_COLUMNS)
}

/// A created key: the table output is the key alone on one line (so `$(...)` and `>`
/// capture it); CSV carries the principal and the key.
pub fn created_key(r: &pb::CreatePrincipalResponse) -> Doc {
    let p = r.principal.clone().unwrap_or_default();
    let mut csv = Grid::of(std::slice::from_ref(&p), PRINCIPAL_COLUMNS, Mode::Machine);
    csv.headers.push("api_key".into());
    if let Some(row) = csv.rows.first_mut() {
        row.push(r.api_key.clone());
    }
    Doc {
        blocks: vec![Block::Line(r.api_key.clone())],
        csv,
    }
}

/// Columns of `admin audit` (table and CSV).
pub static AUDIT_COLUMNS: &[Column<pb::AuditEntry>] = &[
    Column {
        name: "sequence",
        title: "SEQ",
        cell: |e, _| e.sequence.to_string(),
    },
    Column {
        name: "change_time",
        title: "TIME",
        cell: |e, m| time(e.change_time.as_ref(), m),
    },
    Column {
        name: "actor_principal_id",
        title: "ACTOR",
        cell: |e, _| e.actor_principal_id.clone(),
    },
    Column {
        name: "action",
        title: "ACTION",
        cell: |e, _| e.action.clone(),
    },
    Column {
        name: "resource_kind",
        title: "KIND",
        cell: |e, _| e.resource_kind.clone(),
    },
    Column {
        name: "resource_id",
        title: "RESOURCE",
        cell: |e, _| e.resource_id.clone(),
    },
    Column {
        name: "versions",
        title: "VERSION",
        cell: |e, _| format!("{}->{}", e.before_version, e.after_version),
    },
];

/// A page of audit entries.
pub fn audit(e: &[pb::AuditEntry]) -> Doc {
    Doc::list(e, AUDIT_COLUMNS)
}

/// The matching policy.
pub fn policy(p: &pb::MatchingPolicy) -> Doc {
    let weights = [
        ("thematic", p.thematic_weight),
        ("geography", p.geography_weight),
        ("funding", p.funding_weight),
        ("budget", p.budget_weight),
        ("assistance", p.assistance_weight),
        ("timing", p.timing_weight),
        ("language", p.language_weight),
        ("domain", p.domain_weight),
        ("specificity", p.specificity_weight),
    ];
    let penalties = [
        ("missing_kinds", p.missing_kinds_penalty),
        ("no_common_language", p.no_common_language_penalty),
        ("single_donor_shortfall", p.single_donor_shortfall_penalty),
    ];
    let mut g = Grid::new(&["FACTOR", "WEIGHT"]);
    let mut gates = Grid::new(&["GATE", "PENALTY"]);
    let mut csv = Grid::new(&["setting", "value"]);
    for (n, w) in weights {
        g.push(vec![n.to_owned(), format!("{w:.2}")]);
        csv.push(vec![format!("{n}_weight"), format!("{w}")]);
    }
    for (n, x) in penalties {
        gates.push(vec![n.to_owned(), format!("{x:.2}")]);
        csv.push(vec![format!("{n}_penalty"), format!("{x}")]);
    }
    csv.push(vec!["top_k".into(), p.top_k.to_string()]);
    csv.push(vec![
        "exact_consortium_max".into(),
        p.exact_consortium_max.to_string(),
    ]);
    csv.push(vec!["etag".into(), p.etag.clone()]);
    Doc {
        blocks: vec![
            Block::Grid(g),
            Block::Grid(gates),
            Block::Fields(pairs(vec![
                ("Candidates kept per need", p.top_k.to_string()),
                (
                    "Exact consortium up to",
                    format!("{} offers", p.exact_consortium_max),
                ),
                ("Etag", p.etag.clone()),
            ])),
        ],
        csv,
    }
}

/// The exchange-rate table now in force.
pub fn rates(r: &pb::SetExchangeRatesResponse) -> Doc {
    let mut csv = Grid::new(&["base_currency_code", "rate_count"]);
    csv.push(vec![r.base_currency_code.clone(), r.rate_count.to_string()]);
    Doc {
        blocks: vec![Block::Line(format!(
            "exchange rates set: {} rate(s) against {}",
            r.rate_count, r.base_currency_code
        ))],
        csv,
    }
}
