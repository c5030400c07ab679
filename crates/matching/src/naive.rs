//! The reference engine: scores every pair. Kept for property tests (the indexed engine
//! must return the same top-k) and for benchmarks (the ratio between the two).

use clearinghouse_domain::{Need, Offer};

use crate::{
    fit::{self, FitContext},
    rank::{Ranked, TopK},
};

/// Counts of work done, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Pairs run through the hard filters.
    pub filtered: u64,
    /// Pairs scored.
    pub scored: u64,
    /// Scores taken from the score cache instead of being computed.
    pub cached: u64,
}

/// The best `k` offers for `need`, by checking every offer.
pub fn offers_for_need<'a>(
    need: &Need,
    offers: impl IntoIterator<Item = &'a Offer>,
    ctx: &FitContext<'_>,
    k: usize,
    work: &mut Work,
) -> Vec<Ranked> {
    let mut top = TopK::new(k);
    for o in offers {
        work.filtered += 1;
        if fit::passes(need, o, ctx) {
            work.scored += 1;
            top.push(Ranked {
                score_milli: fit::score(need, o, ctx),
                created_at: o.created_at,
                id: o.id.0.clone(),
            });
        }
    }
    top.into_sorted()
}

/// The best `k` needs for `offer`, by checking every need.
pub fn needs_for_offer<'a>(
    offer: &Offer,
    needs: impl IntoIterator<Item = &'a Need>,
    ctx: &FitContext<'_>,
    k: usize,
    work: &mut Work,
) -> Vec<Ranked> {
    let mut top = TopK::new(k);
    for n in needs {
        work.filtered += 1;
        if fit::passes(n, offer, ctx) {
            work.scored += 1;
            top.push(Ranked {
                score_milli: fit::score(n, offer, ctx),
                created_at: n.created_at,
                id: n.id.0.clone(),
            });
        }
    }
    top.into_sorted()
}
