//! `pb::MatchingPolicy` ↔ the matching engine's [`Policy`] and the stored
//! [`MatchingSettings`].

use clearinghouse_domain::MatchingSettings;
use clearinghouse_matching::{Gates, Policy, Weights};

use super::etag_out;
use crate::pb;

/// The policy a client sent (validated by the use case, not here).
pub fn policy_in(p: &pb::MatchingPolicy) -> Policy {
    Policy {
        weights: Weights {
            thematic: p.thematic_weight,
            geography: p.geography_weight,
            funding: p.funding_weight,
            budget: p.budget_weight,
            assistance: p.assistance_weight,
            timing: p.timing_weight,
            language: p.language_weight,
            domain: p.domain_weight,
            specificity: p.specificity_weight,
        },
        gates: Gates {
            missing_kinds: p.missing_kinds_penalty,
            no_common_language: p.no_common_language_penalty,
            single_donor_shortfall: p.single_donor_shortfall_penalty,
        },
        top_k: usize::try_from(p.top_k).unwrap_or(0),
        exact_consortium_max: usize::try_from(p.exact_consortium_max).unwrap_or(0),
    }
}

/// The stored policy for the wire, with its etag.
pub fn out(s: &MatchingSettings) -> pb::MatchingPolicy {
    let w = Weights::from_array(s.weights);
    let g = Gates::from_array(s.gates);
    pb::MatchingPolicy {
        thematic_weight: w.thematic,
        geography_weight: w.geography,
        funding_weight: w.funding,
        budget_weight: w.budget,
        assistance_weight: w.assistance,
        timing_weight: w.timing,
        language_weight: w.language,
        domain_weight: w.domain,
        specificity_weight: w.specificity,
        missing_kinds_penalty: g.missing_kinds,
        no_common_language_penalty: g.no_common_language,
        single_donor_shortfall_penalty: g.single_donor_shortfall,
        top_k: i32::try_from(s.top_k).unwrap_or(i32::MAX),
        exact_consortium_max: i32::try_from(s.exact_consortium_max).unwrap_or(i32::MAX),
        etag: etag_out(s.version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_weight_and_penalty_round_trips_through_the_wire() {
        let p = Policy::default();
        let settings = MatchingSettings {
            version: 2,
            weights: p.weights.to_array(),
            gates: p.gates.to_array(),
            top_k: 20,
            exact_consortium_max: 16,
            base_currency: clearinghouse_domain::CurrencyCode::USD,
            rates: Vec::new(),
            updated_at: clearinghouse_domain::Timestamp(0),
        };
        assert_eq!(policy_in(&out(&settings)), p);
    }
}
