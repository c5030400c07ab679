//! The store: typed records, secondary indexes, unique keys, idempotency records,
//! counters and audit entries, all written in one transaction per change over an
//! [`Engine`], and acknowledged only once the engine has made them durable.
//!
//! Entry points: [`Store::open`] (the sled engine in a directory) and
//! [`Store::with_engine`]. The API is synchronous; async callers run it on a blocking
//! thread.

use std::{
    collections::BTreeMap,
    fmt,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use clearinghouse_domain::{AuditEntry, PrincipalId, Timestamp};

use crate::{
    backup::{BackupEntry, BackupError, BackupHeader, BackupReader, BackupSummary, BackupWriter},
    barrier::BarrierStats,
    engine::{
        Engine, TreeName, TxOps,
        redb::{RedbEngine, RedbOptions},
        sled::{SledEngine, SledOptions},
    },
    error::{Error, UpdateError},
    keys, records,
    resource::Resource,
    trees,
    txn::{TxError, Txn},
};

/// Format version of the database as a whole; migrations run on open. Version 2 chains
/// the audit trail ([`crate::audit_chain`]).
pub const SCHEMA_VERSION: u64 = 2;

/// Entries (and bytes) a restore loads per transaction.
const RESTORE_BATCH_ENTRIES: usize = 2048;
const RESTORE_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Entries a list reads from the engine per round trip.
const SCAN_CHUNK: usize = 256;

/// Hooks around each sync of the sled engine: fault injection and, in tests, images of
/// what a power loss would leave.
pub trait SyncFault: Send + Sync + fmt::Debug {
    /// Called before every sync; an error is reported as the sync's failure.
    fn before_sync(&self) -> io::Result<()>;
    /// Called after every successful sync with the data directory and the files whose
    /// contents and directory entries are now durable.
    fn after_sync(&self, _dir: &Path, _durable: &[PathBuf]) {}
    /// Called once at open, before any write, with the data directory and what open
    /// fsynced, in order: whatever the last run left, directories included.
    fn synced_at_open(&self, _dir: &Path, _durable: &[PathBuf]) {}
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// Optional hooks around syncs.
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

/// The embedded engines a data directory can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Embedded {
    /// sled 0.34 (`db`, `conf`, `blobs/`): the default.
    #[default]
    Sled,
    /// redb (`store.redb`).
    Redb,
}

impl Embedded {
    /// Every embedded engine, by name.
    pub const ALL: [Embedded; 2] = [Embedded::Sled, Embedded::Redb];

    /// The engine's name in configuration (`sled`, `redb`).
    pub fn name(self) -> &'static str {
        match self {
            Embedded::Sled => "sled",
            Embedded::Redb => "redb",
        }
    }

    /// The engine named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Embedded> {
        Embedded::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Opens (creating if needed) this engine in the data directory `dir`, below any
    /// store (a restore's or a copy's target).
    pub fn open_engine(self, dir: &Path, opts: &StoreOptions) -> Result<Arc<dyn Engine>, Error> {
        Ok(match self {
            Embedded::Sled => Arc::new(SledEngine::open(
                dir,
                &SledOptions {
                    cache_capacity_bytes: opts.cache_capacity_bytes,
                    sync_fault: opts.sync_fault.clone(),
                },
            )?),
            Embedded::Redb => Arc::new(RedbEngine::open(
                dir,
                &RedbOptions {
                    cache_capacity_bytes: opts.cache_capacity_bytes,
                    sync_fault: opts.sync_fault.clone(),
                },
            )?),
        })
    }

    /// The engine of the store in the data directory `dir`, if it holds one.
    pub fn found_in(dir: &Path) -> Option<Embedded> {
        if dir.join(crate::engine::redb::FILE_NAME).exists() {
            Some(Embedded::Redb)
        } else if dir.join("db").exists() || dir.join("conf").exists() {
            Some(Embedded::Sled)
        } else {
            None
        }
    }
}

impl std::str::FromStr for Embedded {
    type Err = String;

