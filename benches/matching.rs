//! Matching engine benchmarks (quality.md P3–P5), indexed engine against the all-pairs
//! reference in the same run:
//! - P3: candidate search for one need among 100k offers (p50, p99);
//! - P4: full re-match of 10k needs × 10k offers, indexed vs naive (time ratio, pair
//!   evaluations), with identical top-k checked;
//! - P5: one new offer against 10k open needs, incremental vs a full re-match.
//!
//! Run: `cargo bench --bench matching`.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

use clearinghouse::app::matching::packing;
use clearinghouse_matching::{
    Engine, FitContext, NeedStage, Policy,
    index::Postings,
    naive::{self, Work},
    synth::{self, Shape},
};

/// An engine holding `offers`.
fn indexed(offers: &[clearinghouse_domain::Offer], ctx: &FitContext<'_>) -> Engine {
    let mut engine = Engine::new(20);
    for o in offers {
        engine.upsert_offer(o.clone(), ctx, &mut Work::default());
    }
    engine
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn p3_candidate_search(c: &mut Criterion) {
    let data = synth::generate(
        3,
        Shape {
            needs: 1000,
            offers: 100_000,
            planted_pct: 5,
        },
    );
    let (policy, rates) = (Policy::default(), synth::rates());
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let engine = indexed(&data.offers, &ctx);
    let mut lat: Vec<Duration> = Vec::new();
    let mut work = Work::default();
    for n in &data.needs {
        let t = Instant::now();
        let top = engine.offers_for_need(n, &ctx, 20, &mut work);
        lat.push(t.elapsed());
        std::hint::black_box(top);
    }
    lat.sort();
    eprintln!(
        "P3: {} offers, {} queries: p50 {:?}, p99 {:?}, max {:?}; per query {} pairs filtered, {} scored",
        data.offers.len(),
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1],
        work.filtered / lat.len() as u64,
        work.scored / lat.len() as u64
    );
    // The same queries on the engine as the service keeps it: untracked, its offers
    // packed in their stored encoding (`app::matching::packing`).
    let mut packed_offers = Postings::packed(packing::<clearinghouse_domain::Offer>());
    for o in &data.offers {
        Engine::index_offer(&mut packed_offers, o.clone());
    }
    let packed = Engine::untracked_from(packed_offers, Postings::new());
    let mut packed_lat: Vec<Duration> = Vec::new();
    let mut same = true;
    for n in &data.needs {
        let t = Instant::now();
        let top = packed.offers_for_need(n, &ctx, 20, &mut Work::default());
        packed_lat.push(t.elapsed());
        same &= top == engine.offers_for_need(n, &ctx, 20, &mut Work::default());
    }
    packed_lat.sort();
    eprintln!(
        "P3 packed (as the service keeps offers): p50 {:?}, p99 {:?}, max {:?}; identical top-20: {same}",
        percentile(&packed_lat, 0.5),
        percentile(&packed_lat, 0.99),
        packed_lat[packed_lat.len() - 1],
    );
    let mut i = 0;
    c.bench_function("P3 candidate search, 100k offers", |b| {
        b.iter(|| {
            i = (i + 1) % data.needs.len();
            engine.offers_for_need(&data.needs[i], &ctx, 20, &mut Work::default())
        });
    });
}

