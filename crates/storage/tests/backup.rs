//! Backups, restores and the audit hash chain at the storage boundary, run against every
//! engine: a restore gives back the same entries, a backup taken under concurrent writes
//! restores one moment holding every write acknowledged before it began, each damaged or
//! refused backup leaves nothing that opens, and an audit entry edited behind the store's
//! back breaks the chain at that entry.

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Barrier, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use sha2::{Digest, Sha256};

use clearinghouse_domain::{AuditEntry, Need, Party};
use clearinghouse_storage::{
    AuditFilter, BackupError, Engine, SCHEMA_VERSION, Store,
    audit_chain::{self, BrokenLink, ChainVerifier},
    backup::{self, BackupHeader, BackupWriter},
    check::{self, CheckError},
    engine::TreeName,
    keys,
    records::{self, AuditRecordV1, AuditRecordV2},
    trees,
};
use support::{Harness, fixtures::*, meta};

type Dump = Vec<(TreeName, Vec<u8>, Vec<u8>)>;

/// Every entry of every tree, through the engine's snapshot.
fn dump(engine: &dyn Engine) -> Dump {
    let mut out = Vec::new();
    engine
        .snapshot(&trees::all(), &mut |t, k, v| {
            out.push((t, k.to_vec(), v.to_vec()));
            Ok(())
        })
        .expect("snapshot");
    out
}

fn backup_bytes(store: &Store) -> Vec<u8> {
    let mut bytes = Vec::new();
    store.backup(&mut bytes, T0).expect("backup");
    bytes
}

fn ok<R>(_: &R) -> Result<(), ()> {
    Ok(())
}

fn retitle(store: &Store, id: &str, version: u64, title: &str) -> Need {
    store
        .update::<Need, ()>(id, Some(version), &meta("need.update"), ok, |cur| {
            let mut n = cur.clone();
            n.fields.title = title.to_owned();
            Ok(n)
        })
        .expect("update")
}

fn full_audit(store: &Store) -> Vec<AuditEntry> {
    store
        .list_audit(&AuditFilter::default(), None, 1_000_000)
        .expect("audit")
        .items
}

fn backup_then_restore_gives_the_same_entries_and_a_consistent_store<H: Harness>(h: &mut H) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    for i in 0..30 {
        let id = format!("N{i}");
        store
            .create(need(&id, &ken, "first"), &meta("need.create"))
            .expect("need");
        if i % 3 == 0 {
            retitle(&store, &id, 1, "second");
        }
    }
    store
        .create(offer("O1", "state-FRA"), &meta("offer.create"))
        .expect("offer");
    let before = dump(store.engine().as_ref());
    let bytes = backup_bytes(&store);
    let summary = backup::verify(bytes.as_slice(), SCHEMA_VERSION).expect("verify");
    assert_eq!(summary.entries, before.len() as u64);
    assert_eq!(summary.header.schema_version, SCHEMA_VERSION);
    assert_eq!(summary.header.audit_watermark, 1 + 30 + 10 + 1);
    assert_eq!(summary.header.created_at, T0);
    let live_audit = full_audit(&store);

    let mut target = H::fresh();
    let engine = target.bare_engine();
    let restored = Store::restore(&engine, bytes.as_slice()).expect("restore");
    assert_eq!(restored.entries, summary.entries);
    assert_eq!(restored.per_tree.get(trees::AUDIT), Some(&42));
    assert_eq!(dump(engine.as_ref()), before, "entry for entry");
    drop(engine);
    let copy = target.open();
    let report = check::check(&copy).expect("consistent");
    assert_eq!(report.records.get("need"), Some(&30));
    assert_eq!(report.audit_entries, 42);
    assert_eq!(full_audit(&copy), live_audit);
    assert_eq!(
        copy.get::<Need>("N3").expect("get").map(|n| n.fields.title),
        Some("second".to_owned())
    );
    // The copy keeps chaining where the original stopped.
    copy.create(need("N99", &ken, "after"), &meta("need.create"))
        .expect("write after restore");
    let trail = full_audit(&copy);
    let mut chain = ChainVerifier::new();
    for e in &trail {
        chain.push(e).expect("chained");
    }
    assert_eq!(chain.verified(), 43);
}

