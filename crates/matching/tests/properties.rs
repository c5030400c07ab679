//! Properties of the engine against its references: the indexed engine returns the same
//! top-k as the all-pairs scorer; incremental updates equal a full re-match; the exact
//! consortium equals brute force; nothing is over-allocated; same input, same output.

use proptest::prelude::*;

use clearinghouse_matching::{
    Engine, FitContext, NeedStage, Policy,
    consortium::{self, Contender},
    naive::{self, Work},
    synth::{self, Shape},
};

fn ctx_parts() -> (Policy, clearinghouse_matching::ExchangeRates) {
    (Policy::default(), synth::rates())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn indexed_engine_returns_the_naive_top_k(seed in any::<u64>(), needs in 1usize..40, offers in 1usize..300, k in 1usize..25) {
        let data = synth::generate(seed, Shape { needs, offers, planted_pct: 20 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut engine = Engine::new(k);
        let mut w = Work::default();
        for o in &data.offers {
            engine.upsert_offer(o.clone(), &ctx, &mut w);
        }
        for n in &data.needs {
            let fast = engine.offers_for_need(n, &ctx, k, &mut w);
            let slow = naive::offers_for_need(n, &data.offers, &ctx, k, &mut Work::default());
            prop_assert_eq!(&fast, &slow);
        }
        for o in data.offers.iter().take(20) {
            for n in &data.needs {
                engine.upsert_need(n.clone(), &ctx, &mut w);
            }
            let fast = engine.needs_for_offer(o, &ctx, k, &mut w);
            let slow = naive::needs_for_offer(o, &data.needs, &ctx, k, &mut Work::default());
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn incremental_updates_equal_a_full_rematch(seed in any::<u64>(), k in 1usize..8, removals in 0usize..20) {
        let data = synth::generate(seed, Shape { needs: 30, offers: 200, planted_pct: 30 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut w = Work::default();
        let mut inc = Engine::new(k);
        for n in &data.needs {
            inc.upsert_need(n.clone(), &ctx, &mut w);
        }
        for o in &data.offers {
            inc.upsert_offer(o.clone(), &ctx, &mut w);
        }
        for o in data.offers.iter().step_by(7).take(removals) {
            inc.remove_offer(&o.id.0, &ctx, &mut w);
        }
        let mut full = Engine::new(k);
        for o in inc.offers().iter() {
            full.upsert_offer(o.clone(), &ctx, &mut w);
        }
        for n in &data.needs {
            full.upsert_need(n.clone(), &ctx, &mut w);
        }
        full.rematch_all(&ctx, &mut w);
        for n in &data.needs {
            prop_assert_eq!(inc.top_for(&n.id.0), full.top_for(&n.id.0), "need {}", n.id);
        }
    }

    #[test]
    fn exact_consortium_equals_brute_force_and_never_over_allocates(
        budget in 1i64..10_000,
        raw in proptest::collection::vec((0u32..1000, 0i64..3000, 0i64..6000), 0..12),
    ) {
        let mut cs: Vec<Contender> = raw
            .iter()
            .enumerate()
            .map(|(i, (s, min, extra))| Contender { offer_id: format!("o{i:02}"), score_milli: *s, min: *min, max: min + extra })
            .collect();
        cs.sort_by(|a, b| b.score_milli.cmp(&a.score_milli).then(a.offer_id.cmp(&b.offer_id)));
        let exact = consortium::suggest(budget, &cs, 16);
        let brute = consortium::brute_force(budget, &cs);
        prop_assert_eq!(&exact, &brute);
        let total: i64 = exact.members.iter().map(|m| m.amount).sum();
        prop_assert!(total <= budget, "never exceed the need's budget");
        prop_assert_eq!(total, exact.covered);
        for m in &exact.members {
            let c = cs.iter().find(|c| c.offer_id == m.offer_id).expect("member is a contender");
            prop_assert!(m.amount >= c.min && m.amount <= c.max, "respects each offer's minimum and capacity");
        }
        // Greedy never over-allocates either.
        let greedy = consortium::suggest(budget, &cs, 0);
        prop_assert!(greedy.members.iter().map(|m| m.amount).sum::<i64>() <= budget);
        prop_assert!(greedy.covered <= exact.covered);
    }

    #[test]
    fn same_input_same_output(seed in any::<u64>()) {
        let a = synth::generate(seed, Shape { needs: 10, offers: 80, planted_pct: 20 });
        let b = synth::generate(seed, Shape { needs: 10, offers: 80, planted_pct: 20 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: a.today, stage: NeedStage::Circulated };
        for (na, nb) in a.needs.iter().zip(&b.needs) {
            prop_assert_eq!(
                naive::offers_for_need(na, &a.offers, &ctx, 10, &mut Work::default()),
                naive::offers_for_need(nb, &b.offers, &ctx, 10, &mut Work::default())
            );
        }
    }
}

#[test]
fn a_second_rematch_takes_every_score_from_the_cache_until_the_policy_changes() {
    let data = synth::generate(
        77,
        Shape {
            needs: 60,
            offers: 400,
            planted_pct: 20,
        },
    );
    let (policy, rates) = ctx_parts();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let mut engine = Engine::new(10);
    let mut w = Work::default();
    for o in &data.offers {
        engine.upsert_offer(o.clone(), &ctx, &mut w);
    }
    for n in &data.needs {
        engine.upsert_need(n.clone(), &ctx, &mut w);
    }
    let mut first = Work::default();
    engine.rematch_all(&ctx, &mut first);
    let tops: Vec<Vec<clearinghouse_matching::Ranked>> = data
        .needs
        .iter()
        .map(|n| engine.top_for(&n.id.0).to_vec())
        .collect();
    let mut second = Work::default();
    engine.rematch_all(&ctx, &mut second);
    assert!(first.scored > 0);
    assert_eq!(
        (second.scored, second.cached),
        (0, first.scored),
        "every score comes from the cache"
    );
    let again: Vec<Vec<clearinghouse_matching::Ranked>> = data
        .needs
        .iter()
        .map(|n| engine.top_for(&n.id.0).to_vec())
        .collect();
    assert_eq!(tops, again);
    // Another policy invalidates the cache.
    let mut other = Policy::default();
    other.weights.thematic = 0.30;
    other.weights.language = 0.05;
    let ctx2 = FitContext {
        policy: &other,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let mut third = Work::default();
    engine.rematch_all(&ctx2, &mut third);
    assert_eq!(third.cached, 0);
    assert!(third.scored > 0);
    // So does a change of a gate's penalty alone.
    let mut gated = other.clone();
    gated.gates.no_common_language = 0.9;
    let ctx3 = FitContext {
        policy: &gated,
        ..ctx2
    };
    let mut fourth = Work::default();
    engine.rematch_all(&ctx3, &mut fourth);
    assert_eq!(fourth.cached, 0);
    assert!(fourth.scored > 0);
}
