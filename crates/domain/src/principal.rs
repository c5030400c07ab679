//! Principals: authenticated callers with a role and, for requesters and providers, the
//! party they act for.

use crate::{
    code_enum,
    ids::{PartyId, PrincipalId},
    time::Timestamp,
    validation::{ValidationError, Violations},
};

code_enum! {
    /// What a principal may do (see the method table in the server).
    Role {
        /// Administers principals; reads everything.
        Admin = "ADMIN",
        /// 1540 Committee staff: brokers matches.
        Broker = "BROKER",
        /// Requests assistance for one party.
        Requester = "REQUESTER",
        /// Offers assistance for one party.
        Provider = "PROVIDER",
        /// Global Partnership working group: reports and public data.
        Analyst = "ANALYST",
    }
}

impl Role {
    /// Whether principals of this role act for exactly one party.
    pub fn needs_party(self) -> bool {
        matches!(self, Role::Requester | Role::Provider)
    }
}

/// An API-key principal. Only a hash of the key's secret is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// Id; also the public prefix of its key.
    pub id: PrincipalId,
    /// Version, from 1.
    pub version: u64,
    /// Name shown to admins.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Party acted for (requesters and providers).
    pub party: Option<PartyId>,
    /// SHA-256 of the key's secret part.
    pub key_hash: [u8; 32],
    /// When the key stops working.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Creator.
    pub created_by: PrincipalId,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key hash is left out on purpose: it is secret material.
        f.debug_struct("Principal")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("party", &self.party)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// What a new principal needs, before its key is made.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    /// Name shown to admins.
    pub display_name: String,
    /// Role, required.
    pub role: Option<Role>,
    /// Party acted for.
    pub party: Option<PartyId>,
    /// Expiry.
    pub expires_at: Option<Timestamp>,
}

impl NewPrincipal {
    /// Validates the input (the party's existence is checked by the caller).
    pub fn validate(&self, now: Timestamp) -> Result<Role, ValidationError> {
        let mut v = Violations::new("principal");
        v.text("display_name", &self.display_name, true, 200);
        match self.role {
            None => v.add(
                "role",
                "is required; use ADMIN, BROKER, REQUESTER, PROVIDER or ANALYST",
            ),
            Some(r) if r.needs_party() && self.party.is_none() => {
                v.add("party_id", format!("is required for role {r}"));
            }
            Some(r) if !r.needs_party() && self.party.is_some() => {
                v.add("party_id", format!("must be empty for role {r}"));
            }
            Some(_) => {}
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            v.add("expire_time", "is in the past; give a future time or none");
        }
        v.into_result()?;
        self.role
            .ok_or_else(|| ValidationError::single("principal.role", "is required"))
    }
}

impl Principal {
    /// Whether the key may be used at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}
