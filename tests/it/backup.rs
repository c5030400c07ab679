//! Backup and restore end to end (quality.md T9): a backup taken through `ExportBackup`
//! while clients keep writing (creates, updates, matches reaching AGREED with their
//! capacity reservations), restored offline with `clearinghouse restore`'s code into a
//! fresh directory and served again, is one consistent moment that holds every write
//! acknowledged before the export began; a backup taken at rest restores a service that
//! answers exactly as the original. Restore refuses a non-empty directory and a damaged
//! file; a backup stream is bounded, says it was cut short when the server stops, and
//! stops when its client leaves.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::watch;

use clearinghouse::{
    cli::{
        backup::{RestoreArgs, download, restore},
        verify_audit::verify_trail,
    },
    pb,
};
use clearinghouse_domain::{Match, Need, Offer};
use clearinghouse_storage::{Embedded, Store, StoreOptions, check};

use crate::support::{
    self, Clients, Matcher, TestServer, active_offer, circulated_need, need, offer,
};

/// A write a client saw acknowledged: kind, id, version.
type Acked = (&'static str, String, u64);

/// The acknowledged writes so far; receivers wait on it instead of sleeping.
type Ledger = Arc<watch::Sender<Vec<Acked>>>;

fn ack(ledger: &Ledger, kind: &'static str, id: &str, etag: &str) {
    let version = etag.parse().expect("etag is a version");
    ledger.send_modify(|v| v.push((kind, id.to_owned(), version)));
}

fn usd(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: units,
    })
}

/// Creates needs and retitles each once, until told to stop.
async fn need_writer(mut c: Clients, ledger: Ledger, stop: Arc<AtomicBool>) {
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let n = c
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(need(&format!("Load need {i}"))),
                request_id: String::new(),
            })
            .await
            .expect("create need")
            .into_inner()
            .need
            .expect("need");
        ack(&ledger, "need", &n.id, &n.etag);
        let u = c
            .needs
            .update_need(pb::UpdateNeedRequest {
                need: Some(pb::Need {
                    id: n.id.clone(),
                    etag: n.etag.clone(),
                    title: format!("Load need {i}, revised"),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".to_owned()],
                }),
            })
            .await
            .expect("update need")
            .into_inner()
            .need
            .expect("need");
        ack(&ledger, "need", &u.id, &u.etag);
        i += 1;
    }
}

/// Creates and activates offers, until told to stop.
async fn offer_writer(mut c: Clients, ledger: Ledger, stop: Arc<AtomicBool>) {
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let o = c
            .offers
            .create_offer(pb::CreateOfferRequest {
                offer: Some(offer(&format!("Load programme {i}"))),
                request_id: String::new(),
            })
            .await
            .expect("create offer")
            .into_inner()
            .offer
            .expect("offer");
        ack(&ledger, "offer", &o.id, &o.etag);
        let a = c
            .offers
            .activate_offer(pb::ActivateOfferRequest {
                id: o.id.clone(),
                etag: o.etag.clone(),
            })
            .await
            .expect("activate")
            .into_inner()
            .offer
            .expect("offer");
        ack(&ledger, "offer", &a.id, &a.etag);
        i += 1;
    }
}

/// The parties of the brokering flow.
struct Brokering {
    requester: Clients,
    broker: Clients,
    bm: Matcher,
    rm: Matcher,
    pm: Matcher,
    offer_id: String,
}

