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
        Self::start_configured(dir, options, |_| {}).await
    }

    /// Starts a server on `dir` with test seams and `edit` applied to its configuration.
    pub async fn start_configured(
        dir: &Path,
        options: clearinghouse::server::RunOptions,
        edit: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config {
            listen: addr,
            data_dir: dir.to_owned(),
            cache_capacity_mib: 16,
            ..Config::default()
        };
        edit(&mut config);
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

/// The `clearinghouse serve` binary as a child process on `127.0.0.1:0`, with a config
/// file, a temp data dir and optional resource limits, for what only a separate process
/// shows: its peak memory, its open files, its CPU time. `CLEARINGHOUSE_TEST_BIN` points
/// at another build (e.g. the release binary) for measurements.
pub struct ChildServer {
    pub addr: SocketAddr,
    pub admin_key: String,
    child: std::process::Child,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

/// Resource limits for a [`ChildServer`] (applied with the shell's `ulimit`).
#[derive(Default, Clone, Copy)]
pub struct ChildLimits {
    /// Open files (`ulimit -n`).
    pub open_files: Option<u64>,
    /// Address space in KiB (`ulimit -v`), so that a runaway allocation fails the child
    /// instead of the machine.
    pub address_space_kib: Option<u64>,
}

impl ChildServer {
    /// Starts the binary with `config` (TOML; `listen` and `data_dir` are set here) and
    /// returns once it logs that it serves.
    pub fn spawn(config: &str, limits: ChildLimits) -> ChildServer {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, config).expect("config");
        let bin = std::env::var("CLEARINGHOUSE_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clearinghouse").to_owned());
        let mut ulimits = String::new();
        if let Some(n) = limits.open_files {
            ulimits.push_str(&format!("ulimit -n {n}; "));
        }
        if let Some(kib) = limits.address_space_kib {
            ulimits.push_str(&format!("ulimit -v {kib}; "));
        }
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{ulimits}exec \"$0\" \"$@\""))
            .arg(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "info,clearinghouse=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the binary");
        let stderr = child.stderr.take().expect("stderr");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if v["fields"]["message"] == "listening"
                    && let Some(a) = v["fields"]["addr"].as_str()
                {
                    let _ = tx.send(Ok(a.to_owned()));
                }
                if v["fields"]["message"] == "serving gRPC" {
                    let _ = tx.send(Err(()));
                }
                sink.lock().expect("logs").push(line);
            }
        });
        let wait = std::time::Duration::from_secs(60);
        let addr: SocketAddr = rx
            .recv_timeout(wait)
            .expect("the server logs its address")
            .expect("address first")
            .parse()
            .expect("an address");
        assert!(
            rx.recv_timeout(wait)
                .expect("the server starts serving")
                .is_err(),
            "serving after listening"
        );
        let admin_key = std::fs::read_to_string(dir.path().join("data/bootstrap-admin.key"))
            .expect("bootstrap key")
            .trim()
            .to_owned();
        ChildServer {
            addr,
            admin_key,
            child,
            logs,
            _dir: dir,
        }
    }

    /// A value in KiB from `/proc/<pid>/status` (`VmHWM`, `VmRSS`, ...).
    pub fn status_kib(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/<pid>/status"))
    }

    /// Files the child has open now.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("/proc fd")
            .count()
    }

    /// CPU time the child has used, in clock ticks (user + system).
    pub fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("/proc stat");
        // Fields after the command name (which is in parentheses): utime is the 12th, stime
        // the 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        f[11] + f[12]
    }

    /// Whether the child is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Every log line the child wrote so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    /// Log lines (JSON) the child wrote so far whose message is `message`.
    pub fn log_lines(&self, message: &str) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .expect("logs")
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["fields"]["message"] == message)
            .collect()
    }

    /// A channel to the child.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it returns `Some` or `deadline` passes (then `None`); for waiting on
/// another process's state without sleeping for a fixed time.
pub async fn poll_until<T>(
    deadline: std::time::Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
