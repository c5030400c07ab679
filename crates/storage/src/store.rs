//! The sled-backed store: typed records, secondary indexes, unique keys, idempotency
//! records, counters and audit entries, all written in one transaction per change, and
//! acknowledged only after the group-commit barrier has made them durable.
//!
//! Entry point: [`Store::open`]. The API is synchronous; async callers run it on a
//! blocking thread.

use std::{
    collections::HashMap,
    fmt, fs, io,
    path::{Path, PathBuf},
    sync::Arc,
};

use sled::{
    Transactional, Tree,
    transaction::{
        ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
        TransactionalTree,
    },
};

use clearinghouse_domain::{AuditEntry, PrincipalId, Timestamp};

use crate::{
    barrier::{BarrierStats, GroupCommit, Syncer},
    error::{Error, UpdateError},
    keys,
    records::{self, AuditRecordV1, IdempotencyRecordV1, V1},
    resource::Resource,
};

/// Kinds of record the store keeps, each with its own trees.
pub const KINDS: &[&str] = &["party", "need", "offer", "principal", "settings", "match"];

/// Format version of the database as a whole; migrations run on open.
const SCHEMA_VERSION: u64 = 1;

/// A fault to inject before each sync (tests of the fatal-fsync path).
pub trait SyncFault: Send + Sync + fmt::Debug {
    /// Called before every sync; an error is reported as the sync's failure.
    fn before_sync(&self) -> io::Result<()>;
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// Optional fault injected before syncs.
    pub sync_fault: Option<Arc<dyn SyncFault>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_capacity_bytes: 256 * 1024 * 1024,
            sync_fault: None,
        }
    }
}

/// Who makes a change, when, and why, for the audit trail and idempotency.
#[derive(Debug, Clone)]
pub struct WriteMeta {
    /// Acting principal.
    pub actor: PrincipalId,
    /// Action name, e.g. `need.submit`.
    pub action: String,
    /// Now.
    pub now: Timestamp,
    /// Idempotency key of a create, if the caller sent a request id.
    pub idempotency: Option<IdempotencyKey>,
}

/// A client's request id, scoped to the caller, with a hash of what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Scope (the principal id).
    pub scope: String,
    /// Client-chosen request id.
    pub request_id: String,
    /// SHA-256 of the request payload.
    pub payload_hash: [u8; 32],
}

/// Result of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created<R> {
    /// A new record was written.
    New(R),
    /// The same request was seen before; this is what it created.
    Replayed(R),
}

impl<R> Created<R> {
    /// The record, new or replayed.
    pub fn into_inner(self) -> R {
        match self {
            Created::New(r) | Created::Replayed(r) => r,
        }
    }
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// Scan one index value (index name, value) instead of every record.
    pub index: Option<(&'a str, &'a str)>,
    /// Cursor: continue after this creation sequence.
    pub after: Option<u64>,
    /// Most items to return.
    pub limit: usize,
    /// Most records to examine before returning a short page with a cursor.
    pub max_scan: usize,
}

/// A page of results and the cursor of the next one (`None` at the end).
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Where to continue.
    pub next: Option<u64>,
}

/// Filter of the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries about this kind of resource (`match`, `need`, ...).
    pub resource_kind: Option<String>,
    /// Only entries about this resource.
    pub resource_id: Option<String>,
    /// Only entries by this principal.
    pub actor: Option<String>,
}

struct KindTrees {
    records: Tree,
    ids: Tree,
}

