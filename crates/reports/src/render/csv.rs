//! CSV for programs: one table per report, RFC 4180 quoting, a header line, `\n` line
//! ends. Amounts are plain decimals in major units of the `currency` column (no
//! separators); shares are percentages with one decimal, rounded down (empty when
//! undefined); dates are `YYYY-MM-DD`; empty cells mean "not applicable to this record".
//!
//! Columns per report:
//!
//! - **coverage**: `record` (`cell`, `area`, `geo`, `sub_area`, `total`), `area`, `geo`,
//!   `sub_area` (full code), `needs`, `matched`, `partially_matched`, `unmatched`,
//!   `needs_with_budget`, `needs_without_budget`, `needs_without_rate`, `currency`,
//!   `estimated_budget`, `funded`, `funded_within_budget`, `funded_share_percent` (of the
//!   estimated budgets of needs with a budget).
//! - **ageing**: `record` (`bucket`, `follow_up`, `hidden`), `bucket`, `needs`, `high`,
//!   `medium`, `low`, `confidential`, `need_id`, `title`, `requester`, `country`, `area`,
//!   `status`, `priority`, `request_date`, `follow_up_due`, `days_overdue`. The `hidden`
//!   record counts follow-up rows not shown: `confidential` and `needs` (all hidden).
//! - **matches**: `dimension` (`status`, `funding_mode`, `total`, `committed_total`),
//!   `key`, `matches`, `currency`, `volume`, `matches_without_rate`, `in_kind_only`,
//!   `share_of_committed_percent`.
//! - **portfolio**: `provider_id` (`TOTAL` for the sums over every provider), `provider`,
//!   `offers`, `open_offers`, `uncapped_offers`, `offers_without_rate`, `currency`,
//!   `ceilings`, `reserved`, `remaining`, `negotiating`, `agreed`, `implementing`,
//!   `completed`, `ended`.
//! - **pipeline**: `group`, `open_offers`, `matches_negotiating`, `matches_agreed`,
//!   `matches_implementing`, `matches_completed`, `matches_ended`, `needs_negotiating`,
//!   `needs_agreed`, `needs_implementing`, `needs_completed`, `needs_ended`, `currency`,
//!   `committed_volume`, `contributions_without_rate`.
//! - **worklist**: `section` (`awaiting_authentication`, `consent_window`, `unmatched`,
//!   `awaiting_answer`, `follow_up`, `expiring_offer`, or `hidden` with the section in
//!   `detail`), `id` (need, match or offer id), `need_id`, `title`, `party` (requester,
//!   provider, or who must answer), `country`, `area`, `date` (submitted on, window end,
//!   request date, waiting since, follow-up due, valid until), `days` (waiting, left,
//!   months open for `unmatched`, overdue), `detail` (consent state, priority, status,
//!   programme), `best_offer_id`, `best_score`, `currency`, `remaining`, `confidential`,
//!   `restricted` (the last two on `hidden` records).

use crate::{
    ageing::AgeingReport,
    brief::Report,
    coverage::{CoverageFigures, CoverageReport},
    match_volume::{MatchVolumeReport, VolumeRow},
    money::{plain_decimal, plain_share},
    pipeline::PipelineReport,
    portfolio::{PortfolioReport, ProviderRow},
    render::table::Table,
    viewer::HiddenRows,
    worklist::Worklist,
};

/// The report's CSV text.
pub fn render_csv(report: &Report) -> String {
    to_csv(&csv_table(report))
}

/// The report's one flat table (columns in the module documentation).
pub fn csv_table(report: &Report) -> Table {
    match report {
        Report::Coverage(r) => coverage(r),
        Report::Ageing(r) => ageing(r),
        Report::Matches(r) => matches(r),
        Report::Portfolio(r) => portfolio(r),
        Report::Pipeline(r) => pipeline(r),
        Report::Worklist(r) => worklist(r),
    }
}

/// A table as CSV: header then rows, fields quoted when they hold a comma, a quote or a
/// line break.
pub fn to_csv(t: &Table) -> String {
    let mut out = String::new();
    let header: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    line(&header, &mut out);
    for r in &t.rows {
        line(r, &mut out);
    }
    out
}

