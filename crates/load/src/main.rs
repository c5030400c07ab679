//! The `clearinghouse-load` binary: parses options, runs the workload, prints the report.
//! Exit codes: 0 the run completed (failed calls are in the report), 1 it could not run,
//! 2 the watchdog stopped it (no call succeeded for `--hang-timeout`).

use std::process::ExitCode;

use clap::Parser;

use clearinghouse_load::{Args, Output, runner};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match runner::run(&args).await {
        Ok(report) => {
            match args.output {
                Output::Json => println!("{}", report.to_json()),
                Output::Text => print!("{}", report.to_text()),
            }
            if report.hang {
                eprintln!(
                    "error: no call succeeded for {:?}; the server looks hung",
                    args.hang_timeout
                );
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
