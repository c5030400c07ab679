//! sled fixes a store's segment size and compression when it creates it and refuses to
//! open it with others. An existing directory opens in the format its `conf` records,
//! whatever a new store gets: one created by plain sled with its default 512 KiB
//! segments (every store made before new stores got 8 MiB) still opens, takes writes
//! and reads them back after a restart and keeps its format; a new store gets 8 MiB
//! segments, uncompressed (the smaller footprint measured), and keeps them. A compressed
//! store is refused with a message naming the setting.

use std::path::Path;

use clearinghouse_domain::{Party, PartyFields, PartyId, PartyKind, PrincipalId, Timestamp};
use clearinghouse_storage::{Store, StoreOptions, WriteMeta};

/// Countries of the States written, one per write.
const COUNTRIES: [&str; 2] = ["KEN", "UGA"];

fn party(n: usize) -> Party {
    Party::new(
        PartyId(String::new()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: format!("Party {n}"),
            short_name: COUNTRIES[n].into(),
            country_code: COUNTRIES[n].into(),
            external_id: String::new(),
            description: "A party written to check that the store reopens".into(),
        },
        Timestamp(1_795_000_000_000),
        PrincipalId::system(),
    )
    .expect("valid party")
}

fn meta() -> WriteMeta {
    WriteMeta {
        actor: PrincipalId::system(),
        action: "party.create".into(),
        now: Timestamp(1_795_000_000_000),
        idempotency: None,
    }
}

/// Opens the store in `dir`, writes party `n`, closes it, reopens it and reads back
/// every party written so far (parties 0 to `n`).
fn write_and_reopen(dir: &Path, n: usize) {
    let store = Store::open(dir, &StoreOptions::default()).expect("open");
    store.create(party(n), &meta()).expect("create");
    store.close().expect("close");
    let store = Store::open(dir, &StoreOptions::default()).expect("reopen");
    for (i, country) in COUNTRIES.iter().enumerate().take(n + 1) {
        let p = store
            .get::<Party>(&PartyId::for_state(country).0)
            .expect("read")
            .expect("present after the restart");
        assert_eq!(p.fields.display_name, format!("Party {i}"));
    }
    store.close().expect("close");
}

fn conf(dir: &Path) -> String {
    let bytes = std::fs::read(dir.join("conf")).expect("conf");
    String::from_utf8_lossy(&bytes[..bytes.len() - 4]).into_owned()
}

#[test]
fn a_store_created_with_other_segments_still_opens_and_keeps_its_format() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(tmp.path())
        .segment_size(512 << 10)
        .open()
        .expect("plain sled");
    db.flush().expect("flush");
    drop(db);
    let before = conf(tmp.path());
    assert!(before.contains("use_compression: false"), "{before}");
    assert!(before.contains("segment_size: 524288"), "{before}");
    write_and_reopen(tmp.path(), 0);
    write_and_reopen(tmp.path(), 1);
    assert_eq!(
        conf(tmp.path()),
        before,
        "the stored format is left as it was"
    );
}

#[test]
fn a_new_store_gets_eight_mib_segments_and_reopens_in_that_format() {
    let tmp = tempfile::tempdir().expect("temp dir");
    write_and_reopen(tmp.path(), 0);
    let created = conf(tmp.path());
    assert!(created.contains("segment_size: 8388608"), "{created}");
    assert!(created.contains("use_compression: false"), "{created}");
    write_and_reopen(tmp.path(), 1);
    assert_eq!(conf(tmp.path()), created);
}

#[test]
fn a_compressed_store_is_refused_with_a_message_naming_the_setting() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut conf = b"segment_size: 524288\nuse_compression: true\nversion: 0.34\n".to_vec();
    conf.extend_from_slice(&[0; 4]);
    std::fs::write(tmp.path().join("conf"), conf).expect("write conf");
    let err = Store::open(tmp.path(), &StoreOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("compressed"), "{err}");
    assert!(!tmp.path().join("db").exists(), "nothing was created");
}
