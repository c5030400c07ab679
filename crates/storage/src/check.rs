//! An offline consistency check of a whole store, re-deriving from the records what the
//! write path keeps beside them: id maps, index entries, unique keys, creation counters,
//! and the audit trail (gapless, chained, indexed). A restore runs it on what it loaded;
//! tests run it after crashes and concurrent writes.
//!
//! It reads every tree into memory once: meant for a store at rest or a test, not for a
//! live service.

use std::collections::{BTreeMap, BTreeSet};

use clearinghouse_domain::{FeedbackEntry, Match, MatchingSettings, Need, Offer, Party, Principal};

use crate::{
    audit_chain::ChainVerifier,
    engine::{Entry, TreeName},
    error::Error,
    keys, records,
    resource::Resource,
    store::Store,
    trees,
};

/// What a consistent store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Records per kind.
    pub records: BTreeMap<&'static str, u64>,
    /// Index entries checked (records' and the audit trail's).
    pub index_entries: u64,
    /// Audit entries, all verified along the hash chain.
    pub audit_entries: u64,
}

/// Why a store is not consistent.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] Error),
    /// What does not agree (at most [`MAX_PROBLEMS`] findings).
    #[error("the store is inconsistent: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
}

/// Most findings a check reports.
pub const MAX_PROBLEMS: usize = 50;

#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    report: CheckReport,
    /// Index keys the records and audit entries imply.
    index: BTreeSet<Vec<u8>>,
    /// Unique keys the records imply, with the owning id.
    unique: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Findings {
    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }
}

fn all(store: &Store, tree: TreeName) -> Result<Vec<Entry>, Error> {
    store.engine().scan(tree, &[], &[], usize::MAX)
}

fn counter(store: &Store, key: &[u8]) -> Result<u64, Error> {
    Ok(store
        .engine()
        .get(trees::META, key)?
        .and_then(|v| keys::read_seq(&v))
        .unwrap_or(0))
}

fn kind<R: Resource>(store: &Store, f: &mut Findings) -> Result<(), Error> {
    let (rec_tree, id_tree) = trees::of_kind(R::KIND)?;
    let records = all(store, rec_tree)?;
    let mut ids: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut highest = 0;
    for (k, v) in &records {
        let Some(seq) = keys::read_seq(k).filter(|_| k.len() == 8) else {
            f.problem(format!("{rec_tree}: malformed key {k:?}"));
            continue;
        };
        highest = highest.max(seq);
        let rec = match R::decode(v) {
            Ok(r) => r,
            Err(e) => {
                f.problem(format!("{} at sequence {seq}: {e}", R::KIND));
                continue;
            }
        };
        ids.insert(rec.id().as_bytes().to_vec(), seq);
        for (idx, val) in rec.index_entries() {
            f.index.insert(keys::index_key(R::KIND, idx, &val, seq));
        }
        if let Some(u) = rec.unique_value() {
            f.unique
                .insert(keys::unique_key(R::KIND, &u), rec.id().as_bytes().to_vec());
        }
    }
    let mapped: BTreeMap<Vec<u8>, u64> = all(store, id_tree)?
        .into_iter()
        .map(|(k, v)| (k, keys::read_seq(&v).unwrap_or(0)))
        .collect();
    if mapped != ids {
        let missing = ids.keys().filter(|k| !mapped.contains_key(*k)).count();
        let stray = mapped.keys().filter(|k| !ids.contains_key(*k)).count();
        f.problem(format!(
            "{id_tree} does not map the ids of {rec_tree}: {missing} missing, {stray} stray or wrong"
        ));
    }
    let count = counter(store, &keys::seq_counter(R::KIND))?;
    if count != highest {
        f.problem(format!(
            "counter seq/{} is {count} but the highest {} sequence is {highest}",
            R::KIND,
            R::KIND
        ));
    }
    f.report.records.insert(R::KIND, records.len() as u64);
    Ok(())
}

fn audit(store: &Store, f: &mut Findings) -> Result<(), Error> {
    let mut chain = ChainVerifier::new();
    let entries = all(store, trees::AUDIT)?;
    for (k, v) in &entries {
        let entry = match records::decode_audit(v) {
            Ok(e) => e,
            Err(e) => {
                f.problem(format!("audit key {k:?}: {e}"));
                return Ok(());
            }
        };
        if keys::read_seq(k) != Some(entry.sequence) {
            f.problem(format!(
                "audit entry {} is stored under another key",
                entry.sequence
            ));
        }
        if let Err(e) = chain.push(&entry) {
            f.problem(e.to_string());
            return Ok(());
        }
        for (idx, val) in [
            ("resource", entry.resource_id.as_str()),
            ("actor", entry.actor.0.as_str()),
            ("kind", entry.resource_kind.as_str()),
        ] {
            f.index
                .insert(keys::index_key("audit", idx, val, entry.sequence));
        }
    }
    let count = counter(store, keys::AUDIT_SEQ)?;
    if count != chain.verified() {
        f.problem(format!(
            "counter seq/audit is {count} but the trail holds entries 1 to {}",
            chain.verified()
        ));
    }
    f.report.audit_entries = chain.verified();
    Ok(())
}

/// Checks `store` (see the module docs). Index entries and unique keys of kinds this
/// build does not know are left alone.
pub fn check(store: &Store) -> Result<CheckReport, CheckError> {
    let mut f = Findings::default();
    kind::<Party>(store, &mut f)?;
    kind::<Need>(store, &mut f)?;
    kind::<Offer>(store, &mut f)?;
    kind::<Principal>(store, &mut f)?;
    kind::<MatchingSettings>(store, &mut f)?;
    kind::<Match>(store, &mut f)?;
    kind::<FeedbackEntry>(store, &mut f)?;
    kind::<crate::decision::Decision>(store, &mut f)?;
    audit(store, &mut f)?;
    let known: BTreeSet<&str> = f.report.records.keys().copied().chain(["audit"]).collect();
    let of_known_kind = |k: &[u8]| {
        k.split(|b| *b == 0)
            .next()
            .and_then(|kind| std::str::from_utf8(kind).ok())
            .is_some_and(|kind| known.contains(kind))
    };
    let stored: BTreeSet<Vec<u8>> = all(store, trees::INDEX)?
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| of_known_kind(k))
        .collect();
    for k in stored.symmetric_difference(&f.index).take(MAX_PROBLEMS) {
        let what = if stored.contains(k) {
            "stored but no record implies it"
        } else {
            "implied by a record but missing"
        };
        let p = format!("index entry {:?}: {what}", String::from_utf8_lossy(k));
        f.problems.push(p);
    }
    f.report.index_entries = stored.len() as u64;
    let unique: BTreeMap<Vec<u8>, Vec<u8>> = all(store, trees::UNIQUE)?
        .into_iter()
        .filter(|(k, _)| of_known_kind(k))
        .collect();
    if unique != f.unique {
        f.problem(format!(
            "unique keys disagree with the records: {} stored, {} implied",
            unique.len(),
            f.unique.len()
        ));
    }
    if f.problems.is_empty() {
        Ok(f.report)
    } else {
        f.problems.truncate(MAX_PROBLEMS);
        Err(CheckError::Inconsistent(f.problems))
    }
}
