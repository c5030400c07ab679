//! Weights learned from broker decisions: fits the policy's factor weights and gate
//! penalties to what brokers did with the candidates they were shown, and says, on
//! decisions held out of the fit, whether the proposal ranks better than the policy in
//! force.
//!
//! Input: [`Decision`]s — the candidate list a broker looked at for one need, each
//! candidate with the factor values and gate shortfalls it was shown with
//! ([`crate::fit::values`], recorded at the time) and what the broker did with it. The
//! service stores these records; this module only reads them (pure, deterministic).
//!
//! Method: a pairwise ranking loss (RankNet: logistic loss on every pair of candidates of
//! one list whose outcomes differ), minimised by projected Adam steps over the weights (on
//! the simplex: each ≥ 0, summing to 1), the penalties (in [0, 1]) and a free score scale,
//! with a small pull towards the policy in force so that sparse evidence moves it little.
//! Figures: NDCG@k and pairwise accuracy, each k-fold cross-validated (lists of one need
//! stay in one fold).

use clearinghouse_domain::matches::ReasonCode;

use crate::{
    factors::Values,
    policy::{Gates, Policy, Weights},
};

/// What a broker did with one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The match with this offer was agreed (or went further).
    Accepted,
    /// The broker proposed it; no answer yet.
    Proposed,
    /// Proposed, then declined, withdrawn or cancelled, with the reason code given.
    Declined(ReasonCode),
    /// Shown but not chosen.
    Passed,
}

impl Outcome {
    /// Relevance the outcome shows, 0 to 3. A decline for a reason about the fit itself
    /// (scope, eligibility, timing, funding) shows the suggestion was wrong (0); a decline
    /// for any other reason (capacity used up, need met, politics, duplicate) leaves the
    /// broker's judgement standing (as proposed, 2).
    pub fn gain(self) -> u8 {
        match self {
            Outcome::Accepted => 3,
            Outcome::Proposed => 2,
            Outcome::Declined(r) => match r {
                ReasonCode::ScopeMismatch
                | ReasonCode::NotEligible
                | ReasonCode::Timing
                | ReasonCode::FundingUnavailable => 0,
                _ => 2,
            },
            Outcome::Passed => 0,
        }
    }
}

/// One candidate of a decision, as the broker saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionCandidate {
    /// The offer.
    pub offer_id: String,
    /// Its factor values and gate shortfalls when shown ([`crate::fit::values`]).
    pub values: Values,
    /// What the broker did with it.
    pub outcome: Outcome,
}

/// A broker decision: the candidates shown for one need and what became of each.
///
/// To store one (for the service): the need id, the time, and per candidate the offer id,
/// the 9 factor values in [`crate::fit::FACTORS`] order, the 3 gate shortfalls in
/// [`crate::fit::GATES`] order (all `f64` in [0, 1]) and the outcome — `ACCEPTED`,
/// `PROPOSED`, `DECLINED` with its [`ReasonCode`], or `PASSED` — updated as the match
/// moves on. Recording the values, not the score, lets any later policy rescore the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The need the candidates were for.
    pub need_id: String,
    /// The candidates, in the order shown.
    pub candidates: Vec<DecisionCandidate>,
}

/// One candidate with its relevance: what the fit works on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labelled {
    /// Factor values and gate shortfalls.
    pub values: Values,
    /// Relevance, 0 (wrong) to 3 (ideal).
    pub gain: u8,
}

/// Candidates of one need with their relevance; `group` keeps lists of the same need in
/// the same fold.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledList {
    /// Grouping key (the need id).
    pub group: String,
    /// The candidates.
    pub candidates: Vec<Labelled>,
}

impl From<&Decision> for LabelledList {
    fn from(d: &Decision) -> Self {
        LabelledList {
            group: d.need_id.clone(),
            candidates: d
                .candidates
                .iter()
                .map(|c| Labelled {
                    values: c.values,
                    gain: c.outcome.gain(),
                })
                .collect(),
        }
    }
}

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TuneOptions {
    /// Folds of the cross-validation (2 to 20).
    pub folds: usize,
    /// Optimisation steps per fit.
    pub steps: usize,
    /// Depth of the NDCG reported.
    pub ndcg_at: usize,
    /// Strength of the pull towards the policy in force (L2 on weights and penalties).
    pub prior: f64,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            folds: 5,
            steps: 600,
            ndcg_at: 5,
            prior: 0.01,
        }
    }
}

/// Ranking figures of one policy on some lists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Share of differently labelled pairs ordered as the broker did (ties count half).
    pub pair_accuracy: f64,
}

