//! The matching policy: the weights of the additive factors (summing to 1), the strength
//! of the must-have gates, and the partial credits, configurable per deployment
//! (`docs/matching.md` argues the defaults).

use clearinghouse_domain::{ValidationError, Violations};

/// Weight of each additive factor; each in [0, 1], together summing to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Thematic coverage.
    pub thematic: f64,
    /// Geographic precision (share of beneficiaries in scope for regional requests).
    pub geography: f64,
    /// Funding-mode preference.
    pub funding: f64,
    /// Budget coverage.
    pub budget: f64,
    /// Kinds of help offered.
    pub assistance: f64,
    /// Time-window coverage.
    pub timing: f64,
    /// Shared working language.
    pub language: f64,
    /// Share of the need's weapon domains the offer covers.
    pub domain: f64,
    /// How focused the offer is on what the need asks.
    pub specificity: f64,
}

impl Weights {
    /// The weights as (name, value) pairs, in [`crate::fit::FACTORS`] order.
    pub fn named(&self) -> [(&'static str, f64); 9] {
        [
            ("thematic", self.thematic),
            ("geography", self.geography),
            ("funding", self.funding),
            ("budget", self.budget),
            ("assistance", self.assistance),
            ("timing", self.timing),
            ("language", self.language),
            ("domain", self.domain),
            ("specificity", self.specificity),
        ]
    }

    /// The weights in [`Weights::named`] order.
    pub fn to_array(&self) -> [f64; 9] {
        self.named().map(|(_, w)| w)
    }

    /// Weights from an array in [`Weights::named`] order.
    pub fn from_array(a: [f64; 9]) -> Weights {
        let [
            thematic,
            geography,
            funding,
            budget,
            assistance,
            timing,
            language,
            domain,
            specificity,
        ] = a;
        Weights {
            thematic,
            geography,
            funding,
            budget,
            assistance,
            timing,
            language,
            domain,
            specificity,
        }
    }
}

/// How much of a pair's score each must-have takes away when it is missing; each in
/// [0, 1], 0 turning the gate off. The score is multiplied by `1 - penalty` (by
/// `1 - penalty × shortfall` for the budget), so a missing must-have cannot be made up
/// by credit elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gates {
    /// The need asks for kinds of help and the offer gives none of them.
    pub missing_kinds: f64,
    /// Both sides state working languages and share none.
    pub no_common_language: f64,
    /// The offer would have to fund the need alone (no joint or pooled mode in common)
    /// and its capacity falls short of the budget: scaled by the share missing.
    pub single_donor_shortfall: f64,
}

impl Gates {
    /// No gate: the first, purely additive model.
    pub const OFF: Gates = Gates {
        missing_kinds: 0.0,
        no_common_language: 0.0,
        single_donor_shortfall: 0.0,
    };

    /// The gates as (name, value) pairs, in [`crate::fit::GATES`] order.
    pub fn named(&self) -> [(&'static str, f64); 3] {
        [
            ("missing_kinds", self.missing_kinds),
            ("no_common_language", self.no_common_language),
            ("single_donor_shortfall", self.single_donor_shortfall),
        ]
    }

    /// The gates in [`Gates::named`] order.
    pub fn to_array(&self) -> [f64; 3] {
        self.named().map(|(_, g)| g)
    }

    /// Gates from an array in [`Gates::named`] order.
    pub fn from_array(
        [missing_kinds, no_common_language, single_donor_shortfall]: [f64; 3],
    ) -> Gates {
        Gates {
            missing_kinds,
            no_common_language,
            single_donor_shortfall,
        }
    }
}

/// How fit is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Additive factor weights.
    pub weights: Weights,
    /// Must-have gates.
    pub gates: Gates,
    /// Candidates kept per need (bounded top-k).
    pub top_k: usize,
    /// Largest number of candidate offers for which consortia are searched exactly.
    pub exact_consortium_max: usize,
}

/// The default weights (`docs/matching.md`).
pub const DEFAULT_WEIGHTS: Weights = Weights {
    thematic: 0.24,
    geography: 0.10,
    funding: 0.07,
    budget: 0.10,
    assistance: 0.08,
    timing: 0.03,
    language: 0.12,
    domain: 0.08,
    specificity: 0.18,
};

/// The default gates (`docs/matching.md`).
pub const DEFAULT_GATES: Gates = Gates {
    missing_kinds: 0.6,
    no_common_language: 0.5,
    single_donor_shortfall: 0.6,
};

