//! What a backup costs the live sled store: how long the snapshot holds the writer lock
//! (writers wait that long at most), how a concurrent writer's latency changes while
//! backups run back to back, how fast a backup is written and how fast it restores.
//!
//! Two stores: one of a realistic size for the Committee's caseload (2,000 needs of
//! ≈ 600 bytes, half of them updated once, and 1,000 offers, with their index entries and
//! audit trail) and one ten times larger. Figures print as text; compare them as ratios
//! on one machine.
//!
//! Run: `cargo bench -p clearinghouse-storage --bench snapshot`.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, FundingMode, GeoScope, Money, Need, NeedFields, NeedId,
    Offer, OfferFields, OfferId, Party, PartyFields, PartyId, PartyKind, PrincipalId, SubArea,
    Timestamp, need::NeedContext, offer::OfferContext,
};
use clearinghouse_storage::{Store, StoreOptions, TxError, WriteMeta, trees};

const NOW: Timestamp = Timestamp(1_795_000_000_000);
const BATCH: u64 = 500;

fn meta(action: &str) -> WriteMeta {
    WriteMeta {
        actor: PrincipalId::system(),
        action: action.into(),
        now: NOW,
        idempotency: None,
    }
}

fn party() -> Party {
    Party::new(
        PartyId(String::new()),
        PartyFields {
            kind: Some(PartyKind::State),
            display_name: "Kenya".into(),
            short_name: "KEN".into(),
            country_code: "KEN".into(),
            external_id: String::new(),
            description: String::new(),
        },
        NOW,
        PrincipalId::system(),
    )
    .expect("valid party")
}

fn need(requester: &Party, n: u64) -> Need {
    Need::new(
        NeedContext {
            id: NeedId(format!("N{n:012}")),
            requester,
            now: NOW,
            actor: PrincipalId::system(),
        },
        NeedFields {
            title: format!("Training of licensing officers #{n}"),
            description:
                "Two-week course on dual-use control lists for 25 licensing and customs officers, \
                 with a national workshop and translated lists as the expected outcome."
                    .into(),
            area: Some(Area::ExportTransshipment),
            sub_areas: vec![SubArea::ControlLists, SubArea::ExportLicensing],
            assistance_kinds: vec![
                AssistanceKind::Training,
                AssistanceKind::TranslationDocumentation,
            ],
            accepted_funding_modes: vec![FundingMode::SingleDonor, FundingMode::JointlyFunded],
            estimated_budget: CurrencyCode::parse("USD").map(|currency| Money {
                currency,
                minor_units: 25_000_000,
            }),
            languages: vec!["en".into(), "fr".into()],
            ..NeedFields::default()
        },
    )
    .expect("valid need")
}

fn offer(n: u64) -> Offer {
    Offer::new(
        OfferContext {
            id: OfferId(format!("O{n:012}")),
            provider: PartyId("state-FRA".into()),
            now: NOW,
            actor: PrincipalId::system(),
        },
        OfferFields {
            programme_name: format!("Export control outreach #{n}"),
            description: "Workshops on licensing, enforcement and industry outreach".into(),
            areas: vec![Area::ExportTransshipment],
            assistance_kinds: vec![AssistanceKind::Training],
            funding_modes: vec![FundingMode::SingleDonor],
            scope: GeoScope {
                regions: vec!["Africa".into()],
                ..GeoScope::default()
            },
            ..OfferFields::default()
        },
    )
    .expect("valid offer")
}

