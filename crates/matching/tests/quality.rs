//! Ranking quality on synthetic data with planted ideal offers: how often the planted
//! offer ranks first and in the top 5. Floors are set from measurement (see
//! BENCHMARKS.md) so a regression fails the test.

use clearinghouse_matching::{
    Engine, FitContext, NeedStage, Policy,
    naive::Work,
    synth::{self, Shape},
};

#[test]
fn planted_offers_rank_first_and_in_the_top_five() {
    let data = synth::generate(
        1540,
        Shape {
            needs: 2000,
            offers: 3000,
            planted_pct: 15,
        },
    );
    let policy = Policy::default();
    let rates = synth::rates();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let mut engine = Engine::new(5);
    let mut w = Work::default();
    for o in &data.offers {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }
    let (mut top1, mut top5) = (0usize, 0usize);
    for (need_id, offer_id) in &data.planted {
        let need = data
            .needs
            .iter()
            .find(|n| &n.id.0 == need_id)
            .expect("need");
        let ranked = engine.offers_for_need(need, &ctx, 5, &mut w);
        if ranked.first().is_some_and(|r| &r.id == offer_id) {
            top1 += 1;
        }
        if ranked.iter().any(|r| &r.id == offer_id) {
            top5 += 1;
        }
    }
    let n = data.planted.len();
    #[allow(clippy::cast_precision_loss)]
    let (r1, r5) = (top1 as f64 / n as f64, top5 as f64 / n as f64);
    eprintln!("planted offers: {n}; top-1 hit rate {r1:.3}; top-5 hit rate {r5:.3}");
    assert!(n > 200, "enough planted offers to measure ({n})");
    assert!(
        r1 >= FLOOR_TOP1,
        "top-1 hit rate {r1:.3} fell below {FLOOR_TOP1}"
    );
    assert!(
        r5 >= FLOOR_TOP5,
        "top-5 hit rate {r5:.3} fell below {FLOOR_TOP5}"
    );
}

/// Measured 0.994 (seed 1540, 322 planted offers). A planted offer names only the need's
/// own country, so for a regional need an offer reaching more of its beneficiaries may
/// rightly rank first.
const FLOOR_TOP1: f64 = 0.95;
/// Measured 1.000.
const FLOOR_TOP5: f64 = 0.99;