/// The proposal and how it compares with the policy in force.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    /// The policy in force with the fitted weights and penalties (validated).
    pub proposed: Policy,
    /// The policy in force on held-out lists (mean over folds).
    pub current_held_out: Figures,
    /// Fits made without the held-out lists, on those lists (mean over folds).
    pub proposed_held_out: Figures,
    /// The proposal on every list it was fitted to.
    pub proposed_training: Figures,
    /// Lists used (at least two candidates with different outcomes).
    pub lists_used: usize,
    /// Lists that carried no ranking signal.
    pub lists_skipped: usize,
}

/// Why no proposal could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TuneError {
    /// Too few lists carry a ranking signal for the folds asked.
    #[error("{usable} decision lists carry a ranking signal; at least {needed} are needed")]
    TooFewLists {
        /// Lists with a signal.
        usable: usize,
        /// Lists needed (2 per fold).
        needed: usize,
    },
    /// Bad options.
    #[error("folds must be 2 to 20 and steps 1 to 100000 (got {folds} folds, {steps} steps)")]
    BadOptions {
        /// Folds asked.
        folds: usize,
        /// Steps asked.
        steps: usize,
    },
    /// A recorded value is not a number in [0, 1].
    #[error("list {list}, candidate {candidate}: a factor value or shortfall is not in [0, 1]")]
    BadValue {
        /// Index of the list.
        list: usize,
        /// Index of the candidate.
        candidate: usize,
    },
}

/// Fits the policy to broker decisions (see the module documentation).
pub fn tune(
    decisions: &[Decision],
    current: &Policy,
    opts: &TuneOptions,
) -> Result<TuneReport, TuneError> {
    let lists: Vec<LabelledList> = decisions.iter().map(LabelledList::from).collect();
    tune_lists(&lists, current, opts)
}

/// Fits the policy to labelled candidate lists (see the module documentation).
pub fn tune_lists(
    lists: &[LabelledList],
    current: &Policy,
    opts: &TuneOptions,
) -> Result<TuneReport, TuneError> {
    if !(2..=20).contains(&opts.folds) || !(1..=100_000).contains(&opts.steps) {
        return Err(TuneError::BadOptions {
            folds: opts.folds,
            steps: opts.steps,
        });
    }
    for (li, l) in lists.iter().enumerate() {
        for (ci, c) in l.candidates.iter().enumerate() {
            let ok = c
                .values
                .factors
                .iter()
                .chain(&c.values.shortfalls)
                .all(|v| (0.0..=1.0).contains(v));
            if !ok {
                return Err(TuneError::BadValue {
                    list: li,
                    candidate: ci,
                });
            }
        }
    }
    let usable: Vec<&LabelledList> = lists.iter().filter(|l| has_signal(l)).collect();
    let needed = 2 * opts.folds;
    if usable.len() < needed {
        return Err(TuneError::TooFewLists {
            usable: usable.len(),
            needed,
        });
    }
    let start = Params::from_policy(current);
    let fold_of = |l: &LabelledList| fnv(&l.group) % opts.folds as u64;
    let (mut cur, mut prop) = (Vec::new(), Vec::new());
    for f in 0..opts.folds as u64 {
        let (train, test): (Vec<&LabelledList>, Vec<&LabelledList>) =
            usable.iter().partition(|l| fold_of(l) != f);
        if test.is_empty() || train.is_empty() {
            continue;
        }
        let fitted = fit(&train, &start, opts);
        cur.push(figures(
            test.iter().copied(),
            &start.weights,
            &start.gates,
            opts.ndcg_at,
        ));
        prop.push(figures(
            test.iter().copied(),
            &fitted.weights,
            &fitted.gates,
            opts.ndcg_at,
        ));
    }
    let fitted = fit(&usable, &start, opts).rounded();
    let proposed = Policy {
        weights: fitted.weights,
        gates: fitted.gates,
        ..current.clone()
    };
    Ok(TuneReport {
        proposed_training: figures(
            usable.iter().copied(),
            &proposed.weights,
            &proposed.gates,
            opts.ndcg_at,
        ),
        proposed,
        current_held_out: mean(&cur),
        proposed_held_out: mean(&prop),
        lists_used: usable.len(),
        lists_skipped: lists.len() - usable.len(),
    })
}

fn has_signal(l: &LabelledList) -> bool {
    l.candidates
        .iter()
        .any(|c| c.gain != l.candidates.first().map_or(0, |f| f.gain))
}

/// A stable 64-bit FNV-1a hash (fold assignment must not depend on the process).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mean(v: &[Figures]) -> Figures {
    #[allow(clippy::cast_precision_loss)]
    let n = v.len().max(1) as f64;
    Figures {
        ndcg: v.iter().map(|f| f.ndcg).sum::<f64>() / n,
        pair_accuracy: v.iter().map(|f| f.pair_accuracy).sum::<f64>() / n,
    }
}

