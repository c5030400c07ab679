//! Gauges sampled periodically rather than per call: the store's size on disk and
//! writability, records by kind and status (counted from the status index, keys only),
//! and the matching index's sizes.

use std::collections::{BTreeMap, BTreeSet};

use metrics::gauge;

use clearinghouse_storage::{Error, Store, index, keys, trees};

use super::{MATCHING_INDEX, RECORDS, STORE_SIZE, STORE_WRITABLE};
use crate::app::matching::Matching;

/// Kinds of record that carry a status index.
pub const KINDS_WITH_STATUS: &[&str] = &["need", "offer", "match", "principal"];

/// Index keys read per round trip.
const CHUNK: usize = 4096;

/// The (kind, status) pairs sampled before, so that a status no record has any more
/// reads 0 instead of its last count.
pub type Seen = BTreeSet<(&'static str, String)>;

/// Takes one sample of every gauge here; runs on a blocking thread.
pub fn sample(store: &Store, matching: &Matching, seen: &mut Seen) -> Result<(), Error> {
    gauge!(STORE_WRITABLE).set(if store.is_writable() { 1.0 } else { 0.0 });
    gauge!(STORE_SIZE).set(store.size_on_disk()? as f64);
    let mut now = Seen::new();
    for kind in KINDS_WITH_STATUS {
        for (status, n) in records_by_status(store, kind)? {
            gauge!(RECORDS, "kind" => *kind, "status" => status.clone()).set(n as f64);
            now.insert((kind, status));
        }
    }
    for (kind, status) in seen.difference(&now) {
        gauge!(RECORDS, "kind" => *kind, "status" => status.clone()).set(0.0);
    }
    seen.extend(now);
    let (offers, needs) = {
        let engine = matching.engine_read();
        (engine.offers().len(), engine.needs().len())
    };
    gauge!(MATCHING_INDEX, "kind" => "offer").set(offers as f64);
    gauge!(MATCHING_INDEX, "kind" => "need").set(needs as f64);
    Ok(())
}

/// Records of `kind` by status code, counted from the status index's keys
/// (`kind \0 status \0 <code> \0 <seq>`).
pub fn records_by_status(store: &Store, kind: &str) -> Result<BTreeMap<String, u64>, Error> {
    let prefix = keys::index_prefix(kind, index::STATUS, "");
    // `index_prefix` ends the (empty) value with its separator; statuses follow the
    // index name's separator.
    let prefix = &prefix[..prefix.len() - 1];
    let mut counts = BTreeMap::new();
    let mut from = prefix.to_vec();
    loop {
        let chunk = store.engine().scan(trees::INDEX, prefix, &from, CHUNK)?;
        for (key, _) in &chunk {
            let rest = &key[prefix.len()..];
            // The code, then a separator and an 8-byte sequence.
            let code = rest.get(..rest.len().saturating_sub(9)).unwrap_or_default();
            *counts
                .entry(String::from_utf8_lossy(code).into_owned())
                .or_insert(0) += 1;
        }
        match chunk.last() {
            Some((k, _)) if chunk.len() == CHUNK => {
                from = k.clone();
                from.push(0);
            }
            _ => return Ok(counts),
        }
    }
}