fn line(cells: &[String], out: &mut String) {
    let parts: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.push_str(&parts.join(","));
    out.push('\n');
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn share(bp: Option<u32>) -> String {
    bp.map(plain_share).unwrap_or_default()
}

fn coverage(r: &CoverageReport) -> Table {
    let cur = r.meta.base_currency.as_str();
    let mut t = Table::new(
        "coverage",
        &[
            "record",
            "area",
            "geo",
            "sub_area",
            "needs",
            "matched",
            "partially_matched",
            "unmatched",
            "needs_with_budget",
            "needs_without_budget",
            "needs_without_rate",
            "currency",
            "estimated_budget",
            "funded",
            "funded_within_budget",
            "funded_share_percent",
        ],
    );
    let mut push = |record: &str, area: &str, geo: &str, sub: &str, f: &CoverageFigures| {
        t.row(vec![
            s(record),
            s(area),
            s(geo),
            s(sub),
            s(f.needs),
            s(f.matched),
            s(f.partially_matched),
            s(f.unmatched),
            s(f.needs_with_budget),
            s(f.needs_without_budget),
            s(f.needs_without_rate),
            s(cur),
            plain_decimal(f.estimated_budget_minor, cur),
            plain_decimal(f.funded_minor, cur),
            plain_decimal(f.funded_within_budget_minor, cur),
            share(f.funded_share_bp),
        ]);
    };
    for c in &r.cells {
        push("cell", &c.area, &c.geo, "", &c.figures);
    }
    for a in &r.by_area {
        push("area", &a.key, "", "", &a.figures);
    }
    for g in &r.by_geo {
        push("geo", "", &g.key, "", &g.figures);
    }
    for x in &r.by_sub_area {
        let area = x.key.split_once('.').map_or("", |(a, _)| a);
        push("sub_area", area, "", &x.key, &x.figures);
    }
    push("total", "", "", "", &r.total);
    t
}

fn ageing(r: &AgeingReport) -> Table {
    let mut t = Table::new(
        "ageing",
        &[
            "record",
            "bucket",
            "needs",
            "high",
            "medium",
            "low",
            "confidential",
            "need_id",
            "title",
            "requester",
            "country",
            "area",
            "status",
            "priority",
            "request_date",
            "follow_up_due",
            "days_overdue",
        ],
    );
    let blank = || String::new();
    for b in &r.buckets {
        let mut cells = vec![
            s("bucket"),
            b.label.clone(),
            s(b.needs),
            s(b.high),
            s(b.medium),
            s(b.low),
            s(b.confidential),
        ];
        cells.extend((0..10).map(|_| blank()));
        t.row(cells);
    }
    for f in &r.follow_ups {
        let mut cells = vec![s("follow_up")];
        cells.extend((0..6).map(|_| blank()));
        cells.extend([
            f.need_id.clone(),
            f.title.clone(),
            f.requester.clone(),
            f.country.clone(),
            f.area.clone(),
            f.status.clone(),
            f.priority.clone(),
            f.request_date.clone(),
            f.follow_up_due.clone(),
            s(f.days_overdue),
        ]);
        t.row(cells);
    }
    let h: &HiddenRows = &r.follow_ups_hidden;
    if h.total() > 0 {
        let mut cells = vec![
            s("hidden"),
            blank(),
            s(h.total()),
            blank(),
            blank(),
            blank(),
            s(h.confidential),
        ];
        cells.extend((0..10).map(|_| blank()));
        t.row(cells);
    }
    t
}

fn matches(r: &MatchVolumeReport) -> Table {
    let cur = r.meta.base_currency.as_str();
    let mut t = Table::new(
        "matches",
        &[
            "dimension",
            "key",
            "matches",
            "currency",
            "volume",
            "matches_without_rate",
            "in_kind_only",
            "share_of_committed_percent",
        ],
    );
    let mut push = |dim: &str, v: &VolumeRow| {
        t.row(vec![
            s(dim),
            v.key.clone(),
            s(v.matches),
            s(cur),
            plain_decimal(v.volume_minor, cur),
            s(v.matches_without_rate),
            s(v.in_kind_only),
            share(v.share_of_committed_bp),
        ]);
    };
    for v in &r.by_status {
        push("status", v);
    }
    for v in &r.by_funding_mode {
        push("funding_mode", v);
    }
    t.row(vec![
        s("total"),
        s("ALL"),
        s(r.total_matches),
        s(cur),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    t.row(vec![
        s("committed_total"),
        s("ALL"),
        s(r.committed_matches),
        s(cur),
        plain_decimal(r.committed_volume_minor, cur),
        s(r.by_funding_mode
            .iter()
            .map(|v| v.matches_without_rate)
            .sum::<u32>()),
        s(r.by_funding_mode
            .iter()
            .map(|v| v.in_kind_only)
            .sum::<u32>()),
        String::new(),
    ]);
    t
}

fn portfolio(r: &PortfolioReport) -> Table {
    let cur = r.meta.base_currency.as_str();
    let mut t = Table::new(
        "portfolio",
        &[
            "provider_id",
            "provider",
            "offers",
            "open_offers",
            "uncapped_offers",
            "offers_without_rate",
            "currency",
            "ceilings",
            "reserved",
            "remaining",
            "negotiating",
            "agreed",
            "implementing",
            "completed",
            "ended",
        ],
    );
    let mut push = |p: &ProviderRow| {
        t.row(vec![
            p.provider_id.clone(),
            p.provider.clone(),
            s(p.offers),
            s(p.open_offers),
            s(p.uncapped_offers),
            s(p.offers_without_rate),
            s(cur),
            plain_decimal(p.ceilings_minor, cur),
            plain_decimal(p.reserved_minor, cur),
            plain_decimal(p.remaining_minor, cur),
            s(p.matches.negotiating),
            s(p.matches.agreed),
            s(p.matches.implementing),
            s(p.matches.completed),
            s(p.matches.ended),
        ]);
    };
    for p in &r.providers {
        push(p);
    }
    push(&r.total);
    t
}

fn pipeline(r: &PipelineReport) -> Table {
    let cur = r.meta.base_currency.as_str();
    let mut t = Table::new(
        "pipeline",
        &[
            "group",
            "open_offers",
            "matches_negotiating",
            "matches_agreed",
            "matches_implementing",
            "matches_completed",
            "matches_ended",
            "needs_negotiating",
            "needs_agreed",
            "needs_implementing",
            "needs_completed",
            "needs_ended",
            "currency",
            "committed_volume",
            "contributions_without_rate",
        ],
    );
    for g in &r.groups {
        t.row(vec![
            g.group.clone(),
            s(g.open_offers),
            s(g.matches.negotiating),
            s(g.matches.agreed),
            s(g.matches.implementing),
            s(g.matches.completed),
            s(g.matches.ended),
            s(g.needs.negotiating),
            s(g.needs.agreed),
            s(g.needs.implementing),
            s(g.needs.completed),
            s(g.needs.ended),
            s(cur),
            plain_decimal(g.committed_volume_minor, cur),
            s(g.contributions_without_rate),
        ]);
    }
    t
}

/// One worklist CSV record; unset fields are empty.
#[derive(Default)]
struct WorkRecord {
    section: String,
    id: String,
    need_id: String,
    title: String,
    party: String,
    country: String,
    area: String,
    date: String,
    days: String,
    detail: String,
    best_offer_id: String,
    best_score: String,
    remaining: String,
    confidential: String,
    restricted: String,
}

fn worklist(w: &Worklist) -> Table {
    let cur = w.meta.base_currency.as_str();
    let mut t = Table::new(
        "worklist",
        &[
            "section",
            "id",
            "need_id",
            "title",
            "party",
            "country",
            "area",
            "date",
            "days",
            "detail",
            "best_offer_id",
            "best_score",
            "currency",
            "remaining",
            "confidential",
            "restricted",
        ],
    );
    let mut records: Vec<WorkRecord> = Vec::new();
    let hidden = |name: &str, h: &HiddenRows, out: &mut Vec<WorkRecord>| {
        if h.total() > 0 {
            out.push(WorkRecord {
                section: s("hidden"),
                detail: s(name),
                confidential: s(h.confidential),
                restricted: s(h.restricted),
                ..WorkRecord::default()
            });
        }
    };
    for r in &w.awaiting_authentication.rows {
        records.push(WorkRecord {
            section: s("awaiting_authentication"),
            id: r.need_id.clone(),
            need_id: r.need_id.clone(),
            title: r.title.clone(),
            party: r.requester.clone(),
            country: r.country.clone(),
            area: r.area.clone(),
            date: r.submitted_on.clone(),
            days: s(r.days_waiting),
            ..WorkRecord::default()
        });
    }
    hidden(
        "awaiting_authentication",
        &w.awaiting_authentication.hidden,
        &mut records,
    );
    for r in &w.consent_windows.rows {
        records.push(WorkRecord {
            section: s("consent_window"),
            id: r.need_id.clone(),
            need_id: r.need_id.clone(),
            title: r.title.clone(),
            party: r.requester.clone(),
            date: r.window_ends.clone(),
            days: s(r.days_left),
            detail: r.state.clone(),
            ..WorkRecord::default()
        });
    }
    hidden("consent_window", &w.consent_windows.hidden, &mut records);
    for r in &w.unmatched.rows {
        records.push(WorkRecord {
            section: s("unmatched"),
            id: r.need_id.clone(),
            need_id: r.need_id.clone(),
            title: r.title.clone(),
            party: r.requester.clone(),
            country: r.country.clone(),
            area: r.area.clone(),
            date: r.request_date.clone(),
            days: s(r.months_open),
            detail: r.priority.clone(),
            best_offer_id: r.best_offer_id.clone().unwrap_or_default(),
            best_score: r
                .best_score_milli
                .map(|x| format!("{}.{:03}", x / 1000, x % 1000))
                .unwrap_or_default(),
            ..WorkRecord::default()
        });
    }
    hidden("unmatched", &w.unmatched.hidden, &mut records);
    for r in &w.awaiting_answers.rows {
        records.push(WorkRecord {
            section: s("awaiting_answer"),
            id: r.match_id.clone(),
            need_id: r.need_id.clone(),
            party: r.waiting_for.join("; "),
            date: r.waiting_since.clone(),
            days: s(r.days_waiting),
            detail: r.status.clone(),
            ..WorkRecord::default()
        });
    }
    hidden("awaiting_answer", &w.awaiting_answers.hidden, &mut records);
    for r in &w.follow_ups.rows {
        records.push(WorkRecord {
            section: s("follow_up"),
            id: r.need_id.clone(),
            need_id: r.need_id.clone(),
            title: r.title.clone(),
            party: r.requester.clone(),
            country: r.country.clone(),
            area: r.area.clone(),
            date: r.follow_up_due.clone(),
            days: s(r.days_overdue),
            detail: r.status.clone(),
            ..WorkRecord::default()
        });
    }
    hidden("follow_up", &w.follow_ups.hidden, &mut records);
    for r in &w.expiring_offers.rows {
        records.push(WorkRecord {
            section: s("expiring_offer"),
            id: r.offer_id.clone(),
            party: r.provider.clone(),
            date: r.valid_until.clone(),
            days: s(r.days_left),
            detail: r.programme.clone(),
            remaining: r
                .remaining_minor
                .map(|m| plain_decimal(m, cur))
                .unwrap_or_default(),
            ..WorkRecord::default()
        });
    }
    for r in records {
        let currency = if r.remaining.is_empty() {
            String::new()
        } else {
            s(cur)
        };
        t.row(vec![
            r.section,
            r.id,
            r.need_id,
            r.title,
            r.party,
            r.country,
            r.area,
            r.date,
            r.days,
            r.detail,
            r.best_offer_id,
            r.best_score,
            currency,
            r.remaining,
            r.confidential,
            r.restricted,
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_or_line_breaks_are_quoted() {
        let mut t = Table::new("t", &["a", "b"]);
        t.row(vec![
            "Programme, phase 2".into(),
            "say \"yes\"\nthen go".into(),
        ]);
        assert_eq!(
            to_csv(&t),
            "a,b\n\"Programme, phase 2\",\"say \"\"yes\"\"\nthen go\"\n"
        );
    }
}
