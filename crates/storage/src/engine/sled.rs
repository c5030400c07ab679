//! The sled 0.34.7 engine: the embedded default.
//!
//! Transaction bodies are serialized by one writer lock (sled 0.34.7 runs every
//! transaction under one process-wide lock anyway): a body reads committed trees
//! directly, range scans included, through its own writes and those staged before it,
//! and its writes are staged into the pending batch; batches are applied one at a time,
//! each in one sled multi-tree transaction, which sled recovers atomically
//! ([`super::staged`]). A transaction returns once the batches staged when its body
//! ended are applied, its own among them. Durability comes from
//! the group-commit barrier ([`crate::barrier`]): `db.flush()`, then fsync of every new
//! blob file and of `blobs/`, then fsync of the `db` file. The data directory, `conf`,
//! `db` and `blobs/` are fsynced at open.

use std::{
    collections::{BTreeMap, HashMap},
    ffi::OsString,
    fs, io,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

use sled::Transactional;

use super::{
    Body, Engine, Entry, TreeName, TxOps, Visit, in_window,
    staged::{self, Batches, Layers, Overlay, Turn},
    window_start,
};
use crate::{
    barrier::{BarrierStats, GroupCommit, Syncer},
    error::Error,
    store::SyncFault,
};

/// Options of the sled engine.
#[derive(Debug, Clone)]
pub struct SledOptions {
    /// sled page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// Optional hooks around each sync (fault injection, power-loss images in tests).
    pub sync_fault: Option<Arc<dyn SyncFault>>,
}

/// Writes staged by bodies and not yet taken by a leader.
#[derive(Debug)]
struct Pending {
    writes: Overlay,
    /// The number of the batch these writes will be applied in.
    number: u64,
}

/// The sled engine.
pub struct SledEngine {
    db: sled::Db,
    trees: Mutex<HashMap<TreeName, sled::Tree>>,
    /// Serializes bodies; holds the pending batch.
    writer: Mutex<Pending>,
    /// Held by the leader applying a batch (and by a snapshot, so it sees no half batch).
    applier: Mutex<()>,
    /// The batch being applied, which bodies read through.
    applying: Mutex<Option<Arc<Overlay>>>,
    batches: Mutex<Batches>,
    /// Where transactions wait for their batch: those of batch `n` on `batch_done[n % 2]`
    /// (see [`SledEngine::apply_through`]).
    batch_done: [Condvar; 2],
    barrier: GroupCommit,
    path: PathBuf,
}

impl std::fmt::Debug for SledEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledEngine")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Engine(e.to_string())
    }
}

/// Fsyncs a directory, so the entries created in it survive a power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Flushes sled, fsyncs every blob file not yet synced at its current size and the
/// `blobs/` directory, then fsyncs the `db` file (sled 0.34's `flush` uses
/// `sync_file_range`, which does not make data durable on power loss, and sled never
/// fsyncs blob files).
struct SledSyncer {
    db: sled::Db,
    file: fs::File,
    dir: PathBuf,
    blobs: PathBuf,
    /// Blob files already fsynced, with the size they had then (blob files are written
    /// once; one seen mid-write is synced again when its size changes).
    synced_blobs: HashMap<OsString, u64>,
    fault: Option<Arc<dyn SyncFault>>,
}

