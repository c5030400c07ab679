//! The posting lists against the filters: every candidate pair shares a list, and an offer
//! naming countries is listed only for those countries (not for the rest of their region)
//! and only for needs accepting one of its funding modes.

use clearinghouse_matching::{
    FitContext, NeedStage, Policy, fit,
    index::Indexed,
    synth::{self, Shape},
};

fn shares_a_list(a: &[usize], b: &[usize]) -> bool {
    a.iter().any(|k| b.binary_search(k).is_ok())
}

#[test]
fn every_candidate_pair_shares_a_posting_list() {
    let data = synth::generate(
        1540,
        Shape {
            needs: 300,
            offers: 800,
            planted_pct: 20,
        },
    );
    let (policy, rates) = (Policy::default(), synth::rates());
    let ctx = FitContext {
        policy: &policy,
        rates: &rates,
        today: data.today,
        stage: NeedStage::Circulated,
    };
    let offer_keys: Vec<Vec<usize>> = data.offers.iter().map(Indexed::keys).collect();
    let mut candidates = 0;
    for n in &data.needs {
        let nk = n.keys();
        for (o, ok) in data.offers.iter().zip(&offer_keys) {
            if fit::passes(n, o, &ctx) {
                candidates += 1;
                assert!(shares_a_list(ok, &nk), "need {} offer {}", n.id, o.id);
            }
        }
    }
    assert!(candidates > 1000, "{candidates} candidate pairs");
}

#[test]
fn an_offer_naming_only_countries_is_listed_for_those_countries_and_its_modes_alone() {
    let data = synth::generate(
        1540,
        Shape {
            needs: 300,
            offers: 800,
            planted_pct: 20,
        },
    );
    let named_only: Vec<_> = data
        .offers
        .iter()
        .filter(|o| {
            let s = &o.fields.scope;
            !s.global && s.regions.is_empty() && s.subregions.is_empty() && !s.countries.is_empty()
        })
        .collect();
    assert!(
        !named_only.is_empty(),
        "the data has offers naming countries only"
    );
    let (mut shared, mut apart) = (0, 0);
    for o in named_only {
        let ok = o.keys();
        for n in &data.needs {
            let named = o.fields.scope.countries.contains(&n.fields.country_code);
            let covers_a_sub = n.fields.sub_areas.iter().any(|s| o.fields.covers(*s));
            let common_mode = n
                .fields
                .accepted_funding_modes
                .iter()
                .any(|m| o.fields.funding_modes.contains(m));
            let shares = shares_a_list(&ok, &n.keys());
            assert_eq!(
                shares,
                named && covers_a_sub && common_mode,
                "need {} offer {}",
                n.id,
                o.id
            );
            if shares {
                shared += 1;
            } else {
                apart += 1;
            }
        }
    }
    assert!(
        shared > 0 && apart > 0,
        "{shared} listed together, {apart} apart"
    );
}
