//! The names of every tree (ordered byte map) the store uses. The names are the sled
//! tree names of the on-disk format, so they never change.

use crate::{engine::TreeName, error::Error};

/// Secondary index entries of every kind (and of the audit trail).
pub const INDEX: TreeName = "index";
/// Unique keys (external ids per party).
pub const UNIQUE: TreeName = "unique";
/// Audit entries by sequence.
pub const AUDIT: TreeName = "audit";
/// Counters and the schema version.
pub const META: TreeName = "meta";
/// Idempotency records by (scope, request id).
pub const IDEM: TreeName = "idempotency";

/// Kinds of record, each with a record tree (by creation sequence) and an id tree.
pub const KINDS: &[(&str, TreeName, TreeName)] = &[
    ("party", "rec/party", "id/party"),
    ("need", "rec/need", "id/need"),
    ("offer", "rec/offer", "id/offer"),
    ("principal", "rec/principal", "id/principal"),
    ("settings", "rec/settings", "id/settings"),
    ("match", "rec/match", "id/match"),
    ("feedback", "rec/feedback", "id/feedback"),
    ("decision", "rec/decision", "id/decision"),
];

/// The record and id trees of a kind.
pub fn of_kind(kind: &str) -> Result<(TreeName, TreeName), Error> {
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|&(_, r, i)| (r, i))
        .ok_or_else(|| Error::Engine(format!("no trees for kind {kind}")))
}

/// Every tree, shared ones first.
pub fn all() -> Vec<TreeName> {
    let mut v = vec![INDEX, UNIQUE, AUDIT, META, IDEM];
    for &(_, r, i) in KINDS {
        v.push(r);
        v.push(i);
    }
    v
}