impl SledSyncer {
    fn sync_blobs(&mut self) -> io::Result<Vec<PathBuf>> {
        let mut present = HashMap::new();
        let mut fresh = false;
        for entry in fs::read_dir(&self.blobs)? {
            let entry = entry?;
            let name = entry.file_name();
            let path = entry.path();
            let file = match fs::File::open(&path) {
                Ok(f) => f,
                // sled removed it meanwhile: nothing depends on it any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let len = file.metadata()?.len();
            if self.synced_blobs.get(&name) != Some(&len) {
                file.sync_all()?;
                fresh = true;
            }
            present.insert(name, len);
        }
        if fresh {
            sync_dir(&self.blobs)?;
        }
        self.synced_blobs = present;
        Ok(self
            .synced_blobs
            .keys()
            .map(|n| self.blobs.join(n))
            .collect())
    }
}

impl Syncer for SledSyncer {
    fn sync(&mut self) -> io::Result<()> {
        if let Some(f) = &self.fault {
            f.before_sync()?;
        }
        self.db.flush().map_err(io::Error::other)?;
        let mut durable = self.sync_blobs()?;
        self.file.sync_all()?;
        if let Some(f) = &self.fault {
            durable.push(self.dir.join("conf"));
            durable.push(self.dir.join("db"));
            f.after_sync(&self.dir, &durable);
        }
        Ok(())
    }
}

/// sled's on-disk settings, fixed when a store is created: sled keeps them in `conf` and
/// refuses to open a store with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DiskFormat {
    segment_size: usize,
    compression: bool,
}

/// The format of a new store: 8 MiB segments, uncompressed. Measured (BENCHMARKS.md,
/// "Large store: 1M records"): 8 MiB segments keep the same data in 2.5-2.8 times its
/// logical size on disk instead of 4.9-5.5 with sled's default 512 KiB, at the same write
/// rate; zstd compression would bring it to 1.4-1.9 but halves durable write throughput.
/// sled's blob threshold is a quarter of a segment (2 MiB here), above any record the
/// store accepts, so such a store keeps no blob files; the blob-file tests of
/// `crates/storage/tests/sled_engine.rs` create their stores with 512 KiB segments.
/// Existing stores open in the format their `conf` records whatever this is.
const NEW_STORE_FORMAT: DiskFormat = DiskFormat {
    segment_size: 8 * 1024 * 1024,
    compression: false,
};

/// Creates an empty store in `path` with sled log segments of `segment_size` bytes (a
/// power of two up to 16 MiB) instead of [`NEW_STORE_FORMAT`]'s; it then always opens in
/// that format. For comparing formats, and for tests of blob files, which need the
/// 512 KiB segments of stores made before.
pub fn create_with_segment_size(path: &Path, segment_size: usize) -> Result<(), Error> {
    let db = sled::Config::new()
        .path(path)
        .segment_size(segment_size)
        .open()?;
    db.flush()?;
    Ok(())
}

/// The format of the store in `path`, read from sled's `conf` (`key: value` lines, then
/// a 4-byte CRC): `None` for a new store (no `conf`, or one sled itself would ignore),
/// an error when `conf` cannot be read or names no format.
fn stored_format(path: &Path) -> Result<Option<DiskFormat>, Error> {
    let conf = path.join("conf");
    let bytes = match fs::read(&conf) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Engine(format!(
                "cannot read {}: {e}",
                conf.display()
            )));
        }
    };
    // sled treats a `conf` of 8 bytes or fewer as absent and writes a new one.
    let Some(end) = bytes.len().checked_sub(4).filter(|_| bytes.len() > 8) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes[..end]);
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once(": "))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_owned())
    };
    let bad = || {
        Error::Engine(format!(
            "{} is not a sled 0.34 configuration (segment_size, use_compression)",
            conf.display()
        ))
    };
    let segment_size = value("segment_size")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let compression = value("use_compression")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    Ok(Some(DiskFormat {
        segment_size,
        compression,
    }))
}

