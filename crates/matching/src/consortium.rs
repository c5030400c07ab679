//! Consortia for jointly funded needs: which joint offers, with which amounts, cover the
//! need's budget best.
//!
//! Objective, in order: cover as much of the budget as possible (all of it when some set
//! can); then maximise Σ score × amount; then use the fewest members; then prefer
//! better-ranked offers. For a fixed set the best amounts are found greedily (everyone's
//! minimum, then the rest to the highest scores, up to each cap). The set is found by an
//! exact branch-and-bound up to `Policy::exact_consortium_max` candidates, greedily beyond.

/// A joint offer that may join: its score and what it may put in (base minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contender {
    /// Offer id.
    pub offer_id: String,
    /// Fit score, thousandths.
    pub score_milli: u32,
    /// Smallest contribution it makes.
    pub min: i64,
    /// Largest contribution it can make (already capped by remaining capacity).
    pub max: i64,
}

/// One member and its amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Offer id.
    pub offer_id: String,
    /// Amount, base minor units.
    pub amount: i64,
    /// Fit score, thousandths.
    pub score_milli: u32,
}

/// How the set was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Provably optimal.
    Exact,
    /// Greedy by score; may be below optimal.
    Greedy,
}

/// The chosen consortium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consortium {
    /// Members, best-ranked first.
    pub members: Vec<Member>,
    /// Amount covered.
    pub covered: i64,
    /// Budget left uncovered.
    pub uncovered: i64,
    /// Σ score × amount (thousandths × minor units).
    pub value: i128,
    /// How it was found.
    pub method: Method,
}

/// Objective of a set: (covered, value, -size); larger is better.
type Objective = (i64, i128, i64);

/// Amounts for a fixed set, or `None` if its minimums exceed the budget.
fn allocate(budget: i64, set: &[&Contender]) -> Option<(Vec<i64>, Objective)> {
    let mins: i64 = set.iter().map(|c| c.min).sum();
    if mins > budget {
        return None;
    }
    let mut amounts: Vec<i64> = set.iter().map(|c| c.min).collect();
    let mut left = budget - mins;
    // Contenders arrive in rank order (score descending), so filling in order fills the
    // highest scores first.
    for (i, c) in set.iter().enumerate() {
        let extra = (c.max - c.min).max(0).min(left);
        amounts[i] += extra;
        left -= extra;
    }
    let covered = budget - left;
    let value = set
        .iter()
        .zip(&amounts)
        .map(|(c, a)| i128::from(c.score_milli) * i128::from(*a))
        .sum();
    let size = i64::try_from(set.len()).unwrap_or(i64::MAX);
    Some((amounts, (covered, value, -size)))
}

fn build(budget: i64, set: &[&Contender], method: Method) -> Consortium {
    let (amounts, (covered, value, _)) = allocate(budget, set).unwrap_or((Vec::new(), (0, 0, 0)));
    let members = set
        .iter()
        .zip(amounts)
        .filter(|(_, a)| *a > 0)
        .map(|(c, amount)| Member {
            offer_id: c.offer_id.clone(),
            amount,
            score_milli: c.score_milli,
        })
        .collect();
    Consortium {
        members,
        covered,
        uncovered: budget - covered,
        value,
        method,
    }
}

/// Chooses a consortium for `budget` among `contenders` (given best-ranked first).
pub fn suggest(budget: i64, contenders: &[Contender], exact_max: usize) -> Consortium {
    let usable: Vec<&Contender> = contenders
        .iter()
        .filter(|c| c.max > 0 && c.min <= c.max && c.min <= budget)
        .collect();
    if usable.len() <= exact_max {
        let best = branch_and_bound(budget, &usable);
        let set: Vec<&Contender> = best.iter().map(|&i| usable[i]).collect();
        build(budget, &set, Method::Exact)
    } else {
        let mut set: Vec<&Contender> = Vec::new();
        let (mut mins, mut caps) = (0i64, 0i64);
        for c in &usable {
            if caps >= budget {
                break;
            }
            if mins + c.min <= budget {
                set.push(c);
                mins += c.min;
                caps = caps.saturating_add(c.max);
            }
        }
        build(budget, &set, Method::Greedy)
    }
}

struct Search<'a> {
    budget: i64,
    items: &'a [&'a Contender],
    /// Suffix sums of caps, for the coverage bound.
    suffix_caps: Vec<i64>,
    best: Option<(Objective, Vec<usize>)>,
}

