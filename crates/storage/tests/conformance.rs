//! The storage conformance suite: the behaviour every engine must have, written against
//! the public `Store` API only and run once per engine (sled, and the in-memory engine
//! whose transactions really run concurrently).

mod support;

#[path = "conformance/every_kind.rs"]
mod every_kind;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Barrier},
};

use proptest::{prelude::*, test_runner::TestRunner};

use clearinghouse_domain::{
    FeedbackEntry, Money, Need, NeedFeedback, NeedId, NeedStatus, Offer, OfferStatus, PrincipalId,
    matches, transition::Actor,
};
use clearinghouse_storage::{
    AuditFilter, Created, Error, IdempotencyKey, ListQuery, Store, TxError, UpdateError, WriteMeta,
    index,
};
use support::{Harness, fixtures::*, meta};

fn all_query(limit: usize) -> ListQuery<'static> {
    ListQuery {
        index: None,
        after: None,
        limit,
        max_scan: 100_000,
    }
}

fn ok<R>(_: &R) -> Result<(), ()> {
    Ok(())
}

fn audit_trail(store: &Store, id: &str) -> Vec<(String, u64, u64)> {
    store
        .list_audit(
            &AuditFilter {
                resource_id: Some(id.into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .expect("audit")
        .items
        .iter()
        .map(|e| (e.action.clone(), e.before_version, e.after_version))
        .collect()
}

fn create_get_update_and_audit_in_one_transaction(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    let n = need("N1", &ken, "first");
    let created = store
        .create(n.clone(), &meta("need.create"))
        .expect("create");
    assert_eq!(created, Created::New(n.clone()));
    assert_eq!(store.get::<Need>("N1").expect("get"), Some(n.clone()));
    let submitted: Need = store
        .update("N1", Some(1), &meta("need.submit"), ok, |cur: &Need| {
            cur.submit(Actor::Requester, &actor(), T0).map_err(|_| ())
        })
        .expect("update");
    assert_eq!(submitted.version, 2);
    assert_eq!(submitted.status, NeedStatus::Submitted);
    for (status, want) in [("DRAFT", 0), ("SUBMITTED", 1)] {
        let page = store
            .list::<Need>(
                &ListQuery {
                    index: Some((index::STATUS, status)),
                    ..all_query(10)
                },
                &|_| true,
            )
            .expect("list");
        assert_eq!(page.items.len(), want, "status index {status}");
    }
    assert_eq!(
        audit_trail(&store, "N1"),
        vec![("need.create".into(), 0, 1), ("need.submit".into(), 1, 2)]
    );
}

fn stale_version_is_refused_and_changes_nothing(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "t"), &meta("c"))
        .expect("create");
    let err = store
        .update::<Need, ()>("N1", Some(7), &meta("u"), ok, |n| Ok(n.clone()))
        .expect_err("stale");
    assert!(matches!(
        err,
        UpdateError::Store(Error::StaleVersion {
            expected: 7,
            actual: 1,
            ..
        })
    ));
    assert_eq!(
        store.get::<Need>("N1").expect("get").map(|n| n.version),
        Some(1)
    );
    assert_eq!(audit_trail(&store, "N1").len(), 1);
}

fn access_is_checked_before_the_version(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "t"), &meta("c"))
        .expect("create");
    // A caller who may not see the record gets its own refusal, never STALE_VERSION
    // (which would tell it the record exists and at which version).
    let err = store
        .update::<Need, &str>(
            "N1",
            Some(7),
            &meta("u"),
            |_| Err("hidden"),
            |n| Ok(n.clone()),
        )
        .expect_err("hidden");
    assert!(matches!(err, UpdateError::Rejected("hidden")));
    let missing = store
        .update::<Need, &str>(
            "N9",
            Some(7),
            &meta("u"),
            |_| Err("hidden"),
            |n| Ok(n.clone()),
        )
        .expect_err("missing");
    assert!(matches!(
        missing,
        UpdateError::Store(Error::NotFound { .. })
    ));
}

fn a_rejected_change_writes_nothing(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "t"), &meta("c"))
        .expect("create");
    let err = store
        .update::<Need, &str>("N1", None, &meta("u"), |_| Ok(()), |_| Err("no"))
        .expect_err("rejected");
    assert!(matches!(err, UpdateError::Rejected("no")));
    let audit = store
        .list_audit(&AuditFilter::default(), None, 10)
        .expect("audit");
    assert_eq!(audit.items.len(), 1);
}

