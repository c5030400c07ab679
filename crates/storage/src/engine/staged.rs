//! Writes of sled transactions whose bodies have run but which sled has not taken yet,
//! and the batches that hand them to sled.
//!
//! sled 0.34 pays a fixed price per transaction on top of its per-key work: it rolls its
//! log buffer twice (each roll is a write by its I/O threads) and holds its process-wide
//! concurrency lock while it commits. With one sled transaction per write every create
//! paid it; applied in batches, a batch pays it once (BENCHMARKS.md, "Writes applied in
//! batches"). So bodies run one at a time as before, but their writes are *staged*:
//! merged, in order, into the pending batch. A transaction whose writes are staged then
//! waits for its batch to be applied; the first one to find no batch being applied
//! becomes the leader, takes the whole pending batch and applies it to sled in one
//! transaction, which sled recovers atomically. Later bodies read through the staged
//! writes — their own, then the pending batch, then the batch being applied — before
//! sled, so each still sees every write before it. A transaction that wrote nothing, or
//! whose body refused, still waits for the batches staged when its body ended: what it
//! read or refused may rest on them.

use std::collections::{BTreeMap, HashMap};

use super::{TreeName, window_start};
use crate::error::Error;

/// Writes per tree in key order (`None` removes).
pub(crate) type Overlay = HashMap<TreeName, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// Merges `newer` into `older`: a key written by both keeps `newer`'s write.
pub(crate) fn merge_into(older: &mut Overlay, newer: Overlay) {
    for (tree, writes) in newer {
        older.entry(tree).or_default().extend(writes);
    }
}

/// Staged write layers, newest first, as a body sees them under sled.
#[derive(Clone, Copy)]
pub(crate) struct Layers<'a>(pub [Option<&'a Overlay>; 3]);

impl Layers<'_> {
    /// The newest staged write of `key`: `Some(None)` when it was removed, `None` when
    /// no layer wrote it (then sled has the answer).
    pub(crate) fn get(&self, tree: TreeName, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.0
            .iter()
            .flatten()
            .find_map(|layer| layer.get(tree).and_then(|w| w.get(key)))
            .cloned()
    }

    /// The staged writes of `tree` inside the scan window, newest winning.
    pub(crate) fn window(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
    ) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let start = window_start(prefix, from).to_vec();
        let mut out = BTreeMap::new();
        for layer in self.0.iter().rev().flatten() {
            if let Some(writes) = layer.get(tree) {
                out.extend(
                    writes
                        .range(start.clone()..)
                        .take_while(|(k, _)| k.starts_with(prefix))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
        }
        out
    }
}

/// How batches stand: which are applied, whether one is being applied, and the first
/// failure (after which nothing more is applied).
#[derive(Debug, Default)]
pub(crate) struct Batches {
    /// Highest batch number applied to sled.
    applied: u64,
    /// Whether a leader is applying a batch.
    leading: bool,
    /// Why applying failed, forever after.
    failed: Option<String>,
}

/// What a transaction waiting for its batch does next.
#[derive(Debug)]
pub(crate) enum Turn {
    /// The batch is applied: the transaction is committed.
    Done,
    /// No batch is being applied: this transaction leads the next one.
    Lead,
    /// Another transaction is applying a batch: wait for it.
    Wait,
}

impl Batches {
    /// The next step of a transaction whose writes are in batch `mine`.
    pub(crate) fn turn(&mut self, mine: u64) -> Result<Turn, Error> {
        if self.applied >= mine {
            return Ok(Turn::Done);
        }
        if let Some(why) = &self.failed {
            return Err(Error::Engine(format!(
                "a batch of writes failed to apply ({why}); nothing more is written"
            )));
        }
        if self.leading {
            return Ok(Turn::Wait);
        }
        self.leading = true;
        Ok(Turn::Lead)
    }

    /// A leader's batch `number` was applied (`Ok`) or failed.
    pub(crate) fn finish(&mut self, number: u64, outcome: &Result<(), Error>) {
        self.leading = false;
        match outcome {
            Ok(()) => self.applied = self.applied.max(number),
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some(e.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay(tree: TreeName, writes: &[(&[u8], Option<&[u8]>)]) -> Overlay {
        let mut o = Overlay::new();
        o.insert(
            tree,
            writes
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        );
        o
    }

    #[test]
    fn the_newest_layer_wins_for_gets_and_windows() {
        let applying = overlay(
            "t",
            &[(b"a", Some(b"1")), (b"b", Some(b"1")), (b"c", Some(b"1"))],
        );
        let pending = overlay("t", &[(b"b", None), (b"d", Some(b"2"))]);
        let own = overlay("t", &[(b"c", Some(b"3"))]);
        let layers = Layers([Some(&own), Some(&pending), Some(&applying)]);
        assert_eq!(layers.get("t", b"a"), Some(Some(b"1".to_vec())));
        assert_eq!(layers.get("t", b"b"), Some(None));
        assert_eq!(layers.get("t", b"c"), Some(Some(b"3".to_vec())));
        assert_eq!(layers.get("t", b"z"), None);
        assert_eq!(layers.get("other", b"a"), None);
        let w = layers.window("t", b"", b"b");
        let got: Vec<_> = w
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"b"[..], None),
                (&b"c"[..], Some(&b"3"[..])),
                (&b"d"[..], Some(&b"2"[..]))
            ]
        );
    }

    #[test]
    fn merging_keeps_the_newer_write() {
        let mut older = overlay("t", &[(b"a", Some(b"1")), (b"b", Some(b"1"))]);
        merge_into(&mut older, overlay("t", &[(b"b", None)]));
        merge_into(&mut older, overlay("u", &[(b"x", Some(b"9"))]));
        assert_eq!(older["t"][&b"a".to_vec()], Some(b"1".to_vec()));
        assert_eq!(older["t"][&b"b".to_vec()], None);
        assert_eq!(older["u"][&b"x".to_vec()], Some(b"9".to_vec()));
    }

    #[test]
    fn one_leader_at_a_time_and_a_failure_is_final() {
        let mut b = Batches::default();
        assert!(matches!(b.turn(1), Ok(Turn::Lead)));
        assert!(matches!(b.turn(2), Ok(Turn::Wait)));
        b.finish(1, &Ok(()));
        assert!(matches!(b.turn(1), Ok(Turn::Done)));
        assert!(matches!(b.turn(2), Ok(Turn::Lead)));
        b.finish(2, &Err(Error::Engine("disk full".into())));
        assert!(b.turn(3).is_err());
        assert!(b.turn(2).is_err());
        assert!(matches!(b.turn(1), Ok(Turn::Done)));
    }
}
