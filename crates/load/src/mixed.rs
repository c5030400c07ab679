//! The mixed workload for soaking: each caller draws its next step from a fixed blend,
//! using its own requester, broker and provider.
//!
//! | share | step |
//! | --- | --- |
//! | 15% | `CreateNeed` (a draft kept for updates) |
//! | 10% | `UpdateNeed` of one of the caller's drafts with the etag last read |
//! | 22% | `GetNeed` of a pool need or one the caller created |
//! | 8% | `ListNeeds`, following page tokens |
//! | 8% | `FindOffersForNeed` of a circulated pool need |
//! | 2% | `CreateOffer` + `ActivateOffer` |
//! | 3% | `ListMatches` |
//! | 32% | one step of the caller's match lifecycle: create a need, submit, authenticate, circulate, propose a match from the caller's pooled offer, requester accepts, provider accepts (AGREED, capacity reserved), start, complete; then again |
//!
//! So roughly half the calls write, and every write is a durable transaction.

use std::{collections::VecDeque, sync::Arc};

use rand::{Rng, rngs::StdRng, seq::IndexedRandom};

use clearinghouse::pb;

use crate::{client::Clients, payload, setup::Caller, stats::Recorder, workload::Shared};

/// Drafts and created ids kept per caller.
const KEPT: usize = 64;
/// Ceiling of a caller's pooled offer, US cents (its matches draw at most 2e7 each).
const POOLED_CEILING_CENTS: i64 = 50_000_000_000;

/// Where the caller's current match lifecycle stands.
#[derive(Debug, Clone)]
enum Stage {
    Idle,
    Drafted { need: String, budget: i64 },
    Submitted { need: String, budget: i64 },
    Authenticated { need: String, budget: i64 },
    Circulated { need: String, budget: i64 },
    Proposed { m: String, etag: String },
    AcceptedByRequester { m: String, etag: String },
    Agreed { m: String },
    Implementing { m: String },
}

struct State {
    seq: u64,
    drafts: VecDeque<(String, String)>,
    mine: VecDeque<String>,
    token: String,
    stage: Stage,
    offer: Option<String>,
}

struct Principals {
    requester: Clients,
    broker: Clients,
    provider: Clients,
}

fn keep<T>(q: &mut VecDeque<T>, x: T) {
    if q.len() == KEPT {
        q.pop_front();
    }
    q.push_back(x);
}

fn match_of(m: Option<pb::Match>) -> (String, String) {
    m.map(|m| (m.id, m.etag)).unwrap_or_default()
}

/// Runs the blend for one caller until the recorder says it is done.
pub async fn run(
    caller: Caller,
    shared: Arc<Shared>,
    mut rng: StdRng,
    mut rec: Recorder,
) -> Recorder {
    let (Some(requester), Some(broker), Some(provider)) =
        (caller.requester, caller.broker, caller.provider)
    else {
        return rec;
    };
    let mut p = Principals {
        requester,
        broker,
        provider,
    };
    let mut st = State {
        seq: (caller.index as u64) << 32,
        drafts: VecDeque::new(),
        mine: VecDeque::new(),
        token: String::new(),
        stage: Stage::Idle,
        offer: None,
    };
    while !rec.done() {
        match rng.random_range(0..100u32) {
            0..15 => create(&mut p, &mut st, &shared, &mut rng, &mut rec).await,
            15..25 => update(&mut p, &mut st, &mut rng, &mut rec).await,
            25..47 => get(&mut p, &st, &shared, &mut rng, &mut rec).await,
            47..55 => list(&mut p, &mut st, &mut rec).await,
            55..63 => find(&mut p, &shared, &mut rng, &mut rec).await,
            63..65 => new_offer(&mut p, &st, &shared, &mut rng, &mut rec).await,
            65..68 => {
                let req = pb::ListMatchesRequest {
                    page_size: 50,
                    ..Default::default()
                };
                let _ = rec
                    .time("ListMatches", p.broker.matches.list_matches(req))
                    .await;
            }
            _ => lifecycle_step(&mut p, &mut st, &shared, &mut rng, &mut rec).await,
        }
    }
    rec
}

