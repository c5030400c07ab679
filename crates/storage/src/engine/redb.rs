//! The redb engine: an embedded alternative to sled, in one file (`store.redb`) of the
//! data directory.
//!
//! redb keeps copy-on-write B-trees with MVCC: readers open a snapshot and never wait for
//! the writer, and its page cache is bounded by the size it is given. Each tree is a redb
//! table of byte keys and byte values.
//!
//! Transaction bodies run one at a time (a writer lock) inside one shared redb write
//! transaction, the open batch: a body reads committed state plus the writes of the
//! bodies before it in the batch, and its own. A body that fails has its writes undone
//! (each write keeps the value it replaced) before the next body runs. The group-commit
//! barrier ([`crate::barrier`]) commits the open batch ([`redb::Durability::Immediate`])
//! and the next body opens a new one; so the pages a batch touches are copied and written
//! once per batch, not once per body. Bodies wait while a batch commits (redb has one
//! writer). Readers outside transactions see the last committed batch. The commit also
//! records redb's allocator state (quick repair, a two-phase commit: two fsyncs), so that
//! opening after a crash does not walk the whole file. A batch of read-only bodies is
//! dropped, not committed.
//!
//! A body returns before its batch is committed: the store answers only after
//! [`Engine::sync`], which waits for that commit. A body that fails after reading the
//! batch's writes waits for the batch's commit too, since its answer may rest on them.

use std::{
    collections::HashMap,
    fs, io,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::{Body, Engine, Entry, TreeName, TxOps, Visit, in_window, window_start};
use crate::{
    barrier::{BarrierStats, GroupCommit, Syncer},
    error::Error,
    store::SyncFault,
    trees,
};

/// The file of a redb store in its data directory.
pub const FILE_NAME: &str = "store.redb";

/// Options of the redb engine.
#[derive(Debug, Clone)]
pub struct RedbOptions {
    /// redb's page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// Optional hooks around each sync (fault injection, power-loss images in tests).
    pub sync_fault: Option<Arc<dyn SyncFault>>,
}

/// The open batch: the write transaction bodies write into until the barrier commits it.
#[derive(Default)]
struct Batch {
    txn: Option<redb::WriteTransaction>,
    /// Writes the open batch holds (of bodies that succeeded).
    writes: usize,
    /// Why the batch may never commit: a failed body's writes could not be undone. The
    /// next sync fails (so no waiter of the batch is answered `Ok`) and aborts it.
    broken: Option<String>,
}

type Shared = Arc<Mutex<Batch>>;

type ReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A table of a write transaction.
type WriteTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// The cached read view, shared with the syncer, which drops it at each commit: an open
/// read transaction keeps every page it sees, so a view left behind would keep redb from
/// reusing the pages later commits free, and the file would grow.
type View = Arc<RwLock<Option<Arc<ReadView>>>>;

/// A read transaction shared by the reads outside transactions until the next commit,
/// with every table of the store's trees ([`trees::all`]) opened in it (`None`: a tree
/// never written).
struct ReadView {
    /// The commit count it was opened at.
    commits: u64,
    txn: redb::ReadTransaction,
    tables: HashMap<TreeName, Option<Arc<ReadTable>>>,
}

impl ReadView {
    /// `tree` in this view; a tree outside the store's own is opened for the call.
    fn table(&self, engine: &RedbEngine, tree: TreeName) -> Result<Option<Arc<ReadTable>>, Error> {
        match self.tables.get(tree) {
            Some(t) => Ok(t.clone()),
            None => Ok(engine.read_table(&self.txn, tree)?.map(Arc::new)),
        }
    }
}

fn lock(batch: &Mutex<Batch>) -> MutexGuard<'_, Batch> {
    batch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The redb engine.
pub struct RedbEngine {
    /// Also the writer lock: bodies run while holding it.
    batch: Shared,
    barrier: GroupCommit,
    /// Batches committed so far; bumped before any body of the batch is answered.
    commits: Arc<AtomicU64>,
    /// The read view of the latest commit, once a read asked for it.
    view: View,
    db: Arc<redb::Database>,
    dir: PathBuf,
    file: PathBuf,
}

impl std::fmt::Debug for RedbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbEngine")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

fn failed(what: &str) -> impl Fn(redb::Error) -> Error + '_ {
    move |e| Error::Engine(format!("redb: {what}: {e}"))
}

