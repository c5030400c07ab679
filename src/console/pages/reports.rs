//! Reports with their charts: each report computed by the use case for the viewer (so a
//! confidential need reaches non-brokers only as a count), drawn with the reports crate's
//! SVG charts and tables — the chart's title says what it shows, a line gives the date and
//! filters, and the same numbers sit in a table beneath it. The filters are the query
//! string, so a filtered report is a URL.

use maud::html;

use clearinghouse_reports::{
    Report,
    render::{html::table_html, people, svg},
};

use super::{
    Ctx, Reply,
    worklist::{filter_form, filter_of},
};
use crate::{
    app::reports::ReportKind,
    console::{html::trusted, routes::Action},
    error::ApiError,
};

const KINDS: &[(&str, &str, &str, &str)] = &[
    (
        "coverage",
        "Coverage",
        "Needs by thematic area and M49 region, matched or not, and the funded share of their budgets.",
        "report.coverage",
    ),
    (
        "ageing",
        "Ageing of unmatched needs",
        "Unmatched needs by months since the request; follow-ups due.",
        "report.ageing",
    ),
    (
        "matches",
        "Matches",
        "Matches by status and by funding mode, with volumes.",
        "report.matches",
    ),
    (
        "portfolio",
        "Provider portfolio",
        "Per provider: offers, capacity used and remaining, matches by stage.",
        "report.portfolio",
    ),
    (
        "pipeline",
        "Pipeline per GP sub-working group",
        "Open offers, matches and needs by stage for each sub-working group.",
        "report.pipeline",
    ),
];

/// `GET /console/reports`.
pub async fn index(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let q = ctx.query.query();
    let body = html! {
        h1 { "Reports" }
        p.lead { "Each report is drawn for you: confidential needs appear only as counts unless you are Committee staff." }
        ul {
            @for (slug, title, what, action) in KINDS {
                @if ctx.may(action) {
                    li { a href={"/console/reports/" (slug) @if !q.is_empty() { "?" (q) }} { (title) } " — " (what) }
                }
            }
        }
    };
    Ok(Reply::page("Reports", body))
}

/// `GET /console/reports/<kind>`.
pub async fn show(ctx: &Ctx<'_>, action: Action) -> Result<Reply, ApiError> {
    let (kind, slug) = match action {
        Action::ReportCoverage => (ReportKind::Coverage, "coverage"),
        Action::ReportAgeing => (ReportKind::Ageing, "ageing"),
        Action::ReportMatches => (ReportKind::Matches, "matches"),
        Action::ReportPortfolio => (ReportKind::Portfolio, "portfolio"),
        _ => (ReportKind::Pipeline, "pipeline"),
    };
    let filter = filter_of(&ctx.query)?;
    let report = ctx.app.report(&ctx.who, kind, filter).await?;
    let meta = report.meta().clone();
    let tables = people::tables(&report);
    let chart = match &report {
        Report::Coverage(r) => Some((svg::heat_map(r), svg::heat_map_title(r), 0)),
        Report::Ageing(r) => Some((svg::ageing_bars(r), svg::AGEING_TITLE.to_owned(), 0)),
        Report::Matches(r) => Some((svg::funding_shares(r), svg::funding_title(r), 1)),
        Report::Pipeline(r) => Some((svg::pipeline_bars(r), svg::PIPELINE_TITLE.to_owned(), 0)),
        Report::Portfolio(_) | Report::Worklist(_) => None,
    };
    let chart_table = chart.as_ref().map(|(_, _, i)| *i);
    let path = format!("/console/reports/{slug}");
    let body = html! {
        span.caption { a href="/console/reports" { "Reports" } }
        h1 { (meta.title) }
        (filter_form(&path, &ctx.query))
        @if let Some((svg, title, index)) = chart {
            div.chart {
                figure aria-describedby="chart-context" {
                    h2 { (title) }
                    (trusted(svg))
                    p.context #chart-context { (meta.context_line()) }
                }
                @if let Some(t) = tables.get(index) { (trusted(table_html(t))) }
            }
        } @else {
            p.context { (meta.context_line()) }
        }
        @for (i, t) in tables.iter().enumerate() {
            @if chart_table != Some(i) { (trusted(table_html(t))) }
        }
    };
    Ok(Reply::page(meta.title.clone(), body))
}
