//! Typed reads and writes inside one transaction: records with their id map, index
//! entries, unique keys, creation sequences, idempotency records and audit entries, over
//! any [`Engine`](crate::engine::Engine)'s [`TxOps`].
//!
//! Order of checks in [`Txn::update`]: the record exists, then the caller's `access`
//! check (visible and allowed), then the version, then the change itself — so a caller
//! who may not see a record learns nothing from a stale version.

use std::fmt;

use clearinghouse_domain::{AuditEntry, Principal};

use crate::{
    audit_chain,
    engine::{TreeName, TxOps},
    error::Error,
    keys,
    records::{self, AuditRecordV2, IdempotencyRecordV1, V1, V2},
    resource::Resource,
    store::{IdempotencyKey, WriteMeta},
    trees,
};

/// Most records [`Txn::list_by_index`] reads in one transaction.
pub const MAX_TXN_LIST: usize = 10_000;

/// Index keys [`Txn::last_by_index`] reads per scan.
const LAST_SCAN_CHUNK: usize = 1_024;

/// Failure inside a transaction: a storage error, or the caller's own refusal.
pub enum TxError<E> {
    /// Storage failed (or a conflict the engine retries).
    Store(Error),
    /// The caller refused the change; the transaction aborts with this error.
    Rejected(E),
}

impl<E> TxError<E> {
    /// The caller refuses the change; the transaction aborts with `e`.
    pub fn rejected(e: E) -> Self {
        TxError::Rejected(e)
    }
}

impl<E> From<Error> for TxError<E> {
    fn from(e: Error) -> Self {
        TxError::Store(e)
    }
}

impl<E> fmt::Debug for TxError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Store(e) => write!(f, "TxError::Store({e})"),
            TxError::Rejected(_) => f.write_str("TxError::Rejected"),
        }
    }
}

/// Typed reads and writes inside [`Store::transaction`](crate::Store::transaction).
pub struct Txn<'a> {
    ops: &'a mut dyn TxOps,
    meta: &'a WriteMeta,
    audit_max: u64,
    wrote_principal: bool,
}

impl fmt::Debug for Txn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Txn")
    }
}

/// Splits the value of [`keys::AUDIT_CHAIN_V1`] into its sequence and hash.
pub(crate) fn split_anchor(v: &[u8]) -> Option<(u64, [u8; 32])> {
    let (seq, hash) = v.split_at_checked(8)?;
    Some((keys::read_seq(seq)?, hash.try_into().ok()?))
}

fn bump(ops: &mut dyn TxOps, key: &[u8]) -> Result<u64, Error> {
    let cur = ops
        .get(trees::META, key)?
        .and_then(|v| keys::read_seq(&v))
        .unwrap_or(0);
    let next = cur + 1;
    ops.put(trees::META, key, &keys::seq_key(next))?;
    Ok(next)
}

