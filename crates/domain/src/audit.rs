//! Audit entries: who changed what, when, from which version to which.

use crate::{ids::PrincipalId, time::Timestamp};

/// One recorded change. Written by storage in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the trail, from 1.
    pub sequence: u64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: PrincipalId,
    /// What, e.g. `need.submit`.
    pub action: String,
    /// Kind of resource: `party`, `need`, `offer`, `principal`.
    pub resource_kind: String,
    /// Resource id.
    pub resource_id: String,
    /// Version before; 0 for a creation.
    pub before_version: u64,
    /// Version after.
    pub after_version: u64,
    /// The entry's link in the hash chain; `None` for entries written before the trail
    /// was chained (their hashes are implied by their fields, see the storage crate's
    /// `audit_chain`).
    pub chain: Option<AuditLink>,
}

/// An audit entry's place in the hash chain: the previous entry's hash and its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditLink {
    /// Hash of the previous entry (all zeros before the first).
    pub previous_hash: [u8; 32],
    /// Hash of this entry, over its fields and `previous_hash`.
    pub hash: [u8; 32],
}
