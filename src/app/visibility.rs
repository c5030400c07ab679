//! Who may see which need or offer, and whether they see its point of contact.
//!
//! Rules (api.md): brokers and admins see everything; a requester sees its own needs in
//! every status; a provider sees needs circulated with visibility PUBLIC or PROVIDERS; an
//! analyst sees circulated PUBLIC needs. Contacts are shown only to brokers, admins and
//! the owning party. Offers: brokers and admins see all, a provider its own in every
//! status, everyone else open (active) offers.

use clearinghouse_domain::{Need, Offer, Principal, Role, Visibility};

/// Whether a view may include a point of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactView {
    /// Brokers, admins and the owner.
    Shown,
    /// Everyone else.
    Hidden,
}

fn owns(p: &Principal, party: &clearinghouse_domain::PartyId) -> bool {
    p.party.as_ref() == Some(party)
}

/// Whether `p` may see need `n` at all.
pub fn can_see_need(p: &Principal, n: &Need) -> bool {
    match p.role {
        Role::Admin | Role::Broker => true,
        Role::Requester => owns(p, &n.requester),
        Role::Provider => {
            n.status.is_circulated()
                && matches!(
                    n.fields.visibility,
                    Visibility::Public | Visibility::Providers
                )
        }
        Role::Analyst => n.status.is_circulated() && n.fields.visibility == Visibility::Public,
    }
}

/// Whether `p` sees the need's contact.
pub fn need_contact(p: &Principal, n: &Need) -> ContactView {
    match p.role {
        Role::Admin | Role::Broker => ContactView::Shown,
        Role::Requester if owns(p, &n.requester) => ContactView::Shown,
        _ => ContactView::Hidden,
    }
}

/// Whether `p` may see offer `o`.
pub fn can_see_offer(p: &Principal, o: &Offer) -> bool {
    match p.role {
        Role::Admin | Role::Broker => true,
        Role::Provider if owns(p, &o.provider) => true,
        _ => o.status.is_open(),
    }
}

/// Whether `p` sees the offer's contact.
pub fn offer_contact(p: &Principal, o: &Offer) -> ContactView {
    match p.role {
        Role::Admin | Role::Broker => ContactView::Shown,
        Role::Provider if owns(p, &o.provider) => ContactView::Shown,
        _ => ContactView::Hidden,
    }
}

/// The need as `p` may see it: its point of contact removed unless `p` may see it.
/// Every use case returns needs through this, so every edge shows the same thing.
pub fn redact_need(p: &Principal, mut n: Need) -> Need {
    if need_contact(p, &n) == ContactView::Hidden {
        n.fields.contact = clearinghouse_domain::need::Contact::default();
    }
    n
}

/// The offer as `p` may see it: its point of contact removed unless `p` may see it.
pub fn redact_offer(p: &Principal, mut o: Offer) -> Offer {
    if offer_contact(p, &o) == ContactView::Hidden {
        o.fields.contact = clearinghouse_domain::need::Contact::default();
    }
    o
}
