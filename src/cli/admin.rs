//! `clearinghouse admin`: API keys (principals), the audit trail, the matching policy,
//! exchange rates and the weights fitted to broker decisions (admins).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{
    Ctx,
    confirm::confirm,
    enums::{EnumArg, ROLE},
    failure::CliError,
    paging::{PageArgs, collect},
    timestamp, views,
};
use crate::pb;

/// Admin subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// API keys: create, list and revoke principals.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Lists audit entries, oldest first.
    #[command(after_help = "Examples:
  clearinghouse admin audit --resource 01JD2ZQ4K3V8M6W1X9Y7T5R3P2
  clearinghouse admin audit --actor 01JD1Y0X8W6V4T2S0R8Q6P4N2M --all --output csv > audit.csv")]
    Audit {
        /// Only entries about this resource id.
        #[arg(long, value_name = "ID")]
        resource: Option<String>,
        /// Only entries by this principal.
        #[arg(long, value_name = "PRINCIPAL_ID")]
        actor: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The matching policy: factor weights and engine bounds.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// The exchange-rate table used to compare amounts.
    #[command(subcommand)]
    Rates(RatesCmd),
    /// Recomputes the audit trail's hash chain from entry 1; fails at the first broken link.
    #[command(
        name = "verify-audit",
        after_help = "Examples:
  clearinghouse admin verify-audit"
    )]
    VerifyAudit,
    /// Fits the matching weights and penalties to recorded broker decisions and shows the
    /// proposal beside the policy in force; changes nothing without --apply.
    #[command(
        name = "tune-weights",
        after_help = "Examples:
  clearinghouse admin tune-weights
  clearinghouse admin tune-weights --since 2026-01-01 --folds 10 --seed 7
  clearinghouse admin tune-weights --output json
  clearinghouse admin tune-weights --apply"
    )]
    TuneWeights(super::tune_weights::TuneArgs),
    /// Same as `admin key create`.
    #[command(hide = true)]
    CreatePrincipal(KeyCreate),
    /// Same as `admin key list`.
    #[command(hide = true)]
    ListPrincipals(KeyList),
}

/// Flags of `admin key create`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyCreate {
    /// Display name, e.g. "Kenya, Permanent Mission".
    #[arg(long)]
    name: String,
    /// Role.
    #[arg(long, value_parser = EnumArg(ROLE))]
    role: i32,
    /// Party the key acts for (requesters and providers), e.g. state-KEN.
    #[arg(long)]
    party: Option<String>,
    /// When the key stops working, YYYY-MM-DD or RFC 3339.
    #[arg(long, value_parser = timestamp::parse)]
    expires: Option<prost_types::Timestamp>,
    /// Write the key to this new file (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

/// Flags of `admin key list`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyList {
    #[command(flatten)]
    page: PageArgs,
}

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Creates a principal and prints its API key (shown once).
    #[command(after_help = "Examples:
  clearinghouse admin key create --name \"1540 Committee expert\" --role broker --key-file broker.key
  clearinghouse admin key create --name \"Kenya, Permanent Mission\" --role requester --party state-KEN --key-file kenya.key")]
    Create(KeyCreate),
    /// Lists principals in creation order.
    #[command(after_help = "Examples:
  clearinghouse admin key list
  clearinghouse admin key list --all --output csv")]
    List(KeyList),
    /// Revokes a principal; its key stops working at once.
    #[command(after_help = "Examples:
  clearinghouse admin key revoke 01JD1Y0X8W6V4T2S0R8Q6P4N2M
  clearinghouse admin key revoke 01JD1Y0X8W6V4T2S0R8Q6P4N2M --yes")]
    Revoke {
        /// Principal id (the key's public prefix).
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Policy subcommands.
// Parsed once per process; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Shows the matching policy in force.
    #[command(after_help = "Examples:
  clearinghouse admin policy get
  clearinghouse admin policy get --output json")]
    Get,
    /// Changes the weights and bounds given; the weights must still sum to 1.
    #[command(after_help = "Examples:
  clearinghouse admin policy update --thematic 0.30 --specificity 0.12
  clearinghouse admin policy update --missing-kinds-penalty 0.5
  clearinghouse admin policy update --top-k 50")]
    Update {
        /// Weight of thematic coverage.
        #[arg(long)]
        thematic: Option<f64>,
        /// Weight of geographic precision.
        #[arg(long)]
        geography: Option<f64>,
        /// Weight of the funding-mode preference.
        #[arg(long)]
        funding: Option<f64>,
        /// Weight of budget coverage.
        #[arg(long)]
        budget: Option<f64>,
        /// Weight of the kinds of help offered.
        #[arg(long)]
        assistance: Option<f64>,
        /// Weight of window coverage.
        #[arg(long)]
        timing: Option<f64>,
        /// Weight of a shared working language.
        #[arg(long)]
        language: Option<f64>,
        /// Weight of the weapon domains (nuclear, chemical, biological, delivery) in common.
        #[arg(long)]
        domain: Option<f64>,
        /// Weight of how specific the offer is to the need (sub-areas, country lists).
        #[arg(long)]
        specificity: Option<f64>,
        /// Penalty (0 to 1) when the need requires kinds of help the offer gives none of.
        #[arg(long)]
        missing_kinds_penalty: Option<f64>,
        /// Penalty (0 to 1) when both sides state languages and share none.
        #[arg(long)]
        no_common_language_penalty: Option<f64>,
        /// Penalty (0 to 1) when a lone donor's capacity falls short of the budget.
        #[arg(long)]
        single_donor_shortfall_penalty: Option<f64>,
        /// Candidates kept per need, 1 to 500.
        #[arg(long)]
        top_k: Option<i32>,
        /// Largest number of offers searched exactly for a consortium, 1 to 24.
        #[arg(long)]
        exact_consortium_max: Option<i32>,
        /// Etag you last read (default: read the policy first).
        #[arg(long)]
        etag: Option<String>,
    },
}

