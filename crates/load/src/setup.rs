//! Setup before any timing: with the admin key, find the State parties, create the callers'
//! own principals (a requester, a broker and a provider per caller as the workload needs, so
//! that the per-principal rate limit is spread over many principals), then the pools of
//! needs and offers the read workloads use.

use std::sync::Arc;

use rand::{SeedableRng, rngs::StdRng};
use tokio::{sync::Semaphore, task::JoinSet};
use tonic::transport::Channel;

use clearinghouse::pb;

use crate::{
    args::Workload,
    client::Clients,
    error::LoadError,
    payload::{self, Taxonomy},
};

/// States that act as providers; every other State requests.
const DONORS: &[&str] = &[
    "USA", "GBR", "FRA", "DEU", "JPN", "CAN", "NOR", "NLD", "AUS", "SWE", "CHE", "ITA", "ESP",
    "KOR", "NZL", "DNK", "FIN", "BEL", "AUT", "IRL",
];

/// Calls in flight at once during setup.
const SETUP_PARALLELISM: usize = 32;

/// The principals of one caller, each over the caller's connection.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Index of the caller.
    pub index: usize,
    /// A requester for one State.
    pub requester: Option<Clients>,
    /// A broker.
    pub broker: Option<Clients>,
    /// A provider for one donor State.
    pub provider: Option<Clients>,
    /// The connection (for health checks).
    pub channel: Channel,
}

/// Which roles a workload's callers need.
fn roles(w: Workload) -> (bool, bool, bool) {
    match w {
        Workload::Health
        | Workload::StorageCreate
        | Workload::Bulk
        | Workload::Footprint
        | Workload::Ready => (false, false, false),
        Workload::Create => (true, false, false),
        Workload::Get | Workload::List => (true, true, false),
        Workload::FindOffers | Workload::Mixed | Workload::CreateDuringAllocation => {
            (true, true, true)
        }
    }
}

