//! `TestServer`: the real server on a pre-bound `127.0.0.1:0` listener and a temp dir,
//! started through `clearinghouse::run` exactly as `main` does, plus typed clients that
//! send a bearer key.

use std::{net::SocketAddr, path::Path};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{
    Code, Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use tonic_types::StatusExt;

use clearinghouse::{config::Config, pb};

/// A running server over a data directory it owns (or borrows for restarts).
pub struct TestServer {
    pub addr: SocketAddr,
    pub admin_key: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct Bearer(pub Option<String>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(k) = &self.0 {
            let v: MetadataValue<_> = format!("Bearer {k}")
                .parse()
                .map_err(|_| Status::internal("bad key"))?;
            req.metadata_mut().insert("authorization", v);
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Bearer>;

/// Typed clients for one API key.
pub struct Clients {
    pub parties: pb::party_service_client::PartyServiceClient<Svc>,
    pub needs: pb::need_service_client::NeedServiceClient<Svc>,
    pub offers: pb::offer_service_client::OfferServiceClient<Svc>,
    pub admin: pb::admin_service_client::AdminServiceClient<Svc>,
}

impl TestServer {
    /// Starts a server on `dir`.
    pub async fn start_in(dir: &Path) -> TestServer {
        Self::start_with(dir, clearinghouse::server::RunOptions::default()).await
    }

    /// Starts a server on `dir` with test seams.
    pub async fn start_with(dir: &Path, options: clearinghouse::server::RunOptions) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = Config {
            listen: addr,
            data_dir: dir.to_owned(),
            cache_capacity_mib: 16,
            ..Config::default()
        };
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(clearinghouse::server::run_with(
            config,
            listener,
            async {
                let _ = rx.await;
            },
            options,
        ));
        // The listener is bound, so this waits for the server to serve; no sleeps.
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
        let admin_key = std::fs::read_to_string(dir.join("bootstrap-admin.key"))
            .expect("bootstrap key")
            .trim()
            .to_owned();
        TestServer {
            addr,
            admin_key,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and waits for it to flush.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server result");
        }
    }

    /// Waits for the server to stop by itself and returns how `run` ended.
    pub async fn stopped_by_itself(mut self) -> anyhow::Result<()> {
        let h = self.handle.take().expect("running");
        tokio::time::timeout(std::time::Duration::from_secs(30), h)
            .await
            .expect("the server stops within 30 s")
            .expect("server task")
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    /// Clients sending `key` (or no key).
    pub async fn clients(&self, key: Option<&str>) -> Clients {
        let ch = self.channel().await;
        let b = Bearer(key.map(str::to_owned));
        Clients {
            parties: pb::party_service_client::PartyServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            needs: pb::need_service_client::NeedServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            offers: pb::offer_service_client::OfferServiceClient::with_interceptor(
                ch.clone(),
                b.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(ch, b),
        }
    }

    /// Clients of the bootstrap admin.
    pub async fn admin(&self) -> Clients {
        self.clients(Some(&self.admin_key.clone())).await
    }

    /// Creates a principal with `role` acting for `party` and returns its key.
    pub async fn key(&self, role: pb::Role, party: &str) -> String {
        let mut admin = self.admin().await;
        admin
            .admin
            .create_principal(pb::CreatePrincipalRequest {
                principal: Some(pb::Principal {
                    display_name: format!("{} {party}", role.as_str_name()),
                    role: role as i32,
                    party_id: party.to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("create principal")
            .into_inner()
            .api_key
    }

    /// Clients of a new principal with `role` for `party`.
    pub async fn as_role(&self, role: pb::Role, party: &str) -> Clients {
        let key = self.key(role, party).await;
        self.clients(Some(&key)).await
    }
}

/// A started server with its own temp dir (kept alive by the returned guard).
pub async fn start() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    (server, dir)
}

/// Asserts the status code and returns the field names of its BadRequest violations.
pub fn violations(status: &Status, code: Code) -> Vec<String> {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|f| f.field).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo` reason of a status.
pub fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// A valid need from a State requester (requester party filled by the server).
pub fn need(title: &str) -> pb::Need {
    pb::Need {
        title: title.to_owned(),
        description: "Training for licensing officers on the control lists".to_owned(),
        area: pb::ThematicArea::ExportTransshipment as i32,
        sub_areas: vec![
            pb::SubArea::ControlLists as i32,
            pb::SubArea::ExportLicensing as i32,
        ],
        assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        accepted_funding_modes: vec![
            pb::FundingMode::SingleDonor as i32,
            pb::FundingMode::JointlyFunded as i32,
        ],
        preferred_funding_mode: pb::FundingMode::SingleDonor as i32,
        estimated_budget: Some(pb::Money {
            currency_code: "USD".to_owned(),
            minor_units: 25_000_000,
        }),
        wanted_from: "2027-01-01".to_owned(),
        needed_by: "2027-12-31".to_owned(),
        languages: vec!["en".to_owned()],
        contact: Some(pb::ContactPoint {
            name: "Desk officer".to_owned(),
            email: "desk@example.org".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A valid offer covering export controls in Africa.
pub fn offer(name: &str) -> pb::Offer {
    pb::Offer {
        programme_name: name.to_owned(),
        description: "Export control outreach and licensing workshops".to_owned(),
        areas: vec![pb::ThematicArea::ExportTransshipment as i32],
        assistance_kinds: vec![
            pb::AssistanceKind::Training as i32,
            pb::AssistanceKind::ExpertMission as i32,
        ],
        scope: Some(pb::GeoScope {
            regions: vec!["Africa".to_owned()],
            ..Default::default()
        }),
        funding_modes: vec![pb::FundingMode::SingleDonor as i32],
        budget_ceiling: Some(pb::Money {
            currency_code: "EUR".to_owned(),
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

/// A need taken to CIRCULATED: created and submitted by `requester`, authenticated and
/// circulated by `broker` (consent GRANTED unless the need sets another). Returns its id.
pub async fn circulated_need(requester: &mut Clients, broker: &mut Clients, n: pb::Need) -> String {
    let consent = if n.publication_consent == 0 {
        pb::PublicationConsent::Granted as i32
    } else {
        n.publication_consent
    };
    let n = pb::Need {
        publication_consent: consent,
        ..n
    };
    let id = requester
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(n),
            request_id: String::new(),
        })
        .await
        .expect("create need")
        .into_inner()
        .need
        .expect("need")
        .id;
    requester
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id: id.clone(),
            etag: String::new(),
        })
        .await
        .expect("submit");
    broker
        .needs
        .authenticate_need(pb::AuthenticateNeedRequest {
            id: id.clone(),
            etag: String::new(),
        })
        .await
        .expect("authenticate");
    broker
        .needs
        .circulate_need(pb::CirculateNeedRequest {
            id: id.clone(),
            etag: String::new(),
        })
        .await
        .expect("circulate");
    id
}

/// An offer created and activated by `provider`. Returns its id.
pub async fn active_offer(provider: &mut Clients, o: pb::Offer) -> String {
    let id = provider
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(o),
            request_id: String::new(),
        })
        .await
        .expect("create offer")
        .into_inner()
        .offer
        .expect("offer")
        .id;
    provider
        .offers
        .activate_offer(pb::ActivateOfferRequest {
            id: id.clone(),
            etag: String::new(),
        })
        .await
        .expect("activate");
    id
}

/// A match-service client sending `key`.
pub type Matcher = pb::match_service_client::MatchServiceClient<Svc>;

impl TestServer {
    /// A match-service client for `key`.
    pub async fn matcher(&self, key: &str) -> Matcher {
        pb::match_service_client::MatchServiceClient::with_interceptor(
            self.channel().await,
            Bearer(Some(key.to_owned())),
        )
    }
}
