//! Several replicas over one PostgreSQL database (a real server started by the test
//! binary: `initdb` in a temporary directory, see `pg_server`): a write through one
//! replica reaches the other's matching index and live streams through the change feed;
//! agreements racing through two replicas never over-commit an offer; a database restart
//! makes replicas NOT_SERVING and they recover by themselves; a replica killed under load
//! loses no acknowledged write; `migrate-store` copies a store sled -> PostgreSQL -> sled
//! and the copy answers as the original did.

use std::{
    path::Path,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use tokio::time::timeout;
use tonic::{Code, Streaming};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use clearinghouse::{config::Config, pb, server::RunOptions};

use crate::{
    pg_server::PgServer,
    support::{self, Bearer, TestServer, circulated_need, need, offer},
};

/// Longest wait for anything another replica must see (the feed's bound is far lower;
/// this only keeps a broken build from hanging).
const GUARD: Duration = Duration::from_secs(30);

/// A schema of its own for each test on the shared server.
fn fresh_schema() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("replicas_{}", N.fetch_add(1, Ordering::SeqCst))
}

/// Points `config` at `url`/`schema`. The feed's periodic read is slowed to a minute, so
/// what a test sees within [`GUARD`] came through a notification.
fn on_postgres(config: &mut Config, url: &str, schema: &str) {
    config.storage.database_url = Some(url.to_owned());
    config.storage.schema = schema.to_owned();
    config.storage.pool_size = 6;
    config.storage.min_idle_connections = 1;
    config.storage.connect_timeout_ms = 2_000;
    config.storage.acquire_timeout_ms = 2_000;
    config.storage.feed_poll_ms = 60_000;
}

