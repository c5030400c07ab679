//! What only the redb engine has to prove: bodies share one open batch, so a failed or
//! panicking body must be undone without touching the bodies before it; reads outside
//! transactions follow each commit; a failed fsync is fatal and keeps what was
//! acknowledged; a simulated power loss (the file as it was when a sync returned) never
//! loses an acknowledged write; a data directory holding the other embedded engine's
//! store is refused; and the store is this process's alone (its principal generation).

mod support;

use std::{
    fs, io,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::Duration,
};

use clearinghouse_domain::Need;
use clearinghouse_storage::{
    Embedded, Engine, Error, Store, StoreOptions, SyncFault,
    engine::redb::{FILE_NAME, RedbEngine, RedbOptions},
};
use support::{fixtures::*, meta, open_redb, open_sled, power_loss, sync_gate::SyncGate};

const TREE: &str = "meta";

fn open_engine(dir: &Path) -> RedbEngine {
    let opts = RedbOptions {
        cache_capacity_bytes: 16 << 20,
        sync_fault: None,
    };
    RedbEngine::open(dir, &opts).expect("open")
}

fn open_with(dir: &Path, fault: Arc<dyn SyncFault>) -> Store {
    Store::open_redb(
        dir,
        &StoreOptions {
            cache_capacity_bytes: 16 << 20,
            sync_fault: Some(fault),
        },
    )
    .expect("open")
}

fn put(engine: &RedbEngine, key: &[u8], value: &[u8]) {
    engine
        .transact(&mut |tx| tx.put(TREE, key, value))
        .expect("put");
}

#[test]
fn a_failed_or_panicking_body_is_undone_and_the_rest_of_its_batch_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = open_engine(dir.path());
    // No sync between these bodies: they all land in one open batch.
    put(&engine, b"a", b"1");
    let refused = engine.transact(&mut |tx| {
        tx.put(TREE, b"b", b"2")?;
        tx.put(TREE, b"a", b"changed")?;
        tx.remove(TREE, b"a")?;
        tx.put(TREE, b"a", b"changed again")?;
        Err(Error::Rejected)
    });
    assert!(matches!(refused, Err(Error::Rejected)), "{refused:?}");
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        engine.transact(&mut |tx| {
            tx.put(TREE, b"c", b"3")?;
            tx.remove(TREE, b"a")?;
            panic!("a body blew up");
        })
    }));
    assert!(panicked.is_err());
    engine
        .transact(&mut |tx| {
            assert_eq!(tx.get(TREE, b"a")?.as_deref(), Some(&b"1"[..]));
            assert_eq!(tx.get(TREE, b"b")?, None);
            assert_eq!(tx.get(TREE, b"c")?, None);
            tx.put(TREE, b"d", b"4")
        })
        .expect("a later body");
    engine.sync().expect("sync");
    let all = engine.scan(TREE, b"", b"", 10).expect("scan");
    assert_eq!(
        all,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"d".to_vec(), b"4".to_vec())
        ]
    );
    drop(engine);
    let engine = open_engine(dir.path());
    assert_eq!(
        engine.get(TREE, b"a").expect("get").as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(engine.get(TREE, b"b").expect("get"), None);
}

#[test]
fn reads_outside_transactions_follow_every_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = open_engine(dir.path());
    assert_eq!(engine.get(TREE, b"k").expect("get"), None, "no table yet");
    for round in 0..20u32 {
        let v = round.to_be_bytes();
        put(&engine, b"k", &v);
        if round > 0 {
            // Before the sync the write is in the open batch only: not committed.
            assert_eq!(
                engine.get(TREE, b"k").expect("get").as_deref(),
                Some(&(round - 1).to_be_bytes()[..]),
                "round {round}: a read saw the open batch"
            );
        }
        engine.sync().expect("sync");
        assert_eq!(
            engine.get(TREE, b"k").expect("get").as_deref(),
            Some(&v[..])
        );
        assert_eq!(engine.scan(TREE, b"k", b"", 5).expect("scan").len(), 1);
    }
    // A tree outside the store's own is read too.
    engine
        .transact(&mut |tx| tx.put("elsewhere", b"x", b"y"))
        .expect("put");
    engine.sync().expect("sync");
    assert_eq!(
        engine.get("elsewhere", b"x").expect("get").as_deref(),
        Some(&b"y"[..])
    );
}

