//! Deployment settings of the matching engine: factor weights, bounds and the exchange
//! rates amounts are compared with. Stored as one record (id [`MatchingSettings::ID`]);
//! the matching crate turns it into its `Policy` and rate table.

use crate::{money::CurrencyCode, time::Timestamp};

/// Matching policy and exchange rates in force.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchingSettings {
    /// Version, from 1; the etag.
    pub version: u64,
    /// Weights of the additive factors: thematic, geography, funding, budget, assistance,
    /// timing, language, domain, specificity (summing to 1).
    pub weights: [f64; 9],
    /// Penalties of the must-have gates, each in [0, 1] (0: off): missing kinds of help,
    /// no common language, single-donor budget shortfall.
    pub gates: [f64; 3],
    /// Candidates kept per need.
    pub top_k: u32,
    /// Exact consortium search bound.
    pub exact_consortium_max: u32,
    /// Currency amounts are compared in.
    pub base_currency: CurrencyCode,
    /// Rates into the base: (currency, numerator, denominator) of base minor units per
    /// minor unit.
    pub rates: Vec<(CurrencyCode, u64, u64)>,
    /// Last change.
    pub updated_at: Timestamp,
}

impl MatchingSettings {
    /// The id of the single settings record.
    pub const ID: &'static str = "matching";
}
