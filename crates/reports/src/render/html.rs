//! One self-contained HTML file: inline CSS, inline SVG charts, no script, no external
//! font or request, `lang="en"`, a print stylesheet for A4.
//!
//! Each chart sits in a `<figure>` with a title saying what it shows, a line with the
//! data's date and filters, and beneath it a `<table>` with a caption holding the same
//! numbers (readable without the chart, and by a screen reader).

use crate::{
    brief::{Brief, Report},
    markup::esc,
    meta::ReportMeta,
    render::{people, svg, table::Table},
};

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px; color: #1b1b1b; background: #ffffff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #ffdd00; color: #000; padding: 6px; }
a:focus, [tabindex]:focus { outline: 3px solid #ffdd00; outline-offset: 2px; }
h1 { font-size: 1.8rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.35rem; margin: 1.4rem 0 0.4rem; border-bottom: 2px solid #1b1b1b; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 0.8rem 0 0.3rem; }
p.context { color: #3d3d3d; font-size: 0.9rem; margin: 0.2rem 0 0.8rem; }
figure { margin: 0.5rem 0 0.25rem; }
figure svg { max-width: 100%; height: auto; display: block; }
table { border-collapse: collapse; margin: 0.3rem 0 0.3rem; font-size: 0.82rem; width: auto; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; caption-side: top; }
th, td { border: 1px solid #b1b4b6; padding: 2px 7px; vertical-align: top; }
thead th { background: #f3f2f1; text-align: left; }
tbody th { text-align: left; font-weight: 600; overflow-wrap: anywhere; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
p.note { font-size: 0.82rem; color: #3d3d3d; margin: 0.1rem 0 0.6rem; }
.table-wrap { overflow-x: auto; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  .skip { display: none; }
  h2 { break-after: avoid; }
  figure, table, .chart-block { break-inside: avoid; }
  figure svg { max-width: 100%; width: 100%; height: auto; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  th, td { padding: 2px 4px; }
}
"#;

/// The whole brief as one HTML document: each report's chart with the table of its
/// numbers first (coverage, ageing, funding modes, pipeline, then the portfolio), and the
/// detailed tables in an annex at the end.
pub fn render_html(brief: &Brief, title: &str) -> String {
    let order = [
        Report::Coverage(brief.coverage.clone()),
        Report::Ageing(brief.ageing.clone()),
        Report::Matches(brief.matches.clone()),
        Report::Pipeline(brief.pipeline.clone()),
        Report::Portfolio(brief.portfolio.clone()),
    ];
    let mut annex = Vec::new();
    let mut body = order
        .iter()
        .map(|r| section(r, Some(&mut annex)))
        .collect::<Vec<_>>()
        .join("\n");
    if !annex.is_empty() {
        body.push_str("<section id=\"annex\">\n<h2>Annex: detailed tables</h2>\n");
        for t in &annex {
            body.push_str(&table_html(t));
        }
        body.push_str("</section>\n");
    }
    document(title, &brief.coverage.meta, &body)
}

/// One report as an HTML document, every table inline.
pub fn render_report_html(report: &Report) -> String {
    let meta = report.meta();
    document(&meta.title, meta, &section(report, None))
}

fn document(title: &str, meta: &ReportMeta, sections: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to the report</a>\n<header>\n<h1>{t}</h1>\n<p class=\"context\">{ctx}</p>\n</header>\n<main id=\"main\">\n{sections}\n</main>\n</body>\n</html>\n",
        t = esc(title),
        ctx = esc(&meta.context_line()),
    )
}

/// A report's section; with an annex, tables other than the chart's (and the portfolio's)
/// go there instead.
fn section(report: &Report, mut annex: Option<&mut Vec<Table>>) -> String {
    let meta = report.meta();
    let tables = people::tables(report);
    let mut out = format!(
        "<section id=\"{}\">\n<h2>{}</h2>\n",
        esc(&meta.report),
        esc(&meta.title)
    );
    // The chart, and the index of the table holding its numbers (shown right beneath).
    let chart = match report {
        Report::Coverage(r) => Some((svg::heat_map(r), svg::heat_map_title(r), 0)),
        Report::Ageing(r) => Some((svg::ageing_bars(r), svg::AGEING_TITLE.to_owned(), 0)),
        Report::Matches(r) => Some((svg::funding_shares(r), svg::funding_title(r), 1)),
        Report::Pipeline(r) => Some((svg::pipeline_bars(r), svg::PIPELINE_TITLE.to_owned(), 0)),
        Report::Portfolio(_) | Report::Worklist(_) => None,
    };
    let mut chart_table = None;
    match chart {
        Some((chart, title, index)) => {
            chart_table = Some(index);
            out.push_str(&format!(
                "<div class=\"chart-block\">\n<figure aria-describedby=\"{id}-context\">\n<h3>{}</h3>\n{chart}<p class=\"context\" id=\"{id}-context\">{}</p>\n</figure>\n",
                esc(&title),
                esc(&meta.context_line()),
                id = esc(&meta.report),
            ));
            if let Some(t) = tables.get(index) {
                out.push_str(&table_html(t));
            }
            out.push_str("</div>\n");
        }
        None => out.push_str(&format!(
            "<p class=\"context\">{}</p>\n",
            esc(&meta.context_line())
        )),
    }
    let inline = chart_table.is_none();
    for (i, t) in tables.iter().enumerate() {
        if chart_table == Some(i) {
            continue;
        }
        match annex.as_deref_mut() {
            Some(a) if !inline => a.push(t.clone()),
            _ => out.push_str(&table_html(t)),
        }
    }
    out.push_str("</section>\n");
    out
}

/// A table with its caption, header cells with scopes, numbers right-aligned, and its
/// notes beneath.
pub fn table_html(t: &Table) -> String {
    let mut out = String::from("<div class=\"table-wrap\">\n<table>\n");
    out.push_str(&format!(
        "<caption>{}</caption>\n<thead><tr>",
        esc(&t.title)
    ));
    for c in &t.columns {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        out.push_str(&format!("<th scope=\"col\"{class}>{}</th>", esc(&c.name)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if t.rows.is_empty() {
        out.push_str(&format!(
            "<tr><td colspan=\"{}\">None.</td></tr>\n",
            t.columns.len().max(1)
        ));
    }
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in t.columns.iter().enumerate() {
            let cell = r.get(i).map_or("", String::as_str);
            let class = if c.numeric { " class=\"num\"" } else { "" };
            if i == 0 {
                out.push_str(&format!("<th scope=\"row\"{class}>{}</th>", esc(cell)));
            } else {
                out.push_str(&format!("<td{class}>{}</td>", esc(cell)));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    for n in &t.notes {
        out.push_str(&format!("<p class=\"note\">{}</p>\n", esc(n)));
    }
    out
}
