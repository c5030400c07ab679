//! The `clearinghouse` binary: the server (`serve`) and its admin client.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use clearinghouse::{cli, config::Config, shutdown};

#[derive(Debug, Parser)]
#[command(
    name = "clearinghouse",
    version,
    about = "Matches requests for assistance with offers under UNSC resolution 1540"
)]
struct Cli {
    /// Log format: text or json (overrides the config file).
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the service on the embedded store.
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
    },
    /// Writes a backup of a running server's store to a file.
    Backup(cli::backup::BackupArgs),
    /// Restores a backup into a new, empty data directory (offline; no server running).
    Restore(cli::backup::RestoreArgs),
    /// Administers principals through a running server.
    Admin {
        #[command(flatten)]
        client: cli::ClientArgs,
        #[command(subcommand)]
        cmd: cli::AdminCmd,
    },
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
        } => serve(config, data_dir, listen, cli.log_format).await,
        Cmd::Admin { client, cmd } => cli::admin(&client, cmd).await,
        Cmd::Backup(args) => cli::backup::backup(&args).await,
        Cmd::Restore(args) => cli::backup::restore(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