async fn create(
    p: &mut Principals,
    st: &mut State,
    shared: &Shared,
    rng: &mut StdRng,
    rec: &mut Recorder,
) {
    st.seq += 1;
    let req = pb::CreateNeedRequest {
        need: Some(payload::need(rng, &shared.taxonomy, st.seq)),
        request_id: payload::request_id(rng),
    };
    if let Ok(resp) = rec
        .time("CreateNeed", p.requester.needs.create_need(req))
        .await
        && let Some(n) = resp.into_inner().need
    {
        keep(&mut st.mine, n.id.clone());
        keep(&mut st.drafts, (n.id, n.etag));
    }
}

async fn update(p: &mut Principals, st: &mut State, rng: &mut StdRng, rec: &mut Recorder) {
    if st.drafts.is_empty() {
        return;
    }
    let i = rng.random_range(0..st.drafts.len());
    let Some((id, etag)) = st.drafts.get(i).cloned() else {
        return;
    };
    st.seq += 1;
    let req = pb::UpdateNeedRequest {
        need: Some(pb::Need {
            id,
            etag,
            title: format!("Revised request {}", st.seq),
            description: format!(
                "Revised after consultation with the national authorities (revision {}).",
                st.seq
            ),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".to_owned(), "description".to_owned()],
        }),
    };
    match rec
        .time("UpdateNeed", p.requester.needs.update_need(req))
        .await
    {
        Ok(resp) => {
            if let (Some(n), Some(slot)) = (resp.into_inner().need, st.drafts.get_mut(i)) {
                slot.1 = n.etag;
            }
        }
        Err(_) => {
            st.drafts.remove(i);
        }
    }
}

async fn get(
    p: &mut Principals,
    st: &State,
    shared: &Shared,
    rng: &mut StdRng,
    rec: &mut Recorder,
) {
    let id = if rng.random_bool(0.5) && !st.mine.is_empty() {
        st.mine
            .get(rng.random_range(0..st.mine.len()))
            .cloned()
            .unwrap_or_default()
    } else {
        shared.pool.needs.choose(rng).cloned().unwrap_or_default()
    };
    let _ = rec
        .time(
            "GetNeed",
            p.broker.needs.get_need(pb::GetNeedRequest { id }),
        )
        .await;
}

async fn list(p: &mut Principals, st: &mut State, rec: &mut Recorder) {
    let req = pb::ListNeedsRequest {
        page_size: 50,
        page_token: std::mem::take(&mut st.token),
        ..Default::default()
    };
    if let Ok(resp) = rec.time("ListNeeds", p.broker.needs.list_needs(req)).await {
        st.token = resp.into_inner().next_page_token;
    }
}

async fn find(p: &mut Principals, shared: &Shared, rng: &mut StdRng, rec: &mut Recorder) {
    let need_id = shared.pool.needs.choose(rng).cloned().unwrap_or_default();
    let req = pb::FindOffersForNeedRequest {
        need_id,
        page_size: 20,
        page_token: String::new(),
    };
    let _ = rec
        .time(
            "FindOffersForNeed",
            p.broker.matches.find_offers_for_need(req),
        )
        .await;
}

/// Creates and activates an offer, timing both calls; returns its id.
async fn offer_made(p: &mut Principals, offer: pb::Offer, rec: &mut Recorder) -> Option<String> {
    let req = pb::CreateOfferRequest {
        offer: Some(offer),
        request_id: String::new(),
    };
    let created = rec
        .time("CreateOffer", p.provider.offers.create_offer(req))
        .await
        .ok()?
        .into_inner()
        .offer?;
    let req = pb::ActivateOfferRequest {
        id: created.id.clone(),
        etag: created.etag,
    };
    rec.time("ActivateOffer", p.provider.offers.activate_offer(req))
        .await
        .ok()?;
    Some(created.id)
}

async fn new_offer(
    p: &mut Principals,
    st: &State,
    shared: &Shared,
    rng: &mut StdRng,
    rec: &mut Recorder,
) {
    let offer = payload::offer(rng, &shared.taxonomy, st.seq);
    let _ = offer_made(p, offer, rec).await;
}