fn table(tree: TreeName) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(tree)
}

/// Whether the data directory `dir` holds a redb store.
pub fn holds_store(dir: &Path) -> bool {
    dir.join(FILE_NAME).exists()
}

/// Makes every body so far durable: commits the open batch, if any, with an fsync (and
/// redb's allocator state, for a quick repair after a crash).
struct RedbSyncer {
    batch: Shared,
    commits: Arc<AtomicU64>,
    view: View,
    dir: PathBuf,
    file: PathBuf,
    fault: Option<Arc<dyn SyncFault>>,
}

impl Syncer for RedbSyncer {
    fn sync(&mut self) -> io::Result<()> {
        if let Some(f) = &self.fault {
            f.before_sync()?;
        }
        // Taken out under the lock, committed after it. The next body opens a new batch,
        // but redb lets it begin only once this commit is done.
        let taken = std::mem::take(&mut *lock(&self.batch));
        if let Some(why) = taken.broken {
            if let Some(txn) = taken.txn {
                let _ = txn.abort();
            }
            return Err(io::Error::other(why));
        }
        match taken.txn {
            None => {}
            // Read-only bodies only: what they read is committed, and so durable.
            Some(txn) if taken.writes == 0 => txn.abort().map_err(io::Error::other)?,
            Some(txn) => {
                txn.commit().map_err(io::Error::other)?;
                // Before the batch's bodies are answered: a read after an answer opens a
                // view that holds this commit.
                self.commits.fetch_add(1, Ordering::Release);
                *self.view.write().unwrap_or_else(PoisonError::into_inner) = None;
            }
        }
        if let Some(f) = &self.fault {
            f.after_sync(&self.dir, std::slice::from_ref(&self.file));
        }
        Ok(())
    }
}

impl RedbEngine {
    /// Opens (creating if needed) the engine in the data directory `dir` and starts the
    /// committer thread. The directory is fsynced once the file exists, before any
    /// transaction (redb makes the file's own contents durable when it creates it).
    pub fn open(dir: &Path, opts: &RedbOptions) -> Result<RedbEngine, Error> {
        let engine_io =
            |what: &str, e: io::Error| Error::Engine(format!("cannot open {what}: {e}"));
        fs::create_dir_all(dir).map_err(|e| engine_io("the data directory", e))?;
        let file = dir.join(FILE_NAME);
        let cache = usize::try_from(opts.cache_capacity_bytes).unwrap_or(usize::MAX);
        let db = redb::Builder::new()
            .set_cache_size(cache)
            // The whole file locked against every other process: what `exclusive` promises.
            .set_concurrency_mode(redb::ConcurrencyMode::ExclusiveWriter)
            .create(&file)
            .map_err(|e| Error::Engine(format!("cannot open {}: {e}", file.display())))?;
        super::sled::sync_dir(dir).map_err(|e| engine_io("the data directory", e))?;
        if let Some(f) = &opts.sync_fault {
            f.synced_at_open(dir, &[dir.to_owned(), file.clone()]);
        }
        let db = Arc::new(db);
        let batch = Shared::default();
        let commits = Arc::new(AtomicU64::new(0));
        let view = View::default();
        let syncer = RedbSyncer {
            batch: Arc::clone(&batch),
            commits: Arc::clone(&commits),
            view: Arc::clone(&view),
            dir: dir.to_owned(),
            file: file.clone(),
            fault: opts.sync_fault.clone(),
        };
        let barrier = GroupCommit::start(Box::new(syncer))
            .map_err(|e| Error::Engine(format!("cannot start the committer thread: {e}")))?;
        Ok(RedbEngine {
            batch,
            barrier,
            commits,
            view,
            db,
            dir: dir.to_owned(),
            file,
        })
    }
}

/// What a write replaced: the tree, the key and the value before (none: absent).
type Undo = (TreeName, Vec<u8>, Option<Vec<u8>>);

