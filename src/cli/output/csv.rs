//! CSV for programs: a header row, then one row per item (RFC 4180 quoting).

use super::Grid;
use crate::cli::failure::CliError;

/// The grid as CSV text.
pub fn render(g: &Grid) -> Result<String, CliError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| CliError::Io(format!("cannot write CSV: {e}"));
    w.write_record(&g.headers).map_err(bad)?;
    for r in &g.rows {
        w.write_record(r).map_err(bad)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))
}

/// One record as a CSV line (no header, no line break).
pub fn record(cells: &[String]) -> Result<String, CliError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells)
        .map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))?;
    let bytes = w
        .into_inner()
        .map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|e| CliError::Io(format!("cannot write CSV: {e}")))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}