/// NDCG@k and pairwise accuracy of `weights` and `gates` on `lists`.
pub fn figures<'a>(
    lists: impl IntoIterator<Item = &'a LabelledList>,
    weights: &Weights,
    gates: &Gates,
    k: usize,
) -> Figures {
    let (mut ndcg, mut n) = (0.0, 0usize);
    let (mut right, mut pairs) = (0.0, 0usize);
    for l in lists {
        let scores: Vec<f64> = l
            .candidates
            .iter()
            .map(|c| c.values.score_with(weights, gates))
            .collect();
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // Stable: equal scores keep the order shown (the engine's tie-break).
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
        let got = dcg(order.iter().map(|i| l.candidates[*i].gain), k);
        let mut ideal: Vec<u8> = l.candidates.iter().map(|c| c.gain).collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let best = dcg(ideal.into_iter(), k);
        ndcg += if best > 0.0 { got / best } else { 1.0 };
        n += 1;
        for (i, a) in l.candidates.iter().enumerate() {
            for (j, b) in l.candidates.iter().enumerate() {
                if a.gain > b.gain {
                    pairs += 1;
                    right += match scores[i].total_cmp(&scores[j]) {
                        std::cmp::Ordering::Greater => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Less => 0.0,
                    };
                }
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    Figures {
        ndcg: ndcg / n.max(1) as f64,
        pair_accuracy: right / pairs.max(1) as f64,
    }
}

/// DCG@k with gains 2^g − 1.
fn dcg(gains: impl Iterator<Item = u8>, k: usize) -> f64 {
    gains
        .take(k)
        .zip(1u32..)
        .map(|(g, i)| (f64::from(2u32.pow(u32::from(g))) - 1.0) / f64::from(i + 1).log2())
        .sum()
}

/// What is fitted: weights (simplex), penalties ([0, 1]) and a free score scale.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    weights: Weights,
    gates: Gates,
    log_scale: f64,
}

impl Params {
    fn from_policy(p: &Policy) -> Params {
        Params {
            weights: p.weights,
            gates: p.gates,
            log_scale: 10f64.ln(),
        }
    }

    fn to_vec(self) -> [f64; 13] {
        let (w, g) = (self.weights.to_array(), self.gates.to_array());
        std::array::from_fn(|i| match i {
            0..=8 => w[i],
            9..=11 => g[i - 9],
            _ => self.log_scale,
        })
    }

    fn from_vec(v: &[f64; 13]) -> Params {
        Params {
            weights: Weights::from_array(std::array::from_fn(|i| v[i])),
            gates: Gates::from_array(std::array::from_fn(|i| v[9 + i])),
            log_scale: v[12],
        }
    }

    /// Weights and penalties to 3 decimals, the weights still summing to exactly 1 (the
    /// rounding remainder goes to the largest weight).
    fn rounded(self) -> Params {
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut w = self.weights.to_array().map(r);
        let rest = 1.0 - w.iter().sum::<f64>();
        if let Some(max) = w.iter_mut().max_by(|a, b| a.total_cmp(b)) {
            *max = r(*max + rest);
        }
        Params {
            weights: Weights::from_array(w),
            gates: Gates::from_array(self.gates.to_array().map(r)),
            log_scale: self.log_scale,
        }
    }
}

/// Euclidean projection onto the probability simplex (Duchi et al., 2008).
fn project_simplex(v: &mut [f64]) {
    let mut u: Vec<f64> = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let (mut cum, mut theta) = (0.0, 0.0);
    for (i, x) in u.iter().enumerate() {
        cum += x;
        #[allow(clippy::cast_precision_loss)]
        let t = (cum - 1.0) / (i + 1) as f64;
        if x - t > 0.0 {
            theta = t;
        }
    }
    for x in v.iter_mut() {
        *x = (*x - theta).max(0.0);
    }
}

/// A list prepared for fitting: its candidates and the pairs (better, worse) it orders.
struct Prepared<'a> {
    candidates: &'a [Labelled],
    pairs: Vec<(usize, usize)>,
}

fn prepare<'a>(lists: &[&'a LabelledList]) -> Vec<Prepared<'a>> {
    lists
        .iter()
        .map(|l| {
            let c = &l.candidates;
            let pairs = (0..c.len())
                .flat_map(|i| (0..c.len()).map(move |j| (i, j)))
                .filter(|(i, j)| c[*i].gain > c[*j].gain)
                .collect();
            Prepared {
                candidates: c,
                pairs,
            }
        })
        .collect()
}