/// Rates subcommands.
#[derive(Debug, Subcommand)]
pub enum RatesCmd {
    /// Replaces the exchange-rate table: CUR=RATE, the base-currency value of one unit.
    #[command(after_help = "Examples:
  clearinghouse admin rates set --base USD EUR=1.08 GBP=1.27 JPY=0.0067
  clearinghouse admin rates set --base EUR USD=0.93")]
    Set {
        /// Currency every amount is compared in.
        #[arg(long, default_value = "USD")]
        base: String,
        /// Rates as CUR=RATE, e.g. EUR=1.08.
        #[arg(value_name = "CUR=RATE")]
        rates: Vec<String>,
    },
}

/// Runs an admin subcommand.
pub async fn run(ctx: &mut Ctx, cmd: AdminCmd) -> Result<(), CliError> {
    match cmd {
        AdminCmd::VerifyAudit => super::verify_audit::run(ctx).await,
        AdminCmd::TuneWeights(a) => super::tune_weights::run(ctx, a).await,
        AdminCmd::Key(KeyCmd::Create(k)) | AdminCmd::CreatePrincipal(k) => create_key(ctx, k).await,
        AdminCmd::Key(KeyCmd::List(l)) | AdminCmd::ListPrincipals(l) => {
            let c = ctx.api.admin.clone();
            let (principals, next) = collect(&l.page, |size, token| {
                let mut c = c.clone();
                async move {
                    let r = c
                        .list_principals(pb::ListPrincipalsRequest {
                            page_size: size,
                            page_token: token,
                        })
                        .await?
                        .into_inner();
                    Ok((r.principals, r.next_page_token))
                }
            })
            .await?;
            let doc = views::admin::principals(&principals);
            let shown = principals.len();
            ctx.out.print(
                &pb::ListPrincipalsResponse {
                    principals,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        AdminCmd::Key(KeyCmd::Revoke { id, yes }) => {
            confirm(&format!("revoke key {id}"), yes)?;
            let resp = ctx
                .api
                .admin
                .revoke_principal(pb::RevokePrincipalRequest { id })
                .await?
                .into_inner();
            let p = resp.principal.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::admin::principal(&p))
        }
        AdminCmd::Audit {
            resource,
            actor,
            page,
        } => {
            let c = ctx.api.admin.clone();
            let req = pb::ListAuditEntriesRequest {
                resource_id: resource.unwrap_or_default(),
                actor_principal_id: actor.unwrap_or_default(),
                ..Default::default()
            };
            let (entries, next) = collect(&page, |size, token| {
                let mut c = c.clone();
                let req = pb::ListAuditEntriesRequest {
                    page_size: size,
                    page_token: token,
                    ..req.clone()
                };
                async move {
                    let r = c.list_audit_entries(req).await?.into_inner();
                    Ok((r.entries, r.next_page_token))
                }
            })
            .await?;
            let doc = views::admin::audit(&entries);
            let shown = entries.len();
            ctx.out.print(
                &pb::ListAuditEntriesResponse {
                    entries,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        AdminCmd::Policy(PolicyCmd::Get) => {
            let resp = ctx
                .api
                .admin
                .get_matching_policy(pb::GetMatchingPolicyRequest {})
                .await?
                .into_inner();
            let p = resp.policy.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::admin::policy(&p))
        }
        AdminCmd::Policy(PolicyCmd::Update {
            thematic,
            geography,
            funding,
            budget,
            assistance,
            timing,
            language,
            domain,
            specificity,
            missing_kinds_penalty,
            no_common_language_penalty,
            single_donor_shortfall_penalty,
            top_k,
            exact_consortium_max,
            etag,
        }) => {
            let given = [
                thematic,
                geography,
                funding,
                budget,
                assistance,
                timing,
                language,
                domain,
                specificity,
                missing_kinds_penalty,
                no_common_language_penalty,
                single_donor_shortfall_penalty,
            ]
            .iter()
            .any(Option::is_some)
                || top_k.is_some()
                || exact_consortium_max.is_some();
            if !given {
                return Err(CliError::usage(
                    "nothing to change; give at least one weight or bound (see --help)",
                ));
            }
            let mut p = ctx
                .api
                .admin
                .get_matching_policy(pb::GetMatchingPolicyRequest {})
                .await?
                .into_inner()
                .policy
                .unwrap_or_default();
            let mut paths = Vec::new();
            let mut set = |slot: &mut f64, v: Option<f64>, name: &str| {
                if let Some(v) = v {
                    *slot = v;
                    paths.push(name.to_owned());
                }
            };
            set(&mut p.thematic_weight, thematic, "thematic_weight");
            set(&mut p.geography_weight, geography, "geography_weight");
            set(&mut p.funding_weight, funding, "funding_weight");
            set(&mut p.budget_weight, budget, "budget_weight");
            set(&mut p.assistance_weight, assistance, "assistance_weight");
            set(&mut p.timing_weight, timing, "timing_weight");
            set(&mut p.language_weight, language, "language_weight");
            set(&mut p.domain_weight, domain, "domain_weight");
            set(&mut p.specificity_weight, specificity, "specificity_weight");
            set(
                &mut p.missing_kinds_penalty,
                missing_kinds_penalty,
                "missing_kinds_penalty",
            );
            set(
                &mut p.no_common_language_penalty,
                no_common_language_penalty,
                "no_common_language_penalty",
            );
            set(
                &mut p.single_donor_shortfall_penalty,
                single_donor_shortfall_penalty,
                "single_donor_shortfall_penalty",
            );
            if let Some(k) = top_k {
                p.top_k = k;
                paths.push("top_k".to_owned());
            }
            if let Some(m) = exact_consortium_max {
                p.exact_consortium_max = m;
                paths.push("exact_consortium_max".to_owned());
            }
            if let Some(e) = etag {
                p.etag = e;
            }
            let resp = ctx
                .api
                .admin
                .update_matching_policy(pb::UpdateMatchingPolicyRequest {
                    policy: Some(p),
                    update_mask: Some(prost_types::FieldMask { paths }),
                })
                .await?
                .into_inner();
            let p = resp.policy.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::admin::policy(&p))
        }
        AdminCmd::Rates(RatesCmd::Set { base, rates }) => {
            let mut problems = Vec::new();
            let mut parsed = Vec::new();
            for r in &rates {
                match r.split_once('=') {
                    Some((cur, rate)) if !cur.trim().is_empty() && !rate.trim().is_empty() => {
                        parsed.push(pb::ExchangeRate {
                            currency_code: cur.trim().to_ascii_uppercase(),
                            rate: rate.trim().to_owned(),
                        });
                    }
                    _ => problems.push(format!("'{r}' is not CUR=RATE, e.g. EUR=1.08")),
                }
            }
            if !problems.is_empty() {
                return Err(CliError::Usage(problems.join("\n")));
            }
            // The rates share the matching settings' etag: read it, then replace them.
            let etag = ctx
                .api
                .admin
                .get_matching_policy(pb::GetMatchingPolicyRequest {})
                .await?
                .into_inner()
                .policy
                .map(|p| p.etag)
                .unwrap_or_default();
            let resp = ctx
                .api
                .admin
                .set_exchange_rates(pb::SetExchangeRatesRequest {
                    base_currency_code: base.trim().to_ascii_uppercase(),
                    rates: parsed,
                    etag,
                })
                .await?
                .into_inner();
            ctx.out.print(&resp, &views::admin::rates(&resp))
        }
    }
}

async fn create_key(ctx: &mut Ctx, k: KeyCreate) -> Result<(), CliError> {
    if let Some(path) = &k.key_file
        && path.exists()
    {
        return Err(CliError::usage(format!(
            "{} exists; choose a new file for the key",
            path.display()
        )));
    }
    let resp = ctx
        .api
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: k.name,
                role: k.role,
                party_id: k.party.unwrap_or_default(),
                expire_time: k.expires,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner();
    let p = resp.principal.clone().unwrap_or_default();
    match &k.key_file {
        Some(path) => {
            write_key(path, &resp.api_key)?;
            eprintln!(
                "created principal {} ({}); its key is in {} (mode 0600)",
                p.id,
                super::enums::label(ROLE, p.role),
                path.display()
            );
            ctx.out.print(
                &resp.principal.clone().unwrap_or_default(),
                &views::admin::principal(&p),
            )
        }
        None => {
            eprintln!(
                "created principal {} ({}); the key is shown only once: store it safely",
                p.id,
                super::enums::label(ROLE, p.role)
            );
            ctx.out.print(&resp, &views::admin::created_key(&resp))
        }
    }
}

/// Writes a key to a new file readable by its owner only.
fn write_key(path: &Path, key: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| CliError::Io(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(format!("{key}\n").as_bytes())
        .map_err(|e| CliError::Io(format!("cannot write {}: {e}", path.display())))
}