impl Default for Policy {
    fn default() -> Self {
        Policy {
            weights: DEFAULT_WEIGHTS,
            gates: DEFAULT_GATES,
            top_k: 20,
            exact_consortium_max: 16,
        }
    }
}

impl Policy {
    /// The first model's default (`matching.md`'s table): additive, language weighing 0,
    /// no domain or specificity factor, no gate. A settings record of version 1 decodes to
    /// this shape; the evaluation set measures it as "before".
    pub fn first_additive() -> Policy {
        Policy {
            weights: Weights {
                thematic: 0.35,
                geography: 0.20,
                funding: 0.15,
                budget: 0.15,
                assistance: 0.10,
                timing: 0.05,
                language: 0.0,
                domain: 0.0,
                specificity: 0.0,
            },
            gates: Gates::OFF,
            ..Policy::default()
        }
    }

    /// Every number scoring depends on (weights, then gates): a change to any of them
    /// changes the scores, so caches key on these.
    pub fn scoring_parameters(&self) -> [f64; 12] {
        let w = self.weights.to_array();
        let g = self.gates.to_array();
        std::array::from_fn(|i| if i < 9 { w[i] } else { g[i - 9] })
    }

    /// Checks weights in [0, 1] summing to 1 (within 1e-6), gates in [0, 1] and sane
    /// bounds, naming every bad field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new("policy");
        let mut sum = 0.0;
        for (name, w) in self.weights.named() {
            if !(0.0..=1.0).contains(&w) || w.is_nan() {
                v.add(
                    format!("weights.{name}"),
                    format!("is {w}; a weight must be between 0 and 1"),
                );
            }
            sum += w;
        }
        if (sum - 1.0).abs() > 1e-6 {
            v.add("weights", format!("sum to {sum:.6}; they must sum to 1"));
        }
        for (name, g) in self.gates.named() {
            if !(0.0..=1.0).contains(&g) || g.is_nan() {
                v.add(
                    format!("gates.{name}"),
                    format!("is {g}; a gate's penalty must be between 0 (off) and 1"),
                );
            }
        }
        if !(1..=500).contains(&self.top_k) {
            v.add("top_k", "must be between 1 and 500");
        }
        if !(1..=24).contains(&self.exact_consortium_max) {
            v.add("exact_consortium_max", "must be between 1 and 24");
        }
        v.into_result()
    }
}

/// Partial credit of a sub-area covered only through its parent area.
pub const PARENT_AREA_CREDIT: f64 = 0.7;
/// Geography credits: named sub-region, region, global (a named country is 1).
pub const SUBREGION_CREDIT: f64 = 0.85;
/// See [`SUBREGION_CREDIT`].
pub const REGION_CREDIT: f64 = 0.7;
/// See [`SUBREGION_CREDIT`].
pub const GLOBAL_CREDIT: f64 = 0.5;
/// Funding credit of a mutually accepted mode that is not the need's preferred one.
pub const OTHER_MODE_CREDIT: f64 = 0.6;
/// Language credit when the offer shares one of the need's languages but not its first
/// (main) one.
pub const OTHER_LANGUAGE_CREDIT: f64 = 0.7;
/// Language credit when the offer states no language (the need states some).
pub const UNSTATED_LANGUAGE_CREDIT: f64 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_bad_weights_and_gates_are_named() {
        assert_eq!(Policy::default().validate(), Ok(()));
        assert_eq!(Policy::first_additive().validate(), Ok(()));
        let mut p = Policy::default();
        p.weights.budget = 1.5;
        p.weights.timing = -0.1;
        p.gates.no_common_language = 1.2;
        let err = p.validate().expect_err("invalid");
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "policy.weights.budget",
                "policy.weights.timing",
                "policy.weights",
                "policy.gates.no_common_language"
            ]
        );
    }

    #[test]
    fn arrays_round_trip_in_named_order() {
        let p = Policy::default();
        assert_eq!(Weights::from_array(p.weights.to_array()), p.weights);
        assert_eq!(Gates::from_array(p.gates.to_array()), p.gates);
        let all = p.scoring_parameters();
        assert_eq!(all[0], p.weights.thematic);
        assert_eq!(all[8], p.weights.specificity);
        assert_eq!(all[11], p.gates.single_donor_shortfall);
    }
}
