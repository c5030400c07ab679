//! `clearinghouse match`: ranked candidates with explanations, why a pair does not fit,
//! consortia, allocation plans, and the brokering lifecycle of matches.

use clap::Subcommand;

use super::{
    Ctx,
    confirm::confirm,
    enums::{
        AREA, CONTRIBUTION_ROLE, EnumArg, FUNDING_MODE, GP_GROUP, MATCH_STATUS, REASON_CODE, label,
    },
    failure::CliError,
    money,
    output::{Block, Doc, Grid, Mode},
    paging::{PageArgs, collect},
    views, watch,
};
use crate::{json::ApiMessage, pb};

/// How many candidates to show.
#[derive(Debug, Clone, clap::Args)]
pub struct CandidatePage {
    /// Most candidates to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
    /// Go on from a token printed by an earlier run.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

impl CandidatePage {
    fn page(&self) -> PageArgs {
        PageArgs {
            limit: self.limit,
            all: false,
            page_token: self.page_token.clone(),
        }
    }
}

/// A match a transition applies to.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Match id.
    pub id: String,
    /// Etag you last read; checked when given.
    #[arg(long)]
    pub etag: Option<String>,
}

/// A reason code and text.
#[derive(Debug, Clone, clap::Args)]
pub struct Reason {
    /// Reason code: need-already-met, not-eligible, no-capacity, scope-mismatch, timing,
    /// funding-unavailable, political, duplicate or other.
    #[arg(long, value_parser = EnumArg(REASON_CODE), hide_possible_values = true)]
    pub reason: i32,
    /// Reason text (required with other).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
}

