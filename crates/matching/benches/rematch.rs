//! The figures of quality.md P3–P5 without criterion and without building the service:
//! the same data, engine calls and printed lines as the workspace's `benches/matching.rs`
//! (which adds criterion's repeated samples), in a binary small enough to profile.
//!
//! Run: `cargo bench -p clearinghouse-matching --bench rematch`; add `-- p3`, `-- p4`,
//! `-- p4-naive` or `-- p5` for one figure, or `-- profile` (`profile tracked` for an
//! engine built as the service builds it, `ROUNDS=n` in the environment) for cold
//! re-matches only, e.g. under `perf record -g`; the binary wants `--bench` when run by
//! hand.

use std::time::{Duration, Instant};

use clearinghouse_matching::{
    Engine, FitContext, NeedStage, Policy,
    naive::{self, Work},
    synth::{self, Shape},
};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn p3_candidate_search() {
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
    let mut engine = Engine::new(20);
    for o in &data.offers {
        engine.upsert_offer(o.clone(), &ctx, &mut Work::default());
    }
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
}

fn p4_p5(with_naive: bool, with_p5: bool) {
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
    let (_, offers) = data.offers.split_last().expect("offers");
    let mut engine = Engine::new(20);
    let mut w = Work::default();
    for n in &data.needs {
        engine.upsert_need(n.clone(), &ctx, &mut w);
    }
    for o in offers {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }

    let mut wi = Work::default();
    let t = Instant::now();
    engine.rematch_all(&ctx, &mut wi);
    let indexed = t.elapsed();
    let mut ww = Work::default();
    let t = Instant::now();
    engine.rematch_all(&ctx, &mut ww);
    let warm = t.elapsed();
    eprintln!(
        "P4: indexed cold {indexed:?} ({} filtered, {} scored); warm {warm:?} ({} cached, {} scored)",
        wi.filtered, wi.scored, ww.cached, ww.scored
    );
    if with_naive {
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
        let (cold, hot) = (
            naive_time.as_secs_f64() / indexed.as_secs_f64(),
            naive_time.as_secs_f64() / warm.as_secs_f64(),
        );
        eprintln!(
            "P4: naive {naive_time:?} ({} filtered, {} pass): cold {cold:.1}x, warm {hot:.1}x; identical top-20: {identical}",
            wn.filtered, wn.scored
        );
    }
    if with_p5 {
        let mut lat: Vec<Duration> = Vec::new();
        for o in data.offers.iter().rev().take(200) {
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
    }
}

/// Cold full re-matches, again and again (each on another day, so no score is cached):
/// what `perf record` should see, without the set-up.
fn p4_profile(rounds: i32, tracked: bool) {
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
    let mut engine = if tracked {
        Engine::new(20)
    } else {
        Engine::untracked()
    };
    let mut w = Work::default();
    for n in &data.needs {
        engine.upsert_need(n.clone(), &ctx, &mut w);
    }
    for o in &data.offers {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }
    eprintln!("set-up done");
    let t = Instant::now();
    for day in 0..rounds {
        let ctx = FitContext {
            today: data.today.add_days(day % 2),
            ..ctx
        };
        let t = Instant::now();
        engine.rematch_all(&ctx, &mut w);
        eprintln!("cold re-match {:?}", t.elapsed());
    }
    eprintln!("{rounds} cold re-matches in {:?}", t.elapsed());
}

fn main() {
    // `cargo test --benches` runs this binary too: measure only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("run with `cargo bench -p clearinghouse-matching --bench rematch`");
        return;
    }
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| only.is_empty() || only.iter().any(|a| a == name);
    if run("p3") {
        p3_candidate_search();
    }
    if only.iter().any(|a| a == "profile") {
        p4_profile(
            std::env::var("ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(10),
            only.iter().any(|a| a == "tracked"),
        );
        return;
    }
    if run("p4") || run("p4-naive") || run("p5") {
        p4_p5(
            only.is_empty() || run("p4-naive"),
            only.is_empty() || run("p5"),
        );
    }
}
