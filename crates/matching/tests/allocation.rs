//! Allocation plans: the exact single-donor plan equals an independent assignment solver
//! (pathfinding's Kuhn–Munkres); no plan over-allocates an offer or a need; single-donor
//! needs are funded whole by one offer or not at all; same input, same plan.
//!
//! Sizes are bounded for CI; `ALLOCATION_MAX_SIDE=200 PROPTEST_CASES=1000` runs the
//! larger check of quality.md P8.

use std::collections::HashMap;

use pathfinding::{kuhn_munkres::kuhn_munkres, matrix::Matrix};
use proptest::prelude::*;

use clearinghouse_matching::allocation::{self, PlanEdge, PlanMethod, PlanNeed, PlanOffer};

fn max_side() -> usize {
    std::env::var("ALLOCATION_MAX_SIDE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// Assignment-like instances: budgets and capacities in [1000, 2000), so no offer can
/// fund two needs, every offer funds single-donor projects.
fn assignment_instance() -> impl Strategy<Value = (Vec<PlanNeed>, Vec<PlanOffer>, Vec<PlanEdge>)> {
    (1..=max_side(), 1..=max_side()).prop_flat_map(|(n, m)| {
        (
            proptest::collection::vec(1000i64..2000, n),
            proptest::collection::vec(1000i64..2000, m),
            proptest::collection::vec(proptest::option::weighted(0.3, 1u32..1000), n * m),
        )
            .prop_map(move |(budgets, caps, scores)| {
                let needs: Vec<PlanNeed> = budgets
                    .iter()
                    .enumerate()
                    .map(|(i, b)| PlanNeed {
                        id: format!("n{i}"),
                        budget: Some(*b),
                        joint: false,
                    })
                    .collect();
                let offers: Vec<PlanOffer> = caps
                    .iter()
                    .enumerate()
                    .map(|(i, c)| PlanOffer {
                        id: format!("o{i}"),
                        capacity: Some(*c),
                        single: true,
                        joint: false,
                    })
                    .collect();
                let edges = scores
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| {
                        s.map(|s| PlanEdge {
                            need: k / m,
                            offer: k % m,
                            score_milli: s,
                        })
                    })
                    .collect();
                (needs, offers, edges)
            })
    })
}

fn kuhn_munkres_optimum(needs: &[PlanNeed], offers: &[PlanOffer], edges: &[PlanEdge]) -> i64 {
    let side = needs.len().max(offers.len());
    let mut m = Matrix::new(side, side, 0i64);
    for e in edges {
        if needs[e.need].budget.unwrap_or(0) <= offers[e.offer].capacity.unwrap_or(i64::MAX) {
            m[(e.need, e.offer)] = m[(e.need, e.offer)].max(i64::from(e.score_milli));
        }
    }
    kuhn_munkres(&m).0
}

proptest! {
    #[test]
    fn exact_single_donor_plan_equals_kuhn_munkres((needs, offers, edges) in assignment_instance()) {
        let plan = allocation::plan(&needs, &offers, &edges);
        prop_assert_eq!(plan.single_donor_method, PlanMethod::Exact);
        let ours: i64 = plan.lines.iter().map(|l| i64::from(l.score_milli)).sum();
        prop_assert_eq!(ours, kuhn_munkres_optimum(&needs, &offers, &edges));
    }

    #[test]
    fn plans_never_over_allocate_and_fund_single_donor_needs_whole(
        raw_needs in proptest::collection::vec((proptest::option::of(100i64..5000), any::<bool>()), 1..25),
        raw_offers in proptest::collection::vec((proptest::option::of(100i64..8000), any::<bool>(), any::<bool>()), 1..25),
        scores in proptest::collection::vec(proptest::option::weighted(0.4, 1u32..1000), 625),
    ) {
        let needs: Vec<PlanNeed> = raw_needs.iter().enumerate().map(|(i, (b, j))| PlanNeed { id: format!("n{i}"), budget: *b, joint: *j }).collect();
        let offers: Vec<PlanOffer> = raw_offers.iter().enumerate().map(|(i, (c, s, j))| PlanOffer { id: format!("o{i}"), capacity: *c, single: *s, joint: *j }).collect();
        let edges: Vec<PlanEdge> = (0..needs.len())
            .flat_map(|n| (0..offers.len()).map(move |o| (n, o)))
            .filter_map(|(n, o)| scores[n * 25 + o].map(|s| PlanEdge { need: n, offer: o, score_milli: s }))
            .collect();
        let plan = allocation::plan(&needs, &offers, &edges);
        let mut per_offer: HashMap<&str, i64> = HashMap::new();
        let mut per_need: HashMap<&str, (i64, usize)> = HashMap::new();
        for l in &plan.lines {
            prop_assert!(edges.iter().any(|e| needs[e.need].id == l.need_id && offers[e.offer].id == l.offer_id), "only candidate pairs");
            *per_offer.entry(&l.offer_id).or_default() += l.amount;
            let e = per_need.entry(&l.need_id).or_default();
            e.0 += l.amount;
            e.1 += 1;
        }
        for o in &offers {
            if let Some(c) = o.capacity {
                prop_assert!(per_offer.get(o.id.as_str()).copied().unwrap_or(0) <= c, "offer {} over capacity", o.id);
            }
        }
        for n in &needs {
            let (amount, count) = per_need.get(n.id.as_str()).copied().unwrap_or((0, 0));
            if let Some(b) = n.budget {
                prop_assert!(amount <= b, "need {} over budget", n.id);
                if !n.joint && count > 0 {
                    prop_assert_eq!((amount, count), (b, 1), "single-donor need {} funded whole by one offer", &n.id);
                }
            }
        }
        prop_assert_eq!(allocation::plan(&needs, &offers, &edges), plan, "deterministic");
    }
}
