//! What every report says about itself: its title, the data's date, the base currency,
//! the viewer, the filters that applied and notes on anything left out.

use serde::{Deserialize, Serialize};

use crate::{filter::GeoFilter, input::ReportInput};

/// The heading of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Stable code of the report (`coverage`, `ageing`, ...).
    pub report: String,
    /// Title for people.
    pub title: String,
    /// The day the figures are computed for (`YYYY-MM-DD`).
    pub as_of: String,
    /// ISO 4217 code of every money figure.
    pub base_currency: String,
    /// Role of the viewer the report was computed for.
    pub viewer: String,
    /// Each filter in words, with a note where it does not apply to this report.
    pub filters: Vec<String>,
    /// What was left out or could not be converted, in words.
    pub notes: Vec<String>,
}

/// Which filters a report applies; `Some(reason)` marks a part that does not apply.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Applies {
    pub(crate) needs_not_applicable: Option<&'static str>,
    pub(crate) gp_not_applicable: Option<&'static str>,
}

impl ReportMeta {
    pub(crate) fn new(
        report: &str,
        title: &str,
        input: &ReportInput<'_>,
        applies: Applies,
    ) -> ReportMeta {
        ReportMeta {
            report: report.to_owned(),
            title: title.to_owned(),
            as_of: input.today.to_string(),
            base_currency: input.rates.base.as_str().to_owned(),
            viewer: input.viewer.role().code().to_owned(),
            filters: describe_filters(input, applies),
            notes: Vec::new(),
        }
    }

    /// One line stating the data's date, the filters and the currency, for under a
    /// chart or a table.
    pub fn context_line(&self) -> String {
        let filters = if self.filters.is_empty() {
            "none".to_owned()
        } else {
            self.filters.join("; ")
        };
        format!(
            "Data as of {}. Filters: {filters}. Amounts in {}. Prepared for: {}.",
            self.as_of, self.base_currency, self.viewer
        )
    }
}

fn describe_filters(input: &ReportInput<'_>, applies: Applies) -> Vec<String> {
    let f = input.filter;
    let mut needs = Vec::new();
    match (f.requested_from, f.requested_until) {
        (Some(a), Some(b)) => needs.push(format!("request date {a} to {b}")),
        (Some(a), None) => needs.push(format!("request date from {a}")),
        (None, Some(b)) => needs.push(format!("request date until {b}")),
        (None, None) => {}
    }
    match &f.geography {
        Some(GeoFilter::Region(r)) => needs.push(format!("M49 region {r}")),
        Some(GeoFilter::SubRegion(s)) => needs.push(format!("M49 sub-region {s}")),
        None => {}
    }
    if let Some(a) = f.area {
        needs.push(format!("thematic area {a}"));
    }
    let mut out: Vec<String> = needs
        .into_iter()
        .map(|s| match applies.needs_not_applicable {
            Some(why) => format!("{s} (not applied: {why})"),
            None => s,
        })
        .collect();
    if let Some(g) = f.gp_sub_working_group {
        let s = format!("GP sub-working group {g}");
        out.push(match applies.gp_not_applicable {
            Some(why) => format!("{s} (not applied: {why})"),
            None => s,
        });
    }
    out
}