    /// The engine named `s`, or a message listing the names.
    fn from_str(s: &str) -> Result<Embedded, String> {
        Embedded::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Embedded::ALL.iter().map(|e| e.name()).collect();
            format!("no embedded engine {s:?} (one of: {})", names.join(", "))
        })
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

/// The store.
pub struct Store {
    engine: Arc<dyn Engine>,
    /// Highest audit sequence known durable (engines whose commits are not durable by
    /// themselves); every lower sequence is durable too.
    durable_audit: AtomicU64,
    /// Bumped after every committed transaction that created or changed a principal.
    principal_writes: AtomicU64,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

fn store_only<T>(r: Result<T, UpdateError<std::convert::Infallible>>) -> Result<T, Error> {
    r.map_err(|e| match e {
        UpdateError::Store(e) => e,
        UpdateError::Rejected(never) => match never {},
    })
}

fn no_access_check<R>(_: &R) -> Result<(), std::convert::Infallible> {
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the sled store in `path`.
    pub fn open(path: &Path, opts: &StoreOptions) -> Result<Store, Error> {
        Store::with_engine(Embedded::Sled.open_engine(path, opts)?)
    }

    /// Opens (creating if needed) the store of engine `engine` in the data directory
    /// `path`. A directory holding the other engine's store is refused, naming it.
    pub fn open_embedded(
        path: &Path,
        engine: Embedded,
        opts: &StoreOptions,
    ) -> Result<Store, Error> {
        match Embedded::found_in(path) {
            Some(found) if found != engine => Err(Error::Engine(format!(
                "{} holds a {found} store, not a {engine} one: set [storage] engine = \
                 \"{found}\" (or CLEARINGHOUSE_STORAGE_ENGINE={found}) to open it, or copy it \
                 into a new directory with `clearinghouse migrate-store --engine {engine}`",
                path.display(),
                found = found.name(),
                engine = engine.name(),
            ))),
            _ => Store::with_engine(engine.open_engine(path, opts)?),
        }
    }

    /// Opens (creating if needed) the redb store in the data directory `path`.
    pub fn open_redb(path: &Path, opts: &StoreOptions) -> Result<Store, Error> {
        Store::with_engine(Embedded::Redb.open_engine(path, opts)?)
    }

    /// The store over `engine`: runs migrations and reads the durable audit position. A
    /// store an unfinished restore left behind is refused. One `Store` per engine in a
    /// process ([`Store::principal_generation`] counts the writes made through it).
    pub fn with_engine(engine: Arc<dyn Engine>) -> Result<Store, Error> {
        if engine.get(trees::META, keys::RESTORE_INCOMPLETE)?.is_some() {
            return Err(Error::Engine(
                "this store holds an unfinished restore; delete it and run the restore again"
                    .into(),
            ));
        }
        let store = Store {
            engine,
            durable_audit: AtomicU64::new(0),
            principal_writes: AtomicU64::new(0),
        };
        store.migrate()?;
        // What an engine holds when it opens is durable (sled's was fsynced at open).
        store
            .durable_audit
            .store(store.counter(keys::AUDIT_SEQ)?, Ordering::SeqCst);
        Ok(store)
    }

    fn migrate(&self) -> Result<(), Error> {
        let meta = WriteMeta {
            actor: PrincipalId::system(),
            action: "store.migrate".into(),
            now: Timestamp(0),
            idempotency: None,
        };
        let current = self.counter(keys::SCHEMA_VERSION)?;
        match current {
            0 => store_only(self.transaction(&meta, |txn| {
                txn.put_meta(keys::SCHEMA_VERSION, SCHEMA_VERSION)?;
                Ok(())
            })),
            1 => {
                store_only(self.transaction(&meta, |txn| {
                    txn.anchor_unchained_audit()?;
                    txn.put_meta(keys::SCHEMA_VERSION, SCHEMA_VERSION)?;
                    Ok(())
                }))?;
                tracing::info!(
                    from = 1,
                    to = SCHEMA_VERSION,
                    "store upgraded: the audit trail is chained from here on"
                );
                Ok(())
            }
            v if v == SCHEMA_VERSION => Ok(()),
            v => Err(Error::Engine(format!(
                "database schema version {v} is newer than this build's {SCHEMA_VERSION}; run a newer clearinghouse"
            ))),
        }
    }

    fn counter(&self, key: &[u8]) -> Result<u64, Error> {
        Ok(self
            .engine
            .get(trees::META, key)?
            .and_then(|v| keys::read_seq(&v))
            .unwrap_or(0))
    }

    /// The engine under the store (backups and migrations read it directly).
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    /// Runs `f` as one transaction over every kind of record. `f` must be pure: it may
    /// run more than once. Every change is audited under `meta`; the write is
    /// acknowledged after the engine has made it durable.
    pub fn transaction<T, E>(
        &self,
        meta: &WriteMeta,
        f: impl Fn(&mut Txn<'_>) -> Result<T, TxError<E>>,
    ) -> Result<T, UpdateError<E>> {
        self.engine.check_writable()?;
        let mut out: Option<Result<T, UpdateError<E>>> = None;
        let mut audit_max = 0;
        let mut wrote_principal = false;
        let committed = self.engine.transact(&mut |ops: &mut dyn TxOps| {
            let mut txn = Txn::new(ops, meta);
            let r = f(&mut txn);
            audit_max = txn.audit_max();
            wrote_principal = txn.wrote_principal();
            match r {
                Ok(t) => {
                    out = Some(Ok(t));
                    Ok(())
                }
                Err(TxError::Store(e)) => {
                    out = None;
                    Err(e)
                }
                Err(TxError::Rejected(e)) => {
                    out = Some(Err(UpdateError::Rejected(e)));
                    Err(Error::Rejected)
                }
            }
        });
        match committed {
            Ok(()) => {
                if wrote_principal {
                    // After the commit: a reader that saw the old generation re-reads.
                    self.principal_writes.fetch_add(1, Ordering::SeqCst);
                }
            }
            Err(Error::Rejected) => {}
            Err(e) => return Err(UpdateError::Store(e)),
        }
        let out = out.unwrap_or_else(|| {
            Err(UpdateError::Store(Error::Engine(
                "transaction ended without a result".into(),
            )))
        });
        if out.is_ok() {
            // Also after a replay or a read-only transaction: what it returned may be
            // another call's commit that is not yet durable.
            self.engine.sync()?;
            if audit_max > 0 {
                self.durable_audit.fetch_max(audit_max, Ordering::SeqCst);
            }
        }
        out
    }

    /// Creates a record (version 1), honouring the idempotency key and unique value.
    pub fn create<R: Resource>(&self, rec: R, meta: &WriteMeta) -> Result<Created<R>, Error> {
        store_only(self.transaction(meta, |txn| {
            if let Some(k) = &meta.idempotency {
                if let Some(prior) = txn.replay::<R, _>(k)? {
                    return Ok(Created::Replayed(prior));
                }
                txn.remember::<R, _>(k, rec.id())?;
            }
            txn.create(&rec)?;
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
        store_only(self.transaction(meta, |txn| {
            let mut n = 0;
            for rec in recs {
                if txn.create_if_missing(rec)? {
                    n += 1;
                }
            }
            Ok(n)
        }))
    }

    /// Replaces a record with `change(current)` in one transaction: the record must
    /// exist, then `access` must accept it, then `expected_version` must be current,
    /// then `change` runs (see [`Txn::update`]). `change` must be pure: it may run more
    /// than once.
    pub fn update<R: Resource, E>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &WriteMeta,
        access: impl Fn(&R) -> Result<(), E>,
        change: impl Fn(&R) -> Result<R, E>,
    ) -> Result<R, UpdateError<E>> {
        self.transaction(meta, |txn| {
            txn.update(id, expected_version, &access, &change)
        })
    }

    /// [`Store::update`] without an access check (the system's own changes).
    pub fn update_unchecked<R: Resource, E>(
        &self,
        id: &str,
        expected_version: Option<u64>,
        meta: &WriteMeta,
        change: impl Fn(&R) -> Result<R, E>,
    ) -> Result<R, UpdateError<E>> {
        self.transaction(meta, |txn| {
            txn.update(
                id,
                expected_version,
                &|r| no_access_check(r).map_err(|n| match n {}),
                &change,
            )
        })
    }

    /// Reads a record by id.
    pub fn get<R: Resource>(&self, id: &str) -> Result<Option<R>, Error> {
        let (rec_tree, id_tree) = trees::of_kind(R::KIND)?;
        let Some(seq) = self
            .engine
            .get(id_tree, id.as_bytes())?
            .and_then(|v| keys::read_seq(&v))
        else {
            return Ok(None);
        };
        match self.engine.get(rec_tree, &keys::seq_key(seq))? {
            Some(bytes) => R::decode(&bytes).map(Some),
            None => Err(Error::Corrupt(format!(
                "{} {id}: id maps to a missing record",
                R::KIND
            ))),
        }
    }

    /// Lists records in creation order, through one index value or over all records,
    /// keeping those `keep` accepts. The page is full, or short with a cursor when
    /// `max_scan` records were examined; `next` is `None` only at the end. A cursor
    /// always names the last record returned, or the last one examined when the scan
    /// stopped early.
    pub fn list<R: Resource>(
        &self,
        q: &ListQuery<'_>,
        keep: &dyn Fn(&R) -> bool,
    ) -> Result<Page<R>, Error> {
        self.list_decoded(q, R::decode, keep)
    }

    /// [`Store::list`], each record decoded without its text, contacts, history and
    /// feedback ([`crate::summary`]): for rebuilding an index from every record.
    pub fn list_summaries<R: crate::summary::Summarized>(
        &self,
        q: &ListQuery<'_>,
        keep: &dyn Fn(&R) -> bool,
    ) -> Result<Page<R>, Error> {
        self.list_decoded(q, R::decode_summary, keep)
    }

    fn list_decoded<R: Resource>(
        &self,
        q: &ListQuery<'_>,
        decode: fn(&[u8]) -> Result<R, Error>,
        keep: &dyn Fn(&R) -> bool,
    ) -> Result<Page<R>, Error> {
        let (rec_tree, _) = trees::of_kind(R::KIND)?;
        let start = q.after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::new();
        let mut scanned = 0usize;
        let mut last_seen = None;
        let (tree, prefix, mut from) = match q.index {
            Some((idx, val)) => (
                trees::INDEX,
                keys::index_prefix(R::KIND, idx, val),
                keys::index_key(R::KIND, idx, val, start),
            ),
            None => (rec_tree, Vec::new(), keys::seq_key(start).to_vec()),
        };
        loop {
            let chunk = self.engine.scan(tree, &prefix, &from, SCAN_CHUNK)?;
            let exhausted = chunk.len() < SCAN_CHUNK;
            for (k, v) in &chunk {
                let Some(seq) = keys::read_seq(k) else {
                    continue;
                };
                let rec = if q.index.is_some() {
                    match self.engine.get(rec_tree, &keys::seq_key(seq))? {
                        Some(bytes) => decode(&bytes)?,
                        None => continue,
                    }
                } else {
                    decode(v)?
                };
                scanned += 1;
                if keep(&rec) {
                    if items.len() == q.limit {
                        // A further match exists: resume after what was returned.
                        return Ok(Page {
                            items,
                            next: Some(last_seen.unwrap_or(start.saturating_sub(1))),
                        });
                    }
                    items.push(rec);
                }
                last_seen = Some(seq);
                if scanned >= q.max_scan {
                    return Ok(Page {
                        items,
                        next: Some(seq),
                    });
                }
            }
            match chunk.last() {
                Some((k, _)) if !exhausted => {
                    from = k.clone();
                    from.push(0);
                }
                _ => return Ok(Page { items, next: None }),
            }
        }
    }

    /// The newest record of kind `R` with index entry (`index`, `value`), if any, as
    /// committed (see [`Txn::last_by_index`]).
    pub fn last_by_index<R: Resource>(&self, index: &str, value: &str) -> Result<Option<R>, Error> {
        let (rec_tree, _) = trees::of_kind(R::KIND)?;
        let prefix = keys::index_prefix(R::KIND, index, value);
        let mut from = prefix.clone();
        let mut last = None;
        loop {
            let chunk = self.engine.scan(trees::INDEX, &prefix, &from, SCAN_CHUNK)?;
            let Some((k, _)) = chunk.last() else { break };
            last = keys::read_seq(k);
            if chunk.len() < SCAN_CHUNK {
                break;
            }
            from = k.clone();
            from.push(0);
        }
        let Some(seq) = last else { return Ok(None) };
        match self.engine.get(rec_tree, &keys::seq_key(seq))? {
            Some(bytes) => R::decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Number of records of a kind ever created (records are never deleted).
    pub fn count<R: Resource>(&self) -> Result<u64, Error> {
        self.counter(&keys::seq_counter(R::KIND))
    }

    /// Highest audit sequence whose entry, and every entry before it, is durable.
    /// Readers of the audit trail (lists, live streams) never go past it, so they never
    /// show what a crash could still take back.
    pub fn audit_watermark(&self) -> Result<u64, Error> {
        if self.engine.commits_are_durable() {
            self.counter(keys::AUDIT_SEQ)
        } else {
            Ok(self.durable_audit.load(Ordering::SeqCst))
        }
    }

    /// Highest audit sequence committed, durable or not yet: every change a read can
    /// see has its entry at or below it (the durable watermark catches up once the
    /// pending sync is done).
    pub fn audit_committed(&self) -> Result<u64, Error> {
        self.counter(keys::AUDIT_SEQ)
    }

    /// Lists durable audit entries oldest first, after sequence `after`.
    pub fn list_audit(
        &self,
        filter: &AuditFilter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, Error> {
        let limit_seq = self.audit_watermark()?;
        let start = after.map_or(1, |a| a.saturating_add(1));
        if start > limit_seq {
            // Nothing durable after `after` (a follower that is up to date): no scan.
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let (tree, prefix) = match (&filter.resource_id, &filter.actor, &filter.resource_kind) {
            (Some(id), _, _) => (trees::INDEX, keys::index_prefix("audit", "resource", id)),
            (None, Some(actor), _) => (trees::INDEX, keys::index_prefix("audit", "actor", actor)),
            (None, None, Some(kind)) => (trees::INDEX, keys::index_prefix("audit", "kind", kind)),
            (None, None, None) => (trees::AUDIT, Vec::new()),
        };
        let mut from = prefix.clone();
        from.extend_from_slice(&keys::seq_key(start));
        let mut items: Vec<AuditEntry> = Vec::new();
        loop {
            let chunk = self.engine.scan(tree, &prefix, &from, SCAN_CHUNK)?;
            let exhausted = chunk.len() < SCAN_CHUNK;
            for (k, _) in &chunk {
                let Some(seq) = keys::read_seq(k) else {
                    continue;
                };
                if seq > limit_seq {
                    return Ok(Page { items, next: None });
                }
                let Some(bytes) = self.engine.get(trees::AUDIT, &keys::seq_key(seq))? else {
                    continue;
                };
                let entry = records::decode_audit(&bytes)?;
                if filter.actor.as_ref().is_some_and(|a| *a != entry.actor.0)
                    || filter
                        .resource_kind
                        .as_ref()
                        .is_some_and(|k| *k != entry.resource_kind)
                {
                    continue;
                }
                if items.len() == limit {
                    let next = items.last().map(|e| e.sequence);
                    return Ok(Page { items, next });
                }
                items.push(entry);
            }
            match chunk.last() {
                Some((k, _)) if !exhausted => {
                    from = k.clone();
                    from.push(0);
                }
                _ => return Ok(Page { items, next: None }),
            }
        }
    }

    /// The value of meta entry `name`, setting it to `initial` first if it has none (a
    /// deployment-wide secret, such as the page-token key, chosen once).
    pub fn meta_value(&self, name: &str, initial: &[u8]) -> Result<Vec<u8>, Error> {
        let key = format!("value/{name}").into_bytes();
        if let Some(v) = self.engine.get(trees::META, &key)? {
            return Ok(v);
        }
        let meta = WriteMeta {
            actor: PrincipalId::system(),
            action: "store.meta".into(),
            now: Timestamp(0),
            idempotency: None,
        };
        store_only(self.transaction(&meta, |txn| Ok(txn.meta_value(&key, initial)?)))
    }

    /// Writes a backup of every tree, as of one moment, to `out` (see [`crate::backup`]
    /// for the format and [`Engine::snapshot`] for the moment). The header carries the
    /// store's schema version, `created_at` and the highest audit sequence of the
    /// snapshot; the trailer is written only after the engine has made everything in the
    /// snapshot durable, so a complete backup never holds a write the live store could
    /// still lose.
    pub fn backup<W: Write>(
        &self,
        out: W,
        created_at: Timestamp,
    ) -> Result<BackupSummary, BackupError> {
        let mut order = vec![trees::META];
        order.extend(trees::all().into_iter().filter(|t| *t != trees::META));
        let mut export = Export::Meta {
            out,
            meta: Vec::new(),
            created_at,
        };
        let mut failure = None;
        let snap = self.engine.snapshot(&order, &mut |tree, k, v| {
            export.visit(tree, k, v).map_err(|e| {
                failure = Some(e);
                Error::Engine("the backup stopped".into())
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        snap?;
        let writer = export.into_writer()?;
        self.engine.sync()?;
        Ok(writer.finish()?.1)
    }

    /// Loads a backup into `engine`, which must be empty, and makes it durable. Entries
    /// are loaded in batches; a marker in the meta tree, removed in the same transaction
    /// as the last batch (after the trailer's checksum matched), makes a store left by an
    /// interrupted or refused restore refuse to open. The schema version of the backup
    /// may be older than this build's (the store is upgraded when it is opened), never
    /// newer.
    pub fn restore<R: Read>(
        engine: &Arc<dyn Engine>,
        input: R,
    ) -> Result<RestoreSummary, BackupError> {
        for tree in trees::all() {
            if !engine.scan(tree, &[], &[], 1)?.is_empty() {
                return Err(BackupError::NotEmpty { tree });
            }
        }
        let mut reader = BackupReader::open(input, SCHEMA_VERSION)?;
        engine.transact(&mut |tx| tx.put(trees::META, keys::RESTORE_INCOMPLETE, b"1"))?;
        // The marker is durable before any entry: a restore cut short by a crash leaves a
        // store that refuses to open, never one that looks whole.
        engine.sync()?;
        let mut per_tree: BTreeMap<TreeName, u64> = BTreeMap::new();
        let mut batch: Vec<BackupEntry> = Vec::new();
        let mut batch_bytes = 0;
        let mut schema_entry = None;
        while let Some(e) = reader.next_entry()? {
            if e.tree == trees::META {
                if e.key == keys::RESTORE_INCOMPLETE {
                    return Err(BackupError::Corrupt(
                        "the backup holds an unfinished restore's marker".into(),
                    ));
                }
                if e.key == keys::SCHEMA_VERSION {
                    schema_entry = keys::read_seq(&e.value);
                }
            }
            *per_tree.entry(e.tree).or_default() += 1;
            batch_bytes += e.key.len() + e.value.len();
            batch.push(e);
            if batch.len() >= RESTORE_BATCH_ENTRIES || batch_bytes >= RESTORE_BATCH_BYTES {
                load(engine.as_ref(), &batch, false)?;
                batch.clear();
                batch_bytes = 0;
            }
        }
        let header = *reader.header();
        if schema_entry != Some(header.schema_version) {
            return Err(BackupError::Corrupt(format!(
                "the header says schema version {} but the entries say {schema_entry:?}",
                header.schema_version
            )));
        }
        load(engine.as_ref(), &batch, true)?;
        engine.sync()?;
        Ok(RestoreSummary {
            header,
            entries: reader.entries(),
            per_tree,
        })
    }

    /// A number that changes after every committed write of a principal through this
    /// store, for caches of principals: read it before reading a principal, and the copy
    /// is current for as long as the number stays the same. `None` when other processes
    /// may write the engine (PostgreSQL): then only a read of the store is current.
    /// The count belongs to this `Store`: a second `Store` over the same engine would
    /// not see its writes, so a process serves each engine through one `Store`.
    pub fn principal_generation(&self) -> Option<u64> {
        self.engine
            .exclusive()
            .then(|| self.principal_writes.load(Ordering::SeqCst))
    }

    /// Counters of the durability barrier.
    pub fn durability_stats(&self) -> BarrierStats {
        self.engine.stats()
    }

    /// Whether writes are still accepted (no sync has failed).
    pub fn is_writable(&self) -> bool {
        self.engine.check_writable().is_ok()
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), Error> {
        self.engine.sync()
    }

    /// Makes everything durable and closes the store.
    pub fn close(self) -> Result<(), Error> {
        self.engine.sync()
    }

    /// Directory of the store, for engines that have one.
    pub fn path(&self) -> Option<&Path> {
        self.engine.path()
    }

    /// Total size on disk in bytes, as the engine reports it.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        self.engine.size_on_disk()
    }
}

/// Loads entries in one transaction; `last` also removes the unfinished-restore marker.
fn load(engine: &dyn Engine, batch: &[BackupEntry], last: bool) -> Result<(), Error> {
    engine.transact(&mut |tx| {
        for e in batch {
            tx.put(e.tree, &e.key, &e.value)?;
        }
        if last {
            tx.remove(trees::META, keys::RESTORE_INCOMPLETE)?;
        }
        Ok(())
    })
}

/// What a restore loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The backup's header.
    pub header: BackupHeader,
    /// Entries loaded.
    pub entries: u64,
    /// Entries loaded per tree.
    pub per_tree: BTreeMap<TreeName, u64>,
}

/// A backup being written from a snapshot: the meta tree (visited first) is held until
/// it is complete, since the header carries its schema version and audit sequence.
enum Export<W: Write> {
    Meta {
        out: W,
        meta: Vec<(Vec<u8>, Vec<u8>)>,
        created_at: Timestamp,
    },
    Entries(BackupWriter<W>),
    Failed,
}

impl<W: Write> Export<W> {
    fn visit(&mut self, tree: TreeName, k: &[u8], v: &[u8]) -> Result<(), BackupError> {
        if let Export::Meta { meta, .. } = self
            && tree == trees::META
        {
            meta.push((k.to_vec(), v.to_vec()));
            return Ok(());
        }
        self.writer()?.entry(tree, k, v)
    }

    /// The writer, starting it (header and meta entries) on first use.
    fn writer(&mut self) -> Result<&mut BackupWriter<W>, BackupError> {
        if let Export::Meta { .. } = self {
            let Export::Meta {
                out,
                meta,
                created_at,
            } = std::mem::replace(self, Export::Failed)
            else {
                return Err(BackupError::Corrupt("export state".into()));
            };
            let counter = |key: &[u8]| {
                meta.iter()
                    .find(|(k, _)| k.as_slice() == key)
                    .and_then(|(_, v)| keys::read_seq(v))
                    .unwrap_or(0)
            };
            let header = BackupHeader {
                format_version: crate::backup::FORMAT_VERSION,
                schema_version: counter(keys::SCHEMA_VERSION),
                created_at,
                audit_watermark: counter(keys::AUDIT_SEQ),
            };
            let mut w = BackupWriter::new(out, header)?;
            for (k, v) in &meta {
                w.entry(trees::META, k, v)?;
            }
            *self = Export::Entries(w);
        }
        match self {
            Export::Entries(w) => Ok(w),
            _ => Err(BackupError::Corrupt(
                "the backup failed earlier and cannot continue".into(),
            )),
        }
    }

    fn into_writer(mut self) -> Result<BackupWriter<W>, BackupError> {
        self.writer()?;
        match self {
            Export::Entries(w) => Ok(w),
            _ => Err(BackupError::Corrupt(
                "the backup failed earlier and cannot continue".into(),
            )),
        }
    }
}