/// A body refused after reading a write of its batch answers only once that write is
/// durable: had the write been lost, the refusal would rest on nothing.
#[test]
fn a_refusal_that_read_the_open_batch_waits_for_its_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gate = Arc::new(SyncGate::default());
    let engine = Arc::new(
        RedbEngine::open(
            dir.path(),
            &RedbOptions {
                cache_capacity_bytes: 16 << 20,
                sync_fault: Some(gate.clone()),
            },
        )
        .expect("open"),
    );
    gate.close();
    put(&engine, b"taken", b"1");
    let (tx, rx) = mpsc::channel();
    let e = Arc::clone(&engine);
    std::thread::spawn(move || {
        let r = e.transact(&mut |tx| {
            assert!(tx.get(TREE, b"taken")?.is_some(), "sees the open batch");
            Err(Error::Rejected)
        });
        let _ = tx.send(r);
    });
    // Either the refusal arrives (wrong: nothing is durable yet) or its sync reaches the
    // gate; no timing decides which.
    loop {
        match rx.recv_timeout(Duration::from_millis(10)) {
            Ok(r) => panic!("answered before the batch it read was durable: {r:?}"),
            Err(mpsc::RecvTimeoutError::Timeout) if gate.waiting() == 0 => {}
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        rx.try_recv().is_err(),
        "still waiting while the sync is held"
    );
    gate.open();
    let r = rx.recv().expect("answered");
    assert!(matches!(r, Err(Error::Rejected)), "{r:?}");
    assert_eq!(
        engine.get(TREE, b"taken").expect("get").as_deref(),
        Some(&b"1"[..])
    );
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
        let store = open_with(
            dir.path(),
            Arc::new(FailNth {
                calls: AtomicU64::new(0),
                // Sync 1 is the fresh store's schema record.
                fail_at: 4,
            }),
        );
        store.create(need("N1", &ken, "a"), &meta("c")).expect("1");
        store.create(need("N2", &ken, "b"), &meta("c")).expect("2");
        let err = store
            .create(need("N3", &ken, "c"), &meta("c"))
            .expect_err("its sync fails");
        assert!(matches!(err, Error::Durability(_)), "{err:?}");
        assert!(!store.is_writable());
        let err = store
            .create(need("N4", &ken, "d"), &meta("c"))
            .expect_err("refused");
        assert!(matches!(err, Error::Durability(_)), "{err:?}");
    }
    let store = open_redb(dir.path());
    assert!(store.get::<Need>("N1").expect("get").is_some());
    assert!(store.get::<Need>("N2").expect("get").is_some());
    assert_eq!(
        store.get::<Need>("N3").expect("get"),
        None,
        "never committed"
    );
    assert_eq!(store.get::<Need>("N4").expect("get"), None);
}

/// Copies the store file right after chosen syncs: what a power loss at that moment
/// would leave (no later commit has started: commits happen in the sync).
#[derive(Debug)]
struct PowerLossImages {
    root: PathBuf,
    at: Vec<u64>,
    syncs: AtomicU64,
    taken: Mutex<Vec<(u64, PathBuf)>>,
}

impl SyncFault for PowerLossImages {
    fn before_sync(&self) -> io::Result<()> {
        Ok(())
    }

    fn after_sync(&self, dir: &Path, durable: &[PathBuf]) {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.at.contains(&n) {
            return;
        }
        let image = self.root.join(format!("image-{n:05}"));
        fs::create_dir_all(&image).expect("image dir");
        for f in durable {
            let rel = f.strip_prefix(dir).expect("inside the data dir");
            fs::copy(f, image.join(rel)).expect("copy");
        }
        self.taken.lock().expect("lock").push((n, image));
    }
}

#[test]
fn acknowledged_writes_survive_a_simulated_power_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let images = tempfile::tempdir().expect("images");
    let recorder = Arc::new(PowerLossImages {
        root: images.path().to_owned(),
        at: (4..400).step_by(7).collect(),
        syncs: AtomicU64::new(0),
        taken: Mutex::new(Vec::new()),
    });
    let store = Arc::new(open_with(dir.path(), recorder.clone()));
    let ledger =
        power_loss::write_with_ledger(&store, 4, "", |id, title| need(id, &state("KEN"), title));
    let taken = recorder.taken.lock().expect("lock").clone();
    assert!(taken.len() >= 5, "images taken: {}", taken.len());
    for (_, image) in &taken {
        assert!(image.join(FILE_NAME).exists());
    }
    let checked = power_loss::check_images(&taken, &ledger, open_redb);
    assert!(checked > 100, "only {checked} acknowledged writes checked");
}

#[test]
fn a_directory_holding_the_other_engines_store_is_refused() {
    let opts = StoreOptions::default();
    let sled_dir = tempfile::tempdir().expect("tempdir");
    open_sled(sled_dir.path()).close().expect("close");
    let err = Store::open_embedded(sled_dir.path(), Embedded::Redb, &opts).expect_err("refused");
    assert!(err.to_string().contains("holds a sled store"), "{err}");
    assert!(!sled_dir.path().join(FILE_NAME).exists(), "nothing created");

    let redb_dir = tempfile::tempdir().expect("tempdir");
    open_redb(redb_dir.path()).close().expect("close");
    let err = Store::open_embedded(redb_dir.path(), Embedded::Sled, &opts).expect_err("refused");
    assert!(err.to_string().contains("holds a redb store"), "{err}");
    assert!(
        err.to_string()
            .contains("CLEARINGHOUSE_STORAGE_ENGINE=redb")
            && err.to_string().contains("migrate-store --engine sled"),
        "{err}"
    );
    let store = Store::open_embedded(redb_dir.path(), Embedded::Redb, &opts).expect("reopens");
    assert_eq!(Embedded::found_in(redb_dir.path()), Some(Embedded::Redb));
    store.close().expect("close");
}

/// redb locks its file, so no other process writes the store while it is open: the
/// store's principal generation is kept (the server then keeps verified principals
/// instead of reading one from the store on every call), and a second open of the same
/// directory is refused rather than writing beside the first.
#[test]
fn the_store_is_this_process_s_alone_so_its_principal_generation_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_redb(dir.path());
    assert!(store.engine().exclusive());
    assert!(store.principal_generation().is_some());
    let second = Store::open_embedded(dir.path(), Embedded::Redb, &StoreOptions::default());
    assert!(second.is_err(), "a second open of a locked store");
    store.close().expect("close");
}