fn p4_p5_rematch_and_incremental(c: &mut Criterion) {
    let data = synth::generate(
        4,
        Shape {
            needs: 10_000,
            offers: 10_000,
            planted_pct: 5,
        },
    );
    let (policy, rates) = (Policy::default(), synth::rates());
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let (extra, offers) = data.offers.split_last().expect("offers");
    let mut engine = Engine::new(20);
    let mut w = Work::default();
    for n in &data.needs {
        engine.upsert_need(n.clone(), &ctx, &mut w);
    }
    for o in offers {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }

    // P4: indexed full re-match vs the naive all-pairs scorer, same data, same run.
    let mut wi = Work::default();
    let t = Instant::now();
    engine.rematch_all(&ctx, &mut wi);
    let indexed = t.elapsed();
    let mut wn = Work::default();
    let t = Instant::now();
    let naive_tops: Vec<_> = data
        .needs
        .iter()
        .map(|n| naive::offers_for_need(n, offers, &ctx, 20, &mut wn))
        .collect();
    let naive_time = t.elapsed();
    let identical = data
        .needs
        .iter()
        .zip(&naive_tops)
        .all(|(n, top)| engine.top_for(&n.id.0) == top.as_slice());
    #[allow(clippy::cast_precision_loss)]
    let (speedup, evals) = (
        naive_time.as_secs_f64() / indexed.as_secs_f64(),
        wi.filtered as f64 / wn.filtered as f64,
    );
    eprintln!(
        "P4: 10k x 10k: indexed {indexed:?} vs naive {naive_time:?} = {speedup:.1}x faster; pair evaluations {} vs {} = {evals:.4}x; scored {} vs {}; identical top-20: {identical}",
        wi.filtered, wn.filtered, wi.scored, wn.scored
    );

    // The same re-match again with nothing changed: every score from the score cache.
    let mut ww = Work::default();
    let t = Instant::now();
    engine.rematch_all(&ctx, &mut ww);
    let warm = t.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let warm_ratio = naive_time.as_secs_f64() / warm.as_secs_f64();
    eprintln!(
        "P4 warm: re-match with the score cache {warm:?} = {warm_ratio:.1}x faster than naive; {} scores cached, {} computed",
        ww.cached, ww.scored
    );

    // P5: one new offer against 10k open needs, incremental vs a full re-match.
    let mut lat: Vec<Duration> = Vec::new();
    for o in data.offers.iter().rev().take(200) {
        // A changed offer: the engine only takes versions newer than the one it holds.
        let mut changed = o.clone();
        changed.version += 1;
        let t = Instant::now();
        engine.upsert_offer(changed, &ctx, &mut Work::default());
        lat.push(t.elapsed());
    }
    lat.sort();
    #[allow(clippy::cast_precision_loss)]
    let ratio = indexed.as_secs_f64() / percentile(&lat, 0.5).as_secs_f64();
    eprintln!(
        "P5: one offer vs 10k needs: p50 {:?}, p99 {:?}; full indexed re-match {indexed:?} = {ratio:.0}x the p50",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    let mut group = c.benchmark_group("P4-P5");
    group.sample_size(10);
    group.bench_function("full re-match 10k x 10k (indexed, warm score cache)", |b| {
        b.iter(|| engine.rematch_all(&ctx, &mut Work::default()))
    });
    let mut next = extra.clone();
    group.bench_function("incremental: one offer vs 10k needs", |b| {
        b.iter(|| {
            next.version += 1;
            engine.upsert_offer(next.clone(), &ctx, &mut Work::default())
        })
    });
    group.finish();
}

fn plan_allocation_2k(c: &mut Criterion) {
    use clearinghouse_matching::allocation;

    let data = synth::generate(
        5,
        Shape {
            needs: 2000,
            offers: 2000,
            planted_pct: 5,
        },
    );
    let (policy, rates) = (Policy::default(), synth::rates());
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let mut engine = indexed(&data.offers, &ctx);
    let mut work = Work::default();
    for n in &data.needs {
        engine.upsert_need(n.clone(), &ctx, &mut work);
    }
    assert_eq!(engine.needs().len(), data.needs.len());
    let t = Instant::now();
    let allocation::PlanInputs {
        needs,
        offers,
        edges,
        ..
    } = allocation::inputs(&engine, &ctx, &|_| true, &|_| true);
    let candidates = t.elapsed();
    let t = Instant::now();
    let plan = allocation::plan(&needs, &offers, &edges);
    let planning = t.elapsed();
    assert!(
        !needs.is_empty() && !edges.is_empty() && !plan.lines.is_empty(),
        "the plan must have needs, candidate pairs and lines to measure"
    );
    eprintln!(
        "PlanAllocation 2k x 2k: {} candidate pairs found in {candidates:?}; plan in {planning:?}: {} lines, {} unfunded, single-donor {:?}, joint {:?}",
        edges.len(),
        plan.lines.len(),
        plan.unfunded.len(),
        plan.single_donor_method,
        plan.joint_method
    );
    let mut group = c.benchmark_group("allocation");
    group.sample_size(10);
    group.bench_function("plan 2k needs x 2k offers (candidates given)", |b| {
        b.iter(|| allocation::plan(&needs, &offers, &edges))
    });
    group.finish();
}

criterion_group!(
    benches,
    p3_candidate_search,
    p4_p5_rematch_and_incremental,
    plan_allocation_2k
);
criterion_main!(benches);
