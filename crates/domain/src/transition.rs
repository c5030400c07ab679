//! What a status change is, who may make it, and why one can be refused.

use crate::{ids::PrincipalId, time::Timestamp};

/// Who asks for a transition, as the lifecycles of `domain.md` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The requesting party (its requester principal).
    Requester,
    /// A provider of an offer.
    Provider,
    /// 1540 Committee staff.
    Broker,
    /// The server itself (derived statuses, expiry).
    System,
}

impl Actor {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Actor::Requester => "requester",
            Actor::Provider => "provider",
            Actor::Broker => "broker",
            Actor::System => "system",
        }
    }
}

/// One entry of a resource's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// Status left; `None` for the first entry.
    pub from: Option<String>,
    /// Status entered.
    pub to: String,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: PrincipalId,
    /// Reason given, if any (empty otherwise).
    pub reason: String,
}

impl StatusChange {
    /// A change from `from` (none for the first entry) to `to`.
    pub fn new(
        from: Option<&str>,
        to: &str,
        at: Timestamp,
        actor: &PrincipalId,
        reason: &str,
    ) -> StatusChange {
        StatusChange {
            from: from.map(str::to_owned),
            to: to.to_owned(),
            at,
            actor: actor.clone(),
            reason: reason.to_owned(),
        }
    }
}

/// Why a transition or rule check was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The lifecycle has no such edge.
    #[error("cannot move from {from} to {to}; allowed next: {}", allowed_list(.allowed))]
    Illegal {
        /// Current status.
        from: &'static str,
        /// Status asked for.
        to: &'static str,
        /// Statuses reachable from `from` by anyone.
        allowed: Vec<&'static str>,
    },
    /// The edge exists but this actor may not take it.
    #[error("a {actor} cannot move a resource from {from} to {to}")]
    NotPermitted {
        /// Current status.
        from: &'static str,
        /// Status asked for.
        to: &'static str,
        /// Who asked.
        actor: &'static str,
    },
    /// A domain rule other than the lifecycle refused the change.
    #[error("{message}")]
    Rule {
        /// Stable machine-readable reason, e.g. `CONSENT_WINDOW_OPEN`.
        reason: &'static str,
        /// Lowercase message saying what to do.
        message: String,
    },
}

fn allowed_list(allowed: &[&'static str]) -> String {
    if allowed.is_empty() {
        "none (terminal status)".to_owned()
    } else {
        allowed.join(", ")
    }
}

/// A lifecycle table: edges with the actors allowed to take them.
pub(crate) fn check_edge<S: Copy + PartialEq>(
    table: &[(S, S, &[Actor])],
    code: fn(S) -> &'static str,
    from: S,
    to: S,
    actor: Actor,
) -> Result<(), TransitionError> {
    match table.iter().find(|(f, t, _)| *f == from && *t == to) {
        Some((_, _, actors)) if actors.contains(&actor) => Ok(()),
        Some(_) => Err(TransitionError::NotPermitted {
            from: code(from),
            to: code(to),
            actor: actor.name(),
        }),
        None => Err(TransitionError::Illegal {
            from: code(from),
            to: code(to),
            allowed: table
                .iter()
                .filter(|(f, _, _)| *f == from)
                .map(|(_, t, _)| code(*t))
                .collect(),
        }),
    }
}