/// The store. One per process (sled locks its directory).
pub struct Store {
    db: sled::Db,
    kinds: HashMap<&'static str, KindTrees>,
    index: Tree,
    unique: Tree,
    audit: Tree,
    meta: Tree,
    idem: Tree,
    barrier: GroupCommit,
    path: PathBuf,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Flushes sled, then fsyncs its `db` file (sled 0.34's `flush` uses `sync_file_range`,
/// which does not make data durable on power loss).
struct SledSyncer {
    db: sled::Db,
    file: fs::File,
    fault: Option<Arc<dyn SyncFault>>,
}

impl Syncer for SledSyncer {
    fn sync(&mut self) -> io::Result<()> {
        if let Some(f) = &self.fault {
            f.before_sync()?;
        }
        self.db.flush().map_err(io::Error::other)?;
        self.file.sync_all()
    }
}

/// Why a transaction aborted.
enum Abort<E> {
    Store(Error),
    Rejected(E),
}

type TxResult<T, E> = ConflictableTransactionResult<T, Abort<E>>;

fn abort<T, E>(e: Error) -> TxResult<T, E> {
    Err(ConflictableTransactionError::Abort(Abort::Store(e)))
}

fn bump<E>(meta: &TransactionalTree, key: &[u8]) -> TxResult<u64, E> {
    let cur = meta.get(key)?.and_then(|v| keys::read_seq(&v)).unwrap_or(0);
    let next = cur + 1;
    meta.insert(key, &keys::seq_key(next))?;
    Ok(next)
}

/// Failure inside [`Store::transaction`]: a storage error, the caller's own refusal, or a
/// conflict sled retries by itself.
pub struct TxError<E>(TxErrorKind<E>);

enum TxErrorKind<E> {
    Sled(sled::transaction::UnabortableTransactionError),
    Abort(Abort<E>),
}

impl<E> TxError<E> {
    /// The caller refuses the change; the transaction aborts with `e`.
    pub fn rejected(e: E) -> Self {
        TxError(TxErrorKind::Abort(Abort::Rejected(e)))
    }

    fn from_tx(e: ConflictableTransactionError<Abort<E>>) -> Self {
        match e {
            ConflictableTransactionError::Abort(a) => TxError(TxErrorKind::Abort(a)),
            ConflictableTransactionError::Conflict => TxError(TxErrorKind::Sled(
                sled::transaction::UnabortableTransactionError::Conflict,
            )),
            ConflictableTransactionError::Storage(s) => TxError(TxErrorKind::Sled(
                sled::transaction::UnabortableTransactionError::Storage(s),
            )),
        }
    }
}

impl<E> fmt::Debug for TxError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxError")
    }
}

/// Typed reads and writes inside [`Store::transaction`].
pub struct Txn<'a> {
    view: &'a [TransactionalTree],
    slots: &'a HashMap<&'static str, (usize, usize)>,
    shared: usize,
    meta: &'a WriteMeta,
}

impl fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Txn")
    }
}

impl<'a> Txn<'a> {
    fn tx<R: Resource, E>(&self) -> Result<Tx<'a>, TxError<E>> {
        let &(r, i) = self.slots.get(R::KIND).ok_or_else(|| {
            TxError(TxErrorKind::Abort(Abort::Store(Error::Engine(format!(
                "no trees for kind {}",
                R::KIND
            )))))
        })?;
        let s = self.shared;
        Ok(Tx {
            records: &self.view[r],
            ids: &self.view[i],
            index: &self.view[s],
            unique: &self.view[s + 1],
            audit: &self.view[s + 2],
            meta: &self.view[s + 3],
            idem: &self.view[s + 4],
        })
    }

    /// Reads a record.
    pub fn get<R: Resource, E>(&self, id: &str) -> Result<Option<R>, TxError<E>> {
        let tx = self.tx::<R, E>()?;
        tx.read::<R, E>(id)
            .map(|o| o.map(|(_, r)| r))
            .map_err(TxError::from_tx)
    }

    /// Creates a record (version 1).
    pub fn create<R: Resource, E>(&self, rec: &R) -> Result<(), TxError<E>> {
        self.tx::<R, E>()?
            .insert_new::<R, E>(rec, self.meta)
            .map_err(TxError::from_tx)
    }

    /// Replaces a record with `change(current)`, checking `expected_version`.
    pub fn update<R: Resource, E>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        change: impl Fn(&R) -> Result<R, E>,
    ) -> Result<R, TxError<E>> {
        self.tx::<R, E>()?
            .replace(id, expected_version, self.meta, &change)
            .map_err(TxError::from_tx)
    }
}

