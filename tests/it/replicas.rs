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
