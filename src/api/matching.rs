//! `MatchService`.

use tonic::{Request, Response, Status};

use clearinghouse_matching::{Explanation, consortium::Method};

use super::{caller, non_empty, paging, respond};
use crate::{
    app::{
        App,
        matches::{MatchAction, MatchFilter},
    },
    convert::{self, enums, matches as mconv},
    error::ApiError,
    pb::{self, match_service_server::MatchService},
};

/// Matching over gRPC.
#[derive(Debug, Clone)]
pub struct MatchApi {
    /// Use cases.
    pub app: App,
}

/// Default and largest page of candidates.
const DEFAULT_CANDIDATES: usize = 20;
const MAX_CANDIDATES: usize = 100;

fn factors(e: &Explanation) -> Vec<pb::FitFactor> {
    e.factors
        .iter()
        .map(|f| pb::FitFactor {
            name: f.kind.name().to_owned(),
            value: f.value,
            weight: f.weight,
            contribution: f.contribution,
            reason: f.reason.clone(),
        })
        .collect()
}

fn score(milli: u32) -> f64 {
    f64::from(milli) / 1000.0
}

/// Reads paging of a candidate list: (cursor, size, fingerprint).
fn candidate_page(
    key: &crate::app::tokens::TokenKey,
    method: &str,
    id: &str,
    page_size: i32,
    token: &str,
) -> Result<
    (
        Option<clearinghouse_matching::rank::Ranked>,
        usize,
        paging::Fingerprint,
    ),
    ApiError,
> {
    let filter = pb::GetNeedRequest { id: id.to_owned() };
    if page_size < 0 {
        return Err(ApiError::invalid(
            "page_size",
            "cannot be negative; send 0 for the default of 20",
        ));
    }
    let (after, fp) = paging::ranking_in(key, method, &filter, token)?;
    let size = match usize::try_from(page_size).unwrap_or(0) {
        0 => DEFAULT_CANDIDATES,
        n => n.min(MAX_CANDIDATES),
    };
    Ok((after, size, fp))
}

impl MatchApi {
    async fn step(
        &self,
        who: &clearinghouse_domain::Principal,
        id: String,
        etag: &str,
        action: Result<MatchAction, ApiError>,
    ) -> Result<Option<pb::Match>, Status> {
        let result = async {
            let etag = convert::etag_in("etag", etag)?;
            let (m, gap) = self.app.transition_match(who, id, etag, action?).await?;
            Ok(Some(mconv::out(&m, gap)))
        }
        .await;
        result.map_err(ApiError::into_status)
    }
}

fn money(base: clearinghouse_domain::CurrencyCode, units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: base.as_str().to_owned(),
        minor_units: units,
    })
}

/// The stream type of `WatchMatches`.
pub type WatchStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::WatchMatchesResponse, Status>> + Send>,
>;

#[tonic::async_trait]
impl MatchService for MatchApi {
    type WatchMatchesStream = WatchStream;