/// One body's view of the open batch: its tables, each opened once, and how to undo its
/// writes.
struct RedbTx<'t> {
    txn: &'t redb::WriteTransaction,
    tables: Vec<(TreeName, WriteTable<'t>)>,
    undo: Vec<Undo>,
}

impl<'t> RedbTx<'t> {
    fn table(
        &mut self,
        tree: TreeName,
    ) -> Result<&mut redb::Table<'t, &'static [u8], &'static [u8]>, Error> {
        let at = match self.tables.iter().position(|(t, _)| *t == tree) {
            Some(at) => at,
            None => {
                let opened = self
                    .txn
                    .open_table(table(tree))
                    .map_err(|e| failed("open a table")(e.into()))?;
                self.tables.push((tree, opened));
                self.tables.len() - 1
            }
        };
        Ok(&mut self.tables[at].1)
    }
}

impl TxOps for RedbTx<'_> {
    fn get(&mut self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let t = self.table(tree)?;
        let v = t.get(key).map_err(|e| failed("read")(e.into()))?;
        Ok(v.map(|g| g.value().to_vec()))
    }

    fn put(&mut self, tree: TreeName, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let before = self
            .table(tree)?
            .insert(key, value)
            .map_err(|e| failed("write")(e.into()))?
            .map(|g| g.value().to_vec());
        self.undo.push((tree, key.to_vec(), before));
        Ok(())
    }

    fn remove(&mut self, tree: TreeName, key: &[u8]) -> Result<(), Error> {
        let before = self
            .table(tree)?
            .remove(key)
            .map_err(|e| failed("remove")(e.into()))?
            .map(|g| g.value().to_vec());
        if before.is_some() {
            self.undo.push((tree, key.to_vec(), before));
        }
        Ok(())
    }

    fn scan(
        &mut self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        let t = self.table(tree)?;
        collect_window(t, prefix, from, limit)
    }
}

/// Up to `limit` entries of `t` in the scan window `prefix`/`from`, in key order.
fn collect_window(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
    from: &[u8],
    limit: usize,
) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let start = window_start(prefix, from);
    for item in t.range(start..).map_err(|e| failed("scan")(e.into()))? {
        let (k, v) = item.map_err(|e| failed("scan")(e.into()))?;
        let key = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        debug_assert!(in_window(key, prefix, from));
        out.push((key.to_vec(), v.value().to_vec()));
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

impl RedbTx<'_> {
    /// Puts back what the body's writes replaced, last write first.
    fn roll_back(&mut self) -> Result<(), Error> {
        while let Some((tree, key, before)) = self.undo.pop() {
            let t = self.table(tree)?;
            match before {
                Some(v) => t.insert(key.as_slice(), v.as_slice()).map(drop),
                None => t.remove(key.as_slice()).map(drop),
            }
            .map_err(|e| failed("undo a write")(e.into()))?;
        }
        Ok(())
    }
}

