//! Storage behaviour, written against the public `Store` API only, so any second engine
//! must pass the same tests.

mod fixtures;

use std::{
    collections::BTreeMap,
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use proptest::prelude::*;

use clearinghouse_domain::{Need, NeedStatus, Offer, Party, PrincipalId, transition::Actor};
use clearinghouse_storage::{
    AuditFilter, Created, Error, IdempotencyKey, ListQuery, Store, StoreOptions, SyncFault,
    UpdateError, WriteMeta, index,
};
use fixtures::*;

fn meta(action: &str) -> WriteMeta {
    WriteMeta {
        actor: actor(),
        action: action.into(),
        now: T0,
        idempotency: None,
    }
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(
        dir,
        &StoreOptions {
            cache_capacity_bytes: 16 * 1024 * 1024,
            sync_fault: None,
        },
    )
    .expect("open store")
}

fn all_query(limit: usize) -> ListQuery<'static> {
    ListQuery {
        index: None,
        after: None,
        limit,
        max_scan: 100_000,
    }
}

#[test]
fn sled_db_file_exists_where_the_fsync_expects_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(
        dir.path().join("db").is_file(),
        "sled 0.34.7 layout changed"
    );
    store.close().expect("close");
}

#[test]
fn create_get_update_and_audit_in_one_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
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
        .update("N1", Some(1), &meta("need.submit"), |cur: &Need| {
            cur.submit(Actor::Requester, &actor(), T0)
        })
        .expect("update");
    assert_eq!(submitted.version, 2);
    assert_eq!(submitted.status, NeedStatus::Submitted);

    // The status index follows the record.
    let drafts = store
        .list::<Need>(
            &ListQuery {
                index: Some((index::STATUS, "DRAFT")),
                ..all_query(10)
            },
            &|_| true,
        )
        .expect("list");
    assert!(drafts.items.is_empty());
    let subs = store
        .list::<Need>(
            &ListQuery {
                index: Some((index::STATUS, "SUBMITTED")),
                ..all_query(10)
            },
            &|_| true,
        )
        .expect("list");
    assert_eq!(subs.items.len(), 1);

    let audit = store
        .list_audit(
            &AuditFilter {
                resource_id: Some("N1".into()),
                ..AuditFilter::default()
            },
            None,
            10,
        )
        .expect("audit");
    let trail: Vec<(String, u64, u64)> = audit
        .items
        .iter()
        .map(|e| (e.action.clone(), e.before_version, e.after_version))
        .collect();
    assert_eq!(
        trail,
        vec![("need.create".into(), 0, 1), ("need.submit".into(), 1, 2)]
    );
}

#[test]
fn stale_version_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "t"), &meta("c"))
        .expect("create");
    let err = store
        .update::<Need, ()>("N1", Some(7), &meta("u"), |n| Ok(n.clone()))
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
}

#[test]
fn a_rejected_change_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    store
        .create(need("N1", &ken, "t"), &meta("c"))
        .expect("create");
    let err = store
        .update::<Need, &str>("N1", None, &meta("u"), |_| Err("no"))
        .expect_err("rejected");
    assert!(matches!(err, UpdateError::Rejected("no")));
    let audit = store
        .list_audit(&AuditFilter::default(), None, 10)
        .expect("audit");
    assert_eq!(audit.items.len(), 1);
}

#[test]
fn idempotent_create_replays_and_conflicting_payload_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    let key = |hash: u8| WriteMeta {
        idempotency: Some(IdempotencyKey {
            scope: "p-test".into(),
            request_id: "r-1".into(),
            payload_hash: [hash; 32],
        }),
        ..meta("need.create")
    };
    let first = store.create(need("N1", &ken, "t"), &key(1)).expect("first");
    assert!(matches!(first, Created::New(_)));
    // A retry carries a fresh server id but the same request id and payload.
    let again = store.create(need("N2", &ken, "t"), &key(1)).expect("retry");
    assert_eq!(again, Created::Replayed(need("N1", &ken, "t")));
    assert_eq!(store.get::<Need>("N2").expect("get"), None);
    let err = store
        .create(need("N3", &ken, "t"), &key(2))
        .expect_err("conflict");
    assert!(matches!(err, Error::IdempotencyConflict { .. }));
    assert_eq!(store.count::<Need>().expect("count"), 1);
}

#[test]
fn external_id_is_unique_per_party() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    let fra = state("FRA");
    let mut a = need("N1", &ken, "t");
    a.fields.external_id = "ext-1".into();
    let mut b = need("N2", &ken, "t");
    b.fields.external_id = "ext-1".into();
    let mut c = need("N3", &fra, "t");
    c.fields.external_id = "ext-1".into();
    store.create(a, &meta("c")).expect("a");
    match store.create(b, &meta("c")) {
        Err(Error::UniqueTaken { existing_id, .. }) => assert_eq!(existing_id, "N1"),
        other => panic!("expected UniqueTaken, got {other:?}"),
    }
    store
        .create(c, &meta("c"))
        .expect("another party may reuse it");
}