/// Opens sled, waiting up to ~10 s for the directory lock: after a store is dropped in
/// the same process, sled's background threads release the lock asynchronously (on a
/// loaded machine that can take seconds), so an immediate reopen can find it still held
/// (WouldBlock).
///
/// A new store gets [`NEW_STORE_FORMAT`]; an existing one opens in the format its `conf`
/// records, so stores created with other settings keep opening. A compressed store is
/// refused with a message naming the setting: this build has no zstd.
fn open_sled(path: &Path, cache_capacity: u64) -> Result<sled::Db, Error> {
    let format = stored_format(path)?.unwrap_or(NEW_STORE_FORMAT);
    if format.compression {
        return Err(Error::Engine(format!(
            "the store in {} is compressed (use_compression in its conf); this build opens \
             uncompressed sled stores only",
            path.display()
        )));
    }
    let config = sled::Config::new()
        .path(path)
        .cache_capacity(cache_capacity)
        .segment_size(format.segment_size);
    let mut wait = Duration::from_millis(5);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if lock_held(&e) && Instant::now() < deadline => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

/// Whether opening failed because another handle still holds the directory lock. sled
/// 0.34.7 reports it as `ErrorKind::Other` with the lock error in the message
/// ("could not acquire lock on ..."), not as `WouldBlock`.
fn lock_held(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

impl SledEngine {
    /// Opens (creating if needed) the engine in `path`, makes what is already there
    /// durable, and starts the committer thread.
    pub fn open(path: &Path, opts: &SledOptions) -> Result<SledEngine, Error> {
        let db = open_sled(path, opts.cache_capacity_bytes)?;
        let db_file = path.join("db");
        let file = fs::File::open(&db_file).map_err(|e| {
            Error::Engine(format!(
                "cannot open {} for fsync ({e}); this store depends on sled 0.34.7's layout",
                db_file.display()
            ))
        })?;
        let blobs = path.join("blobs");
        let engine_io = |what: &str, e: io::Error| {
            Error::Engine(format!("cannot make {what} durable at open: {e}"))
        };
        // Whatever the last run left (including files a crash left unsynced) is made
        // durable before anything is built on it.
        db.flush()?;
        let mut durable = Vec::new();
        for f in ["conf", "db"] {
            fs::File::open(path.join(f))
                .and_then(|f| f.sync_all())
                .map_err(|e| engine_io(f, e))?;
            durable.push(path.join(f));
        }
        sync_dir(path).map_err(|e| engine_io("the data directory", e))?;
        durable.push(path.to_owned());
        let mut syncer = SledSyncer {
            db: db.clone(),
            file,
            dir: path.to_owned(),
            blobs: blobs.clone(),
            synced_blobs: HashMap::new(),
            fault: opts.sync_fault.clone(),
        };
        durable.extend(
            syncer
                .sync_blobs()
                .map_err(|e| engine_io("blob files", e))?,
        );
        sync_dir(&blobs).map_err(|e| engine_io("blobs/", e))?;
        durable.push(blobs.clone());
        if let Some(f) = &opts.sync_fault {
            f.synced_at_open(path, &durable);
        }
        let barrier = GroupCommit::start(Box::new(syncer))
            .map_err(|e| Error::Engine(format!("cannot start the committer thread: {e}")))?;
        Ok(SledEngine {
            db,
            trees: Mutex::new(HashMap::new()),
            writer: Mutex::new(Pending {
                writes: Overlay::new(),
                number: 1,
            }),
            applier: Mutex::new(()),
            applying: Mutex::new(None),
            batches: Mutex::new(Batches::default()),
            batch_done: [Condvar::new(), Condvar::new()],
            barrier,
            path: path.to_owned(),
        })
    }

    fn tree(&self, name: TreeName) -> Result<sled::Tree, Error> {
        let mut trees = self.trees.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = trees.get(name) {
            return Ok(t.clone());
        }
        let t = self.db.open_tree(name)?;
        trees.insert(name, t.clone());
        Ok(t)
    }

    fn committed_scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
    ) -> Result<impl Iterator<Item = Result<Entry, Error>>, Error> {
        let t = self.tree(tree)?;
        let prefix = prefix.to_vec();
        Ok(t.range(window_start(&prefix, from).to_vec()..)
            .map(|kv| {
                kv.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Error::from)
            })
            .take_while(move |kv| kv.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix))))
    }
}