fn idem(hash: u8) -> WriteMeta {
    WriteMeta {
        idempotency: Some(IdempotencyKey {
            scope: "p-test".into(),
            request_id: "r-1".into(),
            payload_hash: [hash; 32],
        }),
        ..meta("need.create")
    }
}

fn idempotent_create_replays_and_conflicting_payload_is_refused(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    let first = store
        .create(need("N1", &ken, "t"), &idem(1))
        .expect("first");
    assert!(matches!(first, Created::New(_)));
    // A retry carries a fresh server id but the same request id and payload.
    let again = store
        .create(need("N2", &ken, "t"), &idem(1))
        .expect("retry");
    assert_eq!(again, Created::Replayed(need("N1", &ken, "t")));
    assert_eq!(store.get::<Need>("N2").expect("get"), None);
    let err = store
        .create(need("N3", &ken, "t"), &idem(2))
        .expect_err("conflict");
    assert!(matches!(err, Error::IdempotencyConflict { .. }));
    let store = h.reopen(store);
    let after = store
        .create(need("N4", &ken, "t"), &idem(1))
        .expect("replay");
    assert!(matches!(after, Created::Replayed(n) if n.id.0 == "N1"));
    assert_eq!(store.count::<Need>().expect("count"), 1);
}

fn external_id_is_unique_per_party(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    let fra = state("FRA");
    let with_ext = |id: &str, p, ext: &str| {
        let mut n = need(id, p, "t");
        n.fields.external_id = ext.into();
        n
    };
    store
        .create(with_ext("N1", &ken, "ext-1"), &meta("c"))
        .expect("a");
    match store.create(with_ext("N2", &ken, "ext-1"), &meta("c")) {
        Err(Error::UniqueTaken { existing_id, .. }) => assert_eq!(existing_id, "N1"),
        other => panic!("expected UniqueTaken, got {other:?}"),
    }
    store
        .create(with_ext("N3", &fra, "ext-1"), &meta("c"))
        .expect("another party may reuse it");
    store
        .create(with_ext("N4", &ken, "ext-2"), &meta("c"))
        .expect("another id");
    // Changing an external id moves the unique key; taking a used one is refused.
    let taken = store
        .update::<Need, ()>("N4", None, &meta("u"), ok, |n| {
            let mut n = n.clone();
            n.fields.external_id = "ext-1".into();
            Ok(n)
        })
        .expect_err("taken");
    assert!(matches!(
        taken,
        UpdateError::Store(Error::UniqueTaken { .. })
    ));
    store
        .update::<Need, ()>("N1", None, &meta("u"), ok, |n| {
            let mut n = n.clone();
            n.fields.external_id = "ext-9".into();
            Ok(n)
        })
        .expect("moved");
    store
        .create(with_ext("N5", &ken, "ext-1"), &meta("c"))
        .expect("ext-1 is free again");
}