/// Transactional handles of every tree a change touches.
struct Tx<'a> {
    records: &'a TransactionalTree,
    ids: &'a TransactionalTree,
    index: &'a TransactionalTree,
    unique: &'a TransactionalTree,
    audit: &'a TransactionalTree,
    meta: &'a TransactionalTree,
    idem: &'a TransactionalTree,
}

impl Tx<'_> {
    fn read<R: Resource, E>(&self, id: &str) -> TxResult<Option<(u64, R)>, E> {
        let Some(seq) = self
            .ids
            .get(id.as_bytes())?
            .and_then(|v| keys::read_seq(&v))
        else {
            return Ok(None);
        };
        let Some(bytes) = self.records.get(keys::seq_key(seq))? else {
            return abort(Error::Corrupt(format!(
                "{} {id}: id maps to a missing record",
                R::KIND
            )));
        };
        match R::decode(&bytes) {
            Ok(r) => Ok(Some((seq, r))),
            Err(e) => abort(e),
        }
    }

    fn append_audit<E>(
        &self,
        meta: &WriteMeta,
        kind: &str,
        id: &str,
        before: u64,
        after: u64,
    ) -> TxResult<(), E> {
        let sequence = bump(self.meta, keys::AUDIT_SEQ)?;
        let entry = AuditEntry {
            sequence,
            at: meta.now,
            actor: meta.actor.clone(),
            action: meta.action.clone(),
            resource_kind: kind.to_owned(),
            resource_id: id.to_owned(),
            before_version: before,
            after_version: after,
        };
        let bytes = match records::encode(V1, &AuditRecordV1::from(&entry)) {
            Ok(b) => b,
            Err(e) => return abort(e),
        };
        self.audit.insert(&keys::seq_key(sequence), bytes)?;
        self.index
            .insert(keys::index_key("audit", "resource", id, sequence), &[])?;
        self.index.insert(
            keys::index_key("audit", "actor", &meta.actor.0, sequence),
            &[],
        )?;
        self.index
            .insert(keys::index_key("audit", "kind", kind, sequence), &[])?;
        Ok(())
    }

    fn insert_new<R: Resource, E>(&self, rec: &R, meta: &WriteMeta) -> TxResult<(), E> {
        if self.ids.get(rec.id().as_bytes())?.is_some() {
            return abort(Error::AlreadyExists {
                kind: R::KIND,
                id: rec.id().to_owned(),
            });
        }
        if let Some(u) = rec.unique_value() {
            let key = keys::unique_key(R::KIND, &u);
            if let Some(existing) = self.unique.get(&key)? {
                return abort(Error::UniqueTaken {
                    kind: R::KIND,
                    key: u,
                    existing_id: String::from_utf8_lossy(&existing).into_owned(),
                });
            }
            self.unique.insert(key, rec.id().as_bytes())?;
        }
        let bytes = match rec.encode() {
            Ok(b) => b,
            Err(e) => return abort(e),
        };
        let seq = bump(self.meta, &keys::seq_counter(R::KIND))?;
        self.records.insert(&keys::seq_key(seq), bytes)?;
        self.ids.insert(rec.id().as_bytes(), &keys::seq_key(seq))?;
        for (idx, val) in rec.index_entries() {
            self.index
                .insert(keys::index_key(R::KIND, idx, &val, seq), &[])?;
        }
        self.append_audit(meta, R::KIND, rec.id(), 0, rec.version())
    }

    fn replace<R: Resource, E>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &WriteMeta,
        change: &dyn Fn(&R) -> Result<R, E>,
    ) -> TxResult<R, E> {
        let Some((seq, old)) = self.read::<R, E>(id)? else {
            return abort(Error::NotFound {
                kind: R::KIND,
                id: id.to_owned(),
            });
        };
        if let Some(expected) = expected_version
            && expected != old.version()
        {
            return abort(Error::StaleVersion {
                kind: R::KIND,
                id: id.to_owned(),
                expected,
                actual: old.version(),
            });
        }
        let mut new =
            change(&old).map_err(|e| ConflictableTransactionError::Abort(Abort::Rejected(e)))?;
        new.set_version(old.version() + 1);
        let bytes = match new.encode() {
            Ok(b) => b,
            Err(e) => return abort(e),
        };
        self.records.insert(&keys::seq_key(seq), bytes)?;
        let old_entries = old.index_entries();
        let new_entries = new.index_entries();
        for (idx, val) in &old_entries {
            if !new_entries.iter().any(|(i, v)| i == idx && v == val) {
                self.index.remove(keys::index_key(R::KIND, idx, val, seq))?;
            }
        }
        for (idx, val) in &new_entries {
            self.index
                .insert(keys::index_key(R::KIND, idx, val, seq), &[])?;
        }
        let (old_u, new_u) = (old.unique_value(), new.unique_value());
        if old_u != new_u {
            if let Some(u) = &new_u {
                let key = keys::unique_key(R::KIND, u);
                if let Some(existing) = self.unique.get(&key)?
                    && existing.as_ref() != id.as_bytes()
                {
                    return abort(Error::UniqueTaken {
                        kind: R::KIND,
                        key: u.clone(),
                        existing_id: String::from_utf8_lossy(&existing).into_owned(),
                    });
                }
                self.unique.insert(key, id.as_bytes())?;
            }
            if let Some(u) = &old_u {
                self.unique.remove(keys::unique_key(R::KIND, u))?;
            }
        }
        self.append_audit(meta, R::KIND, id, old.version(), new.version())?;
        Ok(new)
    }
}

