//! The offer lifecycle of `domain.md`.

use crate::{
    code_enum,
    transition::{Actor, TransitionError, check_edge},
};

code_enum! {
    /// Lifecycle status of an offer.
    OfferStatus {
        /// Being written.
        Draft = "DRAFT",
        /// Open for matching.
        Active = "ACTIVE",
        /// Part of its capacity committed.
        PartiallyCommitted = "PARTIALLY_COMMITTED",
        /// All capacity committed.
        FullyCommitted = "FULLY_COMMITTED",
        /// Past valid-until.
        Expired = "EXPIRED",
        /// Withdrawn by its provider. Terminal.
        Withdrawn = "WITHDRAWN",
    }
}

use Actor::{Broker, Provider, System};
use OfferStatus as O;

/// Every edge of the offer lifecycle with the actors allowed to take it.
pub const OFFER_EDGES: &[(OfferStatus, OfferStatus, &[Actor])] = &[
    (O::Draft, O::Active, &[Provider, Broker]),
    (O::Draft, O::Withdrawn, &[Provider, Broker]),
    (O::Active, O::PartiallyCommitted, &[System]),
    (O::Active, O::FullyCommitted, &[System]),
    (O::Active, O::Expired, &[System]),
    (O::Active, O::Withdrawn, &[Provider, Broker]),
    (O::PartiallyCommitted, O::Active, &[System]),
    (O::PartiallyCommitted, O::FullyCommitted, &[System]),
    (O::PartiallyCommitted, O::Expired, &[System]),
    (O::PartiallyCommitted, O::Withdrawn, &[Provider, Broker]),
    (O::FullyCommitted, O::PartiallyCommitted, &[System]),
    (O::FullyCommitted, O::Active, &[System]),
    (O::FullyCommitted, O::Expired, &[System]),
    (O::FullyCommitted, O::Withdrawn, &[Provider, Broker]),
    (O::Expired, O::Withdrawn, &[Provider, Broker]),
];

impl OfferStatus {
    /// Checks that `actor` may move an offer from `self` to `to`.
    pub fn check(self, to: OfferStatus, actor: Actor) -> Result<(), TransitionError> {
        check_edge(OFFER_EDGES, OfferStatus::code, self, to, actor)
    }

    /// Whether the offer is open for matching.
    pub fn is_open(self) -> bool {
        matches!(self, O::Active | O::PartiallyCommitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_and_actor_agrees_with_the_table() {
        for &from in OfferStatus::ALL {
            for &to in OfferStatus::ALL {
                for actor in [Actor::Requester, Provider, Broker, System] {
                    let edge = OFFER_EDGES.iter().find(|(f, t, _)| *f == from && *t == to);
                    let ok = from.check(to, actor).is_ok();
                    assert_eq!(
                        ok,
                        edge.is_some_and(|(_, _, who)| who.contains(&actor)),
                        "{from}->{to} by {actor:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn activation_and_withdrawal() {
        assert!(O::Draft.check(O::Active, Provider).is_ok());
        assert!(O::Draft.check(O::Active, Actor::Requester).is_err());
        assert!(O::Active.check(O::Withdrawn, Provider).is_ok());
        assert!(O::Withdrawn.check(O::Active, Broker).is_err());
        assert!(O::Active.check(O::FullyCommitted, Provider).is_err());
    }
}