impl<'a> Txn<'a> {
    pub(crate) fn new(ops: &'a mut dyn TxOps, meta: &'a WriteMeta) -> Txn<'a> {
        Txn {
            ops,
            meta,
            audit_max: 0,
            wrote_principal: false,
        }
    }

    /// Whether this transaction created or changed a principal.
    pub(crate) fn wrote_principal(&self) -> bool {
        self.wrote_principal
    }

    /// Highest audit sequence this transaction wrote (0 when none).
    pub(crate) fn audit_max(&self) -> u64 {
        self.audit_max
    }

    fn read<R: Resource>(&mut self, id: &str) -> Result<Option<(u64, R)>, Error> {
        let (rec_tree, id_tree) = trees::of_kind(R::KIND)?;
        let Some(seq) = self
            .ops
            .get(id_tree, id.as_bytes())?
            .and_then(|v| keys::read_seq(&v))
        else {
            return Ok(None);
        };
        let Some(bytes) = self.ops.get(rec_tree, &keys::seq_key(seq))? else {
            return Err(Error::Corrupt(format!(
                "{} {id}: id maps to a missing record",
                R::KIND
            )));
        };
        Ok(Some((seq, R::decode(&bytes)?)))
    }

    /// Reads a record.
    pub fn get<R: Resource, E>(&mut self, id: &str) -> Result<Option<R>, TxError<E>> {
        Ok(self.read::<R>(id)?.map(|(_, r)| r))
    }

    /// Every record of kind `R` with index entry (`index`, `value`), in creation order
    /// (at most [`MAX_TXN_LIST`]; more is an error rather than a silent cut).
    pub fn list_by_index<R: Resource, E>(
        &mut self,
        index: &str,
        value: &str,
    ) -> Result<Vec<R>, TxError<E>> {
        let (rec_tree, _) = trees::of_kind(R::KIND)?;
        let prefix = keys::index_prefix(R::KIND, index, value);
        let entries = self
            .ops
            .scan(trees::INDEX, &prefix, &prefix, MAX_TXN_LIST + 1)?;
        if entries.len() > MAX_TXN_LIST {
            return Err(TxError::Store(Error::Engine(format!(
                "more than {MAX_TXN_LIST} {} records with {index}={value} in one transaction",
                R::KIND
            ))));
        }
        let mut out = Vec::with_capacity(entries.len());
        for (k, _) in entries {
            let Some(seq) = keys::read_seq(&k) else {
                continue;
            };
            if let Some(bytes) = self.ops.get(rec_tree, &keys::seq_key(seq))? {
                out.push(R::decode(&bytes)?);
            }
        }
        Ok(out)
    }

    /// The newest record of kind `R` with index entry (`index`, `value`), if any. Reads
    /// the index keys in chunks (no bound on how many there are) and decodes one record.
    pub fn last_by_index<R: Resource, E>(
        &mut self,
        index: &str,
        value: &str,
    ) -> Result<Option<R>, TxError<E>> {
        let (rec_tree, _) = trees::of_kind(R::KIND)?;
        let prefix = keys::index_prefix(R::KIND, index, value);
        let mut from = prefix.clone();
        let mut last = None;
        loop {
            let chunk = self
                .ops
                .scan(trees::INDEX, &prefix, &from, LAST_SCAN_CHUNK)?;
            let Some((k, _)) = chunk.last() else { break };
            last = keys::read_seq(k);
            if chunk.len() < LAST_SCAN_CHUNK {
                break;
            }
            from = k.clone();
            from.push(0);
        }
        let Some(seq) = last else { return Ok(None) };
        match self.ops.get(rec_tree, &keys::seq_key(seq))? {
            Some(bytes) => Ok(Some(R::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The hash entry `sequence` chains from: [`audit_chain::GENESIS`] for entry 1, the
    /// stored hash of a chained entry, or, for the last entry written before the trail was
    /// chained, the hash recorded when the store was upgraded.
    fn previous_hash(&mut self, sequence: u64) -> Result<[u8; 32], Error> {
        let Some(prev) = sequence.checked_sub(1).filter(|p| *p > 0) else {
            return Ok(audit_chain::GENESIS);
        };
        let Some(bytes) = self.ops.get(trees::AUDIT, &keys::seq_key(prev))? else {
            return Err(Error::Corrupt(format!(
                "audit entry {prev} is missing; entry {sequence} cannot chain from it"
            )));
        };
        if let Some(link) = records::decode_audit(&bytes)?.chain {
            return Ok(link.hash);
        }
        let anchor = self.ops.get(trees::META, keys::AUDIT_CHAIN_V1)?;
        match anchor.as_deref().map(split_anchor) {
            Some(Some((seq, hash))) if seq == prev => Ok(hash),
            _ => Err(Error::Corrupt(format!(
                "audit entry {prev} has no hash and is not the last entry before the chain"
            ))),
        }
    }

    fn append_audit(&mut self, kind: &str, id: &str, before: u64, after: u64) -> Result<(), Error> {
        let sequence = bump(self.ops, keys::AUDIT_SEQ)?;
        let mut entry = AuditEntry {
            sequence,
            at: self.meta.now,
            actor: self.meta.actor.clone(),
            action: self.meta.action.clone(),
            resource_kind: kind.to_owned(),
            resource_id: id.to_owned(),
            before_version: before,
            after_version: after,
            chain: None,
        };
        let link = audit_chain::link(&entry, self.previous_hash(sequence)?);
        entry.chain = Some(link);
        let bytes = records::encode(V2, &AuditRecordV2::new(&entry, link))?;
        self.ops
            .put(trees::AUDIT, &keys::seq_key(sequence), &bytes)?;
        for (idx, val) in [
            ("resource", id),
            ("actor", self.meta.actor.0.as_str()),
            ("kind", kind),
        ] {
            self.ops.put(
                trees::INDEX,
                &keys::index_key("audit", idx, val, sequence),
                &[],
            )?;
        }
        self.audit_max = self.audit_max.max(sequence);
        self.wrote_principal |= kind == <Principal as Resource>::KIND;
        Ok(())
    }

    fn claim_unique(&mut self, kind: &'static str, value: &str, id: &str) -> Result<(), Error> {
        let key = keys::unique_key(kind, value);
        if let Some(existing) = self.ops.get(trees::UNIQUE, &key)?
            && existing.as_slice() != id.as_bytes()
        {
            return Err(Error::UniqueTaken {
                kind,
                key: value.to_owned(),
                existing_id: String::from_utf8_lossy(&existing).into_owned(),
            });
        }
        self.ops.put(trees::UNIQUE, &key, id.as_bytes())
    }

    /// Creates a record (version 1) with its id, sequence, index entries, unique key
    /// and audit entry.
    pub fn create<R: Resource, E>(&mut self, rec: &R) -> Result<(), TxError<E>> {
        Ok(self.insert_new(rec)?)
    }

    fn insert_new<R: Resource>(&mut self, rec: &R) -> Result<(), Error> {
        let (rec_tree, id_tree) = trees::of_kind(R::KIND)?;
        if self.ops.get(id_tree, rec.id().as_bytes())?.is_some() {
            return Err(Error::AlreadyExists {
                kind: R::KIND,
                id: rec.id().to_owned(),
            });
        }
        if let Some(u) = rec.unique_value() {
            self.claim_unique(R::KIND, &u, rec.id())?;
        }
        let bytes = rec.encode()?;
        let seq = bump(self.ops, &keys::seq_counter(R::KIND))?;
        self.ops.put(rec_tree, &keys::seq_key(seq), &bytes)?;
        self.ops
            .put(id_tree, rec.id().as_bytes(), &keys::seq_key(seq))?;
        for (idx, val) in rec.index_entries() {
            self.ops
                .put(trees::INDEX, &keys::index_key(R::KIND, idx, &val, seq), &[])?;
        }
        self.append_audit(R::KIND, rec.id(), 0, rec.version())
    }

    /// Creates `rec` unless its id exists; whether it was new.
    pub fn create_if_missing<R: Resource, E>(&mut self, rec: &R) -> Result<bool, TxError<E>> {
        let (_, id_tree) = trees::of_kind(R::KIND)?;
        if self.ops.get(id_tree, rec.id().as_bytes())?.is_some() {
            return Ok(false);
        }
        self.insert_new(rec)?;
        Ok(true)
    }

    /// The record an earlier request with this idempotency key created, if any; the same
    /// key with another payload or kind is [`Error::IdempotencyConflict`].
    pub fn replay<R: Resource, E>(&mut self, k: &IdempotencyKey) -> Result<Option<R>, TxError<E>> {
        let key = keys::idempotency_key(&k.scope, &k.request_id);
        let Some(v) = self.ops.get(trees::IDEM, &key)? else {
            return Ok(None);
        };
        let (_, prior): (u8, IdempotencyRecordV1) = records::decode("idempotency", &v)?;
        if prior.payload_hash != k.payload_hash || prior.kind != R::KIND {
            return Err(TxError::Store(Error::IdempotencyConflict {
                request_id: k.request_id.clone(),
            }));
        }
        match self.read::<R>(&prior.id)? {
            Some((_, r)) => Ok(Some(r)),
            None => Err(TxError::Store(Error::Corrupt(format!(
                "request {} names a missing {}",
                k.request_id,
                R::KIND
            )))),
        }
    }

    /// Records that this idempotency key created record `id` of kind `R`.
    pub fn remember<R: Resource, E>(
        &mut self,
        k: &IdempotencyKey,
        id: &str,
    ) -> Result<(), TxError<E>> {
        let rec = IdempotencyRecordV1 {
            payload_hash: k.payload_hash,
            kind: R::KIND.to_owned(),
            id: id.to_owned(),
        };
        let bytes = records::encode(V1, &rec)?;
        self.ops.put(
            trees::IDEM,
            &keys::idempotency_key(&k.scope, &k.request_id),
            &bytes,
        )?;
        Ok(())
    }

    /// Replaces a record with `change(current)`. Checks, in this order: the record
    /// exists ([`Error::NotFound`]), `access` accepts it (the caller's error, e.g. a
    /// NOT_FOUND for what the caller may not see), `expected_version` is current
    /// ([`Error::StaleVersion`]), then `change`. The version is bumped; indexes and the
    /// unique key follow; an audit entry is appended.
    pub fn update<R: Resource, E>(
        &mut self,
        id: &str,
        expected_version: Option<u64>,
        access: &dyn Fn(&R) -> Result<(), E>,
        change: &dyn Fn(&R) -> Result<R, E>,
    ) -> Result<R, TxError<E>> {
        let Some((seq, old)) = self.read::<R>(id)? else {
            return Err(TxError::Store(Error::NotFound {
                kind: R::KIND,
                id: id.to_owned(),
            }));
        };
        access(&old).map_err(TxError::Rejected)?;
        if R::APPEND_ONLY {
            return Err(TxError::Store(Error::AppendOnly {
                kind: R::KIND,
                id: id.to_owned(),
            }));
        }
        if let Some(expected) = expected_version
            && expected != old.version()
        {
            return Err(TxError::Store(Error::StaleVersion {
                kind: R::KIND,
                id: id.to_owned(),
                expected,
                actual: old.version(),
            }));
        }
        let mut new = change(&old).map_err(TxError::Rejected)?;
        new.set_version(old.version() + 1);
        Ok(self.replace(seq, &old, new)?)
    }

    fn replace<R: Resource>(&mut self, seq: u64, old: &R, new: R) -> Result<R, Error> {
        let (rec_tree, _) = trees::of_kind(R::KIND)?;
        let id = old.id().to_owned();
        let bytes = new.encode()?;
        self.ops.put(rec_tree, &keys::seq_key(seq), &bytes)?;
        let old_entries = old.index_entries();
        let new_entries = new.index_entries();
        for (idx, val) in &old_entries {
            if !new_entries.iter().any(|(i, v)| i == idx && v == val) {
                self.ops
                    .remove(trees::INDEX, &keys::index_key(R::KIND, idx, val, seq))?;
            }
        }
        for (idx, val) in &new_entries {
            if !old_entries.iter().any(|(i, v)| i == idx && v == val) {
                self.ops
                    .put(trees::INDEX, &keys::index_key(R::KIND, idx, val, seq), &[])?;
            }
        }
        let (old_u, new_u) = (old.unique_value(), new.unique_value());
        if old_u != new_u {
            if let Some(u) = &new_u {
                self.claim_unique(R::KIND, u, &id)?;
            }
            if let Some(u) = &old_u {
                self.ops
                    .remove(trees::UNIQUE, &keys::unique_key(R::KIND, u))?;
            }
        }
        self.append_audit(R::KIND, &id, old.version(), new.version())?;
        Ok(new)
    }

    /// Records the hash of the last audit entry written before the trail was chained
    /// (computed over every such entry, from entry 1), so the first chained entry can
    /// chain from it. Nothing is recorded for a store without audit entries.
    pub(crate) fn anchor_unchained_audit<E>(&mut self) -> Result<(), TxError<E>> {
        const CHUNK: usize = 1024;
        let mut verifier = audit_chain::ChainVerifier::new();
        let mut from = Vec::new();
        loop {
            let chunk = self.ops.scan(trees::AUDIT, &[], &from, CHUNK)?;
            for (_, v) in &chunk {
                let entry = records::decode_audit(v)?;
                verifier
                    .push(&entry)
                    .map_err(|e| Error::Corrupt(format!("audit trail before the chain: {e}")))?;
            }
            match chunk.last() {
                Some((k, _)) if chunk.len() == CHUNK => {
                    from = k.clone();
                    from.push(0);
                }
                _ => break,
            }
        }
        let last = verifier.verified();
        if last > 0 {
            let mut v = keys::seq_key(last).to_vec();
            v.extend_from_slice(&verifier.head());
            self.ops.put(trees::META, keys::AUDIT_CHAIN_V1, &v)?;
        }
        Ok(())
    }

    /// Sets a counter in the meta tree.
    pub(crate) fn put_meta<E>(&mut self, key: &[u8], value: u64) -> Result<(), TxError<E>> {
        Ok(self.ops.put(trees::META, key, &keys::seq_key(value))?)
    }

    /// The value of meta entry `key`, set to `initial` when absent.
    pub(crate) fn meta_value(&mut self, key: &[u8], initial: &[u8]) -> Result<Vec<u8>, Error> {
        if let Some(v) = self.ops.get(trees::META, key)? {
            return Ok(v);
        }
        self.ops.put(trees::META, key, initial)?;
        Ok(initial.to_vec())
    }

    /// The tree names this layer uses (for tests and tools).
    pub fn tree_names() -> Vec<TreeName> {
        trees::all()
    }
}
