//! `clearinghouse need`: record needs, read and list them, edit them, and move them
//! through their lifecycle.

use clap::Subcommand;

use super::{
    Ctx,
    confirm::confirm,
    enums::{AREA, EnumArg, FUNDING_MODE, NEED_STATUS, SUB_AREA, label},
    failure::CliError,
    fields,
    flags::{apply, field_flags, flag},
    output::{Block, Doc},
    paging::{PageArgs, collect},
    timestamp, views,
};
use crate::{json::ApiMessage, pb};

field_flags!(
    /// The fields of a need, named after the columns of a need file.
    NeedFields {
        /// Your id for the need, unique per requesting party.
        external_id,
        /// Requesting party, e.g. state-KEN (brokers; requesters default to their own).
        requester_party_id,
        /// NOTE_VERBALE, NATIONAL_REPORT, REFERRAL or API.
        channel,
        /// Reference of the note verbale.
        note_verbale_reference,
        /// Date of the request, YYYY-MM-DD.
        request_date,
        /// Title, 1-200 characters.
        title,
        /// What is needed, for which institutions, expected outcome.
        description,
        /// Thematic area, e.g. export-transshipment.
        area,
        /// Sub-areas of the area, e.g. control-lists,export-licensing.
        sub_areas,
        /// Weapon domains (empty: all), e.g. nuclear,chemical.
        weapon_domains,
        /// Kinds of help, e.g. training,expert-mission.
        assistance_kinds,
        /// HIGH, MEDIUM or LOW.
        priority,
        /// Start of the wanted window, YYYY-MM-DD.
        wanted_from,
        /// End of the wanted window, YYYY-MM-DD.
        needed_by,
        /// Estimated budget, e.g. "USD 250000".
        estimated_budget,
        /// Funding modes accepted, e.g. single-donor,jointly-funded.
        accepted_funding_modes,
        /// Preferred funding mode (one of the accepted).
        preferred_funding_mode,
        /// Working languages, ISO 639-1, e.g. en,fr.
        languages,
        /// Link to a national action plan item.
        national_action_plan_ref,
        /// Link to an IAEA plan item.
        iaea_plan_ref,
        /// Assistance already received in the area.
        assistance_received,
        /// Requester's country, ISO3 (organizations).
        country_code,
        /// Beneficiary countries of a regional request, ISO3.
        beneficiary_countries,
        /// PENDING, GRANTED or WITHHELD.
        publication_consent,
        /// PUBLIC, PROVIDERS or COMMITTEE_ONLY.
        visibility,
        /// Summary fit for publication.
        public_summary,
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

/// Need subcommands.
#[derive(Debug, Subcommand)]
pub enum NeedCmd {
    /// Reads a request's text (note verbale, template, e-mail; en, fr, es) into draft needs, one per thematic area, each code with the words behind it; --create makes them DRAFT needs.
    #[command(after_help = "Examples:
  clearinghouse need suggest note-verbale.txt
  clearinghouse need suggest note-verbale.txt --create --requester state-KEN --yes")]
    Suggest(super::suggest::SuggestArgs),
    /// Records a need in DRAFT (requesters for their party; brokers for any party).
    #[command(after_help = "Examples:
  clearinghouse need create --title \"Control-list training for licensing officers\" \\
    --description \"Two-week course for 25 officers\" --area export-transshipment \\
    --sub-areas control-lists,export-licensing --assistance-kinds training \\
    --accepted-funding-modes single-donor --estimated-budget \"USD 250000\" --needed-by 2027-12-31")]
    Create {
        #[command(flatten)]
        fields: NeedFields,
        /// Client-chosen UUID making a retry safe.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Shows one need.
    #[command(after_help = "Examples:
  clearinghouse need get 01JD2ZQ4K3V8M6W1X9Y7T5R3P2
  clearinghouse need get 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --output json")]
    Get {
        /// Need id.
        id: String,
    },
    /// Lists the needs your key may see, in creation order.
    #[command(after_help = "Examples:
  clearinghouse need list --status circulated --area export-transshipment
  clearinghouse need list --region Africa --all --output csv > needs.csv")]
    List {
        /// Only this status, e.g. circulated.
        #[arg(long, value_parser = EnumArg(NEED_STATUS))]
        status: Option<i32>,
        /// Only this thematic area.
        #[arg(long, value_parser = EnumArg(AREA), hide_possible_values = true)]
        area: Option<i32>,
        /// Only needs naming this sub-area.
        #[arg(long, value_parser = EnumArg(SUB_AREA), hide_possible_values = true)]
        sub_area: Option<i32>,
        /// Only this country, ISO3.
        #[arg(long)]
        country: Option<String>,
        /// Only this M49 region, e.g. Africa.
        #[arg(long)]
        region: Option<String>,
        /// Only this M49 sub-region, e.g. "Eastern Africa".
        #[arg(long)]
        subregion: Option<String>,
        /// Only needs accepting this funding mode.
        #[arg(long, value_parser = EnumArg(FUNDING_MODE))]
        funding_mode: Option<i32>,
        /// Only needs of this requesting party.
        #[arg(long)]
        party: Option<String>,
        /// Only needs changed since, YYYY-MM-DD or RFC 3339.
        #[arg(long, value_parser = timestamp::parse)]
        updated_since: Option<prost_types::Timestamp>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Changes the fields given as flags (substance only in DRAFT and SUBMITTED).
    #[command(after_help = "Examples:
  clearinghouse need update 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --needed-by 2028-06-30 --priority high
  clearinghouse need update 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --publication-consent granted")]
    Update {
        /// Need id.
        id: String,
        #[command(flatten)]
        fields: NeedFields,
        /// Fields to empty, by column name (e.g. --clear needed_by --clear contact).
        #[arg(long, value_name = "FIELD")]
        clear: Vec<String>,
        /// Etag you last read (default: read the need first).
        #[arg(long)]
        etag: Option<String>,
    },
    /// DRAFT -> SUBMITTED (the requester).
    #[command(after_help = "Examples:
  clearinghouse need submit 01JD2ZQ4K3V8M6W1X9Y7T5R3P2")]
    Submit(Target),
    /// SUBMITTED -> AUTHENTICATED (brokers); starts the consent window.
    #[command(after_help = "Examples:
  clearinghouse need authenticate 01JD2ZQ4K3V8M6W1X9Y7T5R3P2")]
    Authenticate(Target),
    /// SUBMITTED -> REJECTED with a reason (brokers).
    #[command(after_help = "Examples:
  clearinghouse need reject 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --reason \"Informal request; please send a note verbale\"
  clearinghouse need reject 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --reason \"Duplicate of 01JD2Z...\" --yes")]
    Reject(WithReason),
    /// AUTHENTICATED -> CIRCULATED (brokers), once consent is given or the window passed.
    #[command(after_help = "Examples:
  clearinghouse need circulate 01JD2ZQ4K3V8M6W1X9Y7T5R3P2")]
    Circulate(Target),
    /// -> WITHDRAWN with a reason (the requester, or brokers once authenticated).
    #[command(after_help = "Examples:
  clearinghouse need withdraw 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --reason \"Met by national budget\"
  clearinghouse need withdraw 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --reason \"Superseded\" --yes")]
    Withdraw(WithReason),
    /// Adds outcome feedback (the requester or brokers).
    #[command(after_help = "Examples:
  clearinghouse need feedback 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --text \"Course held in May; 24 officers trained\"")]
    Feedback {
        #[command(flatten)]
        target: Target,
        /// The feedback, 1 to 4000 characters.
        #[arg(long)]
        text: String,
    },
    /// FULFILLED -> CLOSED once outcome feedback exists (brokers).
    #[command(after_help = "Examples:
  clearinghouse need close 01JD2ZQ4K3V8M6W1X9Y7T5R3P2")]
    Close(Target),
}

