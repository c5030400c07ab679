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
}