/// Merges committed entries with a transaction's writes over one scan window.
pub(crate) fn merge_scan(
    committed: impl Iterator<Item = Result<Entry, Error>>,
    own: Option<&BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    prefix: &[u8],
    from: &[u8],
    limit: usize,
) -> Result<Vec<Entry>, Error> {
    let empty = BTreeMap::new();
    let own = own.unwrap_or(&empty);
    let start = window_start(prefix, from).to_vec();
    let mut mine = own
        .range(start..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .peekable();
    let mut theirs = committed.peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let next_theirs = match theirs.peek() {
            Some(Ok((k, _))) => Some(k.clone()),
            Some(Err(_)) => {
                return Err(theirs
                    .next()
                    .and_then(Result::err)
                    .unwrap_or_else(|| Error::Engine("scan failed".into())));
            }
            None => None,
        };
        let next_mine = mine.peek().map(|(k, _)| (*k).clone());
        match (next_theirs, next_mine) {
            (None, None) => break,
            (Some(t), m) if m.as_ref().is_none_or(|m| t < *m) => {
                if let Some(Ok(e)) = theirs.next() {
                    out.push(e);
                }
            }
            (t, Some(m)) => {
                if t.as_ref() == Some(&m) {
                    theirs.next(); // shadowed by this transaction's write
                }
                if let Some((k, v)) = mine.next()
                    && let Some(v) = v
                {
                    debug_assert!(in_window(k, prefix, from));
                    out.push((k.clone(), v.clone()));
                }
            }
            (Some(_), None) => unreachable!("covered by the first arm"),
        }
    }
    Ok(out)
}

struct SledTx<'e> {
    engine: &'e SledEngine,
    /// Staged before this body: the pending batch, then the batch being applied.
    pending: &'e Overlay,
    applying: Option<&'e Overlay>,
    writes: Overlay,
}

impl SledTx<'_> {
    fn layers(&self) -> Layers<'_> {
        Layers([Some(&self.writes), Some(self.pending), self.applying])
    }
}

impl TxOps for SledTx<'_> {
    fn get(&mut self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        if let Some(v) = self.layers().get(tree, key) {
            return Ok(v);
        }
        Ok(self.engine.tree(tree)?.get(key)?.map(|v| v.to_vec()))
    }

    fn put(&mut self, tree: TreeName, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.writes
            .entry(tree)
            .or_default()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&mut self, tree: TreeName, key: &[u8]) -> Result<(), Error> {
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
        let committed = self.engine.committed_scan(tree, prefix, from)?;
        let staged = self.layers().window(tree, prefix, from);
        merge_scan(committed, Some(&staged), prefix, from, limit)
    }
}