fn finish<T, E>(r: Result<T, TransactionError<Abort<E>>>) -> Result<T, UpdateError<E>> {
    match r {
        Ok(t) => Ok(t),
        Err(TransactionError::Abort(Abort::Store(e))) => Err(UpdateError::Store(e)),
        Err(TransactionError::Abort(Abort::Rejected(e))) => Err(UpdateError::Rejected(e)),
        Err(TransactionError::Storage(e)) => Err(UpdateError::Store(e.into())),
    }
}

fn store_only<T>(r: Result<T, UpdateError<std::convert::Infallible>>) -> Result<T, Error> {
    r.map_err(|e| match e {
        UpdateError::Store(e) => e,
        UpdateError::Rejected(never) => match never {},
    })
}

impl Store {
    /// Opens (creating if needed) the store in `path` and starts the committer thread.
    pub fn open(path: &Path, opts: &StoreOptions) -> Result<Store, Error> {
        let db = open_sled(path, opts.cache_capacity_bytes)?;
        let db_file = path.join("db");
        let file = fs::File::open(&db_file).map_err(|e| {
            Error::Engine(format!(
                "cannot open {} for fsync ({e}); this store depends on sled 0.34.7's layout",
                db_file.display()
            ))
        })?;
        let mut kinds = HashMap::new();
        for &k in KINDS {
            kinds.insert(
                k,
                KindTrees {
                    records: db.open_tree(format!("rec/{k}"))?,
                    ids: db.open_tree(format!("id/{k}"))?,
                },
            );
        }
        let meta = db.open_tree("meta")?;
        migrate(&meta)?;
        let barrier = GroupCommit::start(Box::new(SledSyncer {
            db: db.clone(),
            file,
            fault: opts.sync_fault.clone(),
        }))
        .map_err(|e| Error::Engine(format!("cannot start the committer thread: {e}")))?;
        Ok(Store {
            index: db.open_tree("index")?,
            unique: db.open_tree("unique")?,
            audit: db.open_tree("audit")?,
            idem: db.open_tree("idempotency")?,
            meta,
            kinds,
            db,
            barrier,
            path: path.to_owned(),
        })
    }

    fn trees<R: Resource>(&self) -> Result<&KindTrees, Error> {
        self.kinds
            .get(R::KIND)
            .ok_or_else(|| Error::Engine(format!("no trees for kind {}", R::KIND)))
    }

