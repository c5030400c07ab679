//! `clearinghouse report …` and `clearinghouse worklist`: the reports working groups and
//! staff pull. Each calls `ReportService`, carries the answer back to the report structs
//! of `clearinghouse-reports` (`convert::report::from_wire`) and renders it with that
//! crate: a table fitted to the terminal, CSV, the proto3 JSON mapping of the response, or
//! HTML with SVG charts. `report brief` writes every report into one self-contained HTML
//! file; the exports stream CSV rows and IATI 2.03 XML.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use clearinghouse_reports::{
    Brief, Report,
    render::{self, Format as RenderFormat, html},
};

use super::{
    Ctx,
    enums::{AREA, EnumArg, GP_GROUP},
    failure::CliError,
    output::{Grid, write_stdout},
    settings::Format,
};
use crate::{convert::report::from_wire, json::ApiMessage, pb};

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables fitted to the terminal.
    Table,
    /// CSV (one documented table per report).
    Csv,
    /// The proto3 JSON mapping of the response.
    Json,
    /// One self-contained HTML document with SVG charts (no network needed to open it).
    Html,
}

/// What a report covers.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Needs requested on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Needs requested on or before this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Needs of this M49 region (Africa, Americas, Asia, Europe, Oceania).
    #[arg(long)]
    region: Option<String>,
    /// Needs of this M49 sub-region (e.g. "Eastern Africa").
    #[arg(long)]
    subregion: Option<String>,
    /// Needs of this thematic area.
    #[arg(long, value_parser = EnumArg(AREA), hide_possible_values = true)]
    area: Option<i32>,
    /// Offers (and their matches) of this Global Partnership sub-working group.
    #[arg(long = "gp-group", value_parser = EnumArg(GP_GROUP))]
    gp_group: Option<i32>,
}

impl FilterArgs {
    fn to_pb(&self) -> Option<pb::ReportFilter> {
        Some(pb::ReportFilter {
            requested_from: self.from.clone().unwrap_or_default(),
            requested_until: self.until.clone().unwrap_or_default(),
            region: self.region.clone().unwrap_or_default(),
            subregion: self.subregion.clone().unwrap_or_default(),
            area: self.area.unwrap_or_default(),
            gp_sub_working_group: self.gp_group.unwrap_or_default(),
        })
    }
}

/// Flags of one report.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// table, csv, json or html (default: the client's --output).
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
}

/// `clearinghouse report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Needs by thematic area × M49 region and by sub-area: matched, partially matched, unmatched, budgets and the funded share.
    #[command(after_help = "Examples:
  clearinghouse report coverage
  clearinghouse report coverage --region Africa --format html > coverage.html")]
    Coverage(ReportArgs),
    /// Unmatched needs by months open (0–6, 6–12, 12+) and the 12-month follow-up list.
    #[command(after_help = "Examples:
  clearinghouse report ageing
  clearinghouse report ageing --area export-transshipment --format csv")]
    Ageing(ReportArgs),
    /// Matches by status and funding mode (single-donor, jointly funded, pooled, in kind), with volumes.
    #[command(after_help = "Examples:
  clearinghouse report matches
  clearinghouse report matches --gp-group nuclear-radiological --format json")]
    Matches(ReportArgs),
    /// Per provider: offers, capacity pledged, reserved and remaining, matches by stage.
    #[command(after_help = "Examples:
  clearinghouse report portfolio
  clearinghouse report portfolio --format csv > portfolio.csv")]
    Portfolio(ReportArgs),
    /// Per Global Partnership sub-working group: open offers, needs and matches by stage.
    #[command(after_help = "Examples:
  clearinghouse report pipeline
  clearinghouse report pipeline --from 2026-01-01 --format html > pipeline.html")]
    Pipeline(ReportArgs),
    /// Every report in one self-contained HTML file with its charts (the matchmaking brief).
    #[command(after_help = "Examples:
  clearinghouse report brief --to brief.html
  clearinghouse report brief --region Africa --to africa-brief.html")]
    Brief {
        #[command(flatten)]
        filter: FilterArgs,
        /// File to write (stdout if absent).
        #[arg(long, value_name = "FILE")]
        to: Option<PathBuf>,
        /// Title of the document.
        #[arg(long, default_value = "Matchmaking brief")]
        title: String,
    },
    /// Every match the key may see, one CSV row each (or the proto3 JSON of each chunk).
    #[command(
        name = "export-matches",
        after_help = "Examples:
  clearinghouse report export-matches > matches.csv
  clearinghouse report export-matches --region Africa --output json"
    )]
    ExportMatches {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Agreed and later matches as IATI 2.03 activity XML.
    #[command(after_help = "Examples:
  clearinghouse report iati --reporting-org-ref XM-DAC-41111 --reporting-org-name \"1540 Committee\" --to activities.xml")]
    Iati {
        #[command(flatten)]
        filter: FilterArgs,
        /// IATI organisation identifier of the reporting organisation.
        #[arg(long, value_name = "REF")]
        reporting_org_ref: String,
        /// Name of the reporting organisation.
        #[arg(long, value_name = "NAME")]
        reporting_org_name: String,
        /// Also needs not published (brokers and admins only).
        #[arg(long)]
        include_unpublished: bool,
        /// File to write (stdout if absent).
        #[arg(long, value_name = "FILE")]
        to: Option<PathBuf>,
    },
}

