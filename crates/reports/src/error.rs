//! Why rendering or exporting a report can fail.

/// A report that could not be rendered or exported.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// JSON serialisation failed.
    #[error("cannot write the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The IATI export options are unusable.
    #[error("invalid IATI export options: {0}")]
    IatiOptions(String),
    /// An IATI file must hold at least one activity.
    #[error(
        "no match AGREED or later passes the filters and may be published; an IATI file needs at least one activity"
    )]
    NoActivities,
}
