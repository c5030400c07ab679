//! Allocation across everything: a dry-run plan of proposals that makes the best use of
//! limited offer capacity (matching.md). Objective: Σ score × funded share.
//!
//! - Single-donor needs are funded whole by one offer or not at all. When no offer can
//!   fund two of its candidate needs together, this is an assignment problem and is solved
//!   exactly (Hungarian algorithm, O(n³)); otherwise greedily by score, and the plan says so.
//! - Jointly funded needs are then filled from the joint offers' remaining capacity,
//!   best-scoring pairs first (greedy).
//!
//! Nothing is applied: brokers turn chosen lines into match proposals.

/// A need to plan for (amounts in base minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNeed {
    /// Id.
    pub id: String,
    /// Budget; `None` when the need states none (a line then funds it whole).
    pub budget: Option<i64>,
    /// Whether it accepts joint (or pooled) funding; otherwise single-donor only.
    pub joint: bool,
}

/// An offer to plan with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOffer {
    /// Id.
    pub id: String,
    /// Remaining capacity; `None` for no limit.
    pub capacity: Option<i64>,
    /// Whether it funds single-donor projects.
    pub single: bool,
    /// Whether it joins jointly funded projects.
    pub joint: bool,
}

/// A candidate pair (it passed the hard filters) and its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanEdge {
    /// Index into the needs.
    pub need: usize,
    /// Index into the offers.
    pub offer: usize,
    /// Score, thousandths.
    pub score_milli: u32,
}

/// One proposed line of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    /// Need id.
    pub need_id: String,
    /// Offer id.
    pub offer_id: String,
    /// Amount, base minor units.
    pub amount: i64,
    /// Score, thousandths.
    pub score_milli: u32,
}

/// How (part of) the plan was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanMethod {
    /// Optimal (assignment solved exactly).
    Exact,
    /// Greedy by score; may be below optimal.
    Greedy,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Proposed lines.
    pub lines: Vec<PlanLine>,
    /// Needs left (partly) unfunded and why.
    pub unfunded: Vec<(String, String)>,
    /// Method for the single-donor part.
    pub single_donor_method: PlanMethod,
    /// Method for the jointly funded part.
    pub joint_method: PlanMethod,
    /// Σ score × funded share, in millionths.
    pub objective: i64,
}

fn fits(budget: Option<i64>, capacity: Option<i64>) -> bool {
    match (budget, capacity) {
        (_, None) | (None, _) => true,
        (Some(b), Some(c)) => c >= b,
    }
}

