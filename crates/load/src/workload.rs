//! The single-method workloads: each caller repeats one RPC back to back (a closed loop)
//! until the measurement ends.

use std::sync::Arc;

use rand::{rngs::StdRng, seq::IndexedRandom};

use clearinghouse::pb;

use crate::{
    args::Workload,
    client::{Clients, Health},
    payload::{self, Taxonomy},
    setup::{Caller, Pool},
    stats::Recorder,
};

/// What every caller shares.
#[derive(Debug)]
pub struct Shared {
    /// Ids created during setup.
    pub pool: Pool,
    /// The taxonomy as protobuf values.
    pub taxonomy: Taxonomy,
}

fn random_id<'a>(rng: &mut StdRng, ids: &'a [String]) -> &'a str {
    ids.choose(rng).map_or("", String::as_str)
}

/// Runs `workload` (not `mixed`) for one caller until the recorder says it is done.
pub async fn run(
    workload: Workload,
    caller: Caller,
    shared: Arc<Shared>,
    mut rng: StdRng,
    mut rec: Recorder,
) -> Recorder {
    let Caller {
        index,
        requester,
        broker,
        channel,
        ..
    } = caller;
    let mut seq = (index as u64) << 32;
    let mut token = String::new();
    let mut health = Health::new(channel);
    let (mut requester, mut broker) = (requester, broker);
    while !rec.done() {
        match (workload, requester.as_mut(), broker.as_mut()) {
            (Workload::Create | Workload::CreateDuringAllocation, Some(r), _) => {
                seq += 1;
                let need = payload::need(&mut rng, &shared.taxonomy, seq);
                let req = pb::CreateNeedRequest {
                    need: Some(need),
                    request_id: payload::request_id(&mut rng),
                };
                let _ = rec.time("CreateNeed", r.needs.create_need(req)).await;
            }
            (Workload::Get, _, Some(b)) => {
                let id = random_id(&mut rng, &shared.pool.needs).to_owned();
                let _ = rec
                    .time("GetNeed", b.needs.get_need(pb::GetNeedRequest { id }))
                    .await;
            }
            (Workload::List, _, Some(b)) => {
                let req = pb::ListNeedsRequest {
                    page_size: 50,
                    page_token: std::mem::take(&mut token),
                    ..Default::default()
                };
                if let Ok(resp) = rec.time("ListNeeds", b.needs.list_needs(req)).await {
                    token = resp.into_inner().next_page_token;
                }
            }
            (Workload::FindOffers, _, Some(b)) => {
                let need_id = random_id(&mut rng, &shared.pool.needs).to_owned();
                let req = pb::FindOffersForNeedRequest {
                    need_id,
                    page_size: 20,
                    page_token: String::new(),
                };
                let _ = rec
                    .time("FindOffersForNeed", b.matches.find_offers_for_need(req))
                    .await;
            }
            (Workload::Health, _, _) => {
                let req = tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                };
                let _ = rec.time("Health/Check", health.check(req)).await;
            }
            // A caller without the principal its workload needs has nothing to do; setup
            // creates them, so this only guards against a mismatch.
            _ => break,
        }
    }
    rec
}

/// `PlanAllocation` over everything (no filter), back to back, until the recorder says the
/// run is over (beside the `create` callers of `create-during-allocation`).
pub async fn plan_allocations(mut broker: Clients, mut rec: Recorder) -> Recorder {
    while !rec.done() {
        let req = pb::PlanAllocationRequest::default();
        let _ = rec
            .time("PlanAllocation", broker.matches.plan_allocation(req))
            .await;
    }
    rec
}
