//! Weights learned from decisions: on synthetic decision histories generated (seeded)
//! from known weights and penalties with noise, the tuner recovers them within a stated
//! tolerance and ranks held-out decisions better than the policy it started from.

use clearinghouse_domain::matches::ReasonCode;
use clearinghouse_matching::{
    Gates, Policy, Weights,
    fit::Values,
    synth::Rng,
    tune::{self, Decision, DecisionCandidate, Outcome, TuneError, TuneOptions},
};

/// The weights and penalties the synthetic brokers decide by (deliberately unlike the
/// defaults the tuner starts from).
fn truth() -> (Weights, Gates) {
    (
        Weights::from_array([0.22, 0.20, 0.05, 0.12, 0.10, 0.03, 0.10, 0.06, 0.12]),
        Gates::from_array([0.45, 0.25, 0.8]),
    )
}

fn uniform(rng: &mut Rng) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    x
}

/// Roughly normal noise with standard deviation `sd` (sum of 12 uniforms).
fn noise(rng: &mut Rng, sd: f64) -> f64 {
    ((0..12).map(|_| uniform(rng)).sum::<f64>() - 6.0) * sd
}

fn candidate(rng: &mut Rng) -> Values {
    Values {
        factors: std::array::from_fn(|_| uniform(rng)),
        shortfalls: [
            if rng.chance(20) { 1.0 } else { 0.0 },
            if rng.chance(20) { 1.0 } else { 0.0 },
            if rng.chance(40) { uniform(rng) } else { 0.0 },
        ],
    }
}

/// `n` decisions of 8 candidates each: the broker accepts the best by their own (noisy)
/// judgement, proposes the second (declined for lack of capacity half the time), and
/// passes over the rest; now and then a passed-over offer was proposed and declined as
/// out of scope.
fn history(seed: u64, n: usize, sd: f64) -> Vec<Decision> {
    let (w, g) = truth();
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|d| {
            let values: Vec<Values> = (0..8).map(|_| candidate(&mut rng)).collect();
            let mut judged: Vec<(usize, f64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (i, v.score_with(&w, &g) + noise(&mut rng, sd)))
                .collect();
            judged.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut outcomes = vec![Outcome::Passed; 8];
            outcomes[judged[0].0] = Outcome::Accepted;
            outcomes[judged[1].0] = if rng.chance(50) {
                Outcome::Declined(ReasonCode::NoCapacity)
            } else {
                Outcome::Proposed
            };
            if rng.chance(25) {
                outcomes[judged[7].0] = Outcome::Declined(ReasonCode::ScopeMismatch);
            }
            Decision {
                need_id: format!("need-{}", d % (n / 2).max(1)),
                candidates: values
                    .into_iter()
                    .zip(outcomes)
                    .enumerate()
                    .map(|(i, (values, outcome))| DecisionCandidate {
                        offer_id: format!("offer-{i}"),
                        values,
                        outcome,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Largest distance between fitted and true weights tolerated (measured: 0.004).
const WEIGHT_TOLERANCE: f64 = 0.02;
/// Largest distance between fitted and true penalties tolerated (measured: 0.016). A
/// penalty is identifiable only while gated candidates still win now and then; past that
/// the decisions cannot tell 0.8 from 1 and the pull towards the policy in force decides.
const PENALTY_TOLERANCE: f64 = 0.05;

#[test]
fn recovers_known_weights_from_noisy_decisions() {
    let decisions = history(1540, 600, 0.02);
    let report = tune::tune(
        &decisions,
        &Policy::default(),
        &TuneOptions {
            steps: 300,
            ..TuneOptions::default()
        },
    )
    .expect("tuned");
    let (w, g) = truth();
    let (got_w, got_g) = (report.proposed.weights, report.proposed.gates);
    eprintln!("true weights    {:?}", w.to_array());
    eprintln!("learned weights {:?}", got_w.to_array());
    eprintln!("true penalties    {:?}", g.to_array());
    eprintln!("learned penalties {:?}", got_g.to_array());
    eprintln!(
        "held out: current NDCG@5 {:.3} (pairs {:.3}), proposed {:.3} (pairs {:.3}); {} lists",
        report.current_held_out.ndcg,
        report.current_held_out.pair_accuracy,
        report.proposed_held_out.ndcg,
        report.proposed_held_out.pair_accuracy,
        report.lists_used
    );
    assert_eq!(report.proposed.validate(), Ok(()));
    for ((name, want), got) in w.named().iter().zip(got_w.to_array()) {
        assert!(
            (want - got).abs() <= WEIGHT_TOLERANCE,
            "{name}: learned {got:.3}, true {want:.3}"
        );
    }
    for ((name, want), got) in g.named().iter().zip(got_g.to_array()) {
        assert!(
            (want - got).abs() <= PENALTY_TOLERANCE,
            "{name}: learned {got:.3}, true {want:.3}"
        );
    }
    assert!(
        report.proposed_held_out.ndcg > report.current_held_out.ndcg,
        "the proposal ranks held-out decisions better"
    );
    assert!(report.proposed_held_out.pair_accuracy > report.current_held_out.pair_accuracy);
}

#[test]
fn the_same_history_gives_the_same_proposal() {
    let decisions = history(7, 60, 0.03);
    let opts = TuneOptions {
        steps: 100,
        ..TuneOptions::default()
    };
    let a = tune::tune(&decisions, &Policy::default(), &opts).expect("tuned");
    let b = tune::tune(&decisions, &Policy::default(), &opts).expect("tuned");
    assert_eq!(a, b);
}

#[test]
fn too_few_or_uninformative_decisions_are_refused_with_the_reason() {
    let decisions = history(3, 4, 0.02);
    assert_eq!(
        tune::tune(&decisions, &Policy::default(), &TuneOptions::default()),
        Err(TuneError::TooFewLists {
            usable: 4,
            needed: 10
        })
    );
    let mut flat = history(3, 20, 0.02);
    for d in &mut flat {
        for c in &mut d.candidates {
            c.outcome = Outcome::Passed;
        }
    }
    assert!(matches!(
        tune::tune(&flat, &Policy::default(), &TuneOptions::default()),
        Err(TuneError::TooFewLists { usable: 0, .. })
    ));
    let mut bad = history(3, 20, 0.02);
    bad[2].candidates[1].values.factors[0] = f64::NAN;
    assert_eq!(
        tune::tune(&bad, &Policy::default(), &TuneOptions::default()),
        Err(TuneError::BadValue {
            list: 2,
            candidate: 1
        })
    );
}
