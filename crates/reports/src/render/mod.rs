//! Renderers: plain-text tables for terminals, CSV and JSON for programs, one
//! self-contained HTML file with SVG charts for people and print.
//!
//! - [`render`] picks text, CSV or JSON for one report (what a CLI `--output` needs);
//! - [`html::render_html`] writes a whole brief, or [`html::render_report_html`] one report;
//! - the IATI XML export lives in [`crate::iati`].

pub mod csv;
pub mod html;
pub mod json;
pub mod people;
pub mod svg;
pub mod table;

use crate::{brief::Report, error::ReportError};

/// An output format for one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain-text tables no wider than the given number of characters.
    Table {
        /// Terminal width.
        width: usize,
    },
    /// One CSV table (columns documented in [`csv`]).
    Csv,
    /// The report as JSON (serde; field names as in the report structs).
    Json,
}

/// Renders one report.
pub fn render(report: &Report, format: Format) -> Result<String, ReportError> {
    match format {
        Format::Table { width } => Ok(render_text(report, width)),
        Format::Csv => Ok(csv::render_csv(report)),
        Format::Json => json::render_json(report),
    }
}

/// The report's tables as plain text, under a heading and its context line.
pub fn render_text(report: &Report, width: usize) -> String {
    let meta = report.meta();
    let width = width.max(20);
    let mut out = String::new();
    out.push_str(&table::shorten(&meta.title, width));
    out.push('\n');
    for line in wrap_words(&meta.context_line(), width) {
        out.push_str(&line);
        out.push('\n');
    }
    for t in people::tables(report) {
        out.push('\n');
        out.push_str(&t.to_text(width));
    }
    out
}

fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&table::shorten(word, width));
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}