fn format_of(ctx: &Ctx, f: Option<ReportFormat>) -> ReportFormat {
    f.unwrap_or(match ctx.out.format {
        Format::Table => ReportFormat::Table,
        Format::Csv => ReportFormat::Csv,
        Format::Json => ReportFormat::Json,
    })
}

fn width(ctx: &Ctx) -> usize {
    ctx.out.width.map_or(100, usize::from).max(40)
}

/// Prints `msg` (whose report struct is `report`) in `format`.
fn print<M: ApiMessage>(
    ctx: &Ctx,
    msg: &M,
    report: &Report,
    format: ReportFormat,
) -> Result<(), CliError> {
    let text = match format {
        ReportFormat::Json => {
            let mut s = crate::json::to_string(msg, true)?;
            s.push('\n');
            s
        }
        ReportFormat::Table => render::render(report, RenderFormat::Table { width: width(ctx) })
            .map_err(|e| CliError::Io(e.to_string()))?,
        ReportFormat::Csv => {
            render::render(report, RenderFormat::Csv).map_err(|e| CliError::Io(e.to_string()))?
        }
        ReportFormat::Html => html::render_report_html(report),
    };
    write_stdout(&text)
}

fn wire<M: ApiMessage, T: serde::de::DeserializeOwned>(msg: &M) -> Result<T, CliError> {
    from_wire(msg).map_err(|e| CliError::Io(format!("cannot read the report: {e}")))
}

async fn brief(ctx: &mut Ctx, filter: &FilterArgs) -> Result<Brief, CliError> {
    let r = &mut ctx.api.reports;
    let f = || filter.to_pb();
    let coverage = r
        .get_coverage_report(pb::GetCoverageReportRequest { filter: f() })
        .await?
        .into_inner();
    let ageing = r
        .get_ageing_report(pb::GetAgeingReportRequest { filter: f() })
        .await?
        .into_inner();
    let matches = r
        .get_matches_report(pb::GetMatchesReportRequest { filter: f() })
        .await?
        .into_inner();
    let portfolio = r
        .get_provider_portfolio(pb::GetProviderPortfolioRequest { filter: f() })
        .await?
        .into_inner();
    let pipeline = r
        .get_pipeline_report(pb::GetPipelineReportRequest { filter: f() })
        .await?
        .into_inner();
    Ok(Brief {
        coverage: wire(&coverage)?,
        ageing: wire(&ageing)?,
        matches: wire(&matches)?,
        portfolio: wire(&portfolio)?,
        pipeline: wire(&pipeline)?,
    })
}

fn write_to(to: Option<&PathBuf>, text: &str) -> Result<(), CliError> {
    match to {
        None => write_stdout(text),
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
            Ok(())
        }
    }
}

