//! `clearinghouse report` and `clearinghouse worklist`: not registered yet.
//!
//! They call `ReportService` (`GetCoverageReport`, `GetAgeingReport`,
//! `GetProviderPortfolio`, `GetPipelineReport`, `ExportMatches`, `ExportIati`) and a
//! broker's worklist, which the server does not serve yet. Wiring them takes, per report:
//! a variant in [`ReportCmd`] with its filter flags; one call through a
//! `ReportServiceClient` added to [`super::connect::Api`]; an `ApiMessage` line for its
//! response in `crate::json`; and a function in [`super::views`] turning the response into
//! a [`super::output::Doc`] (a `Block::Line` stating what the numbers are and their date
//! and filters, a `Block::Grid` with the figures, the same grid as CSV). Streaming
//! exports print chunk by chunk as `match watch` does. Then `Command::Report` is added to
//! [`super::Command`].

/// The reports the client will offer, with the RPC each one calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportCmd {
    /// Needs by thematic area x M49 region: `GetCoverageReport`.
    Coverage,
    /// Unmatched needs by age and the 12-month follow-up list: `GetAgeingReport`.
    Ageing,
    /// A provider's offers, capacity and matches by stage: `GetProviderPortfolio`.
    Portfolio,
    /// Pipeline per GP sub-working group: `GetPipelineReport`.
    Pipeline,
    /// A broker's day: needs awaiting action, windows closing, answers pending.
    Worklist,
}