    fn transact<T, E>(
        &self,
        kt: &KindTrees,
        f: impl Fn(&Tx<'_>) -> TxResult<T, E>,
    ) -> Result<T, UpdateError<E>> {
        self.barrier.check().map_err(Error::from)?;
        let r = (
            &kt.records,
            &kt.ids,
            &self.index,
            &self.unique,
            &self.audit,
            &self.meta,
            &self.idem,
        )
            .transaction(|(records, ids, index, unique, audit, meta, idem)| {
                f(&Tx {
                    records,
                    ids,
                    index,
                    unique,
                    audit,
                    meta,
                    idem,
                })
            });
        let out = finish(r)?;
        self.barrier.wait().map_err(Error::from)?;
        Ok(out)
    }

    /// Creates a record (version 1), honouring the idempotency key and unique value.
    pub fn create<R: Resource>(&self, rec: R, meta: &WriteMeta) -> Result<Created<R>, Error> {
        let kt = self.trees::<R>()?;
        store_only(self.transact(kt, |tx| {
            if let Some(k) = &meta.idempotency {
                let key = keys::idempotency_key(&k.scope, &k.request_id);
                if let Some(v) = tx.idem.get(&key)? {
                    let prior: IdempotencyRecordV1 = match records::decode("idempotency", &v) {
                        Ok((_, r)) => r,
                        Err(e) => return abort(e),
                    };
                    if prior.payload_hash != k.payload_hash || prior.kind != R::KIND {
                        return abort(Error::IdempotencyConflict {
                            request_id: k.request_id.clone(),
                        });
                    }
                    return match tx.read::<R, _>(&prior.id)? {
                        Some((_, existing)) => Ok(Created::Replayed(existing)),
                        None => abort(Error::Corrupt(format!(
                            "request {} names a missing {}",
                            k.request_id,
                            R::KIND
                        ))),
                    };
                }
                let rec_v = IdempotencyRecordV1 {
                    payload_hash: k.payload_hash,
                    kind: R::KIND.to_owned(),
                    id: rec.id().to_owned(),
                };
                match records::encode(V1, &rec_v) {
                    Ok(b) => {
                        tx.idem.insert(key, b)?;
                    }
                    Err(e) => return abort(e),
                }
            }
            tx.insert_new(&rec, meta)?;
            Ok(Created::New(rec.clone()))
        }))
    }

    /// Creates every record whose id is not stored yet, in one transaction; returns how
    /// many were new. Used to seed reference data idempotently.
    pub fn create_missing<R: Resource>(
        &self,
        recs: &[R],
        meta: &WriteMeta,
    ) -> Result<usize, Error> {
        let kt = self.trees::<R>()?;
        store_only(self.transact(kt, |tx| {
            let mut n = 0;
            for rec in recs {
                if tx.ids.get(rec.id().as_bytes())?.is_none() {
                    tx.insert_new(rec, meta)?;
                    n += 1;
                }
            }
            Ok(n)
        }))
    }

    /// Replaces a record with `change(current)`, checking `expected_version` first. The
    /// version is bumped, indexes and unique keys follow, an audit entry is appended, all
    /// in one transaction. `change` must be pure: it may run more than once.
    pub fn update<R: Resource, E>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &WriteMeta,
        change: impl Fn(&R) -> Result<R, E>,
    ) -> Result<R, UpdateError<E>> {
        let kt = self.trees::<R>()?;
        self.transact(kt, |tx| tx.replace(id, expected_version, meta, &change))
    }

