//! One value for any report ([`Report`]) and the set a periodic matchmaking brief holds
//! ([`Brief`]), so renderers and callers can treat reports alike.

use serde::{Deserialize, Serialize};

use crate::{
    ageing::{AgeingReport, ageing},
    coverage::{CoverageReport, coverage},
    input::ReportInput,
    match_volume::{MatchVolumeReport, match_volume},
    meta::ReportMeta,
    pipeline::{PipelineReport, pipeline},
    portfolio::{PortfolioReport, portfolio},
    worklist::Worklist,
};

/// Any report. Serialised as the report itself (its `meta.report` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Report {
    /// Coverage.
    Coverage(CoverageReport),
    /// Ageing.
    Ageing(AgeingReport),
    /// Matches by status and funding mode.
    Matches(MatchVolumeReport),
    /// Provider portfolio.
    Portfolio(PortfolioReport),
    /// Pipeline per GP sub-working group.
    Pipeline(PipelineReport),
    /// A broker's worklist.
    Worklist(Worklist),
}

impl Report {
    /// The report's heading.
    pub fn meta(&self) -> &ReportMeta {
        match self {
            Report::Coverage(r) => &r.meta,
            Report::Ageing(r) => &r.meta,
            Report::Matches(r) => &r.meta,
            Report::Portfolio(r) => &r.meta,
            Report::Pipeline(r) => &r.meta,
            Report::Worklist(r) => &r.meta,
        }
    }
}

/// The reports of a periodic matchmaking brief (e.g. two-monthly, for the Committee),
/// all computed from one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brief {
    /// Coverage.
    pub coverage: CoverageReport,
    /// Ageing.
    pub ageing: AgeingReport,
    /// Matches by status and funding mode.
    pub matches: MatchVolumeReport,
    /// Provider portfolio.
    pub portfolio: PortfolioReport,
    /// Pipeline per GP sub-working group.
    pub pipeline: PipelineReport,
}

impl Brief {
    /// Computes every report of the brief.
    pub fn build(input: &ReportInput<'_>) -> Brief {
        Brief {
            coverage: coverage(input),
            ageing: ageing(input),
            matches: match_volume(input),
            portfolio: portfolio(input),
            pipeline: pipeline(input),
        }
    }

    /// The brief's reports, in reading order.
    pub fn reports(&self) -> Vec<Report> {
        vec![
            Report::Coverage(self.coverage.clone()),
            Report::Ageing(self.ageing.clone()),
            Report::Matches(self.matches.clone()),
            Report::Portfolio(self.portfolio.clone()),
            Report::Pipeline(self.pipeline.clone()),
        ]
    }
}
