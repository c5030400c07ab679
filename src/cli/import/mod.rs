//! `clearinghouse import needs|offers FILE`: bulk creation from CSV or JSON.
//!
//! Every row is checked first, locally, with the domain's rules; if any row is bad, every
//! problem is listed (line and field) and nothing is sent (exit 2). Then rows are sent
//! with bounded concurrency, idempotent by `external_id`: a re-run creates nothing twice
//! and counts the rows that already existed. A progress bar shows on a terminal, plain
//! progress lines on stderr otherwise; a summary ends the run.

pub mod check;
pub mod read;
pub mod send;
pub mod texts;

use std::{
    io::IsTerminal,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use self::{
    check::{Importable, Prepared, Problem},
    send::{Outcome, RowResult, Sendable, Then},
};
use super::{
    connect, exit,
    exit::Exit,
    failure::CliError,
    fields,
    output::{Block, Doc, Grid, Printer, write_stdout},
    settings::{Format, Settings},
};
use crate::pb;
use clap::ValueEnum;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// Needs (assistance requests).
    Needs,
    /// Offers of assistance.
    Offers,
}

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// A header row, then one row per resource.
    Csv,
    /// An array of objects keyed by the same column names.
    Json,
}

/// Flags of `import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// What the file holds.
    pub what: What,
    /// The file: .csv or .json; for needs also a folder of request texts (.txt), each
    /// read into draft needs as `need suggest` reads one.
    pub file: PathBuf,
    /// File format [default: from the extension].
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub concurrency: usize,
    /// Check every row and stop; send nothing (needs no server).
    #[arg(long)]
    pub dry_run: bool,
    /// Submit each need created (DRAFT -> SUBMITTED).
    #[arg(long)]
    pub submit: bool,
    /// Activate each offer created (DRAFT -> ACTIVE).
    #[arg(long)]
    pub activate: bool,
    /// Requesting party of needs read from texts (default: the State each text names).
    #[arg(long, value_name = "PARTY_ID")]
    pub requester: Option<String>,
}

/// Short help: examples.
pub const EXAMPLES: &str = "Examples:
  clearinghouse import needs samples/needs.csv --dry-run
  clearinghouse import offers samples/offers.json --activate
  clearinghouse import needs samples/requests/ --dry-run";

/// Long help: the columns of each file, the exit codes, then the examples.
pub fn long_help() -> String {
    format!(
        "Files: CSV with a header row, or JSON as an array of objects with the same keys.\n\
         Lists are separated by ';' (JSON may use arrays); codes are case-insensitive\n\
         (EXPORT_TRANSSHIPMENT or export-transshipment); amounts are 'CUR AMOUNT' in major\n\
         units (USD 250000); dates YYYY-MM-DD. Columns marked * are required. Columns the\n\
         server fills (id, etag, status, ...) are ignored, so `list --output csv` reads back.\n\
         Rows are created in DRAFT unless --submit or --activate is given.\n\n\
         Need columns:\n{}\nOffer columns:\n{}\n\
         A folder of texts (needs only): every .txt file in it is read by the server's\n\
         intake reader (IntakeService.SuggestNeeds, so even --dry-run needs the server)\n\
         into one DRAFT need per thematic area it asks for, with external_id\n\
         '<file name>#<n>'; the requesting State is the one the text names, or\n\
         --requester. A text that names none, asks for nothing recognized, or yields an\n\
         invalid need stops the whole import before anything is created.\n\n\
         Re-running a file creates nothing twice: a row whose external_id exists already\n\
         counts as 'already existed'. Exit code 2 when any row is invalid (nothing sent);\n\
         1 when some rows failed on the server (the shared code of the failures when they\n\
         all have one, e.g. 4 for a key that may not create them).\n\n{}",
        fields::help_table(fields::need::FIELDS),
        fields::help_table(fields::offer::FIELDS),
        EXAMPLES
    )
}

/// Runs an import with `settings` (connecting only once every row is valid).
pub async fn run(settings: &Settings, args: ImportArgs) -> Result<(), CliError> {
    let then = match (args.what, args.submit, args.activate) {
        (What::Needs, _, true) => {
            return Err(CliError::usage(
                "--activate is for offers; needs take --submit",
            ));
        }
        (What::Offers, true, _) => {
            return Err(CliError::usage(
                "--submit is for needs; offers take --activate",
            ));
        }
        (What::Needs, true, _) => Then::Submit,
        (What::Offers, _, true) => Then::Activate,
        _ => Then::Nothing,
    };
    if args.file.is_dir() {
        return match args.what {
            What::Needs => texts::import(settings, &args, then).await,
            What::Offers => Err(CliError::usage(format!(
                "{} is a folder: folders of texts are read into needs only; offers come from .csv or .json",
                args.file.display()
            ))),
        };
    }
    if args.requester.is_some() {
        return Err(CliError::usage(
            "--requester is for a folder of texts; in a file, give requester_party_id per row",
        ));
    }
    match args.what {
        What::Needs => import::<pb::Need>(settings, &args, then).await,
        What::Offers => import::<pb::Offer>(settings, &args, then).await,
    }
}

