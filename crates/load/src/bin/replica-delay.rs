//! `replica-delay`: how long a need made rankable through one replica takes to be ranked
//! by another replica over the same PostgreSQL database (the change feed's delay).
//!
//! Setup through replica A: a provider with one active offer, a requester and a broker.
//! Then `--samples` times: the requester creates and submits a need matching the offer,
//! the broker authenticates it (from then on the matching index keeps it), and the clock
//! starts when A acknowledges that call; replica B is asked `FindOffersForNeed` as fast as
//! it answers until the offer is among the candidates, and the clock stops at that
//! answer. Prints the delays' percentiles as JSON.
//!
//!   replica-delay --a http://127.0.0.1:50061 --b http://127.0.0.1:50062 \
//!     --api-key-file <data-dir>/bootstrap-admin.key --samples 200

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Parser;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use clearinghouse::pb;

/// Options.
#[derive(Debug, Parser)]
#[command(
    name = "replica-delay",
    about = "Cross-replica index delay over one database"
)]
struct Args {
    /// Replica that takes the writes.
    #[arg(long)]
    a: String,
    /// Replica that must rank them.
    #[arg(long)]
    b: String,
    /// File holding an admin API key.
    #[arg(long)]
    api_key_file: PathBuf,
    /// Needs to time.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Longest wait for one need before giving up.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Bearer>;

/// Errors are messages: this tool prints them and exits.
type Result<T> = std::result::Result<T, String>;

fn bearer(key: &str) -> Result<Bearer> {
    format!("Bearer {}", key.trim())
        .parse()
        .map(Bearer)
        .map_err(|_| "the key is not valid header text".into())
}

fn failed(what: &str) -> impl Fn(Status) -> String + '_ {
    move |s| format!("{what}: {} {}", s.code(), s.message())
}

async fn channel(url: &str) -> Result<Channel> {
    Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("{url}: {e}"))?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))
}

async fn principal(
    admin: &mut pb::admin_service_client::AdminServiceClient<Svc>,
    role: pb::Role,
    party: &str,
) -> Result<String> {
    Ok(admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: format!("replica-delay {}", role.as_str_name()),
                role: role as i32,
                party_id: party.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .map_err(failed("create principal"))?
        .into_inner()
        .api_key)
}

fn need(i: usize) -> pb::Need {
    pb::Need {
        title: format!("Delay probe {i}"),
        description: "Training for licensing officers on the control lists".to_owned(),
        area: pb::ThematicArea::ExportTransshipment as i32,
        sub_areas: vec![pb::SubArea::ControlLists as i32],
        assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        accepted_funding_modes: vec![pb::FundingMode::SingleDonor as i32],
        preferred_funding_mode: pb::FundingMode::SingleDonor as i32,
        estimated_budget: Some(pb::Money {
            currency_code: "USD".to_owned(),
            minor_units: 25_000_000,
        }),
        wanted_from: "2027-01-01".to_owned(),
        needed_by: "2027-12-31".to_owned(),
        languages: vec!["en".to_owned()],
        publication_consent: pb::PublicationConsent::Granted as i32,
        contact: Some(pb::ContactPoint {
            name: "Desk officer".to_owned(),
            email: "desk@example.org".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn offer() -> pb::Offer {
    pb::Offer {
        programme_name: "Delay probe offer".to_owned(),
        description: "Export control outreach and licensing workshops".to_owned(),
        areas: vec![pb::ThematicArea::ExportTransshipment as i32],
        assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        scope: Some(pb::GeoScope {
            regions: vec!["Africa".to_owned()],
            ..Default::default()
        }),
        funding_modes: vec![pb::FundingMode::SingleDonor as i32],
        budget_ceiling: Some(pb::Money {
            currency_code: "USD".to_owned(),
            minor_units: 100_000_000,
        }),
        valid_until: "2030-12-31".to_owned(),
        contact: Some(pb::ContactPoint {
            name: "Programme lead".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

async fn run(args: Args) -> Result<()> {
    let key = std::fs::read_to_string(&args.api_key_file)
        .map_err(|e| format!("{}: {e}", args.api_key_file.display()))?;
    let (a, b) = (channel(&args.a).await?, channel(&args.b).await?);
    let mut admin =
        pb::admin_service_client::AdminServiceClient::with_interceptor(a.clone(), bearer(&key)?);
    let pkey = principal(&mut admin, pb::Role::Provider, "state-FRA").await?;
    let rkey = principal(&mut admin, pb::Role::Requester, "state-KEN").await?;
    let bkey = principal(&mut admin, pb::Role::Broker, "").await?;
    let mut offers =
        pb::offer_service_client::OfferServiceClient::with_interceptor(a.clone(), bearer(&pkey)?);
    let offer_id = offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer()),
            request_id: String::new(),
        })
        .await
        .map_err(failed("create offer"))?
        .into_inner()
        .offer
        .map(|o| o.id)
        .unwrap_or_default();
    offers
        .activate_offer(pb::ActivateOfferRequest {
            id: offer_id.clone(),
            etag: String::new(),
        })
        .await
        .map_err(failed("activate offer"))?;
    let mut requester =
        pb::need_service_client::NeedServiceClient::with_interceptor(a.clone(), bearer(&rkey)?);
    let mut broker =
        pb::need_service_client::NeedServiceClient::with_interceptor(a, bearer(&bkey)?);
    let mut ranker =
        pb::match_service_client::MatchServiceClient::with_interceptor(b, bearer(&bkey)?);
    let mut delays = Vec::with_capacity(args.samples);
    let mut polls = 0u64;
    for i in 0..args.samples {
        let id = requester
            .create_need(pb::CreateNeedRequest {
                need: Some(need(i)),
                request_id: String::new(),
            })
            .await
            .map_err(failed("create need"))?
            .into_inner()
            .need
            .map(|n| n.id)
            .unwrap_or_default();
        requester
            .submit_need(pb::SubmitNeedRequest {
                id: id.clone(),
                etag: String::new(),
            })
            .await
            .map_err(failed("submit need"))?;
        broker
            .authenticate_need(pb::AuthenticateNeedRequest {
                id: id.clone(),
                etag: String::new(),
            })
            .await
            .map_err(failed("authenticate need"))?;
        let acknowledged = Instant::now();
        loop {
            polls += 1;
            let ranked = ranker
                .find_offers_for_need(pb::FindOffersForNeedRequest {
                    need_id: id.clone(),
                    ..Default::default()
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner()
                        .candidates
                        .iter()
                        .any(|c| c.offer_id == offer_id)
                });
            if ranked {
                delays.push(acknowledged.elapsed());
                break;
            }
            if acknowledged.elapsed() > args.timeout {
                return Err(format!(
                    "need {id} not ranked by B within {:?}",
                    args.timeout
                ));
            }
        }
    }
    delays.sort();
    let report = serde_json::json!({
        "samples": delays.len(),
        "polls": polls,
        "delay_ms": {
            "p50": percentile(&delays, 50.0),
            "p90": percentile(&delays, 90.0),
            "p99": percentile(&delays, 99.0),
            "max": delays.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        }
    });
    println!("{report}");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