/// Match subcommands.
#[derive(Debug, Subcommand)]
pub enum MatchCmd {
    /// Ranks the open offers that fit a need, each with its explanation.
    #[command(after_help = "Examples:
  clearinghouse match candidates 01JD2ZQ4K3V8M6W1X9Y7T5R3P2
  clearinghouse match candidates 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --limit 3 --output json")]
    Candidates {
        /// Need id.
        need: String,
        #[command(flatten)]
        page: CandidatePage,
    },
    /// Ranks the open needs an offer fits, each with its explanation.
    #[command(after_help = "Examples:
  clearinghouse match needs-for-offer 01JD3A7Y2M4N6P8Q0R2S4T6V8W")]
    NeedsForOffer {
        /// Offer id.
        offer: String,
        #[command(flatten)]
        page: CandidatePage,
    },
    /// Explains the fit of one pair, or every hard filter it fails.
    #[command(after_help = "Examples:
  clearinghouse match why-not 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 01JD3A7Y2M4N6P8Q0R2S4T6V8W")]
    WhyNot {
        /// Need id.
        need: String,
        /// Offer id.
        offer: String,
    },
    /// Proposes the set of joint or pooled offers that best covers a jointly funded need.
    #[command(after_help = "Examples:
  clearinghouse match consortium 01JD2ZQ4K3V8M6W1X9Y7T5R3P2")]
    Consortium {
        /// Need id.
        need: String,
    },
    /// Plans, as a dry run, which open offers should fund which circulated needs (brokers).
    #[command(after_help = "Examples:
  clearinghouse match plan --region Africa
  clearinghouse match plan --area border-law-enforcement --output csv > plan.csv")]
    Plan {
        /// Only needs in this M49 region.
        #[arg(long)]
        region: Option<String>,
        /// Only needs in this thematic area.
        #[arg(long, value_parser = EnumArg(AREA), hide_possible_values = true)]
        area: Option<i32>,
        /// Only offers of this Global Partnership sub-working group.
        #[arg(long, value_parser = EnumArg(GP_GROUP))]
        gp_group: Option<i32>,
    },
    /// Proposes a match of a need with one offer (single donor) or several (joint).
    #[command(after_help = "Examples:
  clearinghouse match propose 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --offer \"01JD3A7Y2M4N6P8Q0R2S4T6V8W=EUR 230000\"
  clearinghouse match propose 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --funding-mode jointly-funded \\
    --offer 01JD3A7Y2M4N6P8Q0R2S4T6V8W=EUR150000 --offer 01JD3B1C3D5E7F9G1H3J5K7M9N=USD90000")]
    Propose {
        /// Need id.
        need: String,
        /// A contribution: OFFER_ID=AMOUNT (amount in the offer's currency, e.g.
        /// "01J...=EUR 150000"), or OFFER_ID alone with --in-kind. Repeat for a joint match.
        #[arg(long = "offer", value_name = "OFFER_ID[=AMOUNT]", required = true)]
        offers: Vec<String>,
        /// What is given in kind, for contributions without an amount.
        #[arg(long, value_name = "TEXT")]
        in_kind: Option<String>,
        /// Role of the contributors.
        #[arg(long, value_parser = EnumArg(CONTRIBUTION_ROLE))]
        role: Option<i32>,
        /// Funding mode (default: single-donor for one offer, jointly-funded for several).
        #[arg(long, value_parser = EnumArg(FUNDING_MODE))]
        funding_mode: Option<i32>,
        /// Client-chosen UUID making a retry safe.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Shows one match with its contributions.
    #[command(after_help = "Examples:
  clearinghouse match get 01JD4C2D4E6F8G0H2J4K6M8N0P")]
    Get {
        /// Match id.
        id: String,
    },
    /// Lists the matches your key takes part in (brokers and admins: all).
    #[command(after_help = "Examples:
  clearinghouse match list --status proposed
  clearinghouse match list --need 01JD2ZQ4K3V8M6W1X9Y7T5R3P2 --output csv")]
    List {
        /// Only this status, e.g. agreed.
        #[arg(long, value_parser = EnumArg(MATCH_STATUS))]
        status: Option<i32>,
        /// Only matches of this need.
        #[arg(long)]
        need: Option<String>,
        /// Only matches drawing on this offer.
        #[arg(long)]
        offer: Option<String>,
        /// Only matches this party takes part in.
        #[arg(long)]
        party: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Accepts a match: the requester for its need, a provider for its contributions.
    #[command(after_help = "Examples:
  clearinghouse match accept 01JD4C2D4E6F8G0H2J4K6M8N0P")]
    Accept(Target),
    /// Declines a match (the requester) or a contribution (a provider).
    #[command(after_help = "Examples:
  clearinghouse match decline 01JD4C2D4E6F8G0H2J4K6M8N0P --reason timing --text \"Needed before the 2027 budget cycle\"")]
    Decline {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        reason: Reason,
    },
    /// Withdraws a match before implementation (brokers); releases any reservation.
    #[command(after_help = "Examples:
  clearinghouse match withdraw 01JD4C2D4E6F8G0H2J4K6M8N0P --reason duplicate
  clearinghouse match withdraw 01JD4C2D4E6F8G0H2J4K6M8N0P --reason other --text \"Re-proposed as a joint match\" --yes")]
    Withdraw {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        reason: Reason,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// AGREED -> IN_IMPLEMENTATION (a contributing provider reports the start).
    #[command(after_help = "Examples:
  clearinghouse match start 01JD4C2D4E6F8G0H2J4K6M8N0P")]
    Start(Target),
    /// IN_IMPLEMENTATION -> SUSPENDED (a contributing provider or brokers).
    #[command(after_help = "Examples:
  clearinghouse match suspend 01JD4C2D4E6F8G0H2J4K6M8N0P --text \"Security situation at the site\"")]
    Suspend {
        #[command(flatten)]
        target: Target,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        text: Option<String>,
    },
    /// SUSPENDED -> IN_IMPLEMENTATION (a contributing provider or brokers).
    #[command(after_help = "Examples:
  clearinghouse match resume 01JD4C2D4E6F8G0H2J4K6M8N0P")]
    Resume(Target),
    /// IN_IMPLEMENTATION -> COMPLETED (a contributing provider).
    #[command(after_help = "Examples:
  clearinghouse match complete 01JD4C2D4E6F8G0H2J4K6M8N0P")]
    Complete(Target),
    /// IN_IMPLEMENTATION or SUSPENDED -> CANCELLED (a contributing provider or brokers).
    #[command(after_help = "Examples:
  clearinghouse match cancel 01JD4C2D4E6F8G0H2J4K6M8N0P --reason funding-unavailable
  clearinghouse match cancel 01JD4C2D4E6F8G0H2J4K6M8N0P --reason political --yes")]
    Cancel {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        reason: Reason,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Prints match events as they happen (oldest retained first); resume with --after.
    #[command(after_help = "Examples:
  clearinghouse match watch
  clearinghouse match watch --after 1042 --output json | jq -r .matchId")]
    Watch(watch::WatchArgs),
}