fn format_of(args: &ImportArgs) -> Result<FileFormat, CliError> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    match args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(FileFormat::Csv),
        Some("json") => Ok(FileFormat::Json),
        _ => Err(CliError::usage(format!(
            "cannot tell the format of {}; name it .csv or .json, or pass --format",
            args.file.display()
        ))),
    }
}

/// The problems as an error: a summary line, then one line per problem.
pub fn problems_error(file: &str, rows: usize, problems: &[Problem]) -> CliError {
    let mut bad: Vec<(usize, &str)> = problems
        .iter()
        .map(|p| (p.line, p.external_id.as_str()))
        .collect();
    bad.dedup();
    let mut lines = vec![format!(
        "{file}: {} of {rows} row(s) are invalid; nothing was sent",
        bad.len()
    )];
    for p in problems {
        let at = if p.line == 0 && p.external_id.is_empty() {
            String::new()
        } else if p.line == 0 {
            format!("{}: ", p.external_id)
        } else if p.external_id.is_empty() {
            format!("line {}: ", p.line)
        } else {
            format!("line {} ({}): ", p.line, p.external_id)
        };
        let field = if p.field.is_empty() {
            String::new()
        } else {
            format!("{}: ", p.field)
        };
        lines.push(format!("{at}{field}{}", p.message));
    }
    CliError::Usage(lines.join("\n"))
}

async fn import<M: Importable + Sendable>(
    settings: &Settings,
    args: &ImportArgs,
    then: Then,
) -> Result<(), CliError> {
    let name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::Io(format!("cannot read {name}: {e}")))?;
    let rows = match format_of(args)? {
        FileFormat::Csv => read::csv(&text),
        FileFormat::Json => read::json(&text),
    }
    .map_err(|e| problems_error(&name, 0, &check::shape_problems(e)))?;
    if rows.is_empty() {
        return Err(CliError::usage(format!("{name} holds no rows")));
    }
    let prepared: Vec<Prepared<M>> =
        check::check(&rows).map_err(|p| problems_error(&name, rows.len(), &p))?;
    if args.dry_run {
        eprintln!(
            "{name}: all {} {}(s) are valid; nothing was sent (--dry-run)",
            prepared.len(),
            M::NOUN
        );
        return Ok(());
    }
    let api = connect::connect(settings).await?;
    send_and_summarize(settings, args, &api, prepared, then).await
}

