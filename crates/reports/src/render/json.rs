//! JSON for programs: the report structs through serde, pretty-printed. Money figures
//! are integers in minor units of `meta.base_currency`; shares are basis points.

use serde::Serialize;

use crate::error::ReportError;

/// Any report (or a [`crate::Brief`]) as pretty JSON.
pub fn render_json<T: Serialize>(report: &T) -> Result<String, ReportError> {
    Ok(serde_json::to_string_pretty(report)?)
}
