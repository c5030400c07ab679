//! The single-method workloads: each caller repeats one RPC until the measurement ends,
//! back to back (a closed loop) or on a fixed schedule ([`Pace`], `--rate`).

use std::{sync::Arc, time::Duration};

use tokio::time::{Instant, Interval, MissedTickBehavior};

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

/// A paced caller's schedule: one call every `concurrency / rate` seconds, the callers'
/// schedules staggered evenly. A call that starts late (the previous one took longer than
/// the period) is still timed from its slot, and missed slots are made up at once, so the
/// latencies include the time calls spent waiting for a slow server.
#[derive(Debug)]
pub struct Pace(Interval);

impl Pace {
    /// Caller `index`'s schedule for `rate` calls per second over `concurrency` callers,
    /// from `start`.
    pub fn of_caller(rate: f64, concurrency: usize, index: usize, start: Instant) -> Pace {
        let period = Duration::from_secs_f64(concurrency.max(1) as f64 / rate);
        let offset = period.mul_f64(index as f64 / concurrency.max(1) as f64);
        let mut ticks = tokio::time::interval_at(start + offset, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
        Pace(ticks)
    }

    /// Waits for the next slot and returns its scheduled start.
    async fn slot(&mut self) -> std::time::Instant {
        self.0.tick().await.into_std()
    }
}

/// When the next call starts: at its slot when paced, else now.
async fn next_start(pace: &mut Option<Pace>) -> std::time::Instant {
    match pace {
        Some(p) => p.slot().await,
        None => std::time::Instant::now(),
    }
}

fn random_id<'a>(rng: &mut StdRng, ids: &'a [String]) -> &'a str {
    ids.choose(rng).map_or("", String::as_str)
}

/// Runs `workload` (not `mixed`) for one caller until the recorder says it is done,
/// paced when `pace` is given.
pub async fn run(
    workload: Workload,
    caller: Caller,
    shared: Arc<Shared>,
    mut rng: StdRng,
    mut rec: Recorder,
    mut pace: Option<Pace>,
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
        let at = next_start(&mut pace).await;
        if rec.done() {
            break;
        }
        match (workload, requester.as_mut(), broker.as_mut()) {
            (Workload::Create | Workload::CreateDuringAllocation, Some(r), _) => {
                seq += 1;
                let need = payload::need(&mut rng, &shared.taxonomy, seq);
                let req = pb::CreateNeedRequest {
                    need: Some(need),
                    request_id: payload::request_id(&mut rng),
                };
                let _ = rec
                    .time_from("CreateNeed", at, r.needs.create_need(req))
                    .await;
            }
            (Workload::Get, _, Some(b)) => {
                let id = random_id(&mut rng, &shared.pool.needs).to_owned();
                let _ = rec
                    .time_from("GetNeed", at, b.needs.get_need(pb::GetNeedRequest { id }))
                    .await;
            }
            (Workload::List, _, Some(b)) => {
                let req = pb::ListNeedsRequest {
                    page_size: 50,
                    page_token: std::mem::take(&mut token),
                    ..Default::default()
                };
                if let Ok(resp) = rec
                    .time_from("ListNeeds", at, b.needs.list_needs(req))
                    .await
                {
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
                    .time_from("FindOffersForNeed", at, b.matches.find_offers_for_need(req))
                    .await;
            }
            (Workload::Health, _, _) => {
                let req = tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                };
                let _ = rec.time_from("Health/Check", at, health.check(req)).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paced_callers_start_on_staggered_slots_and_make_up_missed_ones_at_once() {
        let start = Instant::now();
        // 100 calls/s over 4 callers: each caller every 40 ms, caller 1 10 ms after caller 0.
        let mut pace = Pace::of_caller(100.0, 4, 1, start);
        let first = pace.slot().await;
        assert_eq!(first - start.into_std(), Duration::from_millis(10));
        let second = pace.slot().await;
        assert_eq!(second - first, Duration::from_millis(40));
        // Held up for 100 ms after its second slot: the two slots that fell due meanwhile
        // come at once, each with its scheduled time; the next one is waited for.
        tokio::time::advance(Duration::from_millis(100)).await;
        let held = Instant::now().into_std();
        assert_eq!(pace.slot().await - first, Duration::from_millis(80));
        assert_eq!(pace.slot().await - first, Duration::from_millis(120));
        assert_eq!(
            Instant::now().into_std(),
            held,
            "no wait for slots already due"
        );
        assert_eq!(pace.slot().await - first, Duration::from_millis(160));
    }
}