/// Runs a report subcommand.
pub async fn run(ctx: &mut Ctx, cmd: ReportCmd) -> Result<(), CliError> {
    match cmd {
        ReportCmd::Coverage(a) => {
            let m = ctx
                .api
                .reports
                .get_coverage_report(pb::GetCoverageReportRequest {
                    filter: a.filter.to_pb(),
                })
                .await?
                .into_inner();
            let r = Report::Coverage(wire(&m)?);
            print(ctx, &m, &r, format_of(ctx, a.format))
        }
        ReportCmd::Ageing(a) => {
            let m = ctx
                .api
                .reports
                .get_ageing_report(pb::GetAgeingReportRequest {
                    filter: a.filter.to_pb(),
                })
                .await?
                .into_inner();
            let r = Report::Ageing(wire(&m)?);
            print(ctx, &m, &r, format_of(ctx, a.format))
        }
        ReportCmd::Matches(a) => {
            let m = ctx
                .api
                .reports
                .get_matches_report(pb::GetMatchesReportRequest {
                    filter: a.filter.to_pb(),
                })
                .await?
                .into_inner();
            let r = Report::Matches(wire(&m)?);
            print(ctx, &m, &r, format_of(ctx, a.format))
        }
        ReportCmd::Portfolio(a) => {
            let m = ctx
                .api
                .reports
                .get_provider_portfolio(pb::GetProviderPortfolioRequest {
                    filter: a.filter.to_pb(),
                })
                .await?
                .into_inner();
            let r = Report::Portfolio(wire(&m)?);
            print(ctx, &m, &r, format_of(ctx, a.format))
        }
        ReportCmd::Pipeline(a) => {
            let m = ctx
                .api
                .reports
                .get_pipeline_report(pb::GetPipelineReportRequest {
                    filter: a.filter.to_pb(),
                })
                .await?
                .into_inner();
            let r = Report::Pipeline(wire(&m)?);
            print(ctx, &m, &r, format_of(ctx, a.format))
        }
        ReportCmd::Brief { filter, to, title } => {
            let b = brief(ctx, &filter).await?;
            write_to(to.as_ref(), &html::render_html(&b, &title))
        }
        ReportCmd::ExportMatches { filter } => {
            let mut stream = ctx
                .api
                .reports
                .export_matches(pb::ExportMatchesRequest {
                    filter: filter.to_pb(),
                })
                .await?
                .into_inner();
            let mut grid = Grid::new(&[
                "match_id",
                "need_id",
                "requester",
                "country",
                "area",
                "status",
                "funding_mode",
                "offer_ids",
                "provider_ids",
                "pledged",
                "score",
                "created_on",
                "iati_activity_status",
            ]);
            let json = ctx.out.format == Format::Json;
            while let Some(chunk) = stream.message().await? {
                if json {
                    let mut s = crate::json::to_string(&chunk, false)?;
                    s.push('\n');
                    write_stdout(&s)?;
                    continue;
                }
                for r in chunk.rows {
                    grid.push(vec![
                        r.match_id,
                        r.need_id,
                        r.requester,
                        r.country,
                        r.area,
                        r.status,
                        r.funding_mode,
                        r.offer_ids.join(";"),
                        r.provider_ids.join(";"),
                        r.pledged
                            .iter()
                            .map(|m| format!("{} {}", m.currency_code, m.minor_units))
                            .collect::<Vec<_>>()
                            .join(";"),
                        format!("{:.3}", f64::from(r.score_milli) / 1000.0),
                        r.created_on,
                        r.iati_activity_status.to_string(),
                    ]);
                }
            }
            if json {
                return Ok(());
            }
            write_stdout(&super::output::csv::render(&grid)?)
        }
        ReportCmd::Iati {
            filter,
            reporting_org_ref,
            reporting_org_name,
            include_unpublished,
            to,
        } => {
            let mut stream = ctx
                .api
                .reports
                .export_iati(pb::ExportIatiRequest {
                    filter: filter.to_pb(),
                    reporting_org_ref,
                    reporting_org_name,
                    include_unpublished,
                })
                .await?
                .into_inner();
            let mut xml = String::new();
            while let Some(chunk) = stream.message().await? {
                xml.push_str(&chunk.xml);
            }
            write_to(to.as_ref(), &xml)
        }
    }
}

/// Flags of `clearinghouse worklist`.
#[derive(Debug, Clone, Args)]
pub struct WorklistArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// table, csv, json or html (default: the client's --output).
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
}

/// Runs `clearinghouse worklist`: a broker's day at a glance.
pub async fn worklist(ctx: &mut Ctx, a: WorklistArgs) -> Result<(), CliError> {
    let m = ctx
        .api
        .reports
        .get_worklist(pb::GetWorklistRequest {
            filter: a.filter.to_pb(),
        })
        .await?
        .into_inner();
    let r = Report::Worklist(wire(&m)?);
    print(ctx, &m, &r, format_of(ctx, a.format))
}