fn build(store: &Store, ken: &Party, needs: u64, offers: u64) {
    for start in (0..needs).step_by(BATCH as usize) {
        store
            .transaction::<(), ()>(&meta("need.create"), |txn| {
                for n in start..start + BATCH {
                    txn.create(&need(ken, n))?;
                    if n % 2 == 0 {
                        txn.update::<Need, ()>(
                            &format!("N{n:012}"),
                            Some(1),
                            &|_| Ok(()),
                            &|cur| {
                                let mut next = cur.clone();
                                next.fields.title.push_str(" (revised)");
                                Ok(next)
                            },
                        )?;
                    }
                }
                Ok::<(), TxError<()>>(())
            })
            .expect("needs");
    }
    for start in (0..offers).step_by(BATCH as usize) {
        store
            .transaction::<(), ()>(&meta("offer.create"), |txn| {
                for n in start..start + BATCH {
                    txn.create(&offer(n))?;
                }
                Ok(())
            })
            .expect("offers");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Latencies of one writer creating needs until `stop`.
fn writer(store: Arc<Store>, ken: Party, first: u64, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut lat = Vec::new();
    let mut n = first;
    while !stop.load(Ordering::SeqCst) {
        let t = Instant::now();
        store
            .create(need(&ken, n), &meta("need.create"))
            .expect("create");
        lat.push(t.elapsed());
        n += 1;
    }
    lat.sort();
    lat
}

fn main() {
    for (needs, offers) in [(2_000, 1_000), (20_000, 10_000)] {
        eprintln!("== {needs} needs, {offers} offers");
        measure(needs, offers);
    }
}

fn measure(needs: u64, offers: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        cache_capacity_bytes: 256 << 20,
        sync_fault: None,
    };
    let store = Arc::new(Store::open(&dir.path().join("live"), &opts).expect("open"));
    let ken = party();
    store
        .create(ken.clone(), &meta("party.create"))
        .expect("party");
    let t = Instant::now();
    build(&store, &ken, needs, offers);
    eprintln!(
        "store built in {:?}: {needs} needs (half updated once), {offers} offers, {} bytes on disk",
        t.elapsed(),
        store.size_on_disk().expect("size")
    );

    // The lock hold: sled's snapshot collects every entry under the writer lock before
    // the first visit, so the time to the first visit is the time writers are held back.
    let mut holds = Vec::new();
    let mut entries = 0u64;
    for _ in 0..5 {
        let t = Instant::now();
        let mut first = None;
        let mut n = 0u64;
        store
            .engine()
            .snapshot(&trees::all(), &mut |_, _, _| {
                first.get_or_insert_with(|| t.elapsed());
                n += 1;
                Ok(())
            })
            .expect("snapshot");
        holds.push(first.unwrap_or_default());
        entries = n;
    }
    holds.sort();
    eprintln!(
        "snapshot of {entries} entries: writer lock held {:?} (median of 5; min {:?}, max {:?})",
        holds[2], holds[0], holds[4]
    );

    // A writer alone, then the same writer while backups run back to back.
    let baseline = {
        let stop = Arc::new(AtomicBool::new(false));
        let h = {
            let (store, ken, stop) = (Arc::clone(&store), ken.clone(), Arc::clone(&stop));
            std::thread::spawn(move || writer(store, ken, 1_000_000, stop))
        };
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::SeqCst);
        h.join().expect("writer")
    };
    let stop = Arc::new(AtomicBool::new(false));
    let h = {
        let (store, ken, stop) = (Arc::clone(&store), ken.clone(), Arc::clone(&stop));
        std::thread::spawn(move || writer(store, ken, 2_000_000, stop))
    };
    let mut backups = Vec::new();
    let mut bytes = 0;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) || backups.len() < 3 {
        let b = Instant::now();
        let s = store.backup(io::sink(), NOW).expect("backup");
        backups.push(b.elapsed());
        bytes = s.bytes;
    }
    stop.store(true, Ordering::SeqCst);
    let during = h.join().expect("writer");
    backups.sort();
    eprintln!(
        "backup to a sink: {bytes} bytes in {:?} (median of {}), {:.0} MB/s",
        backups[backups.len() / 2],
        backups.len(),
        bytes as f64 / backups[backups.len() / 2].as_secs_f64() / 1e6
    );
    for (name, lat) in [("alone", &baseline), ("during backups", &during)] {
        eprintln!(
            "writer {name}: {} writes, p50 {:?}, p99 {:?}, max {:?}",
            lat.len(),
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            lat.last().copied().unwrap_or_default()
        );
    }

    // Restore into a fresh directory.
    let mut file = Vec::new();
    store.backup(&mut file, NOW).expect("backup");
    let target = dir.path().join("restored");
    let t = Instant::now();
    let engine: Arc<dyn clearinghouse_storage::Engine> = Arc::new(
        clearinghouse_storage::engine::sled::SledEngine::open(
            &target,
            &clearinghouse_storage::engine::sled::SledOptions {
                cache_capacity_bytes: 256 << 20,
                sync_fault: None,
            },
        )
        .expect("engine"),
    );
    let r = Store::restore(&engine, file.as_slice()).expect("restore");
    let loaded = t.elapsed();
    let restored = Store::with_engine(engine).expect("open restored");
    let t = Instant::now();
    let report = clearinghouse_storage::check::check(&restored).expect("consistent");
    eprintln!(
        "restore of {} entries ({} bytes): loaded and synced in {loaded:?}; store check in {:?} ({} audit entries, {} index entries)",
        r.entries,
        file.len(),
        t.elapsed(),
        report.audit_entries,
        report.index_entries
    );
}
