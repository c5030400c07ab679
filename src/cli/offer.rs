//! `clearinghouse offer`: record offers, read and list them, edit, activate and withdraw
//! them.

use clap::Subcommand;

use super::{
    Ctx,
    confirm::confirm,
    enums::{AREA, EnumArg, FUNDING_MODE, OFFER_STATUS, SUB_AREA, label},
    failure::CliError,
    fields,
    flags::{apply, field_flags, flag, mask_path},
    output::{Block, Doc},
    paging::{PageArgs, collect},
    timestamp, views,
};
use crate::{json::ApiMessage, pb};

field_flags!(
    /// The fields of an offer, named after the columns of an offer file.
    OfferFields {
        /// Your id for the offer, unique per provider.
        external_id,
        /// Providing party, e.g. state-FRA (brokers; providers default to their own).
        provider_party_id,
        /// Implementing organizations, e.g. org-unodc,org-wco.
        implementing_party_ids,
        /// Programme name, 1-200 characters.
        programme_name,
        /// What is offered.
        description,
        /// Thematic areas covered whole, e.g. export-transshipment.
        areas,
        /// Individual sub-areas covered, e.g. control-lists.
        sub_areas,
        /// Weapon domains (empty: all), e.g. nuclear,chemical.
        weapon_domains,
        /// Kinds of help offered, e.g. training,equipment.
        assistance_kinds,
        /// true for a worldwide offer.
        scope_global,
        /// M49 regions, e.g. Africa,Americas.
        scope_regions,
        /// M49 sub-regions, e.g. "Eastern Africa,Caribbean".
        scope_subregions,
        /// Countries, ISO3, e.g. KEN,UGA.
        scope_countries,
        /// Countries excluded from the scope, ISO3.
        scope_excluded_countries,
        /// Funding modes, e.g. single-donor,jointly-funded.
        funding_modes,
        /// Working languages, ISO 639-1, e.g. en,fr.
        languages,
        /// Eligibility notes.
        eligibility_notes,
        /// Total capacity, e.g. "EUR 2000000".
        budget_ceiling,
        /// Largest contribution to one project, e.g. "EUR 500000".
        max_contribution,
        /// Smallest contribution to one project.
        min_contribution,
        /// Most projects the offer takes on (0: no limit).
        max_engagements,
        /// INDICATIVE or COMMITTED.
        budget_status,
        /// Start of validity, YYYY-MM-DD.
        valid_from,
        /// End of validity, YYYY-MM-DD.
        valid_until,
        /// Days needed between agreement and start, 0-730.
        lead_time_days,
        /// NUCLEAR_RADIOLOGICAL, BIOLOGICAL, CHEMICAL or RESOLUTION_1540.
        gp_sub_working_group,
        /// Point of contact: name.
        contact_name,
        /// Point of contact: e-mail.
        contact_email,
        /// Point of contact: phone.
        contact_phone,
        /// Point of contact: institution or office.
        contact_organization,
    }
);

