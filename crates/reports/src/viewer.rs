//! Who reads a report, and which need rows they may see.
//!
//! Rules: brokers and admins see every need as a row. Everyone else never sees a
//! `COMMITTEE_ONLY` need as a row, only in counts. Outside confidential needs the rules of
//! the API apply to rows: a provider sees needs circulated with visibility `PUBLIC` or
//! `PROVIDERS`, an analyst circulated `PUBLIC` ones, a requester its own party's needs.
//! A need a viewer may not see as a row still counts in every aggregate.

use clearinghouse_domain::{Need, PartyId, Principal, Role, Visibility};
use serde::{Deserialize, Serialize};

/// The caller a report is computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    role: Role,
    party: Option<PartyId>,
}

/// Whether a need may appear as a row for a viewer, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAccess {
    /// The row is shown.
    Shown,
    /// A `COMMITTEE_ONLY` need the viewer may see only as a count.
    Confidential,
    /// A need outside the viewer's audience (not circulated to it, or `PROVIDERS` for an
    /// analyst); counted, not shown.
    Restricted,
}

/// Rows of a list left out for the viewer, by reason. They still count in the totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenRows {
    /// `COMMITTEE_ONLY` needs.
    pub confidential: u32,
    /// Needs outside the viewer's audience.
    pub restricted: u32,
}

impl HiddenRows {
    /// Counts one row the viewer may not see (a `Shown` access counts nothing).
    pub fn count(&mut self, access: RowAccess) {
        match access {
            RowAccess::Shown => {}
            RowAccess::Confidential => self.confidential += 1,
            RowAccess::Restricted => self.restricted += 1,
        }
    }

    /// All rows left out.
    pub fn total(&self) -> u32 {
        self.confidential + self.restricted
    }
}

impl Viewer {
    /// A 1540 Committee broker (Group of Experts, staff): sees every row.
    pub fn broker() -> Viewer {
        Viewer {
            role: Role::Broker,
            party: None,
        }
    }

    /// An administrator: sees every row.
    pub fn admin() -> Viewer {
        Viewer {
            role: Role::Admin,
            party: None,
        }
    }

    /// A Global Partnership analyst: public rows; confidential needs as counts.
    pub fn analyst() -> Viewer {
        Viewer {
            role: Role::Analyst,
            party: None,
        }
    }

    /// A provider acting for `party`: rows of needs circulated to providers, its own
    /// portfolio row; confidential needs as counts.
    pub fn provider(party: PartyId) -> Viewer {
        Viewer {
            role: Role::Provider,
            party: Some(party),
        }
    }

    /// A requester acting for `party`: rows of its own needs that are not confidential.
    pub fn requester(party: PartyId) -> Viewer {
        Viewer {
            role: Role::Requester,
            party: Some(party),
        }
    }

    /// The viewer of an authenticated principal.
    pub fn from_principal(p: &Principal) -> Viewer {
        Viewer {
            role: p.role,
            party: p.party.clone(),
        }
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The party a provider or requester acts for.
    pub fn party(&self) -> Option<&PartyId> {
        self.party.as_ref()
    }

    /// Whether confidential (`COMMITTEE_ONLY`) needs may appear as rows.
    pub fn sees_confidential_rows(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Broker)
    }

    /// Whether every provider's portfolio row is shown (a provider sees only its own).
    pub fn sees_all_portfolios(&self) -> bool {
        !matches!(self.role, Role::Provider | Role::Requester)
    }

    /// Whether `need` may appear as a row for this viewer.
    pub fn need_row(&self, need: &Need) -> RowAccess {
        if self.sees_confidential_rows() {
            return RowAccess::Shown;
        }
        if need.fields.visibility == Visibility::CommitteeOnly {
            return RowAccess::Confidential;
        }
        let audience = match self.role {
            Role::Admin | Role::Broker => true,
            Role::Requester => self.party.as_ref() == Some(&need.requester),
            Role::Provider => need.status.is_circulated(),
            Role::Analyst => {
                need.status.is_circulated() && need.fields.visibility == Visibility::Public
            }
        };
        if audience {
            RowAccess::Shown
        } else {
            RowAccess::Restricted
        }
    }
}
