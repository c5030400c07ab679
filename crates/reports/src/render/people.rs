//! Reports as tables for people (the text and HTML renderings): money with its currency
//! and thousands separators, shares as percentages that say what they are of, and a
//! line for every row left out.

use crate::{
    ageing::AgeingReport,
    brief::Report,
    coverage::{CoverageFigures, CoverageReport, CoverageRow},
    match_volume::{MatchVolumeReport, VolumeRow},
    meta::ReportMeta,
    money::{format_count, format_number, format_share},
    pipeline::PipelineReport,
    portfolio::{PortfolioReport, ProviderRow},
    render::table::Table,
    viewer::HiddenRows,
    worklist::{Section, Worklist},
};

/// The tables of a report, in reading order.
pub fn tables(report: &Report) -> Vec<Table> {
    match report {
        Report::Coverage(r) => coverage(r),
        Report::Ageing(r) => ageing(r),
        Report::Matches(r) => matches(r),
        Report::Portfolio(r) => portfolio(r),
        Report::Pipeline(r) => pipeline(r),
        Report::Worklist(r) => worklist(r),
    }
}

/// A code people read as words (`EXPORT_TRANSSHIPMENT` → `Export transshipment`);
/// anything else (a region's name, a party's) as it is.
fn shown(key: &str) -> String {
    let is_code = key.chars().any(|c| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if is_code {
        crate::render::svg::humanize(key)
    } else {
        key.to_owned()
    }
}

fn n(v: u32) -> String {
    format_count(u64::from(v))
}

fn hidden_note(what: &str, h: &HiddenRows) -> Option<String> {
    (h.total() > 0).then(|| {
        format!(
            "{} {what} not shown to this viewer: {} confidential (committee only), {} outside the viewer's audience; they count in the totals.",
            h.total(),
            h.confidential,
            h.restricted
        )
    })
}

fn meta_notes(meta: &ReportMeta) -> Vec<String> {
    meta.notes.clone()
}

fn coverage_columns(cur: &str) -> Vec<String> {
    [
        "#Needs".to_owned(),
        "#Matched".to_owned(),
        "#Partial".to_owned(),
        "#Unmatched".to_owned(),
        "#No budget".to_owned(),
        "#No rate".to_owned(),
        format!("#Estimated budget ({cur})"),
        format!("#Funded ({cur})"),
        "#Funded share".to_owned(),
        "#Budgeted needs".to_owned(),
    ]
    .to_vec()
}

fn coverage_cells(f: &CoverageFigures, cur: &str) -> Vec<String> {
    vec![
        n(f.needs),
        n(f.matched),
        n(f.partially_matched),
        n(f.unmatched),
        n(f.needs_without_budget),
        n(f.needs_without_rate),
        format_number(f.estimated_budget_minor, cur),
        format_number(f.funded_minor, cur),
        format_share(f.funded_share_bp),
        n(f.needs_with_budget),
    ]
}

fn coverage_table(
    title: &str,
    key: &str,
    rows: &[CoverageRow],
    total: Option<&CoverageFigures>,
    cur: &str,
) -> Table {
    let names = coverage_columns(cur);
    let mut cols = vec![key];
    cols.extend(names.iter().map(String::as_str));
    let mut t = Table::new(title, &cols);
    for r in rows {
        let mut cells = vec![shown(&r.key)];
        cells.extend(coverage_cells(&r.figures, cur));
        t.row(cells);
    }
    if let Some(f) = total {
        let mut cells = vec!["Total".to_owned()];
        cells.extend(coverage_cells(f, cur));
        t.row(cells);
    }
    t
}

/// The share note every coverage table carries.
pub const FUNDED_SHARE_NOTE: &str = "Funded share: pledges of agreed-or-later matches (not ended) as a share of the estimated budgets of needs with a budget, each need's pledges counted up to its budget.";

fn coverage(r: &CoverageReport) -> Vec<Table> {
    let cur = r.meta.base_currency.as_str();
    let mut matrix_cols: Vec<&str> = vec!["Area"];
    let col_names: Vec<String> = r.columns.iter().map(|c| format!("#{c}")).collect();
    matrix_cols.extend(col_names.iter().map(String::as_str));
    let mut matrix = Table::new(
        format!(
            "Needs by thematic area and {} (needs: matched/partial/unmatched)",
            r.geo_level
        ),
        &matrix_cols,
    );
    for a in &r.areas {
        let mut cells = vec![shown(a)];
        for c in r.cells.iter().filter(|c| &c.area == a) {
            let f = &c.figures;
            cells.push(if f.needs == 0 {
                "0".to_owned()
            } else {
                format!(
                    "{}: {}/{}/{}",
                    f.needs, f.matched, f.partially_matched, f.unmatched
                )
            });
        }
        matrix.row(cells);
    }
    matrix.notes = meta_notes(&r.meta);
    let mut by_area = coverage_table(
        "Coverage by thematic area",
        "Area",
        &r.by_area,
        Some(&r.total),
        cur,
    );
    by_area.notes.push(FUNDED_SHARE_NOTE.to_owned());
    let by_geo = coverage_table(
        &format!("Coverage by {}", r.geo_level),
        &r.geo_level,
        &r.by_geo,
        Some(&r.total),
        cur,
    );
    let mut by_sub = coverage_table(
        "Coverage by sub-area",
        "Sub-area",
        &r.by_sub_area,
        None,
        cur,
    );
    by_sub
        .notes
        .push("A need with several sub-areas counts in each of them.".to_owned());
    vec![matrix, by_area, by_geo, by_sub]
}

fn ageing(r: &AgeingReport) -> Vec<Table> {
    let mut b = Table::new(
        "Unmatched needs by months since the request",
        &["Age", "#Needs", "#High", "#Medium", "#Low", "#Confidential"],
    );
    for k in &r.buckets {
        b.row(vec![
            k.label.clone(),
            n(k.needs),
            n(k.high),
            n(k.medium),
            n(k.low),
            n(k.confidential),
        ]);
    }
    b.row(vec![
        "Total".to_owned(),
        n(r.unmatched_needs),
        n(r.buckets.iter().map(|k| k.high).sum()),
        n(r.buckets.iter().map(|k| k.medium).sum()),
        n(r.buckets.iter().map(|k| k.low).sum()),
        n(r.buckets.iter().map(|k| k.confidential).sum()),
    ]);
    b.notes = meta_notes(&r.meta);
    let mut f = Table::new(
        format!("Follow-ups due ({} needs)", r.follow_ups_due),
        &[
            "Need",
            "Title",
            "Requester",
            "Country",
            "Area",
            "Requested",
            "Follow-up due",
            "#Days overdue",
            "Priority",
        ],
    );
    for row in &r.follow_ups {
        f.row(vec![
            row.need_id.clone(),
            row.title.clone(),
            row.requester.clone(),
            row.country.clone(),
            shown(&row.area),
            row.request_date.clone(),
            row.follow_up_due.clone(),
            row.days_overdue.to_string(),
            row.priority.clone(),
        ]);
    }
    f.notes
        .extend(hidden_note("follow-ups", &r.follow_ups_hidden));
    vec![b, f]
}

fn volume_table(title: &str, key: &str, rows: &[VolumeRow], cur: &str, share: bool) -> Table {
    let volume = format!("#Volume ({cur})");
    let mut cols = vec![
        key,
        "#Matches",
        volume.as_str(),
        "#No rate",
        "#In kind only",
    ];
    if share {
        cols.push("#Share of committed volume");
    }
    let mut t = Table::new(title, &cols);
    for r in rows {
        let mut cells = vec![
            shown(&r.key),
            n(r.matches),
            format_number(r.volume_minor, cur),
            n(r.matches_without_rate),
            n(r.in_kind_only),
        ];
        if share {
            cells.push(format_share(r.share_of_committed_bp));
        }
        t.row(cells);
    }
    t
}

fn matches(r: &MatchVolumeReport) -> Vec<Table> {
    let cur = r.meta.base_currency.as_str();
    let mut s = volume_table(
        "Matches by status (all matches)",
        "Status",
        &r.by_status,
        cur,
        false,
    );
    s.row(vec![
        "Total".to_owned(),
        n(r.total_matches),
        String::new(),
        String::new(),
        String::new(),
    ]);
    s.notes = meta_notes(&r.meta);
    let mut f = volume_table(
        "Committed matches by funding mode (agreed or later, not ended)",
        "Funding mode",
        &r.by_funding_mode,
        cur,
        true,
    );
    f.row(vec![
        "Total".to_owned(),
        n(r.committed_matches),
        format_number(r.committed_volume_minor, cur),
        n(r.by_funding_mode
            .iter()
            .map(|x| x.matches_without_rate)
            .sum()),
        n(r.by_funding_mode.iter().map(|x| x.in_kind_only).sum()),
        format_share(crate::money::basis_points(
            r.committed_volume_minor,
            r.committed_volume_minor,
        )),
    ]);
    f.notes.push("Volume: pledged amounts of contributions not declined. Share: of the committed volume of all funding modes.".to_owned());
    vec![s, f]
}

fn provider_cells(p: &ProviderRow, cur: &str) -> Vec<String> {
    vec![
        p.provider.clone(),
        n(p.offers),
        n(p.open_offers),
        n(p.uncapped_offers),
        format_number(p.ceilings_minor, cur),
        format_number(p.reserved_minor, cur),
        format_number(p.remaining_minor, cur),
        n(p.matches.negotiating),
        n(p.matches.agreed),
        n(p.matches.implementing),
        n(p.matches.completed),
        n(p.matches.ended),
    ]
}

fn portfolio(r: &PortfolioReport) -> Vec<Table> {
    let cur = r.meta.base_currency.as_str();
    let (ceilings, reserved, remaining) = (
        format!("#Ceilings ({cur})"),
        format!("#Reserved ({cur})"),
        format!("#Remaining ({cur})"),
    );
    let mut t = Table::new(
        "Provider portfolio",
        &[
            "Provider",
            "#Offers",
            "#Open",
            "#No ceiling",
            &ceilings,
            &reserved,
            &remaining,
            "#Negotiating",
            "#Agreed",
            "#Implementing",
            "#Completed",
            "#Ended",
        ],
    );
    for p in &r.providers {
        t.row(provider_cells(p, cur));
    }
    t.row(provider_cells(&r.total, cur));
    if r.other_providers > 0 {
        t.notes.push(format!(
            "{} other provider(s) count in the totals only.",
            r.other_providers
        ));
    }
    t.notes.push("Reserved: pledges of matches agreed or later, not ended. Remaining: open offers with a ceiling.".to_owned());
    t.notes.extend(meta_notes(&r.meta));
    vec![t]
}

fn pipeline(r: &PipelineReport) -> Vec<Table> {
    let cur = r.meta.base_currency.as_str();
    let committed = format!("#Committed volume ({cur})");
    let mut t = Table::new(
        "Pipeline per GP sub-working group (matches by stage; needs by furthest stage)",
        &[
            "Group",
            "#Open offers",
            "#Negotiating",
            "#Agreed",
            "#Implementing",
            "#Completed",
            "#Ended",
            "#Needs",
            "#Needs agreed+",
            &committed,
        ],
    );
    for g in &r.groups {
        let agreed_plus = g.needs.agreed + g.needs.implementing + g.needs.completed;
        t.row(vec![
            g.group.clone(),
            n(g.open_offers),
            n(g.matches.negotiating),
            n(g.matches.agreed),
            n(g.matches.implementing),
            n(g.matches.completed),
            n(g.matches.ended),
            n(g.needs.total()),
            n(agreed_plus),
            format_number(g.committed_volume_minor, cur),
        ]);
    }
    t.notes
        .push("A match drawing on offers of two groups counts in both.".to_owned());
    t.notes.extend(meta_notes(&r.meta));
    vec![t]
}

fn section<T>(
    title: &str,
    cols: &[&str],
    s: &Section<T>,
    what: &str,
    cells: impl Fn(&T) -> Vec<String>,
) -> Table {
    let mut t = Table::new(format!("{title} ({})", s.total), cols);
    for r in &s.rows {
        t.row(cells(r));
    }
    t.notes.extend(hidden_note(what, &s.hidden));
    t
}

fn worklist(w: &Worklist) -> Vec<Table> {
    let cur = w.meta.base_currency.as_str();
    let remaining = format!("#Remaining ({cur})");
    vec![
        section(
            "Awaiting authentication",
            &[
                "Need",
                "Title",
                "Requester",
                "Country",
                "Area",
                "Submitted",
                "#Days",
            ],
            &w.awaiting_authentication,
            "needs",
            |r| {
                vec![
                    r.need_id.clone(),
                    r.title.clone(),
                    r.requester.clone(),
                    r.country.clone(),
                    shown(&r.area),
                    r.submitted_on.clone(),
                    r.days_waiting.to_string(),
                ]
            },
        ),
        section(
            "Consent windows",
            &[
                "Need",
                "Title",
                "Requester",
                "Window ends",
                "#Days left",
                "State",
                "Ready",
            ],
            &w.consent_windows,
            "needs",
            |r| {
                vec![
                    r.need_id.clone(),
                    r.title.clone(),
                    r.requester.clone(),
                    r.window_ends.clone(),
                    r.days_left.to_string(),
                    r.state.clone(),
                    if r.ready_to_circulate { "yes" } else { "no" }.to_owned(),
                ]
            },
        ),
        section(
            "Circulated, unmatched",
            &[
                "Need",
                "Title",
                "Requester",
                "Area",
                "Priority",
                "Requested",
                "#Months",
                "Best offer",
                "#Score",
            ],
            &w.unmatched,
            "needs",
            |r| {
                vec![
                    r.need_id.clone(),
                    r.title.clone(),
                    r.requester.clone(),
                    shown(&r.area),
                    r.priority.clone(),
                    r.request_date.clone(),
                    r.months_open.to_string(),
                    match (&r.best_offer_id, &r.best_offer_provider) {
                        (Some(o), Some(p)) => format!("{o} ({p})"),
                        (Some(o), None) => o.clone(),
                        _ => "none".to_owned(),
                    },
                    r.best_score_milli.map_or_else(
                        || "-".to_owned(),
                        |s| format!("{}.{:03}", s / 1000, s % 1000),
                    ),
                ]
            },
        ),
        section(
            "Matches awaiting an answer",
            &["Match", "Need", "Status", "Waiting for", "Since", "#Days"],
            &w.awaiting_answers,
            "matches",
            |r| {
                vec![
                    r.match_id.clone(),
                    r.need_id.clone(),
                    r.status.clone(),
                    r.waiting_for.join("; "),
                    r.waiting_since.clone(),
                    r.days_waiting.to_string(),
                ]
            },
        ),
        section(
            "Follow-ups due",
            &[
                "Need",
                "Title",
                "Requester",
                "Requested",
                "Follow-up due",
                "#Days overdue",
            ],
            &w.follow_ups,
            "needs",
            |r| {
                vec![
                    r.need_id.clone(),
                    r.title.clone(),
                    r.requester.clone(),
                    r.request_date.clone(),
                    r.follow_up_due.clone(),
                    r.days_overdue.to_string(),
                ]
            },
        ),
        section(
            "Offers expiring within 60 days",
            &[
                "Offer",
                "Provider",
                "Programme",
                "Valid until",
                "#Days left",
                &remaining,
            ],
            &w.expiring_offers,
            "offers",
            |r| {
                vec![
                    r.offer_id.clone(),
                    r.provider.clone(),
                    r.programme.clone(),
                    r.valid_until.clone(),
                    r.days_left.to_string(),
                    match (r.no_ceiling, r.remaining_minor) {
                        (true, _) => "no limit".to_owned(),
                        (false, Some(m)) => format_number(m, cur),
                        (false, None) => "no exchange rate".to_owned(),
                    },
                ]
            },
        ),
    ]
}