/// Plans an allocation.
pub fn plan(needs: &[PlanNeed], offers: &[PlanOffer], edges: &[PlanEdge]) -> Plan {
    let mut capacity: Vec<Option<i64>> = offers.iter().map(|o| o.capacity).collect();
    let mut lines = Vec::new();
    let mut objective = 0i64;
    let mut funded_share = vec![0i64; needs.len()]; // millionths of the budget

    // Single-donor part.
    let single: Vec<PlanEdge> = edges
        .iter()
        .copied()
        .filter(|e| {
            !needs[e.need].joint
                && offers[e.offer].single
                && fits(needs[e.need].budget, offers[e.offer].capacity)
        })
        .collect();
    let assignment_like = offers.iter().enumerate().all(|(oi, o)| {
        let mut budgets: Vec<i64> = single
            .iter()
            .filter(|e| e.offer == oi)
            .map(|e| needs[e.need].budget.unwrap_or(0))
            .collect();
        if budgets.len() < 2 {
            return true;
        }
        budgets.sort_unstable();
        o.capacity
            .is_some_and(|c| budgets[0].saturating_add(budgets[1]) > c)
    });
    let chosen: Vec<PlanEdge> = if assignment_like {
        assign_exact(needs.len(), offers.len(), &single)
    } else {
        assign_greedy(needs, &mut capacity.clone(), &single)
    };
    for e in &chosen {
        let amount = needs[e.need].budget.unwrap_or(0);
        if let Some(c) = capacity[e.offer].as_mut() {
            *c -= amount;
        }
        funded_share[e.need] = 1_000_000;
        objective += i64::from(e.score_milli) * 1000;
        lines.push(PlanLine {
            need_id: needs[e.need].id.clone(),
            offer_id: offers[e.offer].id.clone(),
            amount,
            score_milli: e.score_milli,
        });
    }

    // Jointly funded part: best pairs first, each taking what both sides allow.
    let mut joint: Vec<PlanEdge> = edges
        .iter()
        .copied()
        .filter(|e| needs[e.need].joint && offers[e.offer].joint)
        .collect();
    joint.sort_by(|a, b| {
        b.score_milli
            .cmp(&a.score_milli)
            .then(a.need.cmp(&b.need))
            .then(a.offer.cmp(&b.offer))
    });
    let mut left: Vec<Option<i64>> = needs.iter().map(|n| n.budget).collect();
    for e in joint {
        let need = &needs[e.need];
        let Some(budget) = need.budget.filter(|b| *b > 0) else {
            if funded_share[e.need] == 0 {
                funded_share[e.need] = 1_000_000;
                objective += i64::from(e.score_milli) * 1000;
                lines.push(PlanLine {
                    need_id: need.id.clone(),
                    offer_id: offers[e.offer].id.clone(),
                    amount: 0,
                    score_milli: e.score_milli,
                });
            }
            continue;
        };
        let want = left[e.need].unwrap_or(0);
        let can = capacity[e.offer].map_or(want, |c| c.min(want));
        if can <= 0 {
            continue;
        }
        left[e.need] = Some(want - can);
        if let Some(c) = capacity[e.offer].as_mut() {
            *c -= can;
        }
        let share = i64::try_from(i128::from(can) * 1_000_000 / i128::from(budget)).unwrap_or(0);
        funded_share[e.need] += share;
        objective += i64::from(e.score_milli) * share / 1000;
        lines.push(PlanLine {
            need_id: need.id.clone(),
            offer_id: offers[e.offer].id.clone(),
            amount: can,
            score_milli: e.score_milli,
        });
    }

    let unfunded = needs
        .iter()
        .enumerate()
        .filter(|(i, _)| funded_share[*i] < 1_000_000)
        .map(|(i, n)| {
            let has_edge = edges.iter().any(|e| e.need == i);
            let why = if !has_edge {
                "no offer passes the hard filters".to_owned()
            } else if funded_share[i] > 0 {
                format!("only {:.0}% covered by the joint offers' remaining capacity", funded_share[i] as f64 / 10_000.0)
            } else if n.joint {
                "the compatible joint offers have no capacity left".to_owned()
            } else {
                "no single offer can fund the whole budget, or better-fitting needs took the capacity".to_owned()
            };
            (n.id.clone(), why)
        })
        .collect();
    Plan {
        lines,
        unfunded,
        single_donor_method: if assignment_like {
            PlanMethod::Exact
        } else {
            PlanMethod::Greedy
        },
        joint_method: PlanMethod::Greedy,
        objective,
    }
}

fn assign_greedy(
    needs: &[PlanNeed],
    capacity: &mut [Option<i64>],
    edges: &[PlanEdge],
) -> Vec<PlanEdge> {
    let mut sorted = edges.to_vec();
    sorted.sort_by(|a, b| {
        b.score_milli
            .cmp(&a.score_milli)
            .then(a.need.cmp(&b.need))
            .then(a.offer.cmp(&b.offer))
    });
    let mut taken = vec![false; needs.len()];
    let mut out = Vec::new();
    for e in sorted {
        let b = needs[e.need].budget.unwrap_or(0);
        if taken[e.need] || capacity[e.offer].is_some_and(|c| c < b) {
            continue;
        }
        if let Some(c) = capacity[e.offer].as_mut() {
            *c -= b;
        }
        taken[e.need] = true;
        out.push(e);
    }
    out
}

/// Maximum-weight assignment of needs to offers over `edges` (Hungarian algorithm on the
/// square matrix padded with zeros; only positive-weight real edges are kept).
fn assign_exact(n_needs: usize, n_offers: usize, edges: &[PlanEdge]) -> Vec<PlanEdge> {
    if edges.is_empty() {
        return Vec::new();
    }
    // Compact to the needs and offers that have edges.
    let mut need_ix: Vec<usize> = edges.iter().map(|e| e.need).collect();
    need_ix.sort_unstable();
    need_ix.dedup();
    let mut offer_ix: Vec<usize> = edges.iter().map(|e| e.offer).collect();
    offer_ix.sort_unstable();
    offer_ix.dedup();
    let _ = (n_needs, n_offers);
    let n = need_ix.len().max(offer_ix.len());
    let mut w = vec![vec![0i64; n]; n];
    for e in edges {
        let (r, c) = (
            need_ix.binary_search(&e.need).unwrap_or(0),
            offer_ix.binary_search(&e.offer).unwrap_or(0),
        );
        w[r][c] = w[r][c].max(i64::from(e.score_milli));
    }
    let col_of_row = hungarian_max(&w);
    let mut out = Vec::new();
    for (r, &c) in col_of_row.iter().enumerate() {
        if r < need_ix.len() && c < offer_ix.len() && w[r][c] > 0 {
            let (need, offer) = (need_ix[r], offer_ix[c]);
            if let Some(e) = edges
                .iter()
                .filter(|e| e.need == need && e.offer == offer)
                .max_by_key(|e| e.score_milli)
            {
                out.push(*e);
            }
        }
    }
    out
}

