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
        order(self.key(), other.key())
    }
}

/// The ranking on (score, creation, id): `Greater` means `a` is ranked before `b`.
fn order(a: (u32, Timestamp, &str), b: (u32, Timestamp, &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then_with(|| b.1.cmp(&a.1))
        .then_with(|| b.2.cmp(a.2))
}

/// Something ranked by (score, creation, id).
trait Candidate {
    /// Score in thousandths, creation time and id.
    fn key(&self) -> (u32, Timestamp, &str);
}

impl Candidate for Ranked {
    fn key(&self) -> (u32, Timestamp, &str) {
        (self.score_milli, self.created_at, &self.id)
    }
}

/// A candidate whose id is borrowed from its record: what the engine holds while it
/// ranks, so that a candidate pushed out of the top-k again never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Borrowed<'a> {
    /// Score in thousandths.
    pub score_milli: u32,
    /// Creation time of the candidate.
    pub created_at: Timestamp,
    /// Id of the candidate.
    pub id: &'a str,
}

impl Candidate for Borrowed<'_> {
    fn key(&self) -> (u32, Timestamp, &str) {
        (self.score_milli, self.created_at, self.id)
    }
}

impl From<Borrowed<'_>> for Ranked {
    fn from(b: Borrowed<'_>) -> Ranked {
        Ranked {
            score_milli: b.score_milli,
            created_at: b.created_at,
            id: b.id.to_owned(),
        }
    }
}

/// Wrapper whose `Ord` is "worse first", so a max-heap of it holds the worst on top.
#[derive(Debug, PartialEq, Eq)]
struct Worst<C>(C);

impl<C: Candidate + Eq> Ord for Worst<C> {
    fn cmp(&self, other: &Self) -> Ordering {
        order(other.0.key(), self.0.key())
    }
}

impl<C: Candidate + Eq> PartialOrd for Worst<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `k` candidates of any [`Candidate`] type, after an optional cursor.
#[derive(Debug)]
struct Bounded<C> {
    k: usize,
    heap: BinaryHeap<Worst<C>>,
    after: Option<Ranked>,
}

impl<C: Candidate + Eq + Into<Ranked>> Bounded<C> {
    fn after(k: usize, after: Option<Ranked>) -> Self {
        Bounded {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1024)),
            after,
        }
    }

    fn admits(&self, score_milli: u32) -> bool {
        self.heap.len() < self.k || self.heap.peek().is_some_and(|w| score_milli >= w.0.key().0)
    }

    fn push(&mut self, c: C) {
        if self.k == 0
            || self
                .after
                .as_ref()
                .is_some_and(|a| order(c.key(), a.key()) != Ordering::Less)
        {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(c));
        } else if let Some(worst) = self.heap.peek()
            && order(c.key(), worst.0.key()) == Ordering::Greater
        {
            self.heap.pop();
            self.heap.push(Worst(c));
        }
    }

    fn into_sorted(self) -> Vec<Ranked> {
        let mut v: Vec<Ranked> = self.heap.into_iter().map(|w| w.0.into()).collect();
        sort_ranked(&mut v);
        v
    }
}

/// Keeps the best `k` candidates pushed into it (only those ranked after a cursor, when
/// it has one: the next page of a ranking).
#[derive(Debug)]
pub struct TopK(Bounded<Ranked>);

impl TopK {
    /// An empty top-k.
    pub fn new(k: usize) -> TopK {
        TopK::after(k, None)
    }

    /// An empty top-k that keeps only candidates ranked after `after`.
    pub fn after(k: usize, after: Option<Ranked>) -> TopK {
        TopK(Bounded::after(k, after))
    }

    /// Whether a candidate with this score (or at most this score, for an upper bound)
    /// could still enter; ties may win on creation order, so equality admits.
    pub fn admits(&self, score_milli: u32) -> bool {
        self.0.admits(score_milli)
    }

    /// Offers a candidate.
    pub fn push(&mut self, r: Ranked) {
        self.0.push(r);
    }

    /// The kept candidates, best first.
    pub fn into_sorted(self) -> Vec<Ranked> {
        self.0.into_sorted()
    }
}

/// [`TopK`] over candidates whose ids are borrowed from their records; ids are copied
/// only for the `k` kept.
#[derive(Debug)]
pub(crate) struct BorrowedTopK<'a>(Bounded<Borrowed<'a>>);

impl<'a> BorrowedTopK<'a> {
    /// An empty top-k that keeps only candidates ranked after `after` (if any).
    pub fn after(k: usize, after: Option<Ranked>) -> Self {
        BorrowedTopK(Bounded::after(k, after))
    }

    /// As [`TopK::admits`].
    pub fn admits(&self, score_milli: u32) -> bool {
        self.0.admits(score_milli)
    }

    /// Offers a candidate.
    pub fn push(&mut self, c: Borrowed<'a>) {
        self.0.push(c);
    }

    /// The kept candidates, best first.
    pub fn into_sorted(self) -> Vec<Ranked> {
        self.0.into_sorted()
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