async fn state_parties(admin: &mut Clients) -> Result<(Vec<String>, Vec<String>), LoadError> {
    let (mut requesters, mut donors) = (Vec::new(), Vec::new());
    let mut token = String::new();
    loop {
        let page = admin
            .parties
            .list_parties(pb::ListPartiesRequest {
                page_size: 500,
                page_token: token,
                kind: pb::PartyKind::State as i32,
                ..Default::default()
            })
            .await
            .map_err(|s| LoadError::setup("ListParties", s))?
            .into_inner();
        for p in page.parties {
            if DONORS.contains(&p.country_code.as_str()) {
                donors.push(p.id);
            } else {
                requesters.push(p.id);
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    if requesters.is_empty() || donors.is_empty() {
        return Err(LoadError::setup(
            "ListParties",
            tonic::Status::failed_precondition("the server lists no State parties to act for"),
        ));
    }
    Ok((requesters, donors))
}

async fn create_principal(
    mut admin: Clients,
    role: pb::Role,
    party: String,
    name: String,
) -> Result<String, LoadError> {
    let resp = admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: name,
                role: role as i32,
                party_id: party,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .map_err(|s| LoadError::setup("CreatePrincipal", s))?;
    Ok(resp.into_inner().api_key)
}

/// Creates the callers and their principals.
pub async fn callers(
    workload: Workload,
    channels: &[Channel],
    admin_key: &str,
    concurrency: usize,
) -> Result<Vec<Caller>, LoadError> {
    let channel_of = |i: usize| channels[i % channels.len()].clone();
    let (need_req, need_broker, need_prov) = roles(workload);
    let mut callers: Vec<Caller> = (0..concurrency)
        .map(|i| Caller {
            index: i,
            requester: None,
            broker: None,
            provider: None,
            channel: channel_of(i),
        })
        .collect();
    if !(need_req || need_broker || need_prov) {
        return Ok(callers);
    }
    let mut admin = Clients::new(&channels[0], admin_key)?;
    let (requesters, donors) = state_parties(&mut admin).await?;
    let limit = Arc::new(Semaphore::new(SETUP_PARALLELISM));
    let mut tasks = JoinSet::new();
    for i in 0..concurrency {
        let wanted = [
            (
                need_req,
                pb::Role::Requester,
                requesters[i % requesters.len()].clone(),
            ),
            (need_broker, pb::Role::Broker, String::new()),
            (
                need_prov,
                pb::Role::Provider,
                donors[i % donors.len()].clone(),
            ),
        ];
        for (want, role, party) in wanted {
            if !want {
                continue;
            }
            let (admin, limit) = (admin.clone(), Arc::clone(&limit));
            let name = format!("load {} {i}", role.as_str_name());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let key = create_principal(admin, role, party, name).await?;
                Ok::<_, LoadError>((i, role, key))
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (i, role, key) = done.map_err(|e| LoadError::Task(e.to_string()))??;
        let c = &mut callers[i];
        let clients = Some(Clients::new(&c.channel, &key)?);
        match role {
            pb::Role::Requester => c.requester = clients,
            pb::Role::Broker => c.broker = clients,
            _ => c.provider = clients,
        }
    }
    Ok(callers)
}

/// Ids created during setup, shared read-only by every caller.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    /// Needs (circulated when the workload matches).
    pub needs: Vec<String>,
    /// Active offers.
    pub offers: Vec<String>,
}

fn missing(role: &str) -> LoadError {
    LoadError::setup(
        "pool",
        tonic::Status::internal(format!("caller has no {role} principal")),
    )
}

/// Takes a need to CIRCULATED: submitted by its requester, authenticated and circulated
/// by a broker.
pub async fn circulate(
    requester: &mut Clients,
    broker: &mut Clients,
    id: &str,
) -> Result<(), tonic::Status> {
    requester
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id: id.to_owned(),
            etag: String::new(),
        })
        .await?;
    broker
        .needs
        .authenticate_need(pb::AuthenticateNeedRequest {
            id: id.to_owned(),
            etag: String::new(),
        })
        .await?;
    broker
        .needs
        .circulate_need(pb::CirculateNeedRequest {
            id: id.to_owned(),
            etag: String::new(),
        })
        .await?;
    Ok(())
}

/// Creates and activates an offer; returns its id.
pub async fn active_offer(
    provider: &mut Clients,
    offer: pb::Offer,
) -> Result<String, tonic::Status> {
    let id = provider
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .offer
        .map(|o| o.id)
        .unwrap_or_default();
    provider
        .offers
        .activate_offer(pb::ActivateOfferRequest {
            id: id.clone(),
            etag: String::new(),
        })
        .await?;
    Ok(id)
}

/// Creates the pools: `needs` needs spread over the callers' requesters (circulated when
/// `circulated`), and `offers` active offers spread over their providers.
pub async fn pool(
    callers: &[Caller],
    seed: u64,
    needs: usize,
    offers: usize,
    circulated: bool,
) -> Result<Pool, LoadError> {
    let tax = Arc::new(Taxonomy::load());
    let n = callers.len();
    let mut tasks = JoinSet::new();
    for c in callers {
        let (share_needs, share_offers) = (
            needs / n + usize::from(c.index < needs % n),
            if c.provider.is_some() {
                offers / n + usize::from(c.index < offers % n)
            } else {
                0
            },
        );
        let (mut req, mut broker, mut prov) =
            (c.requester.clone(), c.broker.clone(), c.provider.clone());
        let tax = Arc::clone(&tax);
        let index = c.index;
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ (0x9e37_79b9 * (index as u64 + 1)));
            let mut made = Pool::default();
            for k in 0..share_needs {
                let r = req.as_mut().ok_or_else(|| missing("requester"))?;
                let need = payload::need(&mut rng, &tax, (index * 1_000_000 + k) as u64);
                let id = r
                    .needs
                    .create_need(pb::CreateNeedRequest {
                        need: Some(need),
                        request_id: payload::request_id(&mut rng),
                    })
                    .await
                    .map_err(|s| LoadError::setup("CreateNeed (pool)", s))?
                    .into_inner()
                    .need
                    .map(|x| x.id)
                    .unwrap_or_default();
                if circulated {
                    let b = broker.as_mut().ok_or_else(|| missing("broker"))?;
                    circulate(r, b, &id)
                        .await
                        .map_err(|s| LoadError::setup("circulating a pool need", s))?;
                }
                made.needs.push(id);
            }
            for k in 0..share_offers {
                let p = prov.as_mut().ok_or_else(|| missing("provider"))?;
                let offer = payload::offer(&mut rng, &tax, (index * 1_000_000 + k) as u64);
                let id = active_offer(p, offer)
                    .await
                    .map_err(|s| LoadError::setup("CreateOffer (pool)", s))?;
                made.offers.push(id);
            }
            Ok::<_, LoadError>((index, made))
        });
    }
    let mut parts = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        parts.push(done.map_err(|e| LoadError::Task(e.to_string()))??);
    }
    parts.sort_by_key(|(i, _)| *i);
    let mut pool = Pool::default();
    for (_, p) in parts {
        pool.needs.extend(p.needs);
        pool.offers.extend(p.offers);
    }
    Ok(pool)
}
