//! The client: subcommands of the `clearinghouse` binary that speak gRPC to a running
//! server like any other caller (never opening the database).
//!
//! Shape of a run: [`settings`] resolves where the server is, which key and which output
//! (flags, then `CLEARINGHOUSE_*`, then a profile); [`connect`] opens one channel with the
//! generated clients; a resource module (`party`, `need`, `offer`, `matches`, `admin`,
//! `import`) makes the calls; [`views`] turns each response into a [`output::Doc`] that
//! [`output`] prints as a table, CSV or the proto3 JSON mapping ([`crate::json`]); any
//! failure becomes one actionable line on stderr and a documented exit code ([`exit`]).

pub mod admin;
pub mod backup;
pub mod confirm;
pub mod connect;
pub mod enums;
pub mod exit;
pub mod failure;
pub mod fields;
pub mod flags;
pub mod import;
pub mod matches;
pub mod migrate;
pub mod money;
pub mod need;
pub mod offer;
pub mod output;
pub mod paging;
pub mod party;
pub mod report;
pub mod settings;
pub mod suggest;
pub mod timestamp;
pub mod tune_weights;
pub mod verify_audit;
pub mod views;
pub mod watch;

use clap::Subcommand;

use self::{
    connect::Api,
    exit::Exit,
    failure::CliError,
    output::Printer,
    settings::{ClientArgs, Settings},
};

/// What every client subcommand works with.
#[derive(Debug)]
pub struct Ctx {
    /// The generated clients.
    pub api: Api,
    /// How stdout looks.
    pub out: Printer,
}

/// The client subcommands, registered on the binary next to `serve`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parties: the States and organizations that request or provide assistance.
    Party {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: party::PartyCmd,
    },
    /// Needs: assistance requests, from recording to closing.
    Need {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: need::NeedCmd,
    },
    /// Offers of assistance: recording, activating, withdrawing.
    Offer {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: offer::OfferCmd,
    },
    /// Matching and matches: candidates, explanations, consortia, plans, the brokering lifecycle.
    #[command(name = "match")]
    Match {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: matches::MatchCmd,
    },
    /// Administration: API keys, the audit trail, matching policy, exchange rates.
    Admin {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: admin::AdminCmd,
    },
    /// Reports for working groups and staff: coverage, ageing, matches, portfolio, pipeline, the brief, exports.
    Report {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        cmd: report::ReportCmd,
    },
    /// A broker's day at a glance: authentications, consent windows, unmatched needs with their best candidate, answers awaited, follow-ups, offers expiring.
    #[command(after_help = "Examples:
  clearinghouse worklist
  clearinghouse worklist --region Africa --format html > worklist.html")]
    Worklist {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        args: report::WorklistArgs,
    },
    /// Writes a backup of the server's store to a file (admin; the file is checked and
    /// renamed into place only once whole).
    #[command(after_help = "Examples:
  clearinghouse backup --to clearinghouse-2026-11-29.chbk")]
    Backup {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        args: backup::BackupArgs,
    },
    /// Creates needs or offers in bulk from a CSV or JSON file, idempotent by external_id.
    #[command(after_help = import::EXAMPLES, after_long_help = import::long_help())]
    Import {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        args: import::ImportArgs,
    },
}

fn resolve(client: &ClientArgs) -> Result<Settings, CliError> {
    let env = |k: &str| std::env::var(k).ok();
    let path = settings::config_path(&env);
    settings::resolve(client, &env, path.as_deref())
}

async fn execute(cmd: Command) -> Result<(), CliError> {
    let client = match &cmd {
        Command::Party { client, .. }
        | Command::Need { client, .. }
        | Command::Offer { client, .. }
        | Command::Match { client, .. }
        | Command::Admin { client, .. }
        | Command::Backup { client, .. }
        | Command::Report { client, .. }
        | Command::Worklist { client, .. }
        | Command::Import { client, .. } => client.clone(),
    };
    let settings = resolve(&client)?;
    if let Command::Import { args, .. } = cmd {
        return import::run(&settings, args).await;
    }
    let mut ctx = Ctx {
        api: connect::connect(&settings).await?,
        out: Printer::stdout(settings.output),
    };
    match cmd {
        Command::Party { cmd, .. } => party::run(&mut ctx, cmd).await,
        Command::Need { cmd, .. } => need::run(&mut ctx, cmd).await,
        Command::Offer { cmd, .. } => offer::run(&mut ctx, cmd).await,
        Command::Match { cmd, .. } => matches::run(&mut ctx, cmd).await,
        Command::Admin { cmd, .. } => admin::run(&mut ctx, cmd).await,
        Command::Backup { args, .. } => backup::run(&mut ctx, args).await,
        Command::Report { cmd, .. } => report::run(&mut ctx, cmd).await,
        Command::Worklist { args, .. } => report::worklist(&mut ctx, args).await,
        Command::Import { .. } => Ok(()),
    }
}

/// Runs a client subcommand: prints its output, or its failure on stderr, and returns
/// the exit code.
pub async fn run(cmd: Command) -> Exit {
    match execute(cmd).await {
        Ok(()) => Exit::Ok,
        Err(e) => {
            failure::print(&e);
            e.exit()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Subcommand as _;

    fn leaves(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        let subs: Vec<&clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push((path.clone(), cmd.clone()));
        }
        for s in subs {
            leaves(s, format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn every_subcommand_help_ends_with_real_examples() {
        let root = super::Command::augment_subcommands(clap::Command::new("clearinghouse"));
        let mut all = Vec::new();
        leaves(&root, "clearinghouse".to_owned(), &mut all);
        assert!(all.len() > 40, "{} subcommands", all.len());
        for (path, mut cmd) in all {
            let help = cmd.render_long_help().to_string();
            let tail = help.trim_end();
            let examples = tail
                .rsplit_once("Examples:\n")
                .unwrap_or_else(|| panic!("{path}: no examples at the end:\n{help}"))
                .1;
            for line in examples.lines() {
                let line = line.trim_start();
                assert!(
                    line.starts_with("clearinghouse ") || line.starts_with("--"),
                    "{path}: not an example line: {line}"
                );
            }
            let first = examples.lines().next().unwrap_or_default().trim_start();
            assert!(
                first == path || first.starts_with(&format!("{path} ")),
                "{path}: the first example runs another command: {first}"
            );
        }
    }
}
