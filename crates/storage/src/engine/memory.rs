//! An in-memory engine with optimistic concurrency: transactions run concurrently,
//! each reading the latest committed state, and are validated at commit (every key read
//! and every scan must still look the same); a transaction that lost a race runs again.
//! With `interleave`, every operation first yields the thread, so concurrent
//! transactions really interleave. It holds nothing on disk: it exists to prove the
//! typed layer correct under an engine that does not serialize transactions (the
//! conformance suite and the capacity race run against it).

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use super::{Body, Engine, Entry, TreeName, TxOps, Visit, sled::merge_scan, window_start};
use crate::{barrier::BarrierStats, error::Error};

/// A committed value with the commit that wrote it (removals leave a tombstone).
type Versioned = (Option<Vec<u8>>, u64);

#[derive(Debug, Default)]
struct State {
    trees: HashMap<TreeName, BTreeMap<Vec<u8>, Versioned>>,
    commits: u64,
}

impl State {
    fn stamp(&self, tree: TreeName, key: &[u8]) -> (Option<Vec<u8>>, u64) {
        self.trees
            .get(tree)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or((None, 0))
    }

    fn scan(&self, tree: TreeName, prefix: &[u8], from: &[u8], limit: usize) -> Vec<(Entry, u64)> {
        let Some(t) = self.trees.get(tree) else {
            return Vec::new();
        };
        t.range(window_start(prefix, from).to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, (v, s))| v.as_ref().map(|v| ((k.clone(), v.clone()), *s)))
            .take(limit)
            .collect()
    }
}

/// The in-memory engine.
#[derive(Debug, Default)]
pub struct MemoryEngine {
    state: Mutex<State>,
    interleave: bool,
    conflicts: AtomicU64,
    commits: AtomicU64,
}

impl MemoryEngine {
    /// An empty engine; with `interleave`, operations yield so transactions interleave.
    pub fn new(interleave: bool) -> MemoryEngine {
        MemoryEngine {
            interleave,
            ..MemoryEngine::default()
        }
    }

    /// How many transactions had to run again after losing a race.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pause(&self) {
        if self.interleave {
            std::thread::yield_now();
        }
    }
}

/// What a transaction read, to validate at commit.
enum Read {
    Key(TreeName, Vec<u8>, u64),
    Scan {
        tree: TreeName,
        prefix: Vec<u8>,
        from: Vec<u8>,
        limit: usize,
        seen: Vec<(Vec<u8>, u64)>,
    },
}

struct MemTx<'e> {
    engine: &'e MemoryEngine,
    reads: Vec<Read>,
    writes: HashMap<TreeName, BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl TxOps for MemTx<'_> {
    fn get(&mut self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.engine.pause();
        if let Some(v) = self.writes.get(tree).and_then(|w| w.get(key)) {
            return Ok(v.clone());
        }
        let (v, stamp) = self.engine.lock().stamp(tree, key);
        self.reads.push(Read::Key(tree, key.to_vec(), stamp));
        Ok(v)
    }

    fn put(&mut self, tree: TreeName, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.engine.pause();
        self.writes
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, tree: TreeName, key: &[u8]) -> Result<(), Error> {
        self.engine.pause();
        self.writes
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), None);
        Ok(())
    }

    fn scan(
        &mut self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        self.engine.pause();
        // Read enough committed entries that `limit` remain after this transaction's
        // own removals, and remember exactly what was seen.
        let own = self.writes.get(tree).map_or(0, BTreeMap::len);
        let want = limit.saturating_add(own);
        let seen = self.engine.lock().scan(tree, prefix, from, want);
        self.reads.push(Read::Scan {
            tree,
            prefix: prefix.to_vec(),
            from: from.to_vec(),
            limit: want,
            seen: seen.iter().map(|((k, _), s)| (k.clone(), *s)).collect(),
        });
        let committed = seen.into_iter().map(|(e, _)| Ok(e));
        merge_scan(committed, self.writes.get(tree), prefix, from, limit)
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error> {
        loop {
            let mut tx = MemTx {
                engine: self,
                reads: Vec::new(),
                writes: HashMap::new(),
            };
            match body(&mut tx) {
                Err(Error::Conflict) => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            self.pause();
            let mut st = self.lock();
            let valid = tx.reads.iter().all(|r| match r {
                Read::Key(t, k, s) => st.stamp(t, k).1 == *s,
                Read::Scan {
                    tree,
                    prefix,
                    from,
                    limit,
                    seen,
                } => {
                    let now = st.scan(tree, prefix, from, *limit);
                    now.len() == seen.len()
                        && now
                            .iter()
                            .zip(seen)
                            .all(|(((k, _), s), (k2, s2))| k == k2 && s == s2)
                }
            });
            if !valid {
                drop(st);
                self.conflicts.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if tx.writes.is_empty() {
                return Ok(());
            }
            st.commits += 1;
            let stamp = st.commits;
            for (tree, writes) in tx.writes {
                let t = st.trees.entry(tree).or_default();
                for (k, v) in writes {
                    t.insert(k, (v, stamp));
                }
            }
            self.commits.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
    }

    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.lock().stamp(tree, key).0)
    }

    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        Ok(self
            .lock()
            .scan(tree, prefix, from, limit)
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error> {
        // Copied under the lock (no commit in between), visited after it.
        let copy: Vec<(TreeName, Vec<Entry>)> = {
            let st = self.lock();
            trees
                .iter()
                .map(|&t| (t, st.scan(t, &[], &[], usize::MAX)))
                .map(|(t, entries)| (t, entries.into_iter().map(|(e, _)| e).collect()))
                .collect()
        };
        for (tree, entries) in copy {
            for (k, v) in entries {
                visit(tree, &k, &v)?;
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), Error> {
        Ok(())
    }

    fn commits_are_durable(&self) -> bool {
        true
    }
    /// The store lives in this process.
    fn exclusive(&self) -> bool {
        true
    }

    fn check_writable(&self) -> Result<(), Error> {
        Ok(())
    }

    fn stats(&self) -> BarrierStats {
        let c = self.commits.load(Ordering::Relaxed);
        BarrierStats {
            tickets: c,
            syncs: c,
            failed: false,
        }
    }

    fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(0)
    }

    fn path(&self) -> Option<&Path> {
        None
    }
}
