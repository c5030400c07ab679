//! The admin client: subcommands that speak gRPC to a running server like any other
//! caller (never opening the database).

pub mod backup;
pub mod verify_audit;

use std::path::PathBuf;

use anyhow::{Context, bail};
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use crate::pb;

/// Where the server is and which key to use.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Server address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:50051",
        env = "CLEARINGHOUSE_SERVER"
    )]
    pub server: String,
    /// File holding the API key (e.g. <data-dir>/bootstrap-admin.key).
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
}

/// Admin subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCmd {
    /// Creates a principal and prints its API key (shown once).
    CreatePrincipal {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Role: admin, broker, requester, provider or analyst.
        #[arg(long)]
        role: String,
        /// Party id the principal acts for (requesters and providers), e.g. state-KEN.
        #[arg(long)]
        party: Option<String>,
    },
    /// Lists principals.
    ListPrincipals,
    /// Recomputes the audit trail's hash chain from entry 1; fails at the first broken link.
    VerifyAudit,
}

fn api_key(args: &ClientArgs) -> anyhow::Result<String> {
    if let Some(path) = &args.api_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(text.trim().to_owned());
    }
    match std::env::var("CLEARINGHOUSE_API_KEY") {
        Ok(k) if !k.is_empty() => Ok(k),
        _ => bail!("no API key: pass --api-key-file FILE or set CLEARINGHOUSE_API_KEY"),
    }
}

fn authed<T>(key: &str, msg: T) -> anyhow::Result<Request<T>> {
    let mut req = Request::new(msg);
    let value: MetadataValue<_> = format!("Bearer {key}")
        .parse()
        .context("API key is not valid header text")?;
    req.metadata_mut().insert("authorization", value);
    Ok(req)
}

async fn channel(args: &ClientArgs) -> anyhow::Result<Channel> {
    Channel::from_shared(args.server.clone())
        .context("bad --server address")?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.server))
}

/// Runs an admin subcommand, printing its result.
pub async fn admin(args: &ClientArgs, cmd: AdminCmd) -> anyhow::Result<()> {
    if let AdminCmd::VerifyAudit = cmd {
        return verify_audit::run(args).await;
    }
    let key = api_key(args)?;
    let mut client = pb::admin_service_client::AdminServiceClient::new(channel(args).await?);
    match cmd {
        AdminCmd::CreatePrincipal { name, role, party } => {
            let role = pb::Role::from_str_name(&format!("ROLE_{}", role.to_ascii_uppercase()))
                .with_context(|| {
                    format!(
                        "unknown role '{role}'; use admin, broker, requester, provider or analyst"
                    )
                })?;
            let resp = client
                .create_principal(authed(
                    &key,
                    pb::CreatePrincipalRequest {
                        principal: Some(pb::Principal {
                            display_name: name,
                            role: role as i32,
                            party_id: party.unwrap_or_default(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )?)
                .await
                .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
                .into_inner();
            let p = resp.principal.unwrap_or_default();
            eprintln!(
                "created principal {} ({}); the key below is shown only once",
                p.id,
                role.as_str_name()
            );
            println!("{}", resp.api_key);
        }
        AdminCmd::ListPrincipals => {
            let resp = client
                .list_principals(authed(
                    &key,
                    pb::ListPrincipalsRequest {
                        page_size: 500,
                        page_token: String::new(),
                    },
                )?)
                .await
                .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
                .into_inner();
            println!(
                "{:<28} {:<16} {:<14} {:<8} NAME",
                "ID", "ROLE", "PARTY", "REVOKED"
            );
            for p in resp.principals {
                let role = pb::Role::try_from(p.role).map_or("?", |r| r.as_str_name());
                println!(
                    "{:<28} {:<16} {:<14} {:<8} {}",
                    p.id, role, p.party_id, p.revoked, p.display_name
                );
            }
        }
        AdminCmd::VerifyAudit => unreachable!("handled above"),
    }
    Ok(())
}