#[test]
fn oversized_values_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    let mut n = need("N1", &ken, "t");
    n.fields.description = "x".repeat(70 * 1024);
    assert!(matches!(
        store.create(n, &meta("c")),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(store.count::<Need>().expect("count"), 0);
}

#[test]
fn pages_follow_creation_order_and_end_with_no_cursor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let ken = state("KEN");
    for i in 0..7 {
        store
            .create(need(&format!("Z{i}"), &ken, &format!("n{i}")), &meta("c"))
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list::<Need>(
                &ListQuery {
                    after,
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

#[derive(Debug)]
struct FailNth {
    calls: AtomicU64,
    fail_at: u64,
}

impl SyncFault for FailNth {
    fn before_sync(&self) -> io::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 >= self.fail_at {
            Err(io::Error::other("injected fsync failure"))
        } else {
            Ok(())
        }
    }
}

#[test]
fn a_failed_fsync_fails_the_write_blocks_later_ones_and_keeps_earlier_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ken = state("KEN");
    {
        let store = Store::open(
            dir.path(),
            &StoreOptions {
                cache_capacity_bytes: 16 << 20,
                sync_fault: Some(Arc::new(FailNth {
                    calls: AtomicU64::new(0),
                    fail_at: 3,
                })),
            },
        )
        .expect("open");
        store
            .create(need("N1", &ken, "a"), &meta("c"))
            .expect("sync 1");
        store
            .create(need("N2", &ken, "b"), &meta("c"))
            .expect("sync 2");
        let err = store
            .create(need("N3", &ken, "c"), &meta("c"))
            .expect_err("sync 3 fails");
        assert!(matches!(err, Error::Durability(_)));
        assert!(!store.is_writable());
        let err = store
            .create(need("N4", &ken, "d"), &meta("c"))
            .expect_err("refused");
        assert!(matches!(err, Error::Durability(_)));
        assert_eq!(
            store.get::<Need>("N4").expect("get"),
            None,
            "refused before writing"
        );
    }
    let store = open(dir.path());
    assert!(store.get::<Need>("N1").expect("get").is_some());
    assert!(store.get::<Need>("N2").expect("get").is_some());
}

#[test]
fn corrupt_bytes_are_an_error_not_a_panic() {
    use clearinghouse_storage::Resource;
    for bytes in [&[][..], &[1u8][..], &[1, 255, 255, 255][..], &[9, 0, 0][..]] {
        assert!(matches!(Need::decode(bytes), Err(Error::Corrupt(_))));
        assert!(matches!(Offer::decode(bytes), Err(Error::Corrupt(_))));
        assert!(matches!(Party::decode(bytes), Err(Error::Corrupt(_))));
    }
}

// ---------------------------------------------------------------- model-based test

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    Submit(u8),
    Retitle(u8, u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..12).prop_map(Op::Create),
        2 => (0u8..12).prop_map(Op::Submit),
        3 => (0u8..12, 0u8..4).prop_map(|(i, t)| Op::Retitle(i, t)),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random creates, updates and close-and-reopen cycles agree with a BTreeMap model:
    /// records, versions, status and title indexes, and the audit count.
    #[test]
    fn store_agrees_with_an_in_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ken = state("KEN");
        let mut store = Some(open(dir.path()));
        let mut model: BTreeMap<String, Need> = BTreeMap::new();
        let mut audits = 0usize;
        for op in ops {
            let s = store.as_ref().expect("open");
            match op {
                Op::Create(i) => {
                    let id = format!("N{i:02}");
                    let r = s.create(need(&id, &ken, "t0"), &meta("c"));
                    if model.contains_key(&id) {
                        prop_assert!(matches!(r, Err(Error::AlreadyExists { .. })), "expected AlreadyExists");
                    } else {
                        prop_assert!(r.is_ok());
                        model.insert(id.clone(), need(&id, &ken, "t0"));
                        audits += 1;
                    }
                }
                Op::Submit(i) => {
                    let id = format!("N{i:02}");
                    let r = s.update(&id, None, &meta("s"), |n: &Need| n.submit(Actor::Requester, &PrincipalId("x".into()), T0));
                    match model.get_mut(&id) {
                        None => prop_assert!(matches!(r, Err(UpdateError::Store(Error::NotFound { .. }))), "expected NotFound"),
                        Some(m) => match m.submit(Actor::Requester, &PrincipalId("x".into()), T0) {
                            Ok(mut next) => {
                                next.version = m.version + 1;
                                prop_assert_eq!(r.expect("ok"), next.clone());
                                *m = next;
                                audits += 1;
                            }
                            Err(_) => prop_assert!(matches!(r, Err(UpdateError::Rejected(_))), "expected Rejected"),
                        },
                    }
                }
                Op::Retitle(i, t) => {
                    let id = format!("N{i:02}");
                    let title = format!("t{t}");
                    let r = s.update::<Need, ()>(&id, None, &meta("r"), |n| {
                        let mut n = n.clone();
                        n.fields.title.clone_from(&title);
                        Ok(n)
                    });
                    match model.get_mut(&id) {
                        None => prop_assert!(r.is_err()),
                        Some(m) => {
                            m.fields.title = title;
                            m.version += 1;
                            prop_assert_eq!(r.expect("ok"), m.clone());
                            audits += 1;
                        }
                    }
                }
                Op::Reopen => {
                    store.take().expect("open").close().expect("close");
                    store = Some(open(dir.path()));
                }
            }
        }
        let s = store.as_ref().expect("open");
        let all = s.list::<Need>(&all_query(1000), &|_| true).expect("list");
        let got: BTreeMap<String, Need> = all.items.into_iter().map(|n| (n.id.0.clone(), n)).collect();
        prop_assert_eq!(&got, &model);
        for status in ["DRAFT", "SUBMITTED"] {
            let via_index = s
                .list::<Need>(&ListQuery { index: Some((index::STATUS, status)), ..all_query(1000) }, &|_| true)
                .expect("list");
            let want = model.values().filter(|n| n.status.code() == status).count();
            prop_assert_eq!(via_index.items.len(), want);
        }
        let trail = s.list_audit(&AuditFilter::default(), None, 10_000).expect("audit");
        prop_assert_eq!(trail.items.len(), audits);
    }
}
