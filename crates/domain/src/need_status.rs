//! The need lifecycle of `domain.md`: statuses, edges and who may take them.

use crate::{
    code_enum,
    transition::{Actor, TransitionError, check_edge},
};

code_enum! {
    /// Lifecycle status of a need.
    NeedStatus {
        /// Being written.
        Draft = "DRAFT",
        /// Awaiting authentication.
        Submitted = "SUBMITTED",
        /// Authenticated; consent window running.
        Authenticated = "AUTHENTICATED",
        /// Circulated to providers.
        Circulated = "CIRCULATED",
        /// Partly covered by agreed matches.
        PartiallyMatched = "PARTIALLY_MATCHED",
        /// Covered by agreed matches.
        Matched = "MATCHED",
        /// Delivered.
        Fulfilled = "FULFILLED",
        /// Closed after feedback. Terminal.
        Closed = "CLOSED",
        /// Withdrawn. Terminal.
        Withdrawn = "WITHDRAWN",
        /// Rejected. Terminal.
        Rejected = "REJECTED",
        /// Lapsed. Terminal.
        Lapsed = "LAPSED",
    }
}

use Actor::{Broker, Requester, System};
use NeedStatus as N;

/// Every edge of the need lifecycle with the actors allowed to take it.
pub const NEED_EDGES: &[(NeedStatus, NeedStatus, &[Actor])] = &[
    (N::Draft, N::Submitted, &[Requester, Broker]),
    (N::Draft, N::Withdrawn, &[Requester, Broker]),
    (N::Submitted, N::Authenticated, &[Broker]),
    (N::Submitted, N::Rejected, &[Broker]),
    (N::Submitted, N::Withdrawn, &[Requester]),
    (N::Authenticated, N::Circulated, &[Broker]),
    (N::Authenticated, N::Withdrawn, &[Requester, Broker]),
    (N::Circulated, N::PartiallyMatched, &[System]),
    (N::Circulated, N::Matched, &[System]),
    (N::Circulated, N::Withdrawn, &[Requester, Broker]),
    (N::Circulated, N::Lapsed, &[System, Broker]),
    (N::PartiallyMatched, N::Matched, &[System]),
    (N::PartiallyMatched, N::Circulated, &[System]),
    (N::PartiallyMatched, N::Fulfilled, &[System, Requester]),
    (N::PartiallyMatched, N::Withdrawn, &[Requester, Broker]),
    (N::Matched, N::Fulfilled, &[System, Requester]),
    (N::Matched, N::PartiallyMatched, &[System]),
    (N::Matched, N::Withdrawn, &[Requester, Broker]),
    (N::Fulfilled, N::Closed, &[Broker]),
];

impl NeedStatus {
    /// Checks that `actor` may move a need from `self` to `to`.
    pub fn check(self, to: NeedStatus, actor: Actor) -> Result<(), TransitionError> {
        check_edge(NEED_EDGES, NeedStatus::code, self, to, actor)
    }

    /// Whether no edge leaves this status.
    pub fn is_terminal(self) -> bool {
        !NEED_EDGES.iter().any(|(f, _, _)| *f == self)
    }

    /// Whether providers may see and match a need in this status.
    pub fn is_matchable(self) -> bool {
        matches!(self, N::Circulated | N::PartiallyMatched)
    }

    /// Whether a need in this status has been circulated to providers.
    pub fn is_circulated(self) -> bool {
        matches!(
            self,
            N::Circulated | N::PartiallyMatched | N::Matched | N::Fulfilled | N::Closed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTORS: [Actor; 4] = [
        Actor::Requester,
        Actor::Provider,
        Actor::Broker,
        Actor::System,
    ];

    #[test]
    fn every_pair_and_actor_agrees_with_the_table() {
        for &from in NeedStatus::ALL {
            for &to in NeedStatus::ALL {
                for actor in ACTORS {
                    let edge = NEED_EDGES.iter().find(|(f, t, _)| *f == from && *t == to);
                    let got = from.check(to, actor);
                    match edge {
                        Some((_, _, who)) if who.contains(&actor) => assert_eq!(got, Ok(())),
                        Some(_) => assert!(
                            matches!(got, Err(TransitionError::NotPermitted { .. })),
                            "{from}->{to} by {actor:?}"
                        ),
                        None => assert!(
                            matches!(got, Err(TransitionError::Illegal { .. })),
                            "{from}->{to}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn legal_edges_match_the_design() {
        let check = |from: N, to: N, actor: Actor| from.check(to, actor).is_ok();
        assert!(check(N::Draft, N::Submitted, Requester));
        assert!(check(N::Submitted, N::Authenticated, Broker));
        assert!(!check(N::Submitted, N::Authenticated, Requester));
        assert!(check(N::Submitted, N::Rejected, Broker));
        assert!(check(N::Authenticated, N::Circulated, Broker));
        assert!(check(N::Circulated, N::Matched, System));
        assert!(check(N::PartiallyMatched, N::Circulated, System));
        assert!(check(N::Fulfilled, N::Closed, Broker));
        assert!(!check(N::Draft, N::Circulated, Broker));
        assert!(!check(N::Closed, N::Draft, Broker));
    }

    #[test]
    fn terminal_statuses_have_no_exit_and_illegal_moves_list_the_allowed_ones() {
        let terminal: Vec<N> = NeedStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            vec![N::Closed, N::Withdrawn, N::Rejected, N::Lapsed]
        );
        let err = N::Draft.check(N::Circulated, Broker).expect_err("illegal");
        assert_eq!(
            err.to_string(),
            "cannot move from DRAFT to CIRCULATED; allowed next: SUBMITTED, WITHDRAWN"
        );
        let err = N::Closed.check(N::Draft, Broker).expect_err("illegal");
        assert!(err.to_string().contains("none (terminal status)"));
    }
}