fn oversized_values_are_refused(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    let mut n = need("N1", &ken, "t");
    n.fields.description = "x".repeat(70 * 1024);
    assert!(matches!(
        store.create(n, &meta("c")),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(store.count::<Need>().expect("count"), 0);
}

fn pages_follow_creation_order_and_end_with_no_cursor(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    for i in 0..7 {
        store
            .create(need(&format!("Z{i}"), &ken, &format!("n{i}")), &meta("c"))
            .expect("create");
    }
    for idx in [None, Some((index::STATUS, "DRAFT"))] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list::<Need>(
                    &ListQuery {
                        after,
                        index: idx,
                        ..all_query(3)
                    },
                    &|_| true,
                )
                .expect("list");
            seen.extend(page.items.iter().map(|n| n.fields.title.clone()));
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        let want: Vec<String> = (0..7).map(|i| format!("n{i}")).collect();
        assert_eq!(seen, want);
    }
}

fn a_short_page_resumes_after_what_it_examined(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    for i in 0..10 {
        store
            .create(need(&format!("Z{i}"), &ken, &format!("n{i}")), &meta("c"))
            .expect("create");
    }
    // Only odd titles pass; each call examines at most 3 records.
    let keep = |n: &Need| n.fields.title.ends_with(['1', '3', '5', '7', '9']);
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..20 {
        let page = store
            .list::<Need>(
                &ListQuery {
                    after,
                    max_scan: 3,
                    ..all_query(10)
                },
                &keep,
            )
            .expect("list");
        seen.extend(page.items.iter().map(|n| n.fields.title.clone()));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec!["n1", "n3", "n5", "n7", "n9"]);
}

fn records_and_counters_survive_a_reopen(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store.create(need("N1", &ken, "a"), &meta("c")).expect("1");
    store.create(offer("O1", "org-x"), &meta("c")).expect("o");
    let store = h.reopen(store);
    store.create(need("N2", &ken, "b"), &meta("c")).expect("2");
    assert_eq!(store.count::<Need>().expect("count"), 2);
    let all = store.list::<Need>(&all_query(10), &|_| true).expect("list");
    let ids: Vec<&str> = all.items.iter().map(|n| n.id.0.as_str()).collect();
    assert_eq!(
        ids,
        vec!["N1", "N2"],
        "creation order continues after a reopen"
    );
    let seqs: Vec<u64> = store
        .list_audit(&AuditFilter::default(), None, 10)
        .expect("audit")
        .items
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
}

fn feedback(id: &str, parent: &str) -> FeedbackEntry {
    FeedbackEntry {
        id: id.into(),
        version: 1,
        need: NeedId(parent.into()),
        feedback: NeedFeedback {
            text: format!("entry {id}"),
            at: T0,
            author: actor(),
        },
    }
}

fn a_cross_kind_transaction_is_all_or_nothing(h: &mut impl Harness) {
    let store = h.open();
    let ken = state("KEN");
    store.create(need("N1", &ken, "a"), &meta("c")).expect("n");
    store.create(offer("O1", "org-x"), &meta("c")).expect("o");
    let run = |commit: bool| {
        store.transaction::<(), &str>(&meta("x"), |txn| {
            txn.update::<Need, &str>("N1", None, &|_| Ok(()), &|n| {
                let mut n = n.clone();
                n.fields.title = "changed".into();
                Ok(n)
            })?;
            txn.update::<Offer, &str>("O1", None, &|_| Ok(()), &|o| {
                o.activate(Actor::Provider, &actor(), T0)
                    .map_err(|_| "activate")
            })?;
            txn.create::<FeedbackEntry, &str>(&feedback("F1", "N1"))?;
            if commit {
                Ok(())
            } else {
                Err(TxError::rejected("changed my mind"))
            }
        })
    };
    assert!(matches!(
        run(false),
        Err(UpdateError::Rejected("changed my mind"))
    ));
    assert_eq!(
        store.get::<Need>("N1").expect("n").map(|n| n.version),
        Some(1)
    );
    assert_eq!(
        store.get::<Offer>("O1").expect("o").map(|o| o.status),
        Some(OfferStatus::Draft)
    );
    assert!(store.get::<FeedbackEntry>("F1").expect("f").is_none());
    assert_eq!(
        store
            .list_audit(&AuditFilter::default(), None, 10)
            .expect("a")
            .items
            .len(),
        2
    );
    run(true).expect("commit");
    assert_eq!(
        store.get::<Need>("N1").expect("n").map(|n| n.version),
        Some(2)
    );
    assert_eq!(
        store.get::<Offer>("O1").expect("o").map(|o| o.status),
        Some(OfferStatus::Active)
    );
    assert!(store.get::<FeedbackEntry>("F1").expect("f").is_some());
    assert_eq!(
        store
            .list_audit(&AuditFilter::default(), None, 10)
            .expect("a")
            .items
            .len(),
        5
    );
}

fn a_transaction_sees_its_own_writes_in_index_scans(h: &mut impl Harness) {
    let store = h.open();
    store.create(feedback("F0", "N1"), &meta("c")).expect("f0");
    let seen = store
        .transaction::<Vec<String>, ()>(&meta("x"), |txn| {
            txn.create::<FeedbackEntry, ()>(&feedback("F1", "N1"))?;
            txn.create::<FeedbackEntry, ()>(&feedback("F2", "N2"))?;
            let under: Vec<FeedbackEntry> = txn.list_by_index(index::NEED, "N1")?;
            Ok(under.into_iter().map(|f| f.id).collect())
        })
        .expect("txn");
    assert_eq!(seen, vec!["F0", "F1"]);
}

/// Many threads each try to reserve from one offer (budget and engagements) in a
/// transaction that reads the offer and counts its reservation records by index scan.
/// However the engine interleaves them, no reservation is lost or doubled and the offer
/// is never over-committed.
fn capacity_is_never_over_committed_under_concurrent_reservations(h: &mut impl Harness) {
    let store = Arc::new(h.open());
    let mut o = offer("O1", "org-x");
    o.fields.budget_ceiling = Some(Money {
        currency: clearinghouse_domain::CurrencyCode::USD,
        minor_units: 10_000,
    });
    o.fields.max_engagements = 6;
    store.create(o, &meta("c")).expect("offer");
    store
        .update::<Offer, ()>("O1", None, &meta("a"), ok, |o| {
            o.activate(Actor::Provider, &actor(), T0).map_err(|_| ())
        })
        .expect("activate");
    let threads = 8;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let mut won = 0;
                for i in 0..3 {
                    let id = format!("R{t}-{i}");
                    let r = store.transaction::<(), String>(&meta("reserve"), |txn| {
                        let held: Vec<FeedbackEntry> = txn.list_by_index(index::NEED, "O1")?;
                        let engaged = u32::try_from(held.len()).unwrap_or(u32::MAX);
                        // Hold the transaction open a moment between its read and its
                        // write, so that on a busy machine the threads still overlap.
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        let amount = Money {
                            currency: clearinghouse_domain::CurrencyCode::USD,
                            minor_units: 1_500,
                        };
                        txn.update::<Offer, String>("O1", None, &|_| Ok(()), &|o| {
                            matches::reserve(o, Some(amount), engaged, &actor(), T0)
                                .map_err(|e| e.to_string())
                        })?;
                        txn.create::<FeedbackEntry, String>(&feedback(&id, "O1"))?;
                        Ok(())
                    });
                    match r {
                        Ok(()) => won += 1,
                        // Refused by the offer's rules: no capacity left, no engagement
                        // left, or already full.
                        Err(UpdateError::Rejected(_)) => {}
                        Err(e) => panic!("storage error {e:?}"),
                    }
                }
                won
            })
        })
        .collect();
    let won: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let o = store.get::<Offer>("O1").expect("get").expect("offer");
    // 10,000 / 1,500 = 6 reservations fit the budget, and 6 engagements are allowed.
    assert_eq!(won, 6, "exactly as many reservations as fit");
    assert_eq!(o.committed_minor_units, 9_000);
    assert_eq!(o.status, OfferStatus::FullyCommitted);
    let held = store
        .list::<FeedbackEntry>(
            &ListQuery {
                index: Some((index::NEED, "O1")),
                ..all_query(100)
            },
            &|_| true,
        )
        .expect("list");
    assert_eq!(held.items.len(), 6);
    if h.concurrent() {
        assert!(
            h.conflicts() > 0,
            "the reservations really ran concurrently (some had to run again)"
        );
    }
}

