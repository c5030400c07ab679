//! `clearinghouse admin verify-audit`: pages through `ListAuditEntries` from entry 1 and
//! recomputes the audit hash chain end to end on the client (the encoding is documented
//! on `AuditEntry.hash` in `admin.proto` and in `clearinghouse_storage::audit_chain`).
//! Prints how many entries were verified; the first broken link, if any, fails the
//! command.

use tonic::codegen::{Body, Bytes, StdError};

use clearinghouse_domain::{AuditEntry, AuditLink, PrincipalId};
use clearinghouse_storage::audit_chain::{ChainVerifier, hex};

use crate::{
    convert,
    pb::{self, admin_service_client::AdminServiceClient},
};

/// Entries asked for per page.
const PAGE_SIZE: i32 = 500;

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailCheck {
    /// Entries whose links held, from entry 1.
    pub verified: u64,
    /// Hash of the last verified entry.
    pub head: [u8; 32],
    /// The first entry that broke the chain, and why.
    pub broken: Option<(u64, String)>,
}

fn hash_in(field: &str, s: &str) -> Result<[u8; 32], String> {
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| format!("{field} {s:?} is not 64 hex digits"))
}

/// The domain form of an entry as the server listed it.
fn entry_in(e: &pb::AuditEntry) -> Result<AuditEntry, String> {
    let chain = match (e.previous_hash.is_empty(), e.hash.is_empty()) {
        (true, true) => None,
        (false, false) => Some(AuditLink {
            previous_hash: hash_in("previous_hash", &e.previous_hash)?,
            hash: hash_in("hash", &e.hash)?,
        }),
        _ => return Err("carries only one of previous_hash and hash".to_owned()),
    };
    let at = e
        .change_time
        .as_ref()
        .map(convert::ts_in)
        .ok_or_else(|| "has no change_time".to_owned())?;
    Ok(AuditEntry {
        sequence: e.sequence,
        at,
        actor: PrincipalId(e.actor_principal_id.clone()),
        action: e.action.clone(),
        resource_kind: e.resource_kind.clone(),
        resource_id: e.resource_id.clone(),
        before_version: e.before_version,
        after_version: e.after_version,
        chain,
    })
}

/// Reads the whole trail through `client` and checks every link.
pub async fn verify_trail<T>(client: &mut AdminServiceClient<T>) -> anyhow::Result<TrailCheck>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut chain = ChainVerifier::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_audit_entries(pb::ListAuditEntriesRequest {
                page_size: PAGE_SIZE,
                page_token: token,
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?
            .into_inner();
        for e in &page.entries {
            let checked = entry_in(e)
                .map_err(|why| format!("audit entry {} {why}", e.sequence))
                .and_then(|entry| chain.push(&entry).map_err(|b| b.to_string()));
            if let Err(why) = checked {
                return Ok(TrailCheck {
                    verified: chain.verified(),
                    head: chain.head(),
                    broken: Some((e.sequence, why)),
                });
            }
        }
        if page.next_page_token.is_empty() {
            return Ok(TrailCheck {
                verified: chain.verified(),
                head: chain.head(),
                broken: None,
            });
        }
        token = page.next_page_token;
    }
}

/// Runs `clearinghouse admin verify-audit`.
pub async fn run(ctx: &mut super::Ctx) -> Result<(), super::failure::CliError> {
    let c = verify_trail(&mut ctx.api.admin)
        .await
        .map_err(super::backup::cli_error)?;
    match c.broken {
        None => {
            println!(
                "verified {} audit entries: the hash chain is intact (head {})",
                c.verified,
                hex(&c.head)
            );
            Ok(())
        }
        Some((sequence, why)) => Err(super::failure::CliError::Reported {
            exit: super::exit::Exit::Other,
            message: format!(
                "verified {} audit entries; the chain breaks at entry {sequence}: {why}",
                c.verified
            ),
        }),
    }
}