/// Sends every prepared row with the run's concurrency, showing progress, then prints
/// the summary and turns it into the exit status.
pub async fn send_and_summarize<M: Importable + Sendable>(
    settings: &Settings,
    args: &ImportArgs,
    api: &connect::Api,
    prepared: Vec<Prepared<M>>,
    then: Then,
) -> Result<(), CliError> {
    let total = prepared.len();
    let progress = Arc::new(Progress::new(total));
    let ticker = progress.clone();
    let started = Instant::now();
    let results = send::send_all(
        api,
        prepared,
        args.concurrency,
        then,
        Arc::new(move |_r: &RowResult| ticker.tick()),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    progress.finish();
    let sent = results
        .iter()
        .filter(|r| r.outcome != Outcome::NotSent)
        .count();
    eprintln!(
        "sent {sent} row(s) in {elapsed:.2} s ({:.0} rows/s, {} in flight)",
        if elapsed > 0.0 {
            sent as f64 / elapsed
        } else {
            0.0
        },
        args.concurrency.max(1)
    );
    let summary = Summary::of(&results);
    let printer = Printer::stdout(settings.output);
    write_stdout(&summary.render(printer, M::NOUN, &results)?)?;
    summary.exit()
}

/// Counts of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Rows created.
    pub created: usize,
    /// Rows whose external id existed.
    pub existed: usize,
    /// Rows refused.
    pub failed: usize,
    /// Rows not sent because the run stopped.
    pub not_sent: usize,
    /// The exit code shared by every failure, if there is one.
    shared: Option<Exit>,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[RowResult]) -> Summary {
        let mut s = Summary::default();
        let mut exits: Vec<Exit> = Vec::new();
        for r in results {
            match &r.outcome {
                Outcome::Created(_) => s.created += 1,
                Outcome::Existed => s.existed += 1,
                Outcome::Failed { code, .. } => {
                    s.failed += 1;
                    exits.push(exit::Exit::for_code(*code));
                }
                Outcome::NotSent => s.not_sent += 1,
            }
        }
        exits.dedup();
        s.shared = match exits.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        s
    }

    /// The line people read.
    pub fn line(&self, noun: &str) -> String {
        let mut l = format!(
            "{noun}s: created {}, already existed {}, failed {}",
            self.created, self.existed, self.failed
        );
        if self.not_sent > 0 {
            l.push_str(&format!(", not sent {}", self.not_sent));
        }
        l
    }

    /// 0 when every row was created or existed; otherwise the shared failure code or 1.
    pub fn exit(&self) -> Result<(), CliError> {
        if self.failed == 0 && self.not_sent == 0 {
            return Ok(());
        }
        Err(CliError::Reported {
            exit: self.shared.unwrap_or(Exit::Other),
            message: format!(
                "{} row(s) were not imported; the rows above say why (a re-run sends only those)",
                self.failed + self.not_sent
            ),
        })
    }

    /// The summary in the printer's format: a line and the failures for people, one row
    /// per input row in CSV and JSON.
    pub fn render(
        &self,
        printer: Printer,
        noun: &str,
        results: &[RowResult],
    ) -> Result<String, CliError> {
        let cells = |r: &RowResult| -> [String; 5] {
            let (outcome, id, error) = match &r.outcome {
                Outcome::Created(id) => ("created", id.clone(), String::new()),
                Outcome::Existed => ("existed", String::new(), String::new()),
                Outcome::Failed { message, .. } => ("failed", String::new(), message.clone()),
                Outcome::NotSent => ("not_sent", String::new(), String::new()),
            };
            [
                r.line.to_string(),
                r.external_id.clone(),
                outcome.to_owned(),
                id,
                error,
            ]
        };
        match printer.format {
            Format::Table => {
                let mut doc = Doc::default().then(Block::Line(self.line(noun)));
                let mut g = Grid::new(&["LINE", "EXTERNAL ID", "ERROR"]);
                for r in results {
                    match &r.outcome {
                        Outcome::Failed { message, .. } => {
                            g.push(vec![
                                r.line.to_string(),
                                r.external_id.clone(),
                                message.clone(),
                            ]);
                        }
                        Outcome::NotSent => g.push(vec![
                            r.line.to_string(),
                            r.external_id.clone(),
                            "not sent: the run stopped first".to_owned(),
                        ]),
                        _ => {}
                    }
                }
                if !g.rows.is_empty() {
                    doc = doc.then(Block::Grid(g));
                }
                Ok(super::output::table::render(
                    &doc.blocks,
                    printer.width,
                    printer.color,
                ))
            }
            Format::Csv => {
                let mut g = Grid::new(&["line", "external_id", "outcome", "id", "error"]);
                for r in results {
                    g.push(cells(r).to_vec());
                }
                super::output::csv::render(&g)
            }
            Format::Json => {
                let rows: Vec<serde_json::Value> = results
                    .iter()
                    .map(|r| {
                        let [line, ext, outcome, id, error] = cells(r);
                        let mut o = serde_json::json!({
                            "line": line.parse::<u64>().unwrap_or(0),
                            "externalId": ext,
                            "outcome": outcome.to_ascii_uppercase(),
                        });
                        if !id.is_empty() {
                            o["id"] = id.into();
                        }
                        if !error.is_empty() {
                            o["error"] = error.into();
                        }
                        o
                    })
                    .collect();
                let v = serde_json::json!({
                    "created": self.created,
                    "alreadyExisted": self.existed,
                    "failed": self.failed,
                    "notSent": self.not_sent,
                    "rows": rows,
                });
                let mut s = serde_json::to_string_pretty(&v)
                    .map_err(|e| CliError::Io(format!("cannot write JSON: {e}")))?;
                s.push('\n');
                Ok(s)
            }
        }
    }
}

/// Progress on stderr: a bar on a terminal, a plain line every tenth otherwise.
#[derive(Debug)]
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines {
        done: AtomicUsize,
        step: usize,
        total: usize,
    },
}

impl Progress {
    fn new(total: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                done: AtomicUsize::new(0),
                step: total.div_ceil(10).max(1),
                total,
            }
        }
    }

    fn tick(&self) {
        match self {
            Progress::Bar(b) => b.inc(1),
            Progress::Lines { done, step, total } => {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % step == 0 || n == *total {
                    eprintln!("progress: {n}/{total} rows");
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