/// Audit sequences are assigned in commit order with no gap, whatever the concurrency.
fn audit_sequences_follow_commit_order_without_gaps(h: &mut impl Harness) {
    let store = Arc::new(h.open());
    let ken = state("KEN");
    let threads = 6;
    let per = 10;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, start, ken) = (Arc::clone(&store), Arc::clone(&start), ken.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..per {
                    let id = format!("N{t}-{i}");
                    store
                        .create(need(&id, &ken, "t"), &meta("c"))
                        .expect("create");
                    if i % 2 == 0 {
                        store
                            .update::<Need, ()>(&id, Some(1), &meta("u"), ok, |n| {
                                let mut n = n.clone();
                                n.fields.title = "u".into();
                                Ok(n)
                            })
                            .expect("update");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let all = store
        .list_audit(&AuditFilter::default(), None, 10_000)
        .expect("audit")
        .items;
    let total = threads * per + threads * per / 2;
    assert_eq!(all.len(), total);
    let seqs: Vec<u64> = all.iter().map(|e| e.sequence).collect();
    let want: Vec<u64> = (1..=u64::try_from(total).expect("fits")).collect();
    assert_eq!(seqs, want, "sequences 1..n in order, no gaps");
    // Each record's own entries are in version order.
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &all {
        let prev = last.insert(e.resource_id.as_str(), e.after_version);
        assert_eq!(prev.unwrap_or(0), e.before_version, "{}", e.resource_id);
    }
    assert_eq!(
        store.audit_watermark().expect("watermark"),
        u64::try_from(total).expect("fits")
    );
}

// ------------------------------------------------------------------ model-based test

#[derive(Debug, Clone, Copy)]
enum Etag {
    None,
    Current,
    Stale,
}

#[derive(Debug, Clone)]
enum Op {
    CreateNeed {
        i: u8,
        ext: Option<u8>,
        request: Option<(u8, u8)>,
    },
    CreateOffer(u8),
    Submit(u8, Etag),
    Retitle(u8, u8, Etag),
    SetExternal(u8, u8),
    ActivateWithNeed {
        offer: u8,
        need: u8,
        commit: bool,
    },
    Page {
        size: u8,
        submitted_only: bool,
    },
    Reopen,
}

fn etag() -> impl Strategy<Value = Etag> {
    prop_oneof![Just(Etag::None), Just(Etag::Current), Just(Etag::Stale)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..10, proptest::option::of(0u8..4), proptest::option::of((0u8..4, 0u8..2)))
            .prop_map(|(i, ext, request)| Op::CreateNeed { i, ext, request }),
        2 => (0u8..6).prop_map(Op::CreateOffer),
        2 => (0u8..10, etag()).prop_map(|(i, e)| Op::Submit(i, e)),
        3 => (0u8..10, 0u8..4, etag()).prop_map(|(i, t, e)| Op::Retitle(i, t, e)),
        1 => (0u8..10, 0u8..4).prop_map(|(i, x)| Op::SetExternal(i, x)),
        2 => (0u8..6, 0u8..10, any::<bool>()).prop_map(|(offer, need, commit)| Op::ActivateWithNeed { offer, need, commit }),
        1 => (1u8..5, any::<bool>()).prop_map(|(size, submitted_only)| Op::Page { size, submitted_only }),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    needs: BTreeMap<String, Need>,
    order: Vec<String>,
    offers: BTreeMap<String, Offer>,
    /// External id -> need id.
    unique: BTreeMap<String, String>,
    /// Request id -> (payload, need id).
    requests: BTreeMap<u8, (u8, String)>,
    audits: usize,
}

fn expected_version(cur: u64, e: Etag) -> Option<u64> {
    match e {
        Etag::None => None,
        Etag::Current => Some(cur),
        Etag::Stale => Some(cur + 5),
    }
}

fn apply(store: &Store, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let ken = state("KEN");
    match op {
        Op::CreateNeed { i, ext, request } => {
            let id = format!("N{i:02}");
            let mut n = need(&id, &ken, "t0");
            if let Some(x) = ext {
                n.fields.external_id = format!("ext-{x}");
            }
            let m = WriteMeta {
                idempotency: request.map(|(rid, payload)| IdempotencyKey {
                    scope: "p".into(),
                    request_id: format!("r{rid}"),
                    payload_hash: [payload; 32],
                }),
                ..meta("c")
            };
            let r = store.create(n.clone(), &m);
            if let Some((rid, payload)) = request
                && let Some((p, first)) = model.requests.get(rid)
            {
                if p == payload {
                    let replayed = r.expect("replay");
                    prop_assert!(
                        matches!(&replayed, Created::Replayed(x) if x.id.0 == *first),
                        "unexpected result"
                    );
                } else {
                    prop_assert!(
                        matches!(r, Err(Error::IdempotencyConflict { .. })),
                        "unexpected result"
                    );
                }
                return Ok(());
            }
            if model.needs.contains_key(&id) {
                prop_assert!(matches!(r, Err(Error::AlreadyExists { .. })), "{:?}", r);
            } else if let Some(holder) = ext.and_then(|x| model.unique.get(&format!("ext-{x}"))) {
                prop_assert!(
                    matches!(&r, Err(Error::UniqueTaken { existing_id, .. }) if existing_id == holder),
                    "{:?}",
                    r
                );
            } else {
                prop_assert!(matches!(r, Ok(Created::New(_))), "{:?}", r);
                if let Some(x) = ext {
                    model.unique.insert(format!("ext-{x}"), id.clone());
                }
                if let Some((rid, payload)) = request {
                    model.requests.insert(*rid, (*payload, id.clone()));
                }
                model.needs.insert(id.clone(), n);
                model.order.push(id);
                model.audits += 1;
            }
        }
        Op::CreateOffer(i) => {
            let id = format!("O{i}");
            let r = store.create(offer(&id, "org-x"), &meta("c"));
            match model.offers.entry(id) {
                std::collections::btree_map::Entry::Occupied(_) => prop_assert!(
                    matches!(r, Err(Error::AlreadyExists { .. })),
                    "unexpected result"
                ),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    prop_assert!(r.is_ok());
                    slot.insert(offer(&format!("O{i}"), "org-x"));
                    model.audits += 1;
                }
            }
        }
        Op::Submit(i, e) | Op::Retitle(i, _, e) => {
            let id = format!("N{i:02}");
            let title = match op {
                Op::Retitle(_, t, _) => Some(format!("t{t}")),
                _ => None,
            };
            let change = |n: &Need| -> Result<Need, ()> {
                match &title {
                    Some(t) => {
                        let mut n = n.clone();
                        n.fields.title.clone_from(t);
                        Ok(n)
                    }
                    None => n
                        .submit(Actor::Requester, &PrincipalId("x".into()), T0)
                        .map_err(|_| ()),
                }
            };
            let cur_version = model.needs.get(&id).map_or(1, |n| n.version);
            let r = store.update::<Need, ()>(
                &id,
                expected_version(cur_version, *e),
                &meta("u"),
                ok,
                change,
            );
            match model.needs.get_mut(&id) {
                None => prop_assert!(
                    matches!(r, Err(UpdateError::Store(Error::NotFound { .. }))),
                    "expected NotFound"
                ),
                Some(_) if matches!(e, Etag::Stale) => {
                    prop_assert!(
                        matches!(r, Err(UpdateError::Store(Error::StaleVersion { .. }))),
                        "unexpected result"
                    );
                }
                Some(m) => match change(m) {
                    Ok(mut next) => {
                        next.version = m.version + 1;
                        prop_assert_eq!(r.expect("ok"), next.clone());
                        *m = next;
                        model.audits += 1;
                    }
                    Err(()) => prop_assert!(matches!(r, Err(UpdateError::Rejected(())))),
                },
            }
        }
        Op::SetExternal(i, x) => {
            let id = format!("N{i:02}");
            let ext = format!("ext-{x}");
            let r = store.update::<Need, ()>(&id, None, &meta("x"), ok, |n| {
                let mut n = n.clone();
                n.fields.external_id.clone_from(&ext);
                Ok(n)
            });
            match model.needs.get_mut(&id) {
                None => prop_assert!(r.is_err()),
                Some(m) => match model.unique.get(&ext) {
                    Some(holder) if *holder != id => {
                        prop_assert!(
                            matches!(r, Err(UpdateError::Store(Error::UniqueTaken { .. }))),
                            "unexpected result"
                        );
                    }
                    _ => {
                        if !m.fields.external_id.is_empty() {
                            model.unique.remove(&m.fields.external_id);
                        }
                        model.unique.insert(ext.clone(), id.clone());
                        m.fields.external_id = ext;
                        m.version += 1;
                        prop_assert_eq!(r.expect("ok"), m.clone());
                        model.audits += 1;
                    }
                },
            }
        }
        Op::ActivateWithNeed {
            offer,
            need,
            commit,
        } => {
            let (oid, nid) = (format!("O{offer}"), format!("N{need:02}"));
            let r = store.transaction::<(), &str>(&meta("x"), |txn| {
                txn.update::<Offer, &str>(&oid, None, &|_| Ok(()), &|o| {
                    let mut o = o.clone();
                    o.fields.description = format!("with {nid}");
                    Ok(o)
                })?;
                txn.update::<Need, &str>(&nid, None, &|_| Ok(()), &|n| {
                    let mut n = n.clone();
                    n.fields.public_summary = format!("with {oid}");
                    Ok(n)
                })?;
                if *commit {
                    Ok(())
                } else {
                    Err(TxError::rejected("no"))
                }
            });
            match (model.offers.get_mut(&oid), model.needs.get_mut(&nid)) {
                (Some(o), Some(n)) if *commit => {
                    r.expect("commit");
                    o.fields.description = format!("with {nid}");
                    o.version += 1;
                    n.fields.public_summary = format!("with {oid}");
                    n.version += 1;
                    model.audits += 2;
                }
                _ => prop_assert!(r.is_err()),
            }
        }
        Op::Page {
            size,
            submitted_only,
        } => {
            let want: Vec<&str> = model
                .order
                .iter()
                .filter(|id| !submitted_only || model.needs[*id].status == NeedStatus::Submitted)
                .map(String::as_str)
                .collect();
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .list::<Need>(
                        &ListQuery {
                            index: submitted_only.then_some((index::STATUS, "SUBMITTED")),
                            after,
                            limit: usize::from(*size),
                            max_scan: 100_000,
                        },
                        &|_| true,
                    )
                    .expect("list");
                prop_assert!(page.items.len() <= usize::from(*size));
                got.extend(page.items.into_iter().map(|n| n.id.0));
                match page.next {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
            prop_assert_eq!(got, want);
        }
        Op::Reopen => {}
    }
    Ok(())
}

fn check(store: &Store, model: &Model) -> Result<(), TestCaseError> {
    let all = store
        .list::<Need>(&all_query(1000), &|_| true)
        .expect("list");
    let got: BTreeMap<String, Need> = all.items.into_iter().map(|n| (n.id.0.clone(), n)).collect();
    prop_assert_eq!(&got, &model.needs);
    for (id, o) in &model.offers {
        let stored = store.get::<Offer>(id).expect("get");
        prop_assert_eq!(stored.as_ref(), Some(o));
    }
    // Every index holds exactly the ids the model says.
    let ids = |idx: &str, val: &str| -> BTreeSet<String> {
        store
            .list::<Need>(
                &ListQuery {
                    index: Some((idx, val)),
                    ..all_query(1000)
                },
                &|_| true,
            )
            .expect("list")
            .items
            .into_iter()
            .map(|n| n.id.0)
            .collect()
    };
    for status in ["DRAFT", "SUBMITTED"] {
        let want: BTreeSet<String> = model
            .needs
            .values()
            .filter(|n| n.status.code() == status)
            .map(|n| n.id.0.clone())
            .collect();
        prop_assert_eq!(ids(index::STATUS, status), want);
    }
    let everyone: BTreeSet<String> = model.needs.keys().cloned().collect();
    let ken = need("N", &state("KEN"), "t").requester.0;
    prop_assert_eq!(ids(index::PARTY, &ken), everyone.clone());
    let control_lists = clearinghouse_domain::SubArea::ControlLists.code();
    prop_assert_eq!(ids(index::SUB_AREA, control_lists), everyone);
    let trail = store
        .list_audit(&AuditFilter::default(), None, 10_000)
        .expect("audit");
    prop_assert_eq!(trail.items.len(), model.audits);
    prop_assert!(
        trail
            .items
            .windows(2)
            .all(|w| w[0].sequence < w[1].sequence)
    );
    Ok(())
}

/// Random creates (with external ids and request ids), versioned updates, cross-kind
/// transactions, pagination and close-and-reopen cycles agree with an in-memory model:
/// records, versions, every index by ids, unique keys, idempotency and the audit trail.
fn store_agrees_with_an_in_memory_model<H: Harness>(_: &mut H) {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..60), |ops| {
            // A fresh engine per case.
            let mut h = H::fresh();
            let mut store = Some(h.open());
            let mut model = Model::default();
            for op in &ops {
                if matches!(op, Op::Reopen) {
                    let s = store.take().expect("open");
                    check(&s, &model)?;
                    store = Some(h.reopen(s));
                }
                apply(store.as_ref().expect("open"), &mut model, op)?;
            }
            check(store.as_ref().expect("open"), &model)
        })
        .expect("model");
}

per_engine!(
    create_get_update_and_audit_in_one_transaction,
    stale_version_is_refused_and_changes_nothing,
    access_is_checked_before_the_version,
    a_rejected_change_writes_nothing,
    idempotent_create_replays_and_conflicting_payload_is_refused,
    external_id_is_unique_per_party,
    oversized_values_are_refused,
    pages_follow_creation_order_and_end_with_no_cursor,
    a_short_page_resumes_after_what_it_examined,
    records_and_counters_survive_a_reopen,
    a_cross_kind_transaction_is_all_or_nothing,
    a_transaction_sees_its_own_writes_in_index_scans,
    capacity_is_never_over_committed_under_concurrent_reservations,
    audit_sequences_follow_commit_order_without_gaps,
    store_agrees_with_an_in_memory_model,
);