/// Circulates needs and takes a match for each to AGREED (capacity reserved from the
/// offer), until told to stop.
async fn match_writer(mut b: Brokering, ledger: Ledger, stop: Arc<AtomicBool>) {
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let mut n = need(&format!("Brokered need {i}"));
        n.estimated_budget = usd(1_000_000);
        let need_id = circulated_need(&mut b.requester, &mut b.broker, n).await;
        let m =
            b.bm.create_match(pb::CreateMatchRequest {
                need_id,
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![pb::Contribution {
                    offer_id: b.offer_id.clone(),
                    amount: usd(1_000_000),
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("propose")
            .into_inner()
            .r#match
            .expect("match");
        ack(&ledger, "match", &m.id, &m.etag);
        let r =
            b.rm.accept_match(pb::AcceptMatchRequest {
                id: m.id.clone(),
                etag: m.etag.clone(),
            })
            .await
            .expect("requester accepts")
            .into_inner()
            .r#match
            .expect("match");
        ack(&ledger, "match", &r.id, &r.etag);
        let p =
            b.pm.accept_match(pb::AcceptMatchRequest {
                id: m.id.clone(),
                etag: r.etag.clone(),
            })
            .await
            .expect("provider accepts")
            .into_inner()
            .r#match
            .expect("match");
        assert_eq!(p.status, pb::MatchStatus::Agreed as i32);
        ack(&ledger, "match", &p.id, &p.etag);
        i += 1;
    }
}

/// The whole audit trail, as an admin lists it.
async fn trail(server: &TestServer) -> Vec<pb::AuditEntry> {
    let mut admin = server.admin().await;
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                page_size: 500,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner();
        out.extend(page.entries);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// Pages through a list RPC, collecting every item.
macro_rules! collect_all {
    ($client:expr, $method:ident, $req:ident, $field:ident) => {{
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = $client
                .$method(pb::$req {
                    page_size: 500,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect(stringify!($method))
                .into_inner();
            out.extend(page.$field);
            if page.next_page_token.is_empty() {
                break out;
            }
            token = page.next_page_token;
        }
    }};
}

/// Everything an admin can read, in list order.
#[allow(clippy::needless_update)] // ListPrincipalsRequest has no filter fields.
async fn everything(server: &TestServer) -> String {
    let mut a = server.admin().await;
    let mut m = server.matcher(&server.admin_key).await;
    let parties = collect_all!(a.parties, list_parties, ListPartiesRequest, parties);
    let needs = collect_all!(a.needs, list_needs, ListNeedsRequest, needs);
    let offers = collect_all!(a.offers, list_offers, ListOffersRequest, offers);
    let matches = collect_all!(m, list_matches, ListMatchesRequest, matches);
    let principals = collect_all!(a.admin, list_principals, ListPrincipalsRequest, principals);
    let policy = a
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner();
    format!(
        "{parties:?}\n{needs:?}\n{offers:?}\n{matches:?}\n{principals:?}\n{policy:?}\n{:?}",
        trail(server).await
    )
}

/// Restores `file` into `dir` as `clearinghouse restore` does, and lets `dir` be served
/// with the original's admin key.
async fn restored(file: &Path, dir: &Path, key_from: &Path, engine: Embedded) {
    let args = RestoreArgs {
        data_dir: dir.to_owned(),
        file: file.to_owned(),
        engine,
    };
    tokio::task::spawn_blocking(move || restore(&args))
        .await
        .expect("restore task")
        .expect("restore");
    let key = clearinghouse::app::seed::BOOTSTRAP_KEY_FILE;
    std::fs::copy(key_from.join(key), dir.join(key)).expect("copy the admin key");
}

fn open_at_rest(dir: &Path) -> Store {
    Store::open(
        dir,
        &StoreOptions {
            cache_capacity_bytes: 16 * 1024 * 1024,
            sync_fault: None,
        },
    )
    .expect("open the restored store")
}

fn version_of(store: &Store, kind: &str, id: &str) -> Option<u64> {
    match kind {
        "need" => store.get::<Need>(id).expect("need").map(|r| r.version),
        "offer" => store.get::<Offer>(id).expect("offer").map(|r| r.version),
        "match" => store.get::<Match>(id).expect("match").map(|r| r.version),
        other => panic!("no reader for {other}"),
    }
}

/// Every offer's committed amount is the sum of the pledges its reserving matches hold.
fn reservations_agree(store: &Store) -> usize {
    let all = |limit| clearinghouse_storage::ListQuery {
        index: None,
        after: None,
        limit,
        max_scan: 1_000_000,
    };
    let matches = store
        .list::<Match>(&all(100_000), &|_| true)
        .expect("matches");
    let mut pledged: BTreeMap<String, i64> = BTreeMap::new();
    let mut agreed = 0;
    for m in matches.items.iter().filter(|m| m.status.reserves()) {
        agreed += 1;
        for c in m.reserving() {
            *pledged.entry(c.offer.0.clone()).or_default() += c.amount.map_or(0, |a| a.minor_units);
        }
    }
    let offers = store
        .list::<Offer>(&all(100_000), &|_| true)
        .expect("offers");
    for o in &offers.items {
        assert_eq!(
            o.committed_minor_units,
            pledged.get(&o.id.0).copied().unwrap_or(0),
            "offer {} commits what its agreed matches reserve",
            o.id
        );
    }
    agreed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_one_consistent_moment_with_every_earlier_write() {
    let (live, live_dir) = support::start().await;
    let rkey = live.key(pb::Role::Requester, "state-KEN").await;
    let pkey = live.key(pb::Role::Provider, "state-FRA").await;
    let bkey = live.key(pb::Role::Broker, "").await;
    let mut fra = live.clients(Some(&pkey)).await;
    let offer_id = active_offer(
        &mut fra,
        pb::Offer {
            budget_ceiling: usd(1_000_000_000),
            funding_modes: vec![pb::FundingMode::SingleDonor as i32],
            ..offer("Capacity for brokered needs")
        },
    )
    .await;

    let ledger: Ledger = Arc::new(watch::channel(Vec::new()).0);
    let stop = Arc::new(AtomicBool::new(false));
    let brokering = Brokering {
        requester: live.clients(Some(&rkey)).await,
        broker: live.clients(Some(&bkey)).await,
        bm: live.matcher(&bkey).await,
        rm: live.matcher(&rkey).await,
        pm: live.matcher(&pkey).await,
        offer_id,
    };
    let writers = vec![
        tokio::spawn(need_writer(
            live.clients(Some(&rkey)).await,
            Arc::clone(&ledger),
            Arc::clone(&stop),
        )),
        tokio::spawn(offer_writer(
            live.clients(Some(&pkey)).await,
            Arc::clone(&ledger),
            Arc::clone(&stop),
        )),
        tokio::spawn(match_writer(
            brokering,
            Arc::clone(&ledger),
            Arc::clone(&stop),
        )),
    ];
    // Every writer has been acknowledged, a match has reached AGREED: export now, while
    // they keep writing.
    let mut seen = ledger.subscribe();
    seen.wait_for(|acked| {
        let agreed = acked.iter().filter(|(k, _, _)| *k == "match").count() >= 3;
        let needs = acked.iter().filter(|(k, _, _)| *k == "need").count() >= 4;
        let offers = acked.iter().filter(|(k, _, _)| *k == "offer").count() >= 4;
        agreed && needs && offers
    })
    .await
    .expect("writers");
    let before: Vec<Acked> = ledger.borrow().clone();
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("under-load.chb");
    let mut admin = live.admin().await;
    let summary = download(&mut admin.admin, &file).await.expect("backup");
    let during = ledger.borrow().len() - before.len();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let live_trail = trail(&live).await;
    assert!(
        live_trail.len() as u64 > summary.header.audit_watermark,
        "the writers kept writing after the snapshot"
    );

    // Restore into a fresh directory and check the store at rest.
    let dir_b = work.path().join("restored");
    restored(&file, &dir_b, live_dir.path(), Embedded::Sled).await;
    let store = open_at_rest(&dir_b);
    let report = check::check(&store).expect("ids, indexes, unique keys, counters, chain agree");
    assert_eq!(report.audit_entries, summary.header.audit_watermark);
    for (kind, id, version) in &before {
        let got = version_of(&store, kind, id)
            .unwrap_or_else(|| panic!("{kind} {id} was acknowledged before the export began"));
        assert!(
            got >= *version,
            "{kind} {id} at {got}, acknowledged at {version}"
        );
    }
    assert!(
        reservations_agree(&store) >= 1,
        "an agreed match was backed up"
    );
    store.close().expect("close");

    // Served again: the trail is a gapless prefix of the live one, hashes included, and
    // the chain goes on from where the backup stopped.
    let b = TestServer::start_in(&dir_b).await;
    let b_trail = trail(&b).await;
    assert_eq!(b_trail.len() as u64, summary.header.audit_watermark);
    assert_eq!(b_trail[..], live_trail[..b_trail.len()]);
    let mut b_admin = b.admin().await;
    for (kind, id, version) in before.iter().filter(|(k, _, _)| *k == "need") {
        let n = b_admin
            .needs
            .get_need(pb::GetNeedRequest { id: id.clone() })
            .await
            .unwrap_or_else(|e| panic!("{kind} {id}: {e}"))
            .into_inner()
            .need
            .expect("need");
        assert!(n.etag.parse::<u64>().expect("etag") >= *version);
    }
    b.key(pb::Role::Analyst, "").await;
    let chain = verify_trail(&mut b_admin.admin).await.expect("verify");
    assert_eq!(chain.broken, None);
    assert_eq!(chain.verified, summary.header.audit_watermark + 1);
    b.stop().await;
    eprintln!(
        "backup under load: {} entries, {} bytes, audit sequence {}; {} writes acknowledged before it, {during} while it ran",
        summary.entries,
        summary.bytes,
        summary.header.audit_watermark,
        before.len()
    );

    // At rest, a backup restores a service that answers exactly as the original.
    let file_c = work.path().join("at-rest.chb");
    download(&mut admin.admin, &file_c)
        .await
        .expect("backup at rest");
    let dir_c = work.path().join("at-rest");
    restored(&file_c, &dir_c, live_dir.path(), Embedded::Sled).await;
    let c = TestServer::start_in(&dir_c).await;
    assert_eq!(everything(&c).await, everything(&live).await);
    c.stop().await;

    // The same backup restores into the other embedded engine, which serves the same.
    let dir_d = work.path().join("at-rest-redb");
    restored(&file_c, &dir_d, live_dir.path(), Embedded::Redb).await;
    assert_eq!(Embedded::found_in(&dir_d), Some(Embedded::Redb));
    let d =
        TestServer::start_configured(&dir_d, clearinghouse::server::RunOptions::default(), |c| {
            c.storage.engine = "redb".to_owned();
        })
        .await;
    assert_eq!(everything(&d).await, everything(&live).await);
    d.stop().await;
    live.stop().await;
}

#[tokio::test]
async fn restore_refuses_a_directory_that_is_not_empty_a_file_that_is_no_backup_and_a_damaged_one()
{
    let (live, _dir) = support::start().await;
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("b.chb");
    let mut admin = live.admin().await;
    download(&mut admin.admin, &file).await.expect("backup");
    live.stop().await;

    let busy = work.path().join("busy");
    std::fs::create_dir_all(&busy).expect("mkdir");
    std::fs::write(busy.join("something"), b"x").expect("write");
    let e = restore(&RestoreArgs {
        engine: Embedded::Sled,
        data_dir: busy.clone(),
        file: file.clone(),
    })
    .expect_err("not empty");
    assert!(e.to_string().contains("not empty"), "{e:#}");

    // Not a backup at all: refused before anything is created.
    let text = work.path().join("notes.txt");
    std::fs::write(&text, b"meeting notes").expect("write");
    let nothing = work.path().join("nothing");
    let e = restore(&RestoreArgs {
        engine: Embedded::Sled,
        data_dir: nothing.clone(),
        file: text,
    })
    .expect_err("not a backup");
    assert!(
        format!("{e:#}").contains("not a Clearinghouse backup"),
        "{e:#}"
    );
    assert!(!nothing.exists(), "nothing was created");

    let mut bytes = std::fs::read(&file).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let damaged = work.path().join("damaged.chb");
    std::fs::write(&damaged, &bytes).expect("write");
    let target = work.path().join("target");
    let e = restore(&RestoreArgs {
        engine: Embedded::Sled,
        data_dir: target.clone(),
        file: damaged,
    })
    .expect_err("damaged");
    assert!(format!("{e:#}").contains("delete it"), "{e:#}");
    // What the refused restore left does not open as a store.
    let e = Store::open(&target, &StoreOptions::default()).expect_err("unfinished");
    assert!(e.to_string().contains("unfinished restore"), "{e}");
}

/// Use cases over a store in `dir` holding the reference data and `needs` needs with
/// 3 KB descriptions, with the shutdown switch of their live streams.
fn app_over(dir: &Path, needs: usize) -> (clearinghouse::app::App, watch::Sender<bool>) {
    use clearinghouse::app::{App, clock, matching::Matching, seed, watch::Live};
    use clearinghouse_domain::{NeedFields, NeedId, Party, PrincipalId, need::NeedContext};
    let store = Arc::new(open_at_rest(dir));
    let now = clock::now();
    seed::ensure_reference_data(&store, dir, now).expect("seed");
    let ken = store.get::<Party>("state-KEN").expect("get").expect("KEN");
    let meta = clearinghouse_storage::WriteMeta {
        actor: PrincipalId::system(),
        action: "need.create".into(),
        now,
        idempotency: None,
    };
    store
        .transaction::<(), ()>(&meta, |txn| {
            for i in 0..needs {
                let n = Need::new(
                    NeedContext {
                        id: NeedId(format!("N{i:05}")),
                        requester: &ken,
                        now,
                        actor: PrincipalId::system(),
                    },
                    NeedFields {
                        title: format!("Need {i}"),
                        description: "Licensing officers' training on control lists. ".repeat(64),
                        area: Some(clearinghouse_domain::Area::ExportTransshipment),
                        sub_areas: vec![clearinghouse_domain::SubArea::ControlLists],
                        assistance_kinds: vec![clearinghouse_domain::AssistanceKind::Training],
                        accepted_funding_modes: vec![
                            clearinghouse_domain::FundingMode::SingleDonor,
                        ],
                        ..NeedFields::default()
                    },
                )
                .expect("valid need");
                txn.create(&n)?;
            }
            Ok(())
        })
        .expect("needs");
    let matching = Matching::load(&store, now).expect("index");
    let (stop, stopping) = watch::channel(false);
    let app = App::new(store, Arc::new(matching), Arc::new(Live::new(stopping))).expect("app");
    (app, stop)
}

fn admin_principal() -> clearinghouse_domain::Principal {
    use clearinghouse_domain::{Principal, PrincipalId, Role, Timestamp};
    Principal {
        id: PrincipalId("test-admin".into()),
        version: 1,
        display_name: "test admin".into(),
        role: Role::Admin,
        party: None,
        key_hash: [0; 32],
        expires_at: None,
        revoked_at: None,
        created_at: Timestamp(0),
        created_by: PrincipalId::system(),
    }
}

#[tokio::test]
async fn a_backup_stream_ends_shutting_down_after_its_buffered_chunks_when_the_server_stops() {
    use clearinghouse::app::backup::{
        BackupPart, CHANNEL_CAPACITY, CHUNKS_IN_FLIGHT, ExportFailure,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, stop) = app_over(dir.path(), 200);
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
    let export = tokio::spawn({
        let app = app.clone();
        async move { app.export_backup(admin_principal(), tx).await }
    });
    // Nothing is read yet: the backup (well over the buffer) cannot have finished.
    stop.send(true).expect("stop");
    let mut chunks = 0;
    let end = loop {
        match rx.recv().await.expect("the stream says how it ends") {
            Ok(BackupPart::Chunk(_)) => chunks += 1,
            Ok(BackupPart::Last { .. }) => panic!("a backup cut short must not look complete"),
            Err(e) => break e,
        }
    };
    assert!(matches!(end, ExportFailure::ShuttingDown), "{end:?}");
    assert!(
        chunks <= CHUNKS_IN_FLIGHT,
        "the export waited for its client"
    );
    assert!(rx.recv().await.is_none(), "nothing follows the end");
    export.await.expect("the export ends");
}

#[tokio::test]
async fn a_backup_stream_whose_client_leaves_stops_the_export() {
    use clearinghouse::app::backup::CHANNEL_CAPACITY;
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, _stop) = app_over(dir.path(), 200);
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY);
    let export = tokio::spawn({
        let app = app.clone();
        async move { app.export_backup(admin_principal(), tx).await }
    });
    let first = rx.recv().await.expect("a first chunk");
    assert!(first.is_ok());
    drop(rx);
    export
        .await
        .expect("the export ends when its client leaves");
    // The store is still writable and readable afterwards.
    assert!(app.store.is_writable());
}
