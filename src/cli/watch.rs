//! `clearinghouse match watch`: a live tail of match events. Table output is one line per
//! event, JSON one object per line (the proto3 JSON of each `WatchMatchesResponse`), CSV
//! a header then one row per event. A stream dropped for falling behind is resumed from
//! the last sequence; when the server ends the stream the command says how to resume.

use std::time::Duration;

use tonic::Code;

use super::{
    Ctx,
    exit::Exit,
    failure::CliError,
    output::{Mode, write_stdout},
    settings::Format,
    views::matches::{WATCH_CSV_HEADER, WATCH_HEADER, watch_line, watch_row},
};
use crate::{json, pb};

/// Flags of `match watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Deliver only events after this sequence (0: from the oldest retained).
    #[arg(long, default_value_t = 0, value_name = "SEQ")]
    pub after: u64,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// How many times in a row a stream dropped for falling behind is resumed.
const RESUMES: u32 = 5;

/// One event in the chosen format.
fn line(format: Format, e: &pb::WatchMatchesResponse) -> Result<String, CliError> {
    Ok(match format {
        Format::Json => json::to_string(e, false)?,
        Format::Csv => super::output::csv::record(&watch_row(e, Mode::Machine))?,
        Format::Table => watch_line(&watch_row(e, Mode::Human)),
    })
}

/// Runs the tail until `--count` events, or until the server ends the stream.
pub async fn run(ctx: &mut Ctx, args: WatchArgs) -> Result<(), CliError> {
    let format = ctx.out.format;
    match format {
        Format::Table => write_stdout(&format!(
            "{}\n",
            watch_line(&WATCH_HEADER.map(str::to_owned))
        ))?,
        Format::Csv => write_stdout(&format!(
            "{}\n",
            super::output::csv::record(&WATCH_CSV_HEADER.map(str::to_owned))?
        ))?,
        Format::Json => {}
    }
    let mut last = args.after;
    let mut seen = 0_u64;
    let mut resumes = 0;
    loop {
        let mut stream = ctx
            .api
            .matches
            .watch_matches(pb::WatchMatchesRequest {
                after_sequence: last,
            })
            .await?
            .into_inner();
        loop {
            if args.count.is_some_and(|n| seen >= n) {
                return Ok(());
            }
            match stream.message().await {
                Ok(Some(e)) => {
                    resumes = 0;
                    last = e.sequence;
                    seen += 1;
                    write_stdout(&format!("{}\n", line(format, &e)?))?;
                }
                Ok(None) => {
                    return Err(CliError::Reported {
                        exit: Exit::Unavailable,
                        message: format!(
                            "the server ended the stream after sequence {last}; resume with: clearinghouse match watch --after {last}"
                        ),
                    });
                }
                Err(s) if s.code() == Code::ResourceExhausted && resumes < RESUMES => {
                    resumes += 1;
                    eprintln!("warning: fell behind the server; resuming after sequence {last}");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(resumes))).await;
                    break;
                }
                Err(s) => {
                    eprintln!(
                        "the last event received was sequence {last}; resume with --after {last}"
                    );
                    return Err(s.into());
                }
            }
        }
    }
}
