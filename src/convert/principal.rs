//! `pb::Principal` and `pb::AuditEntry` out of the domain.

use clearinghouse_domain::{AuditEntry, Principal};

use super::{enums, ts_out};
use crate::pb;

/// A principal for the wire (never the key hash).
pub fn out(p: &Principal) -> pb::Principal {
    pb::Principal {
        id: p.id.0.clone(),
        display_name: p.display_name.clone(),
        role: enums::ROLE.out(p.role),
        party_id: p.party.as_ref().map(|x| x.0.clone()).unwrap_or_default(),
        expire_time: p.expires_at.map(ts_out),
        revoked: p.revoked_at.is_some(),
        create_time: Some(ts_out(p.created_at)),
        create_principal_id: p.created_by.0.clone(),
        revoke_time: p.revoked_at.map(ts_out),
    }
}

/// An audit entry for the wire.
pub fn audit_out(a: &AuditEntry) -> pb::AuditEntry {
    pb::AuditEntry {
        sequence: a.sequence,
        change_time: Some(ts_out(a.at)),
        actor_principal_id: a.actor.0.clone(),
        action: a.action.clone(),
        resource_kind: a.resource_kind.clone(),
        resource_id: a.resource_id.clone(),
        before_version: a.before_version,
        after_version: a.after_version,
        previous_hash: a
            .chain
            .map(|l| hex::encode(l.previous_hash))
            .unwrap_or_default(),
        hash: a.chain.map(|l| hex::encode(l.hash)).unwrap_or_default(),
    }
}