fn a_backup_under_concurrent_writes_restores_one_moment_with_every_earlier_write<H: Harness>(
    h: &mut H,
) {
    let store = Arc::new(h.open());
    let ken = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    // (id, version) of every acknowledged write, in acknowledgement order.
    let acked: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = 4;
    let start = Arc::new(Barrier::new(writers + 1));
    let handles: Vec<_> = (0..writers)
        .map(|t| {
            let (store, acked, stop, start, ken) = (
                Arc::clone(&store),
                Arc::clone(&acked),
                Arc::clone(&stop),
                Arc::clone(&start),
                ken.clone(),
            );
            std::thread::spawn(move || {
                start.wait();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) || i < 5 {
                    let id = format!("W{t}-{i}");
                    store
                        .create(need(&id, &ken, "new"), &meta("need.create"))
                        .expect("create");
                    acked.lock().expect("ledger").push((id.clone(), 1));
                    let n = retitle(&store, &id, 1, "updated");
                    acked.lock().expect("ledger").push((id, n.version));
                    i += 1;
                }
            })
        })
        .collect();
    start.wait();
    // Let some writes land, then take the backup while the writers keep going.
    while acked.lock().expect("ledger").len() < 12 {
        std::thread::yield_now();
    }
    let before: Vec<(String, u64)> = acked.lock().expect("ledger").clone();
    let bytes = backup_bytes(&store);
    stop.store(true, Ordering::SeqCst);
    for t in handles {
        t.join().expect("writer");
    }
    let header = backup::verify(bytes.as_slice(), SCHEMA_VERSION)
        .expect("verify")
        .header;

    let mut target = H::fresh();
    let engine = target.bare_engine();
    Store::restore(&engine, bytes.as_slice()).expect("restore");
    drop(engine);
    let copy = target.open();
    // Indexes, id maps, unique keys and counters agree with the records; the trail is
    // gapless and chained.
    let report = check::check(&copy).expect("consistent");
    assert_eq!(report.audit_entries, header.audit_watermark);
    for (id, version) in &before {
        let n = copy
            .get::<Need>(id)
            .expect("get")
            .unwrap_or_else(|| panic!("{id} was acknowledged before the backup began"));
        assert!(
            n.version >= *version,
            "{id} restored at {} < {version}",
            n.version
        );
    }
    // One moment: each record is at the version its last audit entry in the copy says,
    // and the copy's trail is a prefix of the live one.
    let trail = full_audit(&copy);
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &trail {
        last.insert(e.resource_id.as_str(), e.after_version);
    }
    for (id, v) in &last {
        if id.starts_with('W') {
            let n = copy
                .get::<Need>(id)
                .expect("get")
                .expect("audited need exists");
            assert_eq!(n.version, *v, "{id}");
        }
    }
    let live = full_audit(&store);
    assert!(live.len() >= trail.len());
    assert_eq!(&live[..trail.len()], trail.as_slice());
}

fn restore_refuses_a_store_that_is_not_empty<H: Harness>(h: &mut H) {
    let store = h.open();
    store
        .create(state("KEN"), &meta("party.create"))
        .expect("party");
    let bytes = backup_bytes(&store);
    let e = Store::restore(store.engine(), bytes.as_slice()).expect_err("not empty");
    assert!(matches!(e, BackupError::NotEmpty { .. }), "{e}");
}

fn a_restore_cut_short_or_damaged_leaves_a_store_that_refuses_to_open<H: Harness>(h: &mut H) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    for i in 0..5 {
        store
            .create(need(&format!("N{i}"), &ken, "t"), &meta("need.create"))
            .expect("need");
    }
    let bytes = backup_bytes(&store);
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    let cut = &bytes[..bytes.len() - 40];
    for (name, input, check_error) in [
        (
            "truncated",
            cut,
            (|e: &BackupError| matches!(e, BackupError::Truncated(_))) as fn(&BackupError) -> bool,
        ),
        ("damaged", damaged.as_slice(), |e: &BackupError| {
            matches!(e, BackupError::Checksum { .. } | BackupError::Corrupt(_))
        }),
    ] {
        let mut target = H::fresh();
        let engine = target.bare_engine();
        let e = Store::restore(&engine, input).expect_err(name);
        assert!(check_error(&e), "{name}: {e:?}");
        let refused = Store::with_engine(engine).expect_err("must not open");
        assert!(
            refused.to_string().contains("unfinished restore"),
            "{name}: {refused}"
        );
    }
}