    async fn watch_matches(
        &self,
        req: Request<pb::WatchMatchesRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        use tokio_stream::StreamExt;
        let who = caller(&req)?;
        let after = req.into_inner().after_sequence;
        let (tx, rx) = tokio::sync::mpsc::channel(crate::app::watch::STREAM_BUFFER);
        let app = self.app.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            app.watch_matches(who, after, tx).await
        }));
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|item| {
            item.map(|ev| pb::WatchMatchesResponse {
                sequence: ev.entry.sequence,
                action: ev.entry.action.clone(),
                match_id: ev.entry.resource_id.clone(),
                version: ev.entry.after_version,
                event_time: Some(convert::ts_out(ev.entry.at)),
                r#match: Some(mconv::out(&ev.current, ev.gap)),
            })
            .map_err(ApiError::into_status)
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn find_offers_for_need(
        &self,
        req: Request<pb::FindOffersForNeedRequest>,
    ) -> Result<Response<pb::FindOffersForNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let result = async {
            let (after, size, fp) = candidate_page(
                &self.app.tokens,
                "FindOffersForNeed",
                &r.need_id,
                r.page_size,
                &r.page_token,
            )?;
            let found = self
                .app
                .find_offers_for_need(&who, r.need_id.clone(), after, size)
                .await?;
            Ok(pb::FindOffersForNeedResponse {
                candidates: found
                    .items
                    .iter()
                    .map(|f| pb::OfferCandidate {
                        offer_id: f.item.id.0.clone(),
                        provider_party_id: f.item.provider.0.clone(),
                        programme_name: f.item.fields.programme_name.clone(),
                        score: score(f.explanation.score_milli),
                        factors: factors(&f.explanation),
                    })
                    .collect(),
                next_page_token: paging::ranking_out(&self.app.tokens, &fp, found.next.as_ref()),
            })
        }
        .await;
        respond(result)
    }

    async fn find_needs_for_offer(
        &self,
        req: Request<pb::FindNeedsForOfferRequest>,
    ) -> Result<Response<pb::FindNeedsForOfferResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let result = async {
            let (after, size, fp) = candidate_page(
                &self.app.tokens,
                "FindNeedsForOffer",
                &r.offer_id,
                r.page_size,
                &r.page_token,
            )?;
            let found = self
                .app
                .find_needs_for_offer(&who, r.offer_id.clone(), after, size)
                .await?;
            Ok(pb::FindNeedsForOfferResponse {
                candidates: found
                    .items
                    .iter()
                    .map(|f| pb::NeedCandidate {
                        need_id: f.item.id.0.clone(),
                        requester_party_id: f.item.requester.0.clone(),
                        title: f.item.fields.title.clone(),
                        score: score(f.explanation.score_milli),
                        factors: factors(&f.explanation),
                    })
                    .collect(),
                next_page_token: paging::ranking_out(&self.app.tokens, &fp, found.next.as_ref()),
            })
        }
        .await;
        respond(result)
    }

    async fn explain_fit(
        &self,
        req: Request<pb::ExplainFitRequest>,
    ) -> Result<Response<pb::ExplainFitResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let out = self
            .app
            .explain_fit(&who, r.need_id, r.offer_id)
            .await
            .map(|fit| match fit {
                Ok(e) => pb::ExplainFitResponse {
                    is_candidate: true,
                    score: score(e.score_milli),
                    factors: factors(&e),
                    failed_filters: Vec::new(),
                },
                Err(rejections) => pb::ExplainFitResponse {
                    is_candidate: false,
                    score: 0.0,
                    factors: Vec::new(),
                    failed_filters: rejections
                        .into_iter()
                        .map(|x| pb::FailedFilter {
                            filter: x.filter.code().to_owned(),
                            reason: x.reason,
                        })
                        .collect(),
                },
            });
        respond(out)
    }

    async fn suggest_consortium(
        &self,
        req: Request<pb::SuggestConsortiumRequest>,
    ) -> Result<Response<pb::SuggestConsortiumResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let out = self.app.suggest_consortium(&who, r.need_id).await.map(|s| {
            let c = &s.consortium;
            pb::SuggestConsortiumResponse {
                members: c
                    .members
                    .iter()
                    .zip(&s.offers)
                    .map(|(m, o)| pb::ConsortiumMember {
                        offer_id: m.offer_id.clone(),
                        provider_party_id: o.provider.0.clone(),
                        amount: money(s.base, m.amount),
                        score: score(m.score_milli),
                    })
                    .collect(),
                covered: money(s.base, c.covered),
                uncovered: money(s.base, c.uncovered),
                method: match c.method {
                    Method::Exact => pb::ConsortiumMethod::Exact as i32,
                    Method::Greedy => pb::ConsortiumMethod::Greedy as i32,
                },
                candidates_considered: i32::try_from(s.considered).unwrap_or(i32::MAX),
            }
        });
        respond(out)
    }

    async fn create_match(
        &self,
        req: Request<pb::CreateMatchRequest>,
    ) -> Result<Response<pb::CreateMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let mut v = clearinghouse_domain::Violations::new("");
        let mode = enums::FUNDING_MODE.optional(&mut v, "funding_mode", r.funding_mode);
        let contributions = mconv::contributions_in(&mut v, &r.contributions);
        let payload = pb::CreateMatchRequest {
            request_id: String::new(),
            ..r.clone()
        };
        let idem =
            super::idempotency(&who, &r.request_id, &payload).map_err(ApiError::into_status)?;
        let out = self
            .app
            .create_match(&who, r.need_id, mode, contributions, v, idem)
            .await;
        respond(out.map(|m| pb::CreateMatchResponse {
            r#match: Some(mconv::out(&m, None)),
        }))
    }

    async fn get_match(
        &self,
        req: Request<pb::GetMatchRequest>,
    ) -> Result<Response<pb::GetMatchResponse>, Status> {
        let who = caller(&req)?;
        let out = self.app.get_match(&who, req.into_inner().id).await;
        respond(out.map(|(m, gap)| pb::GetMatchResponse {
            r#match: Some(mconv::out(&m, gap)),
        }))
    }

    async fn list_matches(
        &self,
        req: Request<pb::ListMatchesRequest>,
    ) -> Result<Response<pb::ListMatchesResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let filter_msg = pb::ListMatchesRequest {
            page_size: 0,
            page_token: String::new(),
            ..r.clone()
        };
        let result = async {
            let (page, fp) = paging::page_in(
                &self.app.tokens,
                "ListMatches",
                &filter_msg,
                r.page_size,
                &r.page_token,
            )?;
            let filter = MatchFilter {
                status: enums::MATCH_STATUS.filter("status", r.status)?,
                need: non_empty(&r.need_id),
                offer: non_empty(&r.offer_id),
                party: non_empty(&r.party_id),
            };
            let listed = self.app.list_matches(&who, filter, page).await?;
            Ok(pb::ListMatchesResponse {
                matches: listed.items.iter().map(|m| mconv::out(m, None)).collect(),
                next_page_token: paging::token_out(&self.app.tokens, &fp, listed.next),
            })
        }
        .await;
        respond(result)
    }

    async fn accept_match(
        &self,
        req: Request<pb::AcceptMatchRequest>,
    ) -> Result<Response<pb::AcceptMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let m = self
            .step(&who, r.id, &r.etag, Ok(MatchAction::Accept))
            .await?;
        Ok(Response::new(pb::AcceptMatchResponse { r#match: m }))
    }

    async fn decline_match(
        &self,
        req: Request<pb::DeclineMatchRequest>,
    ) -> Result<Response<pb::DeclineMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let action = mconv::reason_in(r.reason_code, &r.reason_text)
            .map(|(c, t)| MatchAction::Decline(c, t));
        let m = self.step(&who, r.id, &r.etag, action).await?;
        Ok(Response::new(pb::DeclineMatchResponse { r#match: m }))
    }

    async fn withdraw_match(
        &self,
        req: Request<pb::WithdrawMatchRequest>,
    ) -> Result<Response<pb::WithdrawMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let action = mconv::reason_in(r.reason_code, &r.reason_text)
            .map(|(c, t)| MatchAction::Withdraw(c, t));
        let m = self.step(&who, r.id, &r.etag, action).await?;
        Ok(Response::new(pb::WithdrawMatchResponse { r#match: m }))
    }

    async fn start_implementation(
        &self,
        req: Request<pb::StartImplementationRequest>,
    ) -> Result<Response<pb::StartImplementationResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let m = self
            .step(&who, r.id, &r.etag, Ok(MatchAction::Start))
            .await?;
        Ok(Response::new(pb::StartImplementationResponse {
            r#match: m,
        }))
    }

    async fn suspend_match(
        &self,
        req: Request<pb::SuspendMatchRequest>,
    ) -> Result<Response<pb::SuspendMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let m = self
            .step(&who, r.id, &r.etag, Ok(MatchAction::Suspend(r.reason_text)))
            .await?;
        Ok(Response::new(pb::SuspendMatchResponse { r#match: m }))
    }

    async fn resume_match(
        &self,
        req: Request<pb::ResumeMatchRequest>,
    ) -> Result<Response<pb::ResumeMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let m = self
            .step(&who, r.id, &r.etag, Ok(MatchAction::Resume))
            .await?;
        Ok(Response::new(pb::ResumeMatchResponse { r#match: m }))
    }

    async fn complete_match(
        &self,
        req: Request<pb::CompleteMatchRequest>,
    ) -> Result<Response<pb::CompleteMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let m = self
            .step(&who, r.id, &r.etag, Ok(MatchAction::Complete))
            .await?;
        Ok(Response::new(pb::CompleteMatchResponse { r#match: m }))
    }

    async fn cancel_match(
        &self,
        req: Request<pb::CancelMatchRequest>,
    ) -> Result<Response<pb::CancelMatchResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let action =
            mconv::reason_in(r.reason_code, &r.reason_text).map(|(c, t)| MatchAction::Cancel(c, t));
        let m = self.step(&who, r.id, &r.etag, action).await?;
        Ok(Response::new(pb::CancelMatchResponse { r#match: m }))
    }

    async fn plan_allocation(
        &self,
        req: Request<pb::PlanAllocationRequest>,
    ) -> Result<Response<pb::PlanAllocationResponse>, Status> {
        use clearinghouse_matching::allocation::PlanMethod;
        let r = req.into_inner();
        let method = |m: PlanMethod| match m {
            PlanMethod::Exact => pb::AllocationMethod::Exact as i32,
            PlanMethod::Greedy => pb::AllocationMethod::Greedy as i32,
        };
        let result = async {
            crate::app::needs::check_geo_filter("", &r.region, "")?;
            let filter = crate::app::matching::PlanFilter {
                region: non_empty(&r.region),
                area: enums::AREA.filter("area", r.area)?,
                gp_group: enums::GP_GROUP.filter("gp_sub_working_group", r.gp_sub_working_group)?,
            };
            let p = self.app.plan_allocation(filter).await?;
            #[allow(clippy::cast_precision_loss)]
            let objective = p.plan.objective as f64 / 1_000_000.0;
            Ok(pb::PlanAllocationResponse {
                lines: p
                    .plan
                    .lines
                    .iter()
                    .map(|l| pb::AllocationLine {
                        need_id: l.need_id.clone(),
                        offer_id: l.offer_id.clone(),
                        amount: money(p.base, l.amount),
                        score: score(l.score_milli),
                    })
                    .collect(),
                unfunded: p
                    .plan
                    .unfunded
                    .iter()
                    .map(|(n, why)| pb::UnfundedNeed {
                        need_id: n.clone(),
                        reason: why.clone(),
                    })
                    .collect(),
                single_donor_method: method(p.plan.single_donor_method),
                joint_method: method(p.plan.joint_method),
                objective,
                needs_considered: i32::try_from(p.needs).unwrap_or(i32::MAX),
                offers_considered: i32::try_from(p.offers).unwrap_or(i32::MAX),
            })
        }
        .await;
        respond(result)
    }
}
