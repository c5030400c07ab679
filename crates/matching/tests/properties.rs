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
    fn a_snapshot_answers_as_the_engine_did_when_it_was_taken(seed in any::<u64>(), needs in 1usize..30, offers in 1usize..120) {
        let data = synth::generate(seed, Shape { needs, offers, planted_pct: 20 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut engine = Engine::untracked();
        let mut w = Work::default();
        for o in &data.offers {
            engine.upsert_offer(o.clone(), &ctx, &mut w);
        }
        for n in &data.needs {
            engine.upsert_need(n.clone(), &ctx, &mut w);
        }
        let plan_inputs = |e: &Engine| {
            format!("{:?}", clearinghouse_matching::allocation::inputs(e, &ctx, &|_| true, &|_| true))
        };
        let before = plan_inputs(&engine);
        let snapshot = engine.snapshot();
        prop_assert_eq!(&plan_inputs(&snapshot), &before);
        for n in &data.needs {
            prop_assert_eq!(
                snapshot.offers_for_need(n, &ctx, 20, &mut Work::default()),
                engine.offers_for_need(n, &ctx, 20, &mut Work::default())
            );
        }
        // Later changes to the engine leave the snapshot as it was.
        for o in &data.offers {
            engine.remove_offer(&o.id.0, o.version, &ctx, &mut w);
        }
        prop_assert_eq!(plan_inputs(&snapshot), before);
    }

    #[test]
    fn incremental_updates_equal_a_full_rematch(
        seed in any::<u64>(),
        k in 1usize..8,
        updates in 0usize..150,
        removals in 0usize..20,
    ) {
        let data = synth::generate(seed, Shape { needs: 30, offers: 80, planted_pct: 30 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut w = Work::default();
        // A small compaction threshold, so runs with many changes renumber the slots.
        let mut inc = Engine::new(k).compact_after(16);
        for n in &data.needs {
            inc.upsert_need(n.clone(), &ctx, &mut w);
        }
        for o in &data.offers {
            inc.upsert_offer(o.clone(), &ctx, &mut w);
        }
        // Existing offers change (some several times): each takes another offer's scope,
        // budget and kinds.
        let n = data.offers.len();
        for u in 0..updates {
            let o = &data.offers[(u * 3) % n];
            let Some(held) = inc.offers().get(&o.id.0).map(|h| h.into_owned()) else { continue };
            let mut changed = held;
            changed.fields = data.offers[(u * 7 + 11) % n].fields.clone();
            changed.version += 1;
            inc.upsert_offer(changed, &ctx, &mut w);
        }
        for o in data.offers.iter().step_by(7).take(removals) {
            let v = inc.offers().get(&o.id.0).map_or(o.version, |h| h.version);
            inc.remove_offer(&o.id.0, v + 1, &ctx, &mut w);
        }
        let mut full = Engine::new(k);
        for o in inc.offers().iter() {
            full.upsert_offer(o.into_owned(), &ctx, &mut w);
        }
        for n in &data.needs {
            full.upsert_need(n.clone(), &ctx, &mut w);
        }
        full.rematch_all(&ctx, &mut w);
        for n in &data.needs {
            prop_assert_eq!(inc.top_for(&n.id.0), full.top_for(&n.id.0), "need {}", n.id);
        }
        if updates + 2 * removals > n + 32 {
            prop_assert!(inc.generations().1 > 0, "so many changes compact the offers");
        }
    }

    #[test]
    fn ranking_does_not_depend_on_insertion_order(seed in any::<u64>(), k in 1usize..15) {
        let data = synth::generate(seed, Shape { needs: 20, offers: 150, planted_pct: 30 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut w = Work::default();
        let build = |offers: &mut dyn Iterator<Item = &clearinghouse_domain::Offer>, w: &mut Work| {
            let mut e = Engine::untracked();
            for o in offers {
                e.upsert_offer(o.clone(), &ctx, w);
            }
            for n in &data.needs {
                e.upsert_need(n.clone(), &ctx, w);
            }
            e
        };
        let forward = build(&mut data.offers.iter(), &mut w);
        let backward = build(&mut data.offers.iter().rev(), &mut w);
        let (evens, odds): (Vec<_>, Vec<_>) = data.offers.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let shuffled = build(&mut odds.iter().chain(evens.iter()).map(|(_, o)| *o), &mut w);
        for n in &data.needs {
            let a = forward.offers_for_need(n, &ctx, k, &mut w);
            prop_assert_eq!(&a, &backward.offers_for_need(n, &ctx, k, &mut w));
            prop_assert_eq!(&a, &shuffled.offers_for_need(n, &ctx, k, &mut w));
        }
        for o in data.offers.iter().take(10) {
            let a = forward.needs_for_offer(o, &ctx, k, &mut w);
            prop_assert_eq!(&a, &backward.needs_for_offer(o, &ctx, k, &mut w));
            prop_assert_eq!(&a, &shuffled.needs_for_offer(o, &ctx, k, &mut w));
        }
    }

    #[test]
    fn late_updates_never_bring_back_an_older_version(seed in any::<u64>()) {
        let data = synth::generate(seed, Shape { needs: 5, offers: 40, planted_pct: 30 });
        let (policy, rates) = ctx_parts();
        let ctx = FitContext { policy: &policy, rates: &rates, today: data.today, stage: NeedStage::Circulated };
        let mut w = Work::default();
        let mut e = Engine::untracked();
        for o in &data.offers {
            let mut v6 = o.clone();
            v6.version = 6;
            prop_assert!(e.upsert_offer(v6.clone(), &ctx, &mut w));
            // Withdrawn at version 7, then the late upsert of version 6 arrives.
            prop_assert!(e.remove_offer(&o.id.0, 7, &ctx, &mut w));
            prop_assert!(!e.upsert_offer(v6, &ctx, &mut w), "a stale upsert is ignored");
            prop_assert!(e.offers().get(&o.id.0).is_none());
            let mut v8 = o.clone();
            v8.version = 8;
            prop_assert!(e.upsert_offer(v8, &ctx, &mut w), "a newer version comes back");
        }
        for n in &data.needs {
            let mut v3 = n.clone();
            v3.version = 3;
            let mut v2 = n.clone();
            v2.version = 2;
            prop_assert!(e.upsert_need(v3, &ctx, &mut w));
            prop_assert!(!e.upsert_need(v2, &ctx, &mut w));
            prop_assert_eq!(e.needs().get(&n.id.0).map(|x| x.version), Some(3));
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

/// The score cache is keyed by slot; a compaction renumbers slots, so a slot can come to
/// hold another offer with the same version as the one a cached score was computed for.
/// Every offer here fits the need (copies of one offer with three geographies), so every
/// slot is cached; after the compaction the re-match must still equal
/// one from scratch (debug builds also assert each cached score equals a fresh one).
#[test]
fn score_cache_is_not_stale_after_a_compaction() {
    let data = synth::generate(
        7,
        Shape {
            needs: 40,
            offers: 200,
            planted_pct: 100,
        },
    );
    let (policy, rates) = ctx_parts();
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let mut w = Work::default();
    let need = data.needs[0].clone();
    let template = data
        .offers
        .iter()
        .find(|o| clearinghouse_matching::fit::passes(&need, o, &ctx))
        .expect("some offer fits the first need")
        .clone();
    let offers: Vec<_> = (0..60)
        .map(|i| {
            let mut o = template.clone();
            o.id = clearinghouse_domain::OfferId(format!("copy-{i:03}"));
            o.version = 1;
            // Three geographies, three scores: global, the need's region, its country.
            let country = clearinghouse_domain::geo::country(&need.fields.country_code)
                .expect("the need's country");
            o.fields.scope = clearinghouse_domain::GeoScope {
                global: i % 3 == 0,
                regions: if i % 3 == 1 {
                    vec![country.region.to_owned()]
                } else {
                    Vec::new()
                },
                countries: if i % 3 == 2 {
                    vec![country.iso3.to_owned()]
                } else {
                    Vec::new()
                },
                ..clearinghouse_domain::GeoScope::default()
            };
            o
        })
        .collect();
    let mut e = Engine::new(60).compact_after(8);
    for o in &offers {
        e.upsert_offer(o.clone(), &ctx, &mut w);
    }
    e.upsert_need(need.clone(), &ctx, &mut w);
    e.rematch_all(&ctx, &mut w); // caches the need against every slot
    // Remove two offers in three: the compaction moves the rest to slots that held
    // other offers, all at version 1 like the cached scores.
    for (i, o) in offers.iter().enumerate() {
        if i % 3 != 0 {
            e.remove_offer(&o.id.0, 2, &ctx, &mut w);
        }
    }
    assert!(e.generations().1 > 0, "the removals compacted the offers");
    e.rematch_all(&ctx, &mut w);
    let mut fresh = Engine::new(60);
    for o in e.offers().iter() {
        fresh.upsert_offer(o.into_owned(), &ctx, &mut w);
    }
    fresh.upsert_need(need.clone(), &ctx, &mut w);
    fresh.rematch_all(&ctx, &mut w);
    assert_eq!(e.top_for(&need.id.0), fresh.top_for(&need.id.0));
}