/// Parses `OFFER_ID=AMOUNT` or `OFFER_ID`.
pub fn contribution(
    spec: &str,
    in_kind: Option<&str>,
    role: i32,
) -> Result<pb::Contribution, String> {
    let (offer, amount) = match spec.split_once('=') {
        Some((o, a)) => (o.trim(), Some(money::parse(a)?)),
        None => (spec.trim(), None),
    };
    if offer.is_empty() {
        return Err(format!("'{spec}' names no offer; write OFFER_ID=AMOUNT"));
    }
    if amount.is_none() && in_kind.is_none() {
        return Err(format!(
            "'{spec}' has no amount; write {offer}=\"EUR 150000\" or give --in-kind TEXT"
        ));
    }
    Ok(pb::Contribution {
        offer_id: offer.to_owned(),
        role,
        in_kind: if amount.is_none() {
            in_kind.unwrap_or_default().to_owned()
        } else {
            String::new()
        },
        amount,
        ..Default::default()
    })
}

fn after<M: ApiMessage>(
    ctx: &Ctx,
    resp: &M,
    m: Option<&pb::Match>,
    what: &str,
) -> Result<(), CliError> {
    let m = m.cloned().unwrap_or_default();
    let doc = Doc {
        blocks: vec![Block::Line(format!(
            "match {} {what}: now {} (etag {})",
            m.id,
            label(MATCH_STATUS, m.status),
            m.etag
        ))],
        csv: Grid::of(
            std::slice::from_ref(&m),
            views::matches::COLUMNS,
            Mode::Machine,
        ),
    };
    ctx.out.print(resp, &doc)
}