impl SledEngine {
    /// Returns once batch `mine` is applied, applying pending batches itself whenever no
    /// other transaction is.
    ///
    /// While batch `n` is applied, bodies stage into batch `n + 1`, so every waiter waits
    /// for `n` or `n + 1`: a leader applies exactly the batch it waited for, and batch
    /// `n - 1`'s waiters were all woken when it was done, so the condition variable of
    /// `n + 1` holds no waiter of `n - 1`. When `n` is done, all of `n`'s waiters are
    /// woken, and one of `n + 1`'s so that someone leads it (or a transaction arriving
    /// meanwhile does); the rest of them sleep on, instead of every waiter waking at
    /// every batch to find it is not theirs yet.
    fn apply_through(&self, mine: u64) -> Result<(), Error> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match batches.turn(mine)? {
                Turn::Done => return Ok(()),
                Turn::Wait => {
                    batches = self.batch_done[parity(mine)]
                        .wait(batches)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Turn::Lead => {
                    drop(batches);
                    let (number, outcome) = self.lead();
                    if let Err(e) = &outcome {
                        // The state of a failed commit is unknown: stop promising anything.
                        self.barrier.fail(&e.to_string());
                    }
                    batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
                    batches.finish(number, &outcome);
                    let next = number.wrapping_add(1);
                    self.batch_done[parity(number)].notify_all();
                    if outcome.is_ok() {
                        self.batch_done[parity(next)].notify_one();
                    } else {
                        // Every waiter must hear of the failure.
                        self.batch_done[parity(next)].notify_all();
                    }
                }
            }
        }
    }

    /// Takes the pending batch, publishes it as the batch being applied, and applies it in
    /// one sled transaction; returns its number and the outcome.
    fn lead(&self) -> (u64, Result<(), Error>) {
        let _applier = self.applier.lock().unwrap_or_else(PoisonError::into_inner);
        let (number, batch) = {
            let mut pending = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let batch = Arc::new(std::mem::take(&mut pending.writes));
            let number = pending.number;
            pending.number += 1;
            *self.applying.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(Arc::clone(&batch));
            (number, batch)
        };
        let outcome = if batch.is_empty() {
            Ok(())
        } else {
            // A panic inside sled is a failed commit: the waiters must hear about it.
            catch_unwind(AssertUnwindSafe(|| self.apply(&batch)))
                .unwrap_or_else(|_| Err(Error::Engine("applying a batch panicked".into())))
        };
        *self.applying.lock().unwrap_or_else(PoisonError::into_inner) = None;
        (number, outcome)
    }

    fn apply(&self, writes: &Overlay) -> Result<(), Error> {
        let mut names: Vec<TreeName> = writes.keys().copied().collect();
        names.sort_unstable();
        let trees = names
            .iter()
            .map(|n| self.tree(n))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&sled::Tree> = trees.iter().collect();
        refs.as_slice()
            .transaction(|views| {
                for (i, name) in names.iter().enumerate() {
                    for (k, v) in writes.get(name).into_iter().flatten() {
                        match v {
                            Some(v) => {
                                views[i].insert(k.as_slice(), v.as_slice())?;
                            }
                            None => {
                                views[i].remove(k.as_slice())?;
                            }
                        }
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| Error::Engine(format!("commit failed: {e:?}")))
    }
}

/// Which of [`SledEngine::batch_done`]'s condition variables batch `n`'s waiters use.
fn parity(n: u64) -> usize {
    usize::from(n % 2 == 1)
}

impl Engine for SledEngine {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error> {
        self.barrier.check()?;
        let _writing = self.barrier.writing();
        let (outcome, wait_for) = {
            let mut pending = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let applying = self
                .applying
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let mut tx = SledTx {
                engine: self,
                pending: &pending.writes,
                applying: applying.as_deref(),
                writes: Overlay::new(),
            };
            let outcome = body(&mut tx);
            let writes = tx.writes;
            if outcome.is_ok() {
                staged::merge_into(&mut pending.writes, writes);
            }
            // Its own writes, and whatever this body read or refused, may rest on staged
            // writes: it is answered only once they are in sled (and fails if they never
            // are).
            let wait_for = if !pending.writes.is_empty() {
                Some(pending.number)
            } else if applying.is_some() {
                Some(pending.number.saturating_sub(1))
            } else {
                None
            };
            (outcome, wait_for)
        };
        if let Some(batch) = wait_for {
            self.apply_through(batch)?;
        }
        outcome
    }

    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.tree(tree)?.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        self.committed_scan(tree, prefix, from)?
            .take(limit)
            .collect()
    }

    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error> {
        // sled 0.34 has no snapshots: every entry is collected while the writer lock holds
        // commits back, then visited after it is released. Collecting clones sled's
        // reference-counted buffers (values above a few bytes are shared, not copied), so
        // writers wait only for one pass over the trees; memory holds the store's
        // entries until the visit ends.
        let copy = {
            // No batch half applied, and none starting.
            let _applier = self.applier.lock().unwrap_or_else(PoisonError::into_inner);
            let _serial = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            trees
                .iter()
                .map(|&name| {
                    let entries = self.tree(name)?.iter().collect::<Result<Vec<_>, _>>()?;
                    Ok((name, entries))
                })
                .collect::<Result<Vec<_>, Error>>()?
        };
        for (tree, entries) in copy {
            for (k, v) in entries {
                visit(tree, &k, &v)?;
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), Error> {
        Ok(self.barrier.wait()?)
    }

    fn commits_are_durable(&self) -> bool {
        false
    }
    /// sled locks its directory.
    fn exclusive(&self) -> bool {
        true
    }

    fn check_writable(&self) -> Result<(), Error> {
        Ok(self.barrier.check()?)
    }

    fn stats(&self) -> BarrierStats {
        self.barrier.stats()
    }

    fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.path)
    }
}