/// Hungarian algorithm (shortest augmenting paths with potentials) maximising Σ w[r][c]
/// over a square matrix; returns the column assigned to each row.
pub fn hungarian_max(w: &[Vec<i64>]) -> Vec<usize> {
    let n = w.len();
    let max = w.iter().flatten().copied().max().unwrap_or(0);
    // Minimise cost = max - w.
    let cost = |i: usize, j: usize| max - w[i][j];
    let inf = i64::MAX / 4;
    let (mut u, mut v) = (vec![0i64; n + 1], vec![0i64; n + 1]);
    let mut p = vec![0usize; n + 1]; // p[j]: row matched to column j (1-based, 0 = none)
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut col_of_row = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            col_of_row[p[j] - 1] = j - 1;
        }
    }
    col_of_row
}

/// What a plan is computed from, gathered from the engine.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    /// Needs.
    pub needs: Vec<PlanNeed>,
    /// Offers.
    pub offers: Vec<PlanOffer>,
    /// Candidate pairs (they passed the hard filters) with their scores.
    pub edges: Vec<PlanEdge>,
    /// Needs left out before planning, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Gathers the open needs and offers of `engine` that `keep_need` / `keep_offer` accept,
/// with their capacities and budgets in the base currency and every candidate pair.
/// Offers whose amounts have no exchange rate are left out; so are needs, with a reason.
pub fn inputs(
    engine: &crate::Engine,
    ctx: &crate::FitContext<'_>,
    keep_need: &dyn Fn(&clearinghouse_domain::Need) -> bool,
    keep_offer: &dyn Fn(&clearinghouse_domain::Offer) -> bool,
) -> PlanInputs {
    use clearinghouse_domain::FundingMode;

    use crate::fit::{self, Capacity};

    let joint = [FundingMode::JointlyFunded, FundingMode::PooledIoFund];
    let mut out = PlanInputs::default();
    let mut offer_pos = std::collections::HashMap::new();
    for o in engine
        .offers()
        .iter()
        .filter(|o| o.status.is_open() && keep_offer(o))
    {
        let o = &*o;
        let capacity = match fit::capacity(o, ctx.rates) {
            Capacity::NoRate => continue,
            Capacity::Amount(a) => Some(a),
            Capacity::Unlimited => None,
        };
        offer_pos.insert(o.id.0.clone(), out.offers.len());
        out.offers.push(PlanOffer {
            id: o.id.0.clone(),
            capacity,
            single: o
                .fields
                .funding_modes
                .iter()
                .any(|m| matches!(m, FundingMode::SingleDonor | FundingMode::InKind)),
            joint: o.fields.funding_modes.iter().any(|m| joint.contains(m)),
        });
    }
    for n in engine
        .needs()
        .iter()
        .filter(|n| n.status.is_matchable() && keep_need(n))
    {
        let n = &*n;
        let budget = match fit::need_budget(n, ctx.rates) {
            Some(Err(())) => {
                out.skipped.push((
                    n.id.0.clone(),
                    format!("no exchange rate into {} for its budget", ctx.rates.base),
                ));
                continue;
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        let idx = out.needs.len();
        out.needs.push(PlanNeed {
            id: n.id.0.clone(),
            budget,
            joint: n
                .fields
                .accepted_funding_modes
                .iter()
                .any(|m| joint.contains(m)),
        });
        for r in engine.offers_for_need(n, ctx, usize::MAX, &mut crate::naive::Work::default()) {
            if let Some(&o) = offer_pos.get(&r.id) {
                out.edges.push(PlanEdge {
                    need: idx,
                    offer: o,
                    score_milli: r.score_milli,
                });
            }
        }
    }
    out
}