/// Two replicas over one schema, each with its own data directory (the first writes the
/// bootstrap admin's key; the second is given a copy).
struct Pair {
    a: TestServer,
    b: TestServer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn replica(dir: &Path, url: &str, schema: &str) -> TestServer {
    let (url, schema) = (url.to_owned(), schema.to_owned());
    TestServer::start_configured(dir, RunOptions::default(), move |c| {
        on_postgres(c, &url, &schema);
    })
    .await
}

async fn pair(url: &str) -> Pair {
    let schema = fresh_schema();
    let (da, db) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = replica(da.path(), url, &schema).await;
    std::fs::copy(
        da.path().join("bootstrap-admin.key"),
        db.path().join("bootstrap-admin.key"),
    )
    .expect("copy the bootstrap key");
    let b = replica(db.path(), url, &schema).await;
    Pair {
        a,
        b,
        _dirs: (da, db),
    }
}

async fn health(server: &TestServer) -> Option<i32> {
    let mut h = HealthClient::new(server.channel().await);
    h.check(HealthCheckRequest {
        service: "clearinghouse.v1.NeedService".into(),
    })
    .await
    .ok()
    .map(|r| r.into_inner().status)
}

/// Polls `probe` every 20 ms until it is true or [`GUARD`] passes.
async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + GUARD;
    while !probe().await {
        assert!(tokio::time::Instant::now() < end, "{what} within {GUARD:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `server` ranks `offer_id` among the candidates of `need_id` for `key`.
async fn ranks(server: &TestServer, key: &str, need_id: &str, offer_id: &str) -> bool {
    let mut m = server.matcher(key).await;
    m.find_offers_for_need(pb::FindOffersForNeedRequest {
        need_id: need_id.to_owned(),
        ..Default::default()
    })
    .await
    .is_ok_and(|r| {
        r.into_inner()
            .candidates
            .iter()
            .any(|c| c.offer_id == offer_id)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_need_created_on_one_replica_is_ranked_by_the_other() {
    let pg = PgServer::shared();
    let p = pair(&pg.url("postgres")).await;
    let mut fra = p.a.as_role(pb::Role::Provider, "state-FRA").await;
    let offer_id = support::active_offer(&mut fra, offer("Outreach")).await;
    let mut ken = p.a.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = p.a.as_role(pb::Role::Broker, "").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("Licensing")).await;
    let bkey = p.a.key(pb::Role::Broker, "").await;
    assert!(ranks(&p.a, &bkey, &need_id, &offer_id).await, "A ranks it");
    eventually("B ranks the need A created", || {
        ranks(&p.b, &bkey, &need_id, &offer_id)
    })
    .await;
    // A principal created through B authenticates on A at once (no cache to wait for).
    let key_from_b = p.b.key(pb::Role::Analyst, "").await;
    let mut on_a = p.a.clients(Some(&key_from_b)).await;
    on_a.parties
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .expect("a key made on B works on A");
    p.a.stop().await;
    p.b.stop().await;
}

fn usd(minor: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: minor,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agreements_racing_through_two_replicas_never_over_commit_an_offer() {
    let pg = PgServer::shared();
    let p = pair(&pg.url("postgres")).await;
    let mut broker = p.a.as_role(pb::Role::Broker, "").await;
    let mut fra = p.a.as_role(pb::Role::Provider, "state-FRA").await;
    let o = pb::Offer {
        budget_ceiling: usd(1_000_000),
        ..offer("Capacity")
    };
    let offer_id = support::active_offer(&mut fra, o).await;
    let bkey = p.a.key(pb::Role::Broker, "").await;
    let pkey = p.a.key(pb::Role::Provider, "state-FRA").await;
    let mut bm = p.a.matcher(&bkey).await;
    let mut match_ids = Vec::new();
    for iso in ["KEN", "UGA"] {
        let rkey = p.a.key(pb::Role::Requester, &format!("state-{iso}")).await;
        let mut req = p.a.clients(Some(&rkey)).await;
        let mut n = need(&format!("{iso} need"));
        n.estimated_budget = usd(700_000);
        let need_id = circulated_need(&mut req, &mut broker, n).await;
        let m = bm
            .create_match(pb::CreateMatchRequest {
                need_id,
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![pb::Contribution {
                    offer_id: offer_id.clone(),
                    amount: usd(700_000),
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("propose")
            .into_inner()
            .r#match
            .expect("match");
        p.a.matcher(&rkey)
            .await
            .accept_match(pb::AcceptMatchRequest {
                id: m.id.clone(),
                etag: String::new(),
            })
            .await
            .expect("requester accepts");
        match_ids.push(m.id);
    }
    // The provider agrees to both at once, one through each replica: 700k + 700k is over
    // the 1,000k ceiling.
    let mut tasks = Vec::new();
    for (id, server) in match_ids.into_iter().zip([&p.a, &p.b]) {
        let mut pm = server.matcher(&pkey).await;
        tasks.push(tokio::spawn(async move {
            pm.accept_match(pb::AcceptMatchRequest {
                id,
                etag: String::new(),
            })
            .await
        }));
    }
    let (mut ok, mut exhausted) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
                assert_eq!(support::reason(&e), "CAPACITY_EXHAUSTED");
                exhausted += 1;
            }
        }
    }
    assert_eq!((ok, exhausted), (1, 1));
    for server in [&p.a, &p.b] {
        let got = server
            .clients(Some(&pkey))
            .await
            .offers
            .get_offer(pb::GetOfferRequest {
                id: offer_id.clone(),
            })
            .await
            .expect("offer")
            .into_inner()
            .offer
            .expect("offer");
        assert_eq!(
            got.committed.as_ref().map(|c| c.minor_units),
            Some(700_000),
            "never over-committed, as either replica reads it"
        );
    }
    p.a.stop().await;
    p.b.stop().await;
}

async fn client(server: &TestServer, key: &str) -> support::Matcher {
    pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        Bearer(Some(key.to_owned())),
    )
}

async fn next_event(s: &mut Streaming<pb::WatchMatchesResponse>) -> pb::WatchMatchesResponse {
    timeout(GUARD, s.message())
        .await
        .expect("an event within the guard time")
        .expect("stream ok")
        .expect("an event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watch_on_one_replica_sees_the_others_events_in_order_and_resumes_after_a_reconnect() {
    let pg = PgServer::shared();
    let p = pair(&pg.url("postgres")).await;
    let mut ken = p.a.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = p.a.as_role(pb::Role::Broker, "").await;
    let mut fra = p.a.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("Watched")).await;
    let o = pb::Offer {
        budget_ceiling: usd(10_000_000),
        ..offer("Watched offer")
    };
    let offer_id = support::active_offer(&mut fra, o).await;
    let bkey = p.a.key(pb::Role::Broker, "").await;
    let rkey = p.a.key(pb::Role::Requester, "state-KEN").await;
    let pkey = p.a.key(pb::Role::Provider, "state-FRA").await;
    let mut on_b = client(&p.b, &bkey).await;
    let mut watch = on_b
        .watch_matches(pb::WatchMatchesRequest { after_sequence: 0 })
        .await
        .expect("watch on B")
        .into_inner();
    let (mut bm, mut rm, mut pm) = (
        client(&p.a, &bkey).await,
        client(&p.a, &rkey).await,
        client(&p.a, &pkey).await,
    );
    let m = bm
        .create_match(pb::CreateMatchRequest {
            need_id,
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id,
                amount: usd(1_000_000),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .expect("propose on A")
        .into_inner()
        .r#match
        .expect("match");
    let e1 = next_event(&mut watch).await;
    assert_eq!(
        (e1.action.as_str(), e1.match_id.as_str(), e1.version),
        ("match.create", m.id.as_str(), 1)
    );
    rm.accept_match(pb::AcceptMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("requester accepts on A");
    let e2 = next_event(&mut watch).await;
    assert_eq!((e2.action.as_str(), e2.version), ("match.accept", 2));
    assert!(e2.sequence > e1.sequence);
    drop(watch);

    // While B's watcher is away, A records two more events.
    pm.accept_match(pb::AcceptMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("provider accepts on A");
    pm.start_implementation(pb::StartImplementationRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("start on A");
    let mut watch = on_b
        .watch_matches(pb::WatchMatchesRequest {
            after_sequence: e2.sequence,
        })
        .await
        .expect("rewatch on B")
        .into_inner();
    let e3 = next_event(&mut watch).await;
    let e4 = next_event(&mut watch).await;
    assert_eq!((e3.action.as_str(), e3.version), ("match.accept", 3));
    assert_eq!((e4.action.as_str(), e4.version), ("match.start", 4));
    assert!(e2.sequence < e3.sequence && e3.sequence < e4.sequence);
    // A live event after the catch-up arrives too.
    pm.complete_match(pb::CompleteMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("complete on A");
    let e5 = next_event(&mut watch).await;
    assert_eq!((e5.action.as_str(), e5.version), ("match.complete", 5));
    drop(watch);
    p.a.stop().await;
    p.b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_makes_replicas_not_serving_and_they_recover_without_restarting() {
    let pg = PgServer::init();
    pg.start();
    let p = pair(&pg.url("postgres")).await;
    let bkey = p.a.key(pb::Role::Broker, "").await;
    let serving = ServingStatus::Serving as i32;
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(health(&p.a).await, Some(serving));

    pg.stop();
    for r in [&p.a, &p.b] {
        eventually("NOT_SERVING while the database is down", || async {
            health(r).await == Some(not_serving)
        })
        .await;
    }
    let mut c = p.b.clients(Some(&bkey)).await;
    let refused = c
        .needs
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect_err("refused while the database is down");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("database"), "{refused:?}");

    pg.start();
    for r in [&p.a, &p.b] {
        eventually("SERVING again once the database is back", || async {
            health(r).await == Some(serving)
        })
        .await;
    }
    // Both work again, and the feed carries A's writes to B once more.
    let mut fra = p.a.as_role(pb::Role::Provider, "state-FRA").await;
    let offer_id = support::active_offer(&mut fra, offer("After the restart")).await;
    let mut ken = p.b.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = p.b.as_role(pb::Role::Broker, "").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("After the restart")).await;
    eventually("A ranks the need created on B after the restart", || {
        ranks(&p.a, &bkey, &need_id, &offer_id)
    })
    .await;
    p.a.stop().await;
    p.b.stop().await;
}

/// `clearinghouse serve` over PostgreSQL as a child process; returns it and its address.
fn spawn_replica(dir: &Path, url: &str, schema: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(url)
        .env("CLEARINGHOUSE_DATABASE_SCHEMA", schema)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "listening"
                && let Some(a) = v["fields"]["addr"].as_str()
            {
                let _ = tx.send(a.to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(GUARD)
        .expect("the replica logs its address");
    (child, addr)
}

type NeedClient = pb::need_service_client::NeedServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

async fn need_client(addr: &str, key: &str) -> NeedClient {
    let ch = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    pb::need_service_client::NeedServiceClient::with_interceptor(ch, Bearer(Some(key.to_owned())))
}

#[derive(Default)]
struct Ledger {
    ok: Vec<(String, String)>,
    unknown: Vec<(String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_a_replica_under_load_loses_no_acknowledged_write() {
    let pg = PgServer::shared();
    let url = pg.url("postgres");
    let schema = fresh_schema();
    let (db, da) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let b = replica(db.path(), &url, &schema).await;
    let key = b.key(pb::Role::Requester, "state-KEN").await;
    let (mut a, addr) = spawn_replica(da.path(), &url, &schema);
    eventually("the child replica serves", || async {
        let Ok(ch) = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
        else {
            return false;
        };
        HealthClient::new(ch)
            .check(HealthCheckRequest::default())
            .await
            .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
    })
    .await;

    const WRITERS: u64 = 8;
    const ENOUGH: usize = 60;
    let ledger = std::sync::Arc::new(std::sync::Mutex::new(Ledger::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (addr, key, ledger) = (addr.clone(), key.clone(), std::sync::Arc::clone(&ledger));
            tokio::spawn(async move {
                let mut c = need_client(&addr, &key).await;
                for i in 0u64.. {
                    let rid = format!("{w:08x}-0000-4000-8000-{i:012x}");
                    let title = format!("w{w}-{i}");
                    let req = pb::CreateNeedRequest {
                        need: Some(need(&title)),
                        request_id: rid.clone(),
                    };
                    match c.create_need(req).await {
                        Ok(r) => {
                            let id = r.into_inner().need.map(|n| n.id).unwrap_or_default();
                            ledger.lock().expect("ledger").ok.push((id, title));
                        }
                        Err(_) => {
                            ledger.lock().expect("ledger").unknown.push((rid, title));
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    eventually("the load writes through the child", || async {
        ledger.lock().expect("ledger").ok.len() >= ENOUGH
    })
    .await;
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    for w in writers {
        timeout(GUARD, w)
            .await
            .expect("writer ends")
            .expect("writer");
    }

    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    let mut c = need_client(&b.addr.to_string(), &key).await;
    for (id, title) in &ledger.ok {
        let got = c
            .get_need(pb::GetNeedRequest { id: id.clone() })
            .await
            .unwrap_or_else(|e| panic!("acknowledged need {id} ({title}) lost: {e}"));
        assert_eq!(&got.into_inner().need.expect("need").title, title);
    }
    // A write cut off by the kill is whole or absent: replaying it on the surviving
    // replica finds the original or creates it now, once.
    for (rid, title) in &ledger.unknown {
        let r = c
            .create_need(pb::CreateNeedRequest {
                need: Some(need(title)),
                request_id: rid.clone(),
            })
            .await
            .expect("replay of a cut-off write");
        assert_eq!(&r.into_inner().need.expect("need").title, title);
    }
    let listed = c
        .list_needs(pb::ListNeedsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs
        .len();
    assert_eq!(
        listed,
        ledger.ok.len() + ledger.unknown.len(),
        "every write is there exactly once"
    );
    b.stop().await;
}

/// What a service answers about everything in it: needs, offers, the audit trail, the
/// matching policy and one ranking.
async fn answers(server: &TestServer, need_id: &str) -> Vec<String> {
    let mut admin = server.admin().await;
    let needs = admin
        .needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("needs")
        .into_inner();
    let offers = admin
        .offers
        .list_offers(pb::ListOffersRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("offers")
        .into_inner();
    // Ranking first: an admin's view of the candidates is recorded (a decision and its
    // audit entry); the same view again on a copy is not recorded twice.
    let ranked = server
        .matcher(&server.admin_key)
        .await
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: need_id.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ranking")
        .into_inner();
    let audit = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let policy = admin
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest::default())
        .await
        .expect("policy")
        .into_inner();
    assert!(needs.next_page_token.is_empty() && audit.next_page_token.is_empty());
    vec![
        format!("{needs:?}"),
        format!("{offers:?}"),
        format!("{audit:?}"),
        format!("{policy:?}"),
        format!("{ranked:?}"),
    ]
}

fn migrate_store(from: &str, to: &str, schema: &str) -> std::process::Output {
    migrate_store_with(from, to, &["--schema", schema])
}

fn migrate_store_with(from: &str, to: &str, more: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args(["migrate-store", "--from", from, "--to", to])
        .args(more)
        .output()
        .expect("run migrate-store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_store_round_trip_sled_to_postgres_to_sled_answers_identically() {
    let pg = PgServer::shared();
    let url = pg.url("postgres");
    let schema = fresh_schema();
    let root = tempfile::tempdir().expect("dir");
    let (orig, back, replica_dir) = (
        root.path().join("orig"),
        root.path().join("back"),
        root.path().join("replica"),
    );
    let server = TestServer::start_in(&orig).await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let o = pb::Offer {
        budget_ceiling: usd(10_000_000),
        ..offer("Migrated offer")
    };
    let offer_id = support::active_offer(&mut fra, o).await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("Migrated need")).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    server
        .matcher(&bkey)
        .await
        .create_match(pb::CreateMatchRequest {
            need_id: need_id.clone(),
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id,
                amount: usd(1_000_000),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .expect("propose");
    let before = answers(&server, &need_id).await;
    server.stop().await;

    let to_pg = migrate_store(&orig.to_string_lossy(), &url, &schema);
    let said = String::from_utf8_lossy(&to_pg.stdout);
    assert!(
        to_pg.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&to_pg.stderr)
    );
    assert!(said.contains("verified"), "{said}");
    // A target holding anything is refused.
    let again = migrate_store(&orig.to_string_lossy(), &url, &schema);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let to_sled = migrate_store(&url, &back.to_string_lossy(), &schema);
    assert!(
        to_sled.status.success(),
        "{}",
        String::from_utf8_lossy(&to_sled.stderr)
    );

    // The PostgreSQL copy and the sled copy back answer as the original did.
    for dir in [&back, &replica_dir] {
        std::fs::create_dir_all(dir).expect("dir");
        std::fs::copy(
            orig.join("bootstrap-admin.key"),
            dir.join("bootstrap-admin.key"),
        )
        .expect("key");
    }
    let on_pg = replica(&replica_dir, &url, &schema).await;
    assert_eq!(
        answers(&on_pg, &need_id).await,
        before,
        "the PostgreSQL copy"
    );
    on_pg.stop().await;
    let on_sled = TestServer::start_in(&back).await;
    assert_eq!(
        answers(&on_sled, &need_id).await,
        before,
        "the sled copy back"
    );
    on_sled.stop().await;

    // Between the embedded engines: the sled copy into a redb directory, served by redb.
    let on_redb_dir = root.path().join("redb");
    let to_redb = migrate_store_with(
        &back.to_string_lossy(),
        &on_redb_dir.to_string_lossy(),
        &["--engine", "redb"],
    );
    assert!(
        to_redb.status.success(),
        "{}",
        String::from_utf8_lossy(&to_redb.stderr)
    );
    std::fs::copy(
        orig.join("bootstrap-admin.key"),
        on_redb_dir.join("bootstrap-admin.key"),
    )
    .expect("key");
    let on_redb = TestServer::start_configured(
        &on_redb_dir,
        clearinghouse::server::RunOptions::default(),
        |c| c.storage.engine = "redb".to_owned(),
    )
    .await;
    assert_eq!(answers(&on_redb, &need_id).await, before, "the redb copy");
    on_redb.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_together_on_an_empty_database_create_one_bootstrap_admin() {
    let pg = PgServer::shared();
    let url = pg.url("postgres");
    let schema = fresh_schema();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    // Three processes started at once, each seeding the same empty schema.
    let starts: Vec<_> = dirs
        .iter()
        .map(|d| {
            let (dir, url, schema) = (d.path().to_owned(), url.clone(), schema.clone());
            std::thread::spawn(move || spawn_replica(&dir, &url, &schema))
        })
        .collect();
    let mut replicas = Vec::new();
    for s in starts {
        replicas.push(s.join().expect("spawned"));
    }
    for (_, addr) in &replicas {
        let addr = addr.clone();
        eventually("the replica serves", || {
            let addr = addr.clone();
            async move {
                let Ok(ch) = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                    .expect("uri")
                    .connect()
                    .await
                else {
                    return false;
                };
                HealthClient::new(ch)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
            }
        })
        .await;
    }
    let keys: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.path().join("bootstrap-admin.key")).ok())
        .collect();
    assert_eq!(keys.len(), 1, "one replica holds the bootstrap key");
    let ch = tonic::transport::Channel::from_shared(format!("http://{}", replicas[2].1))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(
        ch,
        Bearer(Some(keys[0].trim().to_owned())),
    );
    let principals = admin
        .list_principals(pb::ListPrincipalsRequest::default())
        .await
        .expect("the key works on every replica")
        .into_inner()
        .principals;
    assert_eq!(principals.len(), 1, "one bootstrap admin: {principals:?}");
    for (mut child, _) in replicas {
        let _ = child.kill();
        let _ = child.wait();
    }
}
