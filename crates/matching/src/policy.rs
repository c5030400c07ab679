//! The matching policy: factor weights (summing to 1) and the partial credits of
//! `matching.md`, configurable per deployment.

use clearinghouse_domain::{ValidationError, Violations};

/// Weight of each soft factor; each in [0, 1], together summing to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Thematic coverage.
    pub thematic: f64,
    /// Geographic precision.
    pub geography: f64,
    /// Funding-mode preference.
    pub funding: f64,
    /// Budget coverage.
    pub budget: f64,
    /// Kinds of help offered.
    pub assistance: f64,
    /// Time-window coverage.
    pub timing: f64,
    /// Shared working language (0 by default).
    pub language: f64,
}

impl Weights {
    /// The weights as (name, value) pairs, in factor order.
    pub fn named(&self) -> [(&'static str, f64); 7] {
        [
            ("thematic", self.thematic),
            ("geography", self.geography),
            ("funding", self.funding),
            ("budget", self.budget),
            ("assistance", self.assistance),
            ("timing", self.timing),
            ("language", self.language),
        ]
    }
}

/// How fit is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Factor weights.
    pub weights: Weights,
    /// Candidates kept per need (bounded top-k).
    pub top_k: usize,
    /// Largest number of candidate offers for which consortia are searched exactly.
    pub exact_consortium_max: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            weights: Weights {
                thematic: 0.35,
                geography: 0.20,
                funding: 0.15,
                budget: 0.15,
                assistance: 0.10,
                timing: 0.05,
                language: 0.0,
            },
            top_k: 20,
            exact_consortium_max: 16,
        }
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

impl Policy {
    /// Checks weights in [0, 1] summing to 1 (within 1e-6) and sane bounds.
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
        if !(1..=500).contains(&self.top_k) {
            v.add("top_k", "must be between 1 and 500");
        }
        if !(1..=24).contains(&self.exact_consortium_max) {
            v.add("exact_consortium_max", "must be between 1 and 24");
        }
        v.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_bad_weights_are_named() {
        assert_eq!(Policy::default().validate(), Ok(()));
        let mut p = Policy::default();
        p.weights.budget = 1.5;
        p.weights.timing = -0.1;
        let err = p.validate().expect_err("invalid");
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "policy.weights.budget",
                "policy.weights.timing",
                "policy.weights"
            ]
        );
    }
}
