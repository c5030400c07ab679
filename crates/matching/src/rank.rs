//! Ranking: score descending, then earlier creation, then id — deterministic — and a
//! bounded top-k that keeps only the best k seen.

use std::{cmp::Ordering, collections::BinaryHeap};

use clearinghouse_domain::Timestamp;

/// A ranked candidate (an offer for a need, or a need for an offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    /// Score in thousandths.
    pub score_milli: u32,
    /// Creation time of the candidate (earlier ranks first on equal scores).
    pub created_at: Timestamp,
    /// Id of the candidate (last tie-break).
    pub id: String,
}

impl Ranked {
    /// Whether `self` comes after `other` in the ranking (a page cursor's test).
    pub fn ranks_after(&self, other: &Ranked) -> bool {
        self.rank_cmp(other) == Ordering::Less
    }

    /// `Greater` means ranked before.
    fn rank_cmp(&self, other: &Self) -> Ordering {
        self.score_milli
            .cmp(&other.score_milli)
            .then_with(|| other.created_at.cmp(&self.created_at))
            .then_with(|| other.id.cmp(&self.id))
    }
}

/// Wrapper whose `Ord` is "worse first", so a max-heap of it holds the worst on top.
#[derive(Debug, PartialEq, Eq)]
struct Worst(Ranked);

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.rank_cmp(&self.0)
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the best `k` candidates pushed into it (only those ranked after a cursor, when
/// it has one: the next page of a ranking).
#[derive(Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
    after: Option<Ranked>,
}

impl TopK {
    /// An empty top-k.
    pub fn new(k: usize) -> TopK {
        TopK::after(k, None)
    }

    /// An empty top-k that keeps only candidates ranked after `after`.
    pub fn after(k: usize, after: Option<Ranked>) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1024)),
            after,
        }
    }

    /// Whether a candidate with this score (or at most this score, for an upper bound)
    /// could still enter; ties may win on creation order, so equality admits.
    pub fn admits(&self, score_milli: u32) -> bool {
        self.heap.len() < self.k
            || self
                .heap
                .peek()
                .is_some_and(|w| score_milli >= w.0.score_milli)
    }

    /// Offers a candidate.
    pub fn push(&mut self, r: Ranked) {
        if self.k == 0 || self.after.as_ref().is_some_and(|a| !r.ranks_after(a)) {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(r));
        } else if let Some(worst) = self.heap.peek()
            && r.rank_cmp(&worst.0) == Ordering::Greater
        {
            self.heap.pop();
            self.heap.push(Worst(r));
        }
    }

    /// The kept candidates, best first.
    pub fn into_sorted(self) -> Vec<Ranked> {
        let mut v: Vec<Ranked> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_by(|a, b| b.rank_cmp(a));
        v
    }
}

/// Sorts candidates best first.
pub fn sort_ranked(v: &mut [Ranked]) {
    v.sort_by(|a, b| b.rank_cmp(a));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(score: u32, created: i64, id: &str) -> Ranked {
        Ranked {
            score_milli: score,
            created_at: Timestamp(created),
            id: id.to_owned(),
        }
    }

    #[test]
    fn ties_break_by_creation_then_id_and_top_k_keeps_the_best() {
        let mut t = TopK::new(3);
        for c in [
            r(500, 3, "c"),
            r(900, 9, "z"),
            r(500, 1, "b"),
            r(500, 1, "a"),
            r(100, 0, "q"),
        ] {
            t.push(c);
        }
        let ids: Vec<String> = t.into_sorted().into_iter().map(|x| x.id).collect();
        assert_eq!(ids, vec!["z", "a", "b"]);
    }
}
