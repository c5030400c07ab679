//! The `clearinghouse` binary: the server (`serve`) and its client subcommands.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use clearinghouse::{cli, config::Config, shutdown};

#[derive(Debug, Parser)]
#[command(
    name = "clearinghouse",
    version,
    about = "Matches requests for assistance with offers under UNSC resolution 1540",
    after_help = cli::exit::EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the service on the embedded store (or on PostgreSQL with --database-url).
    Serve {
        /// TOML configuration file (see deploy/config.example.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory (default ./clearinghouse-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:50051).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log format: text or json (overrides the config file).
        #[arg(long)]
        log_format: Option<String>,
        /// PostgreSQL URL: serve the shared database (several replicas may) instead of
        /// the embedded store; overrides [storage] database_url and
        /// CLEARINGHOUSE_DATABASE_URL.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Applies the schema migrations of a PostgreSQL database (replicas also do at
    /// start); a schema newer than this build is refused.
    #[command(after_help = "Examples:
  CLEARINGHOUSE_DATABASE_URL=postgres://clearinghouse@db/clearinghouse clearinghouse migrate")]
    Migrate(cli::migrate::MigrateArgs),
    /// Copies a whole store between a sled data directory and PostgreSQL (either way)
    /// into an empty target, then verifies it entry by entry (offline: stop the servers).
    #[command(after_help = "Examples:
  clearinghouse migrate-store --from /var/lib/clearinghouse --to postgres://clearinghouse@db/clearinghouse
  clearinghouse migrate-store --from postgres://clearinghouse@db/clearinghouse --to /var/lib/clearinghouse-copy")]
    MigrateStore(cli::migrate::MigrateStoreArgs),
    #[command(flatten)]
    Client(Box<cli::Command>),
    /// Shows the whole job in under a minute: a server on a temporary directory, a
    /// generated registry loaded through the API, matches brokered to agreement, a
    /// coverage summary and the matchmaking brief as one HTML file.
    #[command(after_help = "Examples:
  clearinghouse demo
  clearinghouse demo --needs 600 --offers 250 --report brief.html")]
    Demo {
        /// Needs to load.
        #[arg(long, default_value_t = 300)]
        needs: usize,
        /// Offers to load (besides those planted as ideal for some needs).
        #[arg(long, default_value_t = 120)]
        offers: usize,
        /// Single-donor matches to broker to agreement.
        #[arg(long, default_value_t = 8)]
        matches: usize,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 1540)]
        seed: u64,
        /// Where to write the HTML brief.
        #[arg(long, default_value = "clearinghouse-demo-report.html")]
        report: PathBuf,
    },
    /// Restores a backup into a new, empty data directory (offline: no server may be
    /// running on it).
    #[command(after_help = "Examples:
  clearinghouse restore --data-dir /var/lib/clearinghouse-restored clearinghouse-2026-11-29.chbk")]
    Restore(cli::backup::RestoreArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:
  clearinghouse completions bash > ~/.local/share/bash-completion/completions/clearinghouse
  clearinghouse completions zsh > \"${fpath[1]}/_clearinghouse\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The demo prints its own story; the server inside it logs only warnings and errors.
fn init_demo_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(
    config_path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log_format: Option<String>,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let mut config = match &config_path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Config::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => Config::default(),
    };
    config
        .apply_env(|k| std::env::var(k).ok())
        .map_err(|e| anyhow::anyhow!(e))?;
    if let Some(d) = data_dir {
        config.data_dir = d;
    }
    if let Some(l) = listen {
        config.listen = l;
    }
    if let Some(f) = log_format {
        config.log_format = f;
    }
    if let Some(u) = database_url {
        config.storage.database_url = Some(u);
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    init_tracing(&config.log_format);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "starting clearinghouse"
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    clearinghouse::run(config, listener, shutdown::signal()).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Serve {
            config,
            data_dir,
            listen,
            log_format,
            database_url,
        } => serve(config, data_dir, listen, log_format, database_url).await,
        Cmd::Migrate(args) => cli::migrate::migrate(&args),
        Cmd::MigrateStore(args) => cli::migrate::migrate_store(&args),
        Cmd::Client(cmd) => return cli::run(*cmd).await.into(),
        Cmd::Restore(args) => cli::backup::restore(&args),
        Cmd::Demo {
            needs,
            offers,
            matches,
            seed,
            report,
        } => {
            init_demo_logging();
            clearinghouse::demo::run(clearinghouse::demo::DemoOptions {
                needs,
                offers,
                seed,
                report,
                matches,
            })
            .await
        }
        Cmd::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "clearinghouse", &mut script);
            let text = String::from_utf8_lossy(&script);
            return match cli::output::write_stdout(&text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    cli::failure::print(&e);
                    e.exit().into()
                }
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