/// Advances the caller's match lifecycle by one call; a failed call starts a new one.
async fn lifecycle_step(
    p: &mut Principals,
    st: &mut State,
    shared: &Shared,
    rng: &mut StdRng,
    rec: &mut Recorder,
) {
    let stage = std::mem::replace(&mut st.stage, Stage::Idle);
    st.stage = match stage {
        Stage::Idle => {
            if st.offer.is_none() {
                st.seq += 1;
                let offer =
                    payload::lifecycle_offer(&shared.taxonomy, st.seq, POOLED_CEILING_CENTS);
                st.offer = offer_made(p, offer, rec).await;
                return;
            }
            st.seq += 1;
            let budget = rng.random_range(10_000..200_000) * 100;
            let req = pb::CreateNeedRequest {
                need: Some(payload::lifecycle_need(
                    rng,
                    &shared.taxonomy,
                    st.seq,
                    budget,
                )),
                request_id: payload::request_id(rng),
            };
            match rec
                .time("CreateNeed", p.requester.needs.create_need(req))
                .await
            {
                Ok(r) => match r.into_inner().need {
                    Some(n) => {
                        keep(&mut st.mine, n.id.clone());
                        Stage::Drafted { need: n.id, budget }
                    }
                    None => Stage::Idle,
                },
                Err(_) => Stage::Idle,
            }
        }
        Stage::Drafted { need, budget } => {
            let req = pb::SubmitNeedRequest {
                id: need.clone(),
                etag: String::new(),
            };
            match rec
                .time("SubmitNeed", p.requester.needs.submit_need(req))
                .await
            {
                Ok(_) => Stage::Submitted { need, budget },
                Err(_) => Stage::Idle,
            }
        }
        Stage::Submitted { need, budget } => {
            let req = pb::AuthenticateNeedRequest {
                id: need.clone(),
                etag: String::new(),
            };
            match rec
                .time("AuthenticateNeed", p.broker.needs.authenticate_need(req))
                .await
            {
                Ok(_) => Stage::Authenticated { need, budget },
                Err(_) => Stage::Idle,
            }
        }
        Stage::Authenticated { need, budget } => {
            let req = pb::CirculateNeedRequest {
                id: need.clone(),
                etag: String::new(),
            };
            match rec
                .time("CirculateNeed", p.broker.needs.circulate_need(req))
                .await
            {
                Ok(_) => Stage::Circulated { need, budget },
                Err(_) => Stage::Idle,
            }
        }
        Stage::Circulated { need, budget } => {
            let Some(offer_id) = st.offer.clone() else {
                return;
            };
            let req = pb::CreateMatchRequest {
                need_id: need,
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![pb::Contribution {
                    offer_id,
                    amount: Some(payload::usd(budget)),
                    ..Default::default()
                }],
                request_id: payload::request_id(rng),
            };
            match rec
                .time("CreateMatch", p.broker.matches.create_match(req))
                .await
            {
                Ok(r) => {
                    let (m, etag) = match_of(r.into_inner().r#match);
                    Stage::Proposed { m, etag }
                }
                Err(_) => {
                    st.offer = None;
                    Stage::Idle
                }
            }
        }
        Stage::Proposed { m, etag } => {
            let req = pb::AcceptMatchRequest { id: m, etag };
            match rec
                .time("AcceptMatch", p.requester.matches.accept_match(req))
                .await
            {
                Ok(r) => {
                    let (m, etag) = match_of(r.into_inner().r#match);
                    Stage::AcceptedByRequester { m, etag }
                }
                Err(_) => Stage::Idle,
            }
        }
        Stage::AcceptedByRequester { m, etag } => {
            let req = pb::AcceptMatchRequest {
                id: m.clone(),
                etag,
            };
            match rec
                .time("AcceptMatch", p.provider.matches.accept_match(req))
                .await
            {
                Ok(_) => Stage::Agreed { m },
                Err(_) => {
                    st.offer = None;
                    Stage::Idle
                }
            }
        }
        Stage::Agreed { m } => {
            let req = pb::StartImplementationRequest {
                id: m.clone(),
                etag: String::new(),
            };
            match rec
                .time(
                    "StartImplementation",
                    p.provider.matches.start_implementation(req),
                )
                .await
            {
                Ok(_) => Stage::Implementing { m },
                Err(_) => Stage::Idle,
            }
        }
        Stage::Implementing { m } => {
            let req = pb::CompleteMatchRequest {
                id: m,
                etag: String::new(),
            };
            let _ = rec
                .time("CompleteMatch", p.provider.matches.complete_match(req))
                .await;
            Stage::Idle
        }
    };
}