    /// Runs `f` as one transaction over every kind of record, for changes that span
    /// kinds (a match, the offers it reserves from and its need). `f` must be pure: it may
    /// run more than once. Every change is audited under `meta`; the write is acknowledged
    /// after the durability barrier.
    pub fn transaction<T, E>(
        &self,
        meta: &WriteMeta,
        f: impl Fn(&Txn<'_>) -> Result<T, TxError<E>>,
    ) -> Result<T, UpdateError<E>> {
        self.barrier.check().map_err(Error::from)?;
        let mut trees: Vec<&Tree> = Vec::new();
        let mut slots: HashMap<&'static str, (usize, usize)> = HashMap::new();
        for (&k, kt) in &self.kinds {
            slots.insert(k, (trees.len(), trees.len() + 1));
            trees.push(&kt.records);
            trees.push(&kt.ids);
        }
        let shared = trees.len();
        trees.extend([
            &self.index,
            &self.unique,
            &self.audit,
            &self.meta,
            &self.idem,
        ]);
        let r = trees.as_slice().transaction(|view| {
            let txn = Txn {
                view,
                slots: &slots,
                shared,
                meta,
            };
            f(&txn).map_err(|e| match e.0 {
                TxErrorKind::Sled(u) => u.into(),
                TxErrorKind::Abort(a) => ConflictableTransactionError::Abort(a),
            })
        });
        let out = finish(r)?;
        self.barrier.wait().map_err(Error::from)?;
        Ok(out)
    }

    /// Reads a record by id.
    pub fn get<R: Resource>(&self, id: &str) -> Result<Option<R>, Error> {
        let kt = self.trees::<R>()?;
        let Some(seq) = kt.ids.get(id.as_bytes())?.and_then(|v| keys::read_seq(&v)) else {
            return Ok(None);
        };
        match kt.records.get(keys::seq_key(seq))? {
            Some(bytes) => R::decode(&bytes).map(Some),
            None => Err(Error::Corrupt(format!(
                "{} {id}: id maps to a missing record",
                R::KIND
            ))),
        }
    }

    /// Lists records in creation order, through one index value or over all records,
    /// keeping those `keep` accepts. The page is full, or short with a cursor when
    /// `max_scan` records were examined; `next` is `None` only at the end.
    pub fn list<R: Resource>(
        &self,
        q: &ListQuery<'_>,
        keep: &dyn Fn(&R) -> bool,
    ) -> Result<Page<R>, Error> {
        let kt = self.trees::<R>()?;
        let start = q.after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::new();
        let mut last_taken = None;
        let mut scanned = 0usize;
        // Examines one record; `Some(cursor)` stops the scan with more to come after cursor.
        let mut visit = |seq: u64, bytes: &[u8]| -> Result<Option<u64>, Error> {
            scanned += 1;
            let rec = R::decode(bytes)?;
            if keep(&rec) {
                if items.len() == q.limit {
                    // A further match exists: resume after the last item returned.
                    return Ok(Some(last_taken.unwrap_or(start.saturating_sub(1))));
                }
                items.push(rec);
                last_taken = Some(seq);
            }
            Ok((scanned >= q.max_scan).then_some(seq))
        };
        let mut next = None;
        if let Some((idx, val)) = q.index {
            let prefix = keys::index_prefix(R::KIND, idx, val);
            let from = keys::index_key(R::KIND, idx, val, start);
            for kv in self.index.range(from..) {
                let (k, _) = kv?;
                if !k.starts_with(&prefix) {
                    break;
                }
                let Some(seq) = keys::read_seq(&k) else {
                    continue;
                };
                let Some(bytes) = kt.records.get(keys::seq_key(seq))? else {
                    continue;
                };
                next = visit(seq, &bytes)?;
                if next.is_some() {
                    break;
                }
            }
        } else {
            for kv in kt.records.range(keys::seq_key(start)..) {
                let (k, v) = kv?;
                let Some(seq) = keys::read_seq(&k) else {
                    continue;
                };
                next = visit(seq, &v)?;
                if next.is_some() {
                    break;
                }
            }
        }
        Ok(Page { items, next })
    }

    /// Number of records of a kind ever created (records are never deleted).
    pub fn count<R: Resource>(&self) -> Result<u64, Error> {
        Ok(self
            .meta
            .get(keys::seq_counter(R::KIND))?
            .and_then(|v| keys::read_seq(&v))
            .unwrap_or(0))
    }

    /// Lists audit entries oldest first, after sequence `after`.
    pub fn list_audit(
        &self,
        filter: &AuditFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, Error> {
        let start = after.map_or(1, |a| a.saturating_add(1));
        let mut seqs: Box<dyn Iterator<Item = Result<u64, Error>>> =
            match (&filter.resource_id, &filter.actor, &filter.resource_kind) {
                (Some(id), _, _) => self.index_seqs("resource", id, start),
                (None, Some(actor), _) => self.index_seqs("actor", actor, start),
                (None, None, Some(kind)) => self.index_seqs("kind", kind, start),
                (None, None, None) => Box::new(
                    self.audit
                        .range(keys::seq_key(start)..)
                        .keys()
                        .map(|k| Ok(k.map(|k| keys::read_seq(&k).unwrap_or(0))?)),
                ),
            };
        let mut items = Vec::new();
        let mut next = None;
        for seq in seqs.by_ref() {
            let seq = seq?;
            let Some(bytes) = self.audit.get(keys::seq_key(seq))? else {
                continue;
            };
            let (_, rec): (u8, AuditRecordV1) = records::decode("audit", &bytes)?;
            let entry = AuditEntry::from(rec);
            if filter.actor.as_ref().is_some_and(|a| *a != entry.actor.0)
                || filter
                    .resource_kind
                    .as_ref()
                    .is_some_and(|k| *k != entry.resource_kind)
            {
                continue;
            }
            if items.len() == limit {
                next = items.last().map(|e: &AuditEntry| e.sequence);
                break;
            }
            items.push(entry);
        }
        Ok(Page { items, next })
    }

    fn index_seqs(
        &self,
        idx: &str,
        val: &str,
        start: u64,
    ) -> Box<dyn Iterator<Item = Result<u64, Error>> + '_> {
        let prefix = keys::index_prefix("audit", idx, val);
        let from = keys::index_key("audit", idx, val, start);
        Box::new(
            self.index
                .range(from..)
                .keys()
                .take_while(move |k| k.as_ref().map_or(true, |k| k.starts_with(&prefix)))
                .map(|k| Ok(k.map(|k| keys::read_seq(&k).unwrap_or(0))?)),
        )
    }

    /// Counters of the durability barrier.
    pub fn durability_stats(&self) -> BarrierStats {
        self.barrier.stats()
    }

    /// Whether writes are still accepted (no sync has failed).
    pub fn is_writable(&self) -> bool {
        self.barrier.check().is_ok()
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), Error> {
        self.barrier.wait()?;
        Ok(())
    }

    /// Makes everything durable and closes the store.
    pub fn close(self) -> Result<(), Error> {
        self.barrier.wait()?;
        Ok(())
    }

    /// Directory of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Total size on disk in bytes, as sled reports it.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }
}

/// Opens sled, waiting up to ~2 s for the directory lock: after a `Store` is dropped in
/// the same process, sled's flusher thread releases the lock asynchronously, so an
/// immediate reopen can find it still held (WouldBlock).
fn open_sled(path: &Path, cache_capacity: u64) -> Result<sled::Db, Error> {
    let mut wait = std::time::Duration::from_millis(5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(cache_capacity)
            .open()
        {
            Err(sled::Error::Io(e))
                if e.kind() == io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

fn migrate(meta: &Tree) -> Result<(), Error> {
    let current = meta
        .get(keys::SCHEMA_VERSION)?
        .and_then(|v| keys::read_seq(&v));
    match current {
        None => {
            meta.insert(keys::SCHEMA_VERSION, &keys::seq_key(SCHEMA_VERSION))?;
            Ok(())
        }
        Some(v) if v == SCHEMA_VERSION => Ok(()),
        Some(v) => Err(Error::Engine(format!(
            "database schema version {v} is newer than this build's {SCHEMA_VERSION}; run a newer clearinghouse"
        ))),
    }
}
