//! The `ready` workload: how long a starting server takes to serve. It connects and asks
//! `grpc.health.v1.Health/Check` until the answer is SERVING (a refused connection or
//! another status is asked again 10 ms later), then, with the admin key, takes a
//! circulated need (`ListNeeds`) and asks `FindOffersForNeed` for it: an answer with
//! candidates shows the matching index was rebuilt before the server said SERVING.

use std::time::{Duration, Instant};

use serde::Serialize;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use clearinghouse::pb;

use crate::{client::Clients, error::LoadError};

/// Time between two health checks.
const POLL: Duration = Duration::from_millis(10);

/// What `ready` saw.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// Milliseconds from the start of the tool to the first SERVING answer.
    pub serving_after_ms: f64,
    /// Health checks (and connection attempts) made before it.
    pub attempts: u64,
    /// The circulated need asked about, if the store holds one.
    pub need_id: Option<String>,
    /// Candidates `FindOffersForNeed` returned for it (first page).
    pub candidates: usize,
    /// Milliseconds that `FindOffersForNeed` took.
    pub find_offers_ms: f64,
}

async fn serving(endpoint: &Endpoint) -> Option<Channel> {
    let channel = endpoint.connect().await.ok()?;
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()?;
    (answer.into_inner().status == ServingStatus::Serving as i32).then_some(channel)
}

/// Waits (at most `limit`) until the server at `server` is SERVING, then asks for the
/// candidates of one circulated need with `admin_key`.
pub async fn run(server: &str, admin_key: &str, limit: Duration) -> Result<Readiness, LoadError> {
    let started = Instant::now();
    let endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|e| LoadError::Options(format!("--server {server}: {e}")))?
        .connect_timeout(Duration::from_secs(1));
    let mut attempts = 0u64;
    let channel = loop {
        attempts += 1;
        if let Some(c) = serving(&endpoint).await {
            break c;
        }
        if started.elapsed() > limit {
            return Err(LoadError::Options(format!(
                "{server} was not SERVING within {limit:?}"
            )));
        }
        tokio::time::sleep(POLL).await;
    };
    let serving_after_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut clients = Clients::new(&channel, admin_key)?;
    let listed = clients
        .needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 1,
            status: pb::NeedStatus::Circulated as i32,
            ..Default::default()
        })
        .await
        .map_err(|s| LoadError::setup("ListNeeds (a circulated need)", s))?
        .into_inner();
    let need_id = listed.needs.first().map(|n| n.id.clone());
    let asked = Instant::now();
    let candidates = match &need_id {
        Some(id) => clients
            .matches
            .find_offers_for_need(pb::FindOffersForNeedRequest {
                need_id: id.clone(),
                page_size: 20,
                page_token: String::new(),
            })
            .await
            .map_err(|s| LoadError::setup("FindOffersForNeed", s))?
            .into_inner()
            .candidates
            .len(),
        None => 0,
    };
    Ok(Readiness {
        serving_after_ms,
        attempts,
        need_id,
        candidates,
        find_offers_ms: asked.elapsed().as_secs_f64() * 1000.0,
    })
}
