//! The bulk loader against a real store in a temporary directory: what it writes passes
//! the offline store check (id maps, indexes, unique keys, counters, the audit hash
//! chain), holds the mix it reports, and the footprint workload measures the same store.

use std::time::Duration;

use clearinghouse_domain::{Need, NeedStatus, Offer, OfferStatus, Principal};
use clearinghouse_load::bulk::{self, Plan};
use clearinghouse_storage::{ListQuery, Store, StoreOptions, check, index};

fn plan(dir: &std::path::Path, records: u64, update_pass: bool) -> Plan {
    Plan {
        dir: dir.to_owned(),
        records,
        batch: 40,
        offers_pct: 20,
        seed: 7,
        update_pass,
        progress: Duration::ZERO,
        segment_kib: None,
        engine: clearinghouse_storage::Embedded::Sled,
    }
}

fn with_status<R: clearinghouse_storage::Resource>(store: &Store, status: &str) -> u64 {
    let page = store
        .list::<R>(
            &ListQuery {
                index: Some((index::STATUS, status)),
                after: None,
                limit: 10_000,
                max_scan: 100_000,
            },
            &|_| true,
        )
        .expect("list by status");
    page.items.len() as u64
}

#[test]
fn a_bulk_load_passes_the_store_check_and_holds_the_reported_mix() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    let summary = bulk::run(&plan(&dir, 400, true)).expect("bulk load");
    assert_eq!(summary.needs + summary.offers, 400);
    assert_eq!(summary.offers, 80, "20% of the records are offers");
    assert!(summary.needs_circulated > 0 && summary.needs_circulated < summary.needs);
    assert!(summary.offers_active > 0 && summary.offers_active < summary.offers);
    let after = summary.after_updates.expect("the update pass ran");
    assert_eq!(after.records, 400);
    assert!(after.logical_bytes > summary.after_load.logical_bytes / 2);

    let store = Store::open(&dir, &StoreOptions::default()).expect("reopen");
    let report = check::check(&store).expect("the loaded store is consistent");
    assert_eq!(report.records.get("need"), Some(&summary.needs));
    assert_eq!(report.records.get("offer"), Some(&summary.offers));
    assert_eq!(
        with_status::<Need>(&store, NeedStatus::Circulated.code()),
        summary.needs_circulated
    );
    assert_eq!(
        with_status::<Offer>(&store, OfferStatus::Active.code()),
        summary.offers_active
    );
    // The bootstrap admin the server would have created, with its key file.
    assert_eq!(store.count::<Principal>().expect("principals"), 1);
    assert!(dir.join("bootstrap-admin.key").exists());
    // Every create, transition and contact update left its own audit entry.
    let writes = 400 + summary.offers_active + transitions(&store, summary.needs) + 400;
    assert!(
        report.audit_entries >= writes,
        "{} < {writes}",
        report.audit_entries
    );
}

/// Transitions the loaded needs went through: each version after the first is one.
fn transitions(store: &Store, needs: u64) -> u64 {
    let page = store
        .list::<Need>(
            &ListQuery {
                index: None,
                after: None,
                limit: 10_000,
                max_scan: 100_000,
            },
            &|_| true,
        )
        .expect("list needs");
    assert_eq!(page.items.len() as u64, needs);
    // The update pass added one version to each need.
    page.items.iter().map(|n| n.version - 2).sum()
}

#[test]
fn a_bulk_load_refuses_a_directory_that_is_not_empty() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("something"), b"x").expect("write");
    let err = bulk::run(&plan(tmp.path(), 10, false)).expect_err("refused");
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[test]
fn the_footprint_of_a_loaded_store_counts_every_record() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    let summary = bulk::run(&plan(&dir, 100, false)).expect("bulk load");
    let f = bulk::measure(&dir).expect("footprint");
    assert_eq!(f.records, 100);
    assert_eq!(f.logical_bytes, summary.after_load.logical_bytes);
    assert!(f.disk_bytes > 0 && f.ratio > 0.0);
}

#[test]
fn a_bulk_load_with_other_segments_creates_the_store_in_that_format() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("data");
    let summary = bulk::run(&Plan {
        segment_kib: Some(512),
        engine: clearinghouse_storage::Embedded::Sled,
        ..plan(&dir, 60, false)
    })
    .expect("bulk load");
    let conf = std::fs::read(dir.join("conf")).expect("conf");
    let conf = String::from_utf8_lossy(&conf);
    assert!(conf.contains("segment_size: 524288"), "{conf}");
    let f = bulk::measure(&dir).expect("footprint of the reopened store");
    assert_eq!(f.records, summary.needs + summary.offers);
}
