//! The `clearinghouse-load` binary: parses options, runs the workload, prints the report.
//! Exit codes: 0 the run completed (failed calls are in the report), 1 it could not run,
//! 2 the watchdog stopped it (no call succeeded for `--hang-timeout`).

use std::process::ExitCode;

use clap::Parser;

use clearinghouse_load::{Args, LoadError, Output, Workload, bulk, ready, runner};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.workload == Workload::Ready {
        let done = match runner::admin_key(&args) {
            Ok(key) => ready::run(&args.server, &key, args.hang_timeout).await,
            Err(e) => Err(e),
        };
        return match done.and_then(|r| {
            serde_json::to_string_pretty(&r)
                .map_err(|e| LoadError::Options(format!("encode the answer: {e}")))
        }) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if matches!(args.workload, Workload::Bulk | Workload::Footprint) {
        return match tokio::task::spawn_blocking(move || bulk::run_args(&args)).await {
            Ok(Ok(json)) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
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