/// The need a transition applies to.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Need id.
    pub id: String,
    /// Etag you last read; checked when given.
    #[arg(long)]
    pub etag: Option<String>,
}

/// A destructive transition's target, reason and confirmation.
#[derive(Debug, Clone, clap::Args)]
pub struct WithReason {
    #[command(flatten)]
    target: Target,
    /// Why, 1 to 2000 characters.
    #[arg(long)]
    reason: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

fn after<M: ApiMessage>(
    ctx: &Ctx,
    resp: &M,
    n: Option<&pb::Need>,
    what: &str,
) -> Result<(), CliError> {
    let n = n.cloned().unwrap_or_default();
    let doc = Doc {
        blocks: vec![Block::Line(format!(
            "need {} {what}: now {} (etag {})",
            n.id,
            label(NEED_STATUS, n.status),
            n.etag
        ))],
        csv: views::cells::spec_grid(std::slice::from_ref(&n), fields::need::FIELDS),
    };
    ctx.out.print(resp, &doc)
}

/// Runs a need subcommand.
pub async fn run(ctx: &mut Ctx, cmd: NeedCmd) -> Result<(), CliError> {
    let mut c = ctx.api.needs.clone();
    match cmd {
        NeedCmd::Suggest(a) => super::suggest::run(ctx, a).await,
        NeedCmd::Create { fields, request_id } => {
            let mut need = pb::Need::default();
            apply(fields::need::FIELDS, &mut need, &fields.values())?;
            let resp = c
                .create_need(pb::CreateNeedRequest {
                    need: Some(need),
                    request_id: request_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let n = resp.need.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::need::record(&n))
        }
        NeedCmd::Get { id } => {
            let resp = c.get_need(pb::GetNeedRequest { id }).await?.into_inner();
            let n = resp.need.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::need::record(&n))
        }
        NeedCmd::List {
            status,
            area,
            sub_area,
            country,
            region,
            subregion,
            funding_mode,
            party,
            updated_since,
            page,
        } => {
            let req = pb::ListNeedsRequest {
                status: status.unwrap_or(0),
                area: area.unwrap_or(0),
                sub_area: sub_area.unwrap_or(0),
                country_code: country.unwrap_or_default().to_ascii_uppercase(),
                region: region.unwrap_or_default(),
                subregion: subregion.unwrap_or_default(),
                funding_mode: funding_mode.unwrap_or(0),
                party_id: party.unwrap_or_default(),
                updated_since,
                ..Default::default()
            };
            let (needs, next) = collect(&page, |size, token| {
                let mut c = c.clone();
                let req = pb::ListNeedsRequest {
                    page_size: size,
                    page_token: token,
                    ..req.clone()
                };
                async move {
                    let r = c.list_needs(req).await?.into_inner();
                    Ok((r.needs, r.next_page_token))
                }
            })
            .await?;
            let doc = views::need::list(&needs);
            let shown = needs.len();
            ctx.out.print(
                &pb::ListNeedsResponse {
                    needs,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        NeedCmd::Update {
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
            let merges = values.iter().any(|(c, _)| c.starts_with("contact_"));
            let current = if etag.is_none() || merges {
                Some(
                    c.get_need(pb::GetNeedRequest { id: id.clone() })
                        .await?
                        .into_inner()
                        .need
                        .unwrap_or_default(),
                )
            } else {
                None
            };
            let mut need = current.clone().unwrap_or_default();
            need.id = id;
            let mut mask = apply(fields::need::FIELDS, &mut need, &values)?;
            for field in clear {
                if field == "contact" {
                    need.contact = None;
                } else if field.starts_with("contact_") {
                    return Err(CliError::usage(format!(
                        "--clear {field}: clear the whole contact with --clear contact, or set --{} to a new value",
                        flag(&field)
                    )));
                } else {
                    let spec = fields::find(fields::need::FIELDS, &field)
                        .filter(|s| s.set.is_some())
                        .ok_or_else(|| {
                            CliError::usage(format!("--clear {field}: not a field of a need"))
                        })?;
                    apply(fields::need::FIELDS, &mut need, &[(spec.name, "")])?;
                }
                let path = super::flags::mask_path(&field).to_owned();
                if !mask.contains(&path) {
                    mask.push(path);
                }
            }
            need.etag = etag.unwrap_or_else(|| current.map(|n| n.etag).unwrap_or_default());
            let resp = c
                .update_need(pb::UpdateNeedRequest {
                    need: Some(need),
                    update_mask: Some(prost_types::FieldMask { paths: mask }),
                })
                .await?
                .into_inner();
            let n = resp.need.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::need::record(&n))
        }
        NeedCmd::Submit(t) => {
            let resp = c
                .submit_need(pb::SubmitNeedRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "submitted")
        }
        NeedCmd::Authenticate(t) => {
            let resp = c
                .authenticate_need(pb::AuthenticateNeedRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "authenticated")
        }
        NeedCmd::Reject(r) => {
            confirm(&format!("reject need {}", r.target.id), r.yes)?;
            let resp = c
                .reject_need(pb::RejectNeedRequest {
                    id: r.target.id,
                    etag: r.target.etag.unwrap_or_default(),
                    reason: r.reason,
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "rejected")
        }
        NeedCmd::Circulate(t) => {
            let resp = c
                .circulate_need(pb::CirculateNeedRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "circulated")
        }
        NeedCmd::Withdraw(r) => {
            confirm(&format!("withdraw need {}", r.target.id), r.yes)?;
            let resp = c
                .withdraw_need(pb::WithdrawNeedRequest {
                    id: r.target.id,
                    etag: r.target.etag.unwrap_or_default(),
                    reason: r.reason,
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "withdrawn")
        }
        NeedCmd::Feedback { target, text } => {
            let resp = c
                .add_need_feedback(pb::AddNeedFeedbackRequest {
                    id: target.id,
                    etag: target.etag.unwrap_or_default(),
                    text,
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "has new feedback")
        }
        NeedCmd::Close(t) => {
            let resp = c
                .close_need(pb::CloseNeedRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.need.as_ref(), "closed")
        }
    }
}
