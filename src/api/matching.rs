//! `MatchService`.

use tonic::{Request, Response, Status};

use clearinghouse_matching::{Explanation, consortium::Method};

use super::{caller, paging, respond};
use crate::{
    app::App,
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

/// Reads paging of a candidate list: (offset, size, fingerprint).
fn candidate_page(
    method: &str,
    id: &str,
    page_size: i32,
    token: &str,
) -> Result<(usize, usize, paging::Fingerprint), ApiError> {
    let filter = pb::GetNeedRequest { id: id.to_owned() };
    let (page, fp) = paging::page_in(method, &filter, page_size, token)?;
    let size = if page_size == 0 {
        DEFAULT_CANDIDATES
    } else {
        page.size.min(MAX_CANDIDATES)
    };
    let offset = page
        .after
        .map_or(0, |a| usize::try_from(a).unwrap_or(usize::MAX));
    Ok((offset, size, fp))
}

fn next_token(fp: &paging::Fingerprint, more: bool, offset: usize, size: usize) -> String {
    paging::token_out(
        fp,
        more.then(|| u64::try_from(offset + size).unwrap_or(u64::MAX)),
    )
}

fn money(base: clearinghouse_domain::CurrencyCode, units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: base.as_str().to_owned(),
        minor_units: units,
    })
}

#[tonic::async_trait]
impl MatchService for MatchApi {
    async fn find_offers_for_need(
        &self,
        req: Request<pb::FindOffersForNeedRequest>,
    ) -> Result<Response<pb::FindOffersForNeedResponse>, Status> {
        let who = caller(&req)?;
        let r = req.into_inner();
        let result = async {
            let (offset, size, fp) =
                candidate_page("FindOffersForNeed", &r.need_id, r.page_size, &r.page_token)?;
            let (found, more) = self
                .app
                .find_offers_for_need(&who, r.need_id.clone(), offset, size)
                .await?;
            Ok(pb::FindOffersForNeedResponse {
                candidates: found
                    .iter()
                    .map(|f| pb::OfferCandidate {
                        offer_id: f.item.id.0.clone(),
                        provider_party_id: f.item.provider.0.clone(),
                        programme_name: f.item.fields.programme_name.clone(),
                        score: score(f.explanation.score_milli),
                        factors: factors(&f.explanation),
                    })
                    .collect(),
                next_page_token: next_token(&fp, more, offset, size),
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
            let (offset, size, fp) =
                candidate_page("FindNeedsForOffer", &r.offer_id, r.page_size, &r.page_token)?;
            let (found, more) = self
                .app
                .find_needs_for_offer(&who, r.offer_id.clone(), offset, size)
                .await?;
            Ok(pb::FindNeedsForOfferResponse {
                candidates: found
                    .iter()
                    .map(|f| pb::NeedCandidate {
                        need_id: f.item.id.0.clone(),
                        requester_party_id: f.item.requester.0.clone(),
                        title: f.item.fields.title.clone(),
                        score: score(f.explanation.score_milli),
                        factors: factors(&f.explanation),
                    })
                    .collect(),
                next_page_token: next_token(&fp, more, offset, size),
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
}
