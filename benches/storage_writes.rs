//! Durable write rate of the storage crate: `Store::create` of a realistic need, acknowledged
//! only after the group-commit barrier, with 1, 8 and 64 concurrent writers. Prints, next to
//! criterion's timings, the writes per fsync the barrier achieved and a same-run fsync probe
//! (4 KiB write + fdatasync) so that figures compare as ratios on one machine.
//!
//! Run: `cargo bench --bench storage_writes`.

use std::{
    fs::OpenOptions,
    io::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use clearinghouse_domain::{
    Area, AssistanceKind, CurrencyCode, FundingMode, Money, Need, NeedFields, NeedId, Party,
    PartyFields, PartyId, PartyKind, PrincipalId, SubArea, Timestamp, need::NeedContext,
};
use clearinghouse_storage::{Store, StoreOptions, WriteMeta};

const NOW: Timestamp = Timestamp(1_795_000_000_000);

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

/// Median latency of a 4 KiB write + fdatasync in the bench's own temp dir.
fn fsync_probe(dir: &std::path::Path, rounds: usize) -> Duration {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("probe"))
        .expect("probe file");
    let block = [7u8; 4096];
    let mut lat: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f.write_all(&block).expect("write");
            f.sync_data().expect("fdatasync");
            t.elapsed()
        })
        .collect();
    lat.sort();
    lat[lat.len() / 2]
}

fn durable_writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = fsync_probe(dir.path(), 1000);
    eprintln!("fsync probe: median 4 KiB write + fdatasync = {probe:?} (1000 rounds)");
    let store = Arc::new(
        Store::open(
            &dir.path().join("db"),
            &StoreOptions {
                cache_capacity_bytes: 64 << 20,
                sync_fault: None,
            },
        )
        .expect("open"),
    );
    let requester = party();
    let next = AtomicU64::new(0);
    let meta = WriteMeta {
        actor: PrincipalId::system(),
        action: "need.create".into(),
        now: NOW,
        idempotency: None,
    };

    let mut group = c.benchmark_group("durable_create_need");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    for writers in [1u64, 8, 64] {
        let totals = Mutex::new((0u64, 0u64, Duration::ZERO)); // writes, syncs, time
        group.throughput(Throughput::Elements(writers));
        group.bench_with_input(
            BenchmarkId::from_parameter(writers),
            &writers,
            |b, &writers| {
                b.iter_custom(|iters| {
                    let before = store.durability_stats();
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for _ in 0..writers {
                            s.spawn(|| {
                                for _ in 0..iters {
                                    let n = next.fetch_add(1, Ordering::Relaxed);
                                    store
                                        .create(need(&requester, n), &meta)
                                        .expect("durable write");
                                }
                            });
                        }
                    });
                    let elapsed = start.elapsed();
                    let after = store.durability_stats();
                    let mut t = totals.lock().expect("totals");
                    t.0 += after.tickets - before.tickets;
                    t.1 += after.syncs - before.syncs;
                    t.2 += elapsed;
                    elapsed
                });
            },
        );
        let (w, s, t) = *totals.lock().expect("totals");
        #[allow(clippy::cast_precision_loss)]
        let (rate, per_sync) = (w as f64 / t.as_secs_f64(), w as f64 / s.max(1) as f64);
        eprintln!(
            "writers={writers}: {w} durable writes in {t:.2?} = {rate:.0} writes/s, {per_sync:.1} writes per fsync"
        );
    }
    group.finish();
}

criterion_group!(benches, durable_writes);
criterion_main!(benches);