/// Runs a match subcommand.
pub async fn run(ctx: &mut Ctx, cmd: MatchCmd) -> Result<(), CliError> {
    let mut c = ctx.api.matches.clone();
    match cmd {
        MatchCmd::Candidates { need, page } => {
            let (candidates, next) = collect(&page.page(), |size, token| {
                let mut c = c.clone();
                let req = pb::FindOffersForNeedRequest {
                    need_id: need.clone(),
                    page_size: size,
                    page_token: token,
                };
                async move {
                    let r = c.find_offers_for_need(req).await?.into_inner();
                    Ok((r.candidates, r.next_page_token))
                }
            })
            .await?;
            let doc = views::matching::offer_candidates(&need, &candidates);
            let shown = candidates.len();
            ctx.out.print(
                &pb::FindOffersForNeedResponse {
                    candidates,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        MatchCmd::NeedsForOffer { offer, page } => {
            let (candidates, next) = collect(&page.page(), |size, token| {
                let mut c = c.clone();
                let req = pb::FindNeedsForOfferRequest {
                    offer_id: offer.clone(),
                    page_size: size,
                    page_token: token,
                };
                async move {
                    let r = c.find_needs_for_offer(req).await?.into_inner();
                    Ok((r.candidates, r.next_page_token))
                }
            })
            .await?;
            let doc = views::matching::need_candidates(&offer, &candidates);
            let shown = candidates.len();
            ctx.out.print(
                &pb::FindNeedsForOfferResponse {
                    candidates,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        MatchCmd::WhyNot { need, offer } => {
            let resp = c
                .explain_fit(pb::ExplainFitRequest {
                    need_id: need.clone(),
                    offer_id: offer.clone(),
                })
                .await?
                .into_inner();
            ctx.out
                .print(&resp, &views::matching::explain(&need, &offer, &resp))
        }
        MatchCmd::Consortium { need } => {
            let resp = c
                .suggest_consortium(pb::SuggestConsortiumRequest {
                    need_id: need.clone(),
                })
                .await?
                .into_inner();
            ctx.out
                .print(&resp, &views::matching::consortium(&need, &resp))
        }
        MatchCmd::Plan {
            region,
            area,
            gp_group,
        } => {
            let resp = c
                .plan_allocation(pb::PlanAllocationRequest {
                    region: region.unwrap_or_default(),
                    area: area.unwrap_or(0),
                    gp_sub_working_group: gp_group.unwrap_or(0),
                })
                .await?
                .into_inner();
            ctx.out.print(&resp, &views::matching::plan(&resp))
        }
        MatchCmd::Propose {
            need,
            offers,
            in_kind,
            role,
            funding_mode,
            request_id,
        } => {
            let role = role.unwrap_or(0);
            let mut problems = Vec::new();
            let mut contributions = Vec::new();
            for spec in &offers {
                match contribution(spec, in_kind.as_deref(), role) {
                    Ok(c) => contributions.push(c),
                    Err(e) => problems.push(format!("--offer {e}")),
                }
            }
            if !problems.is_empty() {
                return Err(CliError::Usage(problems.join("\n")));
            }
            let funding_mode = funding_mode.unwrap_or(if contributions.len() > 1 {
                pb::FundingMode::JointlyFunded as i32
            } else {
                pb::FundingMode::SingleDonor as i32
            });
            let resp = c
                .create_match(pb::CreateMatchRequest {
                    need_id: need,
                    funding_mode,
                    contributions,
                    request_id: request_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let m = resp.r#match.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::matches::record(&m))
        }
        MatchCmd::Get { id } => {
            let resp = c.get_match(pb::GetMatchRequest { id }).await?.into_inner();
            let m = resp.r#match.clone().unwrap_or_default();
            ctx.out.print(&resp, &views::matches::record(&m))
        }
        MatchCmd::List {
            status,
            need,
            offer,
            party,
            page,
        } => {
            let req = pb::ListMatchesRequest {
                status: status.unwrap_or(0),
                need_id: need.unwrap_or_default(),
                offer_id: offer.unwrap_or_default(),
                party_id: party.unwrap_or_default(),
                ..Default::default()
            };
            let (matches, next) = collect(&page, |size, token| {
                let mut c = c.clone();
                let req = pb::ListMatchesRequest {
                    page_size: size,
                    page_token: token,
                    ..req.clone()
                };
                async move {
                    let r = c.list_matches(req).await?.into_inner();
                    Ok((r.matches, r.next_page_token))
                }
            })
            .await?;
            let doc = views::matches::list(&matches);
            let shown = matches.len();
            ctx.out.print(
                &pb::ListMatchesResponse {
                    matches,
                    next_page_token: next.clone(),
                },
                &doc,
            )?;
            super::paging::more(shown, &next);
            Ok(())
        }
        MatchCmd::Accept(t) => {
            let resp = c
                .accept_match(pb::AcceptMatchRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "accepted")
        }
        MatchCmd::Decline { target, reason } => {
            let resp = c
                .decline_match(pb::DeclineMatchRequest {
                    id: target.id,
                    etag: target.etag.unwrap_or_default(),
                    reason_code: reason.reason,
                    reason_text: reason.text.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "declined")
        }
        MatchCmd::Withdraw {
            target,
            reason,
            yes,
        } => {
            confirm(&format!("withdraw match {}", target.id), yes)?;
            let resp = c
                .withdraw_match(pb::WithdrawMatchRequest {
                    id: target.id,
                    etag: target.etag.unwrap_or_default(),
                    reason_code: reason.reason,
                    reason_text: reason.text.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "withdrawn")
        }
        MatchCmd::Start(t) => {
            let resp = c
                .start_implementation(pb::StartImplementationRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "started")
        }
        MatchCmd::Suspend { target, text } => {
            let resp = c
                .suspend_match(pb::SuspendMatchRequest {
                    id: target.id,
                    etag: target.etag.unwrap_or_default(),
                    reason_text: text.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "suspended")
        }
        MatchCmd::Resume(t) => {
            let resp = c
                .resume_match(pb::ResumeMatchRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "resumed")
        }
        MatchCmd::Complete(t) => {
            let resp = c
                .complete_match(pb::CompleteMatchRequest {
                    id: t.id,
                    etag: t.etag.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "completed")
        }
        MatchCmd::Cancel {
            target,
            reason,
            yes,
        } => {
            confirm(&format!("cancel match {}", target.id), yes)?;
            let resp = c
                .cancel_match(pb::CancelMatchRequest {
                    id: target.id,
                    etag: target.etag.unwrap_or_default(),
                    reason_code: reason.reason,
                    reason_text: reason.text.unwrap_or_default(),
                })
                .await?
                .into_inner();
            after(ctx, &resp, resp.r#match.as_ref(), "cancelled")
        }
        MatchCmd::Watch(args) => watch::run(ctx, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contribution_takes_an_amount_or_the_in_kind_text() {
        let c = contribution("01JOFFER=EUR 150000", None, 0).expect("amount");
        assert_eq!(c.offer_id, "01JOFFER");
        assert_eq!(c.amount.map(|m| m.minor_units), Some(15_000_000));
        let k = contribution("01JOFFER", Some("two trainers"), 0).expect("in kind");
        assert_eq!(k.in_kind, "two trainers");
        assert!(contribution("01JOFFER", None, 0).is_err());
        assert!(contribution("=EUR 5", None, 0).is_err());
    }
}