fn a_backup_of_a_newer_schema_is_refused_before_anything_is_written<H: Harness>(h: &mut H) {
    let mut w = BackupWriter::new(
        Vec::new(),
        BackupHeader {
            format_version: backup::FORMAT_VERSION,
            schema_version: SCHEMA_VERSION + 1,
            created_at: T0,
            audit_watermark: 0,
        },
    )
    .expect("header");
    w.entry(
        trees::META,
        keys::SCHEMA_VERSION,
        &keys::seq_key(SCHEMA_VERSION + 1),
    )
    .expect("entry");
    let bytes = w.finish().expect("finish").0;
    let engine = h.bare_engine();
    let e = Store::restore(&engine, bytes.as_slice()).expect_err("newer schema");
    assert!(matches!(e, BackupError::NewerSchema { .. }), "{e}");
    assert!(dump(engine.as_ref()).is_empty(), "nothing was written");
}

/// The canonical encoding of `audit_chain`'s docs, written out again here.
fn expected_hash(e: &AuditEntry, previous: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"CHAUDIT1");
    h.update(e.sequence.to_be_bytes());
    h.update(e.at.0.to_be_bytes());
    for t in [&e.actor.0, &e.action, &e.resource_kind, &e.resource_id] {
        h.update((t.len() as u32).to_be_bytes());
        h.update(t.as_bytes());
    }
    h.update(e.before_version.to_be_bytes());
    h.update(e.after_version.to_be_bytes());
    h.update(previous);
    h.finalize().into()
}

fn a_store_with_unchained_entries_is_upgraded_and_chains_from_their_hash<H: Harness>(h: &mut H) {
    // A store as schema version 1 wrote it: three audit entries without hashes.
    let engine = h.bare_engine();
    let v1: Vec<AuditEntry> = (1..=3)
        .map(|sequence| AuditEntry {
            sequence,
            at: T0,
            actor: actor(),
            action: format!("old.action{sequence}"),
            resource_kind: "party".into(),
            resource_id: format!("P{sequence}"),
            before_version: 0,
            after_version: 1,
            chain: None,
        })
        .collect();
    engine
        .transact(&mut |tx| {
            tx.put(trees::META, keys::SCHEMA_VERSION, &keys::seq_key(1))?;
            tx.put(trees::META, keys::AUDIT_SEQ, &keys::seq_key(3))?;
            for e in &v1 {
                let bytes = records::encode(records::V1, &AuditRecordV1::from(e))?;
                tx.put(trees::AUDIT, &keys::seq_key(e.sequence), &bytes)?;
            }
            Ok(())
        })
        .expect("write a version 1 store");
    drop(engine);
    let store = h.open();
    store
        .create(state("KEN"), &meta("party.create"))
        .expect("party");
    let trail = full_audit(&store);
    assert_eq!(trail.len(), 4);
    assert_eq!(trail[..3], v1[..], "old entries read back without hashes");
    let mut running = audit_chain::GENESIS;
    for e in &v1 {
        running = expected_hash(e, &running);
    }
    let link = trail[3].chain.expect("the new entry is chained");
    assert_eq!(
        link.previous_hash, running,
        "chains from the unchained entries"
    );
    assert_eq!(link.hash, expected_hash(&trail[3], &running));
    let mut chain = ChainVerifier::new();
    for e in &trail {
        chain.push(e).expect("verifies end to end");
    }
    // Editing an unchained entry is caught by the first chained one.
    let engine = Arc::clone(store.engine());
    engine
        .transact(&mut |tx| {
            let mut e = v1[1].clone();
            e.action = "edited".into();
            let bytes = records::encode(records::V1, &AuditRecordV1::from(&e))?;
            tx.put(trees::AUDIT, &keys::seq_key(2), &bytes)
        })
        .expect("edit");
    // Seen by reads outside transactions once synced (the engine contract).
    engine.sync().expect("sync");
    let mut chain = ChainVerifier::new();
    let broken = full_audit(&store)
        .iter()
        .find_map(|e| chain.push(e).err())
        .expect("broken");
    assert!(
        matches!(broken, BrokenLink::Previous { sequence: 4, .. }),
        "{broken}"
    );
}