/// Gradient of the mean pairwise logistic loss (plus the prior) over the 13 parameters.
fn gradient(lists: &[Prepared<'_>], p: &Params, prior: &Params, strength: f64) -> [f64; 13] {
    let scale = p.log_scale.exp();
    let (w, pen) = (p.weights.to_array(), p.gates.to_array());
    let mut grad = [0.0f64; 13];
    let mut pairs = 0usize;
    // Per candidate: additive sum, gate multipliers, score; then d loss / d score.
    let mut parts: Vec<(f64, [f64; 3], f64)> = Vec::new();
    let mut ds: Vec<f64> = Vec::new();
    for l in lists {
        parts.clear();
        parts.extend(l.candidates.iter().map(|c| {
            let a: f64 = w.iter().zip(c.values.factors).map(|(w, f)| w * f).sum();
            let m: [f64; 3] = std::array::from_fn(|k| 1.0 - pen[k] * c.values.shortfalls[k]);
            (a, m, a * m[0] * m[1] * m[2])
        }));
        ds.clear();
        ds.resize(parts.len(), 0.0);
        for &(i, j) in &l.pairs {
            let z = scale * (parts[i].2 - parts[j].2);
            let d = -sigmoid(-z);
            ds[i] += d * scale;
            ds[j] -= d * scale;
            grad[12] += d * z;
        }
        pairs += l.pairs.len();
        for (i, c) in l.candidates.iter().enumerate() {
            if ds[i] == 0.0 {
                continue;
            }
            let (a, m, _) = parts[i];
            let g = m[0] * m[1] * m[2];
            for (k, f) in c.values.factors.iter().enumerate() {
                grad[k] += ds[i] * g * f;
            }
            let others = [m[1] * m[2], m[0] * m[2], m[0] * m[1]];
            for k in 0..3 {
                grad[9 + k] -= ds[i] * a * c.values.shortfalls[k] * others[k];
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let n = pairs.max(1) as f64;
    let (v, pv) = (p.to_vec(), prior.to_vec());
    std::array::from_fn(|i| {
        grad[i] / n
            + if i < 12 {
                2.0 * strength * (v[i] - pv[i])
            } else {
                0.0
            }
    })
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Projected Adam from `start` (deterministic).
fn fit(lists: &[&LabelledList], start: &Params, opts: &TuneOptions) -> Params {
    let (b1, b2, eps, rate) = (0.9, 0.999, 1e-8, 0.01);
    let prepared = prepare(lists);
    let mut v = start.to_vec();
    let (mut m1, mut m2) = ([0.0f64; 13], [0.0f64; 13]);
    for t in 1..=opts.steps {
        let g = gradient(&prepared, &Params::from_vec(&v), start, opts.prior);
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let ti = t.min(i32::MAX as usize) as i32;
        for i in 0..13 {
            m1[i] = b1 * m1[i] + (1.0 - b1) * g[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * g[i] * g[i];
            let mh = m1[i] / (1.0 - b1.powi(ti));
            let vh = m2[i] / (1.0 - b2.powi(ti));
            v[i] -= rate * mh / (vh.sqrt() + eps);
        }
        project_simplex(&mut v[0..9]);
        for x in &mut v[9..12] {
            *x = x.clamp(0.0, 1.0);
        }
        v[12] = v[12].clamp(0.0, 8.0);
    }
    Params::from_vec(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simplex_projection_keeps_weights_nonnegative_and_summing_to_one() {
        let mut v = [0.5, -0.2, 0.9, 0.1];
        project_simplex(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(v.iter().all(|x| *x >= 0.0));
        let mut already = [0.25; 4];
        project_simplex(&mut already);
        assert_eq!(already, [0.25; 4]);
    }

    #[test]
    fn outcomes_map_to_relevance_and_fit_declines_count_as_wrong() {
        assert_eq!(Outcome::Accepted.gain(), 3);
        assert_eq!(Outcome::Proposed.gain(), 2);
        assert_eq!(Outcome::Declined(ReasonCode::ScopeMismatch).gain(), 0);
        assert_eq!(Outcome::Declined(ReasonCode::NoCapacity).gain(), 2);
        assert_eq!(Outcome::Passed.gain(), 0);
    }

    #[test]
    fn rounding_keeps_a_valid_policy() {
        let mut p = Params::from_policy(&Policy::default());
        p.weights.thematic += 0.000_4;
        p.weights.geography -= 0.000_4;
        let r = p.rounded();
        let policy = Policy {
            weights: r.weights,
            gates: r.gates,
            ..Policy::default()
        };
        assert_eq!(policy.validate(), Ok(()));
    }
}
