//! `clearinghouse party`: register, read, list and edit parties.

use clap::Subcommand;

use super::{
    Ctx,
    enums::{EnumArg, PARTY_KIND},
    failure::CliError,
    paging::{PageArgs, collect},
    views,
};
use crate::pb;

/// Party subcommands.
#[derive(Debug, Subcommand)]
pub enum PartyCmd {
    /// Registers a party (admins and brokers).
    #[command(after_help = "Examples:
  clearinghouse party create --kind ngo-academic --name \"VERTIC\" --short-name VERTIC --country GBR
  clearinghouse party create --kind regional-organization --name \"Pacific Islands Forum\" --short-name PIF --country FJI")]
    Create {
        /// Kind of party.
        #[arg(long, value_parser = EnumArg(PARTY_KIND))]
        kind: i32,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Acronym or short name.
        #[arg(long)]
        short_name: Option<String>,
        /// ISO3 country: the State itself, or an organization's seat.
        #[arg(long)]
        country: Option<String>,
        /// Your id for the party, unique among parties.
        #[arg(long)]
        external_id: Option<String>,
        /// Free description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Shows one party.
    #[command(after_help = "Examples:
  clearinghouse party get state-KEN
  clearinghouse party get org-iaea --output json")]
    Get {
        /// Party id, e.g. state-KEN or org-iaea.
        id: String,
    },
    /// Lists parties in creation order.
    #[command(after_help = "Examples:
  clearinghouse party list --kind regional-organization
  clearinghouse party list --region Africa --all --output csv > african-states.csv")]
    List {
        /// Only this kind.
        #[arg(long, value_parser = EnumArg(PARTY_KIND))]
        kind: Option<i32>,
        /// Only this ISO3 country.
        #[arg(long)]
        country: Option<String>,
        /// Only this M49 region, e.g. Africa.
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Changes the fields given as flags (admins and brokers).
    #[command(after_help = "Examples:
  clearinghouse party update org-caricom --description \"Caribbean Community secretariat, Georgetown\"
  clearinghouse party update org-vertic --short-name VERTIC --etag 3")]
    Update {
        /// Party id.
        id: String,
        /// Full name.
        #[arg(long)]
        name: Option<String>,
        /// Acronym or short name.
        #[arg(long)]
        short_name: Option<String>,
        /// Seat of an organization, ISO3.
        #[arg(long)]
        country: Option<String>,
        /// Your id for the party.
        #[arg(long)]
        external_id: Option<String>,
        /// Free description.
        #[arg(long)]
        description: Option<String>,
        /// Etag you last read (default: read the party first).
        #[arg(long)]
        etag: Option<String>,
    },
}

/// Runs a party subcommand.
pub async fn run(ctx: &mut Ctx, cmd: PartyCmd) -> Result<(), CliError> {
    match cmd {
        PartyCmd::Create {
            kind,
            name,
            short_name,
            country,
            external_id,
            description,
        } => {
            let party = pb::Party {
                kind,
                display_name: name,
                short_name: short_name.unwrap_or_default(),
                country_code: country.unwrap_or_default().to_ascii_uppercase(),
                external_id: external_id.unwrap_or_default(),
                description: description.unwrap_or_default(),
                ..Default::default()
            };
            let resp = ctx
                .api
                .parties
                .create_party(pb::CreatePartyRequest {
                    party: Some(party),
                    request_id: String::new(),
                })
                .await?
                .into_inner();
            let p = resp.party.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::party::record(&p))
        }
        PartyCmd::Get { id } => {
            let resp = ctx
                .api
                .parties
                .get_party(pb::GetPartyRequest { id })
                .await?
                .into_inner();
            let p = resp.party.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::party::record(&p))
        }
        PartyCmd::List {
            kind,
            country,
            region,
            page,
        } => {
            let client = ctx.api.parties.clone();
            let req = pb::ListPartiesRequest {
                kind: kind.unwrap_or(0),
                country_code: country.unwrap_or_default().to_ascii_uppercase(),
                region: region.unwrap_or_default(),
                ..Default::default()
            };
            let (parties, next) = collect(&page, |size, token| {
                let mut c = client.clone();
                let req = pb::ListPartiesRequest {
                    page_size: size,
                    page_token: token,
                    ..req.clone()
                };
                async move {
                    let r = c.list_parties(req).await?.into_inner();
                    Ok((r.parties, r.next_page_token))
                }
            })
            .await?;
            let doc = views::party::list(&parties);
            let shown = parties.len();
            ctx.out.print(
                &pb::ListPartiesResponse {
                    parties,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        PartyCmd::Update {
            id,
            name,
            short_name,
            country,
            external_id,
            description,
            etag,
        } => {
            let mut party = pb::Party {
                id: id.clone(),
                ..Default::default()
            };
            let mut mask = Vec::new();
            let mut set = |path: &str, v: Option<String>, f: &mut dyn FnMut(String)| {
                if let Some(v) = v {
                    f(v);
                    mask.push(path.to_owned());
                }
            };
            set("display_name", name, &mut |v| party.display_name = v);
            set("short_name", short_name, &mut |v| party.short_name = v);
            set("country_code", country, &mut |v| {
                party.country_code = v.to_ascii_uppercase()
            });
            set("external_id", external_id, &mut |v| party.external_id = v);
            set("description", description, &mut |v| party.description = v);
            if mask.is_empty() {
                return Err(CliError::usage(
                    "nothing to change; give at least one field flag (see --help)",
                ));
            }
            party.etag = match etag {
                Some(e) => e,
                None => {
                    ctx.api
                        .parties
                        .get_party(pb::GetPartyRequest { id })
                        .await?
                        .into_inner()
                        .party
                        .unwrap_or_default()
                        .etag
                }
            };
            let resp = ctx
                .api
                .parties
                .update_party(pb::UpdatePartyRequest {
                    party: Some(party),
                    update_mask: Some(prost_types::FieldMask { paths: mask }),
                })
                .await?
                .into_inner();
            let p = resp.party.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::party::record(&p))
        }
    }
}