impl Search<'_> {
    fn better(&self, obj: Objective, set: &[usize]) -> bool {
        match &self.best {
            None => true,
            Some((b, bs)) => obj > *b || (obj == *b && set < bs.as_slice()),
        }
    }

    fn dfs(&mut self, i: usize, chosen: &mut Vec<usize>, mins: i64, caps: i64) {
        let set: Vec<&Contender> = chosen.iter().map(|&j| self.items[j]).collect();
        if let Some((_, obj)) = allocate(self.budget, &set)
            && self.better(obj, chosen)
        {
            self.best = Some((obj, chosen.clone()));
        }
        if i == self.items.len() {
            return;
        }
        // Bound: coverage can reach at most budget ∧ (caps + every remaining cap); value at
        // most that coverage × the best remaining-or-chosen score.
        if let Some(((bc, bv, _), _)) = &self.best {
            let cover_bound = self.budget.min(caps.saturating_add(self.suffix_caps[i]));
            let top_score = chosen
                .iter()
                .copied()
                .chain(i..self.items.len())
                .map(|j| self.items[j].score_milli)
                .max()
                .unwrap_or(0);
            let value_bound = i128::from(cover_bound) * i128::from(top_score);
            if cover_bound < *bc || (cover_bound == *bc && value_bound < *bv) {
                return;
            }
        }
        let c = self.items[i];
        if mins + c.min <= self.budget {
            chosen.push(i);
            self.dfs(i + 1, chosen, mins + c.min, caps.saturating_add(c.max));
            chosen.pop();
        }
        self.dfs(i + 1, chosen, mins, caps);
    }
}

fn branch_and_bound(budget: i64, items: &[&Contender]) -> Vec<usize> {
    let mut suffix_caps = vec![0i64; items.len() + 1];
    for i in (0..items.len()).rev() {
        suffix_caps[i] = suffix_caps[i + 1].saturating_add(items[i].max);
    }
    let mut s = Search {
        budget,
        items,
        suffix_caps,
        best: None,
    };
    s.dfs(0, &mut Vec::new(), 0, 0);
    s.best.map(|(_, set)| set).unwrap_or_default()
}

/// Reference: tries every subset (for tests on small inputs).
pub fn brute_force(budget: i64, contenders: &[Contender]) -> Consortium {
    let usable: Vec<&Contender> = contenders
        .iter()
        .filter(|c| c.max > 0 && c.min <= c.max && c.min <= budget)
        .collect();
    let n = usable.len();
    let mut best: Option<(Objective, Vec<usize>)> = None;
    for mask in 0u32..(1u32 << n) {
        let idx: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
        let set: Vec<&Contender> = idx.iter().map(|&i| usable[i]).collect();
        if let Some((_, obj)) = allocate(budget, &set) {
            let wins = match &best {
                None => true,
                Some((b, bs)) => obj > *b || (obj == *b && idx < *bs),
            };
            if wins {
                best = Some((obj, idx));
            }
        }
    }
    let set: Vec<&Contender> = best
        .map(|(_, s)| s)
        .unwrap_or_default()
        .iter()
        .map(|&i| usable[i])
        .collect();
    build(budget, &set, Method::Exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, score: u32, min: i64, max: i64) -> Contender {
        Contender {
            offer_id: id.into(),
            score_milli: score,
            min,
            max,
        }
    }

    #[test]
    fn splits_need_across_two_joint_offers() {
        let got = suggest(
            100,
            &[
                c("a", 900, 10, 60),
                c("b", 800, 10, 60),
                c("c", 500, 0, 100),
            ],
            16,
        );
        let ids: Vec<(&str, i64)> = got
            .members
            .iter()
            .map(|m| (m.offer_id.as_str(), m.amount))
            .collect();
        assert_eq!(ids, vec![("a", 60), ("b", 40)]);
        assert_eq!(
            (got.covered, got.uncovered, got.method),
            (100, 0, Method::Exact)
        );
    }

    #[test]
    fn reports_the_gap_when_nothing_covers_the_budget() {
        let got = suggest(1000, &[c("a", 900, 0, 300), c("b", 800, 0, 200)], 16);
        assert_eq!((got.covered, got.uncovered), (500, 500));
        assert_eq!(got.members.len(), 2);
    }

    #[test]
    fn respects_minimums_and_uses_greedy_past_the_bound() {
        // a and b cannot both join (minimums 50 + 60 > 100). b alone covers 100 at 850
        // (value 85,000), better than a + c (900 × 50 + 100 × 50 = 50,000).
        let got = suggest(
            100,
            &[
                c("a", 900, 50, 50),
                c("b", 850, 60, 100),
                c("c", 100, 0, 50),
            ],
            16,
        );
        let ids: Vec<&str> = got.members.iter().map(|m| m.offer_id.as_str()).collect();
        assert_eq!(ids, vec!["b"]);
        assert_eq!(got.value, 85_000);
        let many: Vec<Contender> = (0..20)
            .map(|i| c(&format!("o{i:02}"), 900 - i, 0, 10))
            .collect();
        let g = suggest(35, &many, 16);
        assert_eq!(
            (g.method, g.covered, g.members.len()),
            (Method::Greedy, 35, 4)
        );
    }
}