fn an_audit_entry_edited_behind_the_store_breaks_the_chain_at_that_entry<H: Harness>(h: &mut H) {
    let store = h.open();
    let ken = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    for i in 0..6 {
        store
            .create(need(&format!("N{i}"), &ken, "t"), &meta("need.create"))
            .expect("need");
    }
    check::check(&store).expect("consistent before");
    let store = h.reopen(store);
    let engine = Arc::clone(store.engine());
    let victim = 4u64;
    engine
        .transact(&mut |tx| {
            let bytes = tx
                .get(trees::AUDIT, &keys::seq_key(victim))?
                .expect("entry");
            let (version, mut rec): (u8, AuditRecordV2) = records::decode("audit", &bytes)?;
            assert_eq!(version, records::V2);
            rec.action = "need.delete".into();
            tx.put(
                trees::AUDIT,
                &keys::seq_key(victim),
                &records::encode(records::V2, &rec)?,
            )
        })
        .expect("edit");
    drop(engine);
    let store = h.reopen(store);
    let mut chain = ChainVerifier::new();
    let broken = full_audit(&store)
        .iter()
        .find_map(|e| chain.push(e).err())
        .expect("the edit is detected");
    assert!(
        matches!(broken, BrokenLink::Hash { sequence, .. } if sequence == victim),
        "{broken}"
    );
    assert_eq!(chain.verified(), victim - 1);
    match check::check(&store) {
        Err(CheckError::Inconsistent(p)) => {
            assert!(p.iter().any(|p| p.contains("audit entry 4")), "{p:?}")
        }
        other => panic!("expected an inconsistency, got {other:?}"),
    }
}

fn a_snapshot_never_sees_part_of_a_transaction<H: Harness>(h: &mut H) {
    // Writers keep two keys equal, each transaction setting both; every snapshot taken
    // meanwhile must find them equal.
    let store = h.open();
    let engine = Arc::clone(store.engine());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3u64)
        .map(|t| {
            let (engine, stop) = (Arc::clone(&engine), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let v = (t << 32 | i).to_be_bytes();
                    engine
                        .transact(&mut |tx| {
                            tx.put(trees::UNIQUE, b"test\0a", &v)?;
                            tx.put(trees::IDEM, b"test\0b", &v)
                        })
                        .expect("write");
                    i += 1;
                }
            })
        })
        .collect();
    for _ in 0..50 {
        let mut a = None;
        let mut b = None;
        engine
            .snapshot(&[trees::UNIQUE, trees::IDEM], &mut |t, k, v| {
                match (t, k) {
                    (trees::UNIQUE, b"test\0a") => a = Some(v.to_vec()),
                    (trees::IDEM, b"test\0b") => b = Some(v.to_vec()),
                    _ => {}
                }
                Ok(())
            })
            .expect("snapshot");
        assert_eq!(a, b, "a snapshot saw half a transaction");
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
}

fn a_backup_that_cannot_be_written_stops_with_the_write_error<H: Harness>(h: &mut H) {
    struct Full(usize);
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 < buf.len() {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let store = h.open();
    let ken: Party = state("KEN");
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    for i in 0..20 {
        store
            .create(need(&format!("N{i}"), &ken, "t"), &meta("need.create"))
            .expect("need");
    }
    let e = store.backup(Full(2_000), T0).expect_err("full");
    assert!(matches!(e, BackupError::Io(_)), "{e:?}");
    // The store is untouched and still writable.
    store
        .create(need("N-after", &ken, "t"), &meta("need.create"))
        .expect("still writable");
}

per_engine!(
    backup_then_restore_gives_the_same_entries_and_a_consistent_store,
    a_backup_under_concurrent_writes_restores_one_moment_with_every_earlier_write,
    restore_refuses_a_store_that_is_not_empty,
    a_restore_cut_short_or_damaged_leaves_a_store_that_refuses_to_open,
    a_backup_of_a_newer_schema_is_refused_before_anything_is_written,
    a_store_with_unchained_entries_is_upgraded_and_chains_from_their_hash,
    an_audit_entry_edited_behind_the_store_breaks_the_chain_at_that_entry,
    a_snapshot_never_sees_part_of_a_transaction,
    a_backup_that_cannot_be_written_stops_with_the_write_error,
);