impl RedbEngine {
    /// A read-only view of `tree` as of now; `None` when the tree was never written.
    fn read_table(
        &self,
        txn: &redb::ReadTransaction,
        tree: TreeName,
    ) -> Result<Option<ReadTable>, Error> {
        match txn.open_table(table(tree)) {
            Ok(t) => Ok(Some(t)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(failed("open a table")(e.into())),
        }
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, Error> {
        self.db
            .begin_read()
            .map_err(|e| failed("begin a read")(e.into()))
    }

    /// The shared read view of the latest commit, opened anew once a batch has
    /// committed since the cached one.
    fn view(&self) -> Result<Arc<ReadView>, Error> {
        let commits = self.commits.load(Ordering::Acquire);
        if let Some(v) = self
            .view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|v| v.commits == commits)
        {
            return Ok(Arc::clone(v));
        }
        let txn = self.begin_read()?;
        let mut tables = HashMap::new();
        for tree in trees::all() {
            tables.insert(tree, self.read_table(&txn, tree)?.map(Arc::new));
        }
        let fresh = Arc::new(ReadView {
            commits,
            txn,
            tables,
        });
        let mut cached = self.view.write().unwrap_or_else(PoisonError::into_inner);
        // A racing reader may have installed a view of a later commit meanwhile.
        if cached.as_ref().is_none_or(|v| v.commits < commits) {
            *cached = Some(Arc::clone(&fresh));
        }
        Ok(fresh)
    }
}

impl Drop for RedbEngine {
    /// A closing engine commits its open batch (as sled flushes when it closes), so
    /// that nothing a body wrote is lost to a clean close without a sync, unless a sync
    /// failed before. A commit that fails here changes nothing that was answered: every
    /// answer waited for a sync.
    fn drop(&mut self) {
        let taken = std::mem::take(&mut *lock(&self.batch));
        let Some(txn) = taken.txn else { return };
        // After a failed sync nothing more is written: the batch's writers were told.
        if self.barrier.check().is_err() {
            let _ = txn.abort();
        } else if let Err(e) = txn.commit() {
            tracing::warn!(error = %e, "redb: the open batch did not commit at close");
        }
    }
}

impl Engine for RedbEngine {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error> {
        self.barrier.check()?;
        let writing = self.barrier.writing();
        let mut batch = lock(&self.batch);
        if let Some(why) = &batch.broken {
            return Err(Error::Engine(why.clone()));
        }
        if batch.txn.is_none() {
            let mut txn = self
                .db
                .begin_write()
                .map_err(|e| failed("begin a batch")(e.into()))?;
            txn.set_durability(redb::Durability::Immediate)
                .map_err(|e| failed("set durability")(e.into()))?;
            txn.set_quick_repair(true);
            batch.txn = Some(txn);
        }
        let read_staged = batch.writes > 0;
        let Some(txn) = batch.txn.as_ref() else {
            return Err(Error::Engine("redb: no open batch".into()));
        };
        let mut tx = RedbTx {
            txn,
            tables: Vec::new(),
            undo: Vec::new(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&mut tx)));
        let failed_body = !matches!(outcome, Ok(Ok(())));
        let undone = if failed_body {
            catch_unwind(AssertUnwindSafe(|| tx.roll_back())).unwrap_or_else(|_| {
                Err(Error::Engine("redb: undoing a failed body panicked".into()))
            })
        } else {
            Ok(())
        };
        let wrote = tx.undo.len();
        drop(tx);
        if let Err(e) = undone {
            // The batch holds writes of a failed body: it must never commit. Its earlier
            // bodies are not answered yet: the sync that takes it fails them.
            let why = format!("a failed transaction could not be undone: {e}");
            batch.broken = Some(why.clone());
            drop(batch);
            drop(writing);
            self.barrier.fail(&why);
            return match outcome {
                Err(panic) => resume_unwind(panic),
                _ => Err(e),
            };
        }
        batch.writes += wrote;
        drop(batch);
        drop(writing);
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                // Its answer may rest on writes of the batch: not before they are durable.
                if read_staged {
                    self.barrier.wait()?;
                }
                Err(e)
            }
            Err(panic) => resume_unwind(panic),
        }
    }

    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let Some(t) = self.view()?.table(self, tree)? else {
            return Ok(None);
        };
        let v = t.get(key).map_err(|e| failed("read")(e.into()))?;
        Ok(v.map(|g| g.value().to_vec()))
    }

    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        match self.view()?.table(self, tree)? {
            Some(t) => collect_window(t.as_ref(), prefix, from, limit),
            None => Ok(Vec::new()),
        }
    }

    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error> {
        // One read transaction is one moment; writers go on beside it (redb keeps the
        // pages it sees until it ends).
        let txn = self.begin_read()?;
        for &tree in trees {
            let Some(t) = self.read_table(&txn, tree)? else {
                continue;
            };
            for item in t.iter().map_err(|e| failed("snapshot")(e.into()))? {
                let (k, v) = item.map_err(|e| failed("snapshot")(e.into()))?;
                visit(tree, k.value(), v.value())?;
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
    /// redb locks its whole file ([`redb::ConcurrencyMode::ExclusiveWriter`], set at open).
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
        fs::metadata(&self.file)
            .map(|m| m.len())
            .map_err(|e| Error::Engine(format!("cannot read {}: {e}", self.file.display())))
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}