/// Offer subcommands.
#[derive(Debug, Subcommand)]
pub enum OfferCmd {
    /// Records an offer in DRAFT (providers for their party; brokers for any party).
    #[command(after_help = "Examples:
  clearinghouse offer create --programme-name \"Export control outreach, East Africa\" \\
    --description \"Licensing workshops for customs and licensing officers\" \\
    --areas export-transshipment --assistance-kinds training,expert-mission \\
    --scope-subregions \"Eastern Africa\" --funding-modes single-donor \\
    --budget-ceiling \"EUR 500000\" --valid-until 2028-12-31")]
    Create {
        #[command(flatten)]
        fields: OfferFields,
        /// Client-chosen UUID making a retry safe.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Shows one offer.
    #[command(after_help = "Examples:
  clearinghouse offer get 01JD3A7Y2M4N6P8Q0R2S4T6V8W
  clearinghouse offer get 01JD3A7Y2M4N6P8Q0R2S4T6V8W --output json")]
    Get {
        /// Offer id.
        id: String,
    },
    /// Lists the offers your key may see, in creation order.
    #[command(after_help = "Examples:
  clearinghouse offer list --status active --area border-law-enforcement
  clearinghouse offer list --party state-FRA --output csv > france-offers.csv")]
    List {
        /// Only this status, e.g. active.
        #[arg(long, value_parser = EnumArg(OFFER_STATUS))]
        status: Option<i32>,
        /// Only offers covering this thematic area (whole or in part).
        #[arg(long, value_parser = EnumArg(AREA), hide_possible_values = true)]
        area: Option<i32>,
        /// Only offers covering this sub-area.
        #[arg(long, value_parser = EnumArg(SUB_AREA), hide_possible_values = true)]
        sub_area: Option<i32>,
        /// Only offers whose scope names this country, ISO3.
        #[arg(long)]
        country: Option<String>,
        /// Only offers whose scope names this M49 region.
        #[arg(long)]
        region: Option<String>,
        /// Only offers in this funding mode.
        #[arg(long, value_parser = EnumArg(FUNDING_MODE))]
        funding_mode: Option<i32>,
        /// Only offers of this provider party.
        #[arg(long)]
        party: Option<String>,
        /// Only offers changed since, YYYY-MM-DD or RFC 3339.
        #[arg(long, value_parser = timestamp::parse)]
        updated_since: Option<prost_types::Timestamp>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Changes the fields given as flags (scope and capacity only in DRAFT).
    #[command(after_help = "Examples:
  clearinghouse offer update 01JD3A7Y2M4N6P8Q0R2S4T6V8W --valid-until 2029-06-30
  clearinghouse offer update 01JD3A7Y2M4N6P8Q0R2S4T6V8W --contact-email export.control@example.org")]
    Update {
        /// Offer id.
        id: String,
        #[command(flatten)]
        fields: OfferFields,
        /// Fields to empty, by column name (e.g. --clear max_contribution --clear contact).
        #[arg(long, value_name = "FIELD")]
        clear: Vec<String>,
        /// Etag you last read (default: read the offer first).
        #[arg(long)]
        etag: Option<String>,
    },
    /// DRAFT -> ACTIVE (the provider or brokers).
    #[command(after_help = "Examples:
  clearinghouse offer activate 01JD3A7Y2M4N6P8Q0R2S4T6V8W")]
    Activate {
        /// Offer id.
        id: String,
        /// Etag you last read; checked when given.
        #[arg(long)]
        etag: Option<String>,
    },
    /// -> WITHDRAWN with a reason (the provider or brokers).
    #[command(after_help = "Examples:
  clearinghouse offer withdraw 01JD3A7Y2M4N6P8Q0R2S4T6V8W --reason \"Programme budget cut\"
  clearinghouse offer withdraw 01JD3A7Y2M4N6P8Q0R2S4T6V8W --reason \"Replaced by a new call\" --yes")]
    Withdraw {
        /// Offer id.
        id: String,
        /// Etag you last read; checked when given.
        #[arg(long)]
        etag: Option<String>,
        /// Why, 1 to 2000 characters.
        #[arg(long)]
        reason: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

fn after<M: ApiMessage>(
    ctx: &Ctx,
    resp: &M,
    o: Option<&pb::Offer>,
    what: &str,
) -> Result<(), CliError> {
    let o = o.cloned().unwrap_or_default();
    let doc = Doc {
        blocks: vec![Block::Line(format!(
            "offer {} {what}: now {} (etag {})",
            o.id,
            label(OFFER_STATUS, o.status),
            o.etag
        ))],
        csv: views::cells::spec_grid(std::slice::from_ref(&o), fields::offer::FIELDS),
    };
    ctx.out.print(resp, &doc)
}

/// Runs an offer subcommand.
pub async fn run(ctx: &mut Ctx, cmd: OfferCmd) -> Result<(), CliError> {
    let mut c = ctx.api.offers.clone();
    match cmd {
        OfferCmd::Create { fields, request_id } => {
            let mut offer = pb::Offer::default();
            apply(fields::offer::FIELDS, &mut offer, &fields.values())?;
            let resp = c
                .create_offer(pb::CreateOfferRequest {
                    offer: Some(offer),
                    request_id: request_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let o = resp.offer.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::offer::record(&o))
        }
        OfferCmd::Get { id } => {
            let resp = c.get_offer(pb::GetOfferRequest { id }).await?.into_inner();
            let o = resp.offer.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::offer::record(&o))
        }
        OfferCmd::List {
            status,
            area,
            sub_area,
            country,
            region,
            funding_mode,
            party,
            updated_since,
            page,
        } => {
            let req = pb::ListOffersRequest {
                status: status.unwrap_or(0),
                area: area.unwrap_or(0),
                sub_area: sub_area.unwrap_or(0),
                country_code: country.unwrap_or_default().to_ascii_uppercase(),
                region: region.unwrap_or_default(),
                funding_mode: funding_mode.unwrap_or(0),
                party_id: party.unwrap_or_default(),
                updated_since,
                ..Default::default()
            };
            let (offers, next) = collect(&page, |size, token| {
                let mut c = c.clone();
                let req = pb::ListOffersRequest {
                    page_size: size,
                    page_token: token,
                    ..req.clone()
                };
                async move {
                    let r = c.list_offers(req).await?.into_inner();
                    Ok((r.offers, r.next_page_token))
                }
            })
            .await?;
            let doc = views::offer::list(&offers);
            let shown = offers.len();
            ctx.out.print(
                &pb::ListOffersResponse {
                    offers,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        OfferCmd::Update {
            id,
            fields,
            clear,
            etag,
        } => {
            let values = fields.values();
            if values.is_empty() && clear.is_empty() {
                return Err(CliError::usage(
                    "nothing to change; give at least one field flag or --clear FIELD (see --help)",
                ));
            }
            let merges = values
                .iter()
                .any(|(c, _)| c.starts_with("contact_") || c.starts_with("scope_"));
            let current = if etag.is_none() || merges {
                Some(
                    c.get_offer(pb::GetOfferRequest { id: id.clone() })
                        .await?
                        .into_inner()
                        .offer
                        .unwrap_or_default(),
                )
            } else {
                None
            };
            let mut offer = current.clone().unwrap_or_default();
            offer.id = id;
            let mut mask = apply(fields::offer::FIELDS, &mut offer, &values)?;
            for field in clear {
                if field == "contact" {
                    offer.contact = None;
                } else if field.starts_with("contact_") {
                    return Err(CliError::usage(format!(
                        "--clear {field}: clear the whole contact with --clear contact, or set --{} to a new value",
                        flag(&field)
                    )));
                } else if field.starts_with("scope") {
                    return Err(CliError::usage(format!(
                        "--clear {field}: an offer always has a scope; set the --scope-* flags to the new scope"
                    )));
                } else {
                    let spec = fields::find(fields::offer::FIELDS, &field)
                        .filter(|s| s.set.is_some())
                        .ok_or_else(|| {
                            CliError::usage(format!("--clear {field}: not a field of an offer"))
                        })?;
                    apply(fields::offer::FIELDS, &mut offer, &[(spec.name, "")])?;
                }
                let path = mask_path(&field).to_owned();
                if !mask.contains(&path) {
                    mask.push(path);
                }
            }
            offer.etag = etag.unwrap_or_else(|| current.map(|o| o.etag).unwrap_or_default());
            let resp = c
                .update_offer(pb::UpdateOfferRequest {
                    offer: Some(offer),
                    update_mask: Some(prost_types::FieldMask { paths: mask }),
                })
                .await?
                .into_inner();
            let o = resp.offer.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::offer::record(&o))
        }
        OfferCmd::Activate { id, etag } => {
            let resp = c
                .activate_offer(pb::ActivateOfferRequest {
                    id,
                    etag: etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.offer.as_ref(), "activated")
        }
        OfferCmd::Withdraw {
            id,
            etag,
            reason,
            yes,
        } => {
            confirm(&format!("withdraw offer {id}"), yes)?;
            let resp = c
                .withdraw_offer(pb::WithdrawOfferRequest {
                    id,
                    etag: etag.unwrap_or_default(),
                    reason,
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.offer.as_ref(), "withdrawn")
        }
    }
}
