//! Durable creates through `Store::create` on each engine, with 1 and 16 concurrent
//! writers: sled (acknowledged after its group-commit fsync) and PostgreSQL (a real
//! server started by the bench, `fsync = on`, `synchronous_commit = on`, over a unix
//! socket; each create one SERIALIZABLE transaction). Prints, next to criterion's
//! timings, the durable creates per second and, for PostgreSQL, how many transactions
//! ran again after a serialization failure, and first a same-run fsync probe (4 KiB
//! write + fdatasync) so that figures compare as ratios on one machine.
//!
//! Run: `cargo bench -p clearinghouse-storage --bench durable_creates`.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;
#[path = "../tests/support/pg_server.rs"]
mod pg_server;

use std::{
    fs::OpenOptions,
    io::Write,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use clearinghouse_domain::PrincipalId;
use clearinghouse_storage::{PostgresEngine, PostgresOptions, Store, StoreOptions, WriteMeta};

const WRITERS: [u64; 2] = [1, 16];

/// Median latency of a 4 KiB write + fdatasync in `dir`.
fn fsync_probe(dir: &Path, rounds: usize) -> Duration {
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

fn run(c: &mut Criterion, engine: &str, store: &Store, conflicts: &dyn Fn() -> u64) {
    let requester = fixtures::state("KEN");
    let next = AtomicU64::new(0);
    let meta = WriteMeta {
        actor: PrincipalId::system(),
        action: "need.create".into(),
        now: fixtures::T0,
        idempotency: None,
    };
    let mut group = c.benchmark_group(format!("durable_create/{engine}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for writers in WRITERS {
        let totals = Mutex::new((0u64, Duration::ZERO, 0u64)); // creates, time, retries
        group.throughput(Throughput::Elements(writers));
        group.bench_with_input(BenchmarkId::from_parameter(writers), &writers, |b, &w| {
            b.iter_custom(|iters| {
                let retries_before = conflicts();
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..w {
                        s.spawn(|| {
                            for _ in 0..iters {
                                let n = next.fetch_add(1, Ordering::Relaxed);
                                let need =
                                    fixtures::need(&format!("N{n:012}"), &requester, "bench");
                                store.create(need, &meta).expect("durable create");
                            }
                        });
                    }
                });
                let elapsed = start.elapsed();
                let mut t = totals.lock().expect("totals");
                t.0 += iters * w;
                t.1 += elapsed;
                t.2 += conflicts() - retries_before;
                elapsed
            });
        });
        let (n, t, retries) = *totals.lock().expect("totals");
        #[allow(clippy::cast_precision_loss)]
        let (rate, per) = (n as f64 / t.as_secs_f64(), retries as f64 / n.max(1) as f64);
        eprintln!(
            "{engine} writers={writers}: {n} durable creates in {t:.2?} = {rate:.0}/s, \
             {per:.2} serialization retries per create"
        );
    }
    group.finish();
}

fn sled(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = fsync_probe(dir.path(), 500);
    eprintln!("fsync probe: median 4 KiB write + fdatasync = {probe:?} (500 rounds)");
    let store = Store::open(
        &dir.path().join("db"),
        &StoreOptions {
            cache_capacity_bytes: 64 << 20,
            sync_fault: None,
        },
    )
    .expect("open sled");
    run(c, "sled", &store, &|| 0);
}

fn postgres(c: &mut Criterion) {
    let server = pg_server::PgServer::init();
    server.start();
    let engine = Arc::new(
        PostgresEngine::open(&PostgresOptions {
            max_connections: 16,
            ..PostgresOptions::new(server.url("postgres"))
        })
        .expect("open postgres"),
    );
    let store = Store::with_engine(Arc::clone(&engine) as _).expect("store");
    run(c, "postgres", &store, &|| engine.conflicts());
}

criterion_group!(benches, sled, postgres);
criterion_main!(benches);
