//! Broker decisions: what the matching weights are fitted to. Recorded where they happen
//! — a broker's first page of candidates for a need and each pair a broker explains
//! (their own small write after the read), a proposal and each answer to it (in the
//! same transaction as the match itself) — with the factor values and gate shortfalls
//! the candidates had then ([`clearinghouse_storage::decision`]). Read back by admins
//! only (`ListDecisions`).

use clearinghouse_domain::{
    Match, Need, NeedId, Offer, Principal, Role, Timestamp, matches::ReasonCode,
};
use clearinghouse_matching::{FitContext, fit};
use clearinghouse_storage::{
    ListQuery, Store, TxError, Txn,
    decision::{Answer, Decision, DecisionEvent, Shown, VIEWER_INDEX, viewer_key},
};

use super::{App, Listed, MAX_SCAN, PageRequest, clock, meta, new_id};
use crate::error::ApiError;

/// Whether `who`'s candidate lists are recorded as broker views.
pub fn records_views(who: &Principal) -> bool {
    matches!(who.role, Role::Admin | Role::Broker)
}

/// One candidate as shown: its values under `ctx` now.
pub fn shown(
    need: &Need,
    offer: &Offer,
    ctx: &FitContext<'_>,
    rank: u32,
    score_milli: u32,
) -> Shown {
    let v = fit::values(need, offer, ctx);
    Shown {
        offer: offer.id.0.clone(),
        rank,
        score_milli,
        factors: v.factors,
        shortfalls: v.shortfalls,
    }
}

/// Same offers in the same order with the same values.
fn same_list(a: &[Shown], b: &[Shown]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.offer == y.offer
                && x.rank == y.rank
                && x.score_milli == y.score_milli
                && x.factors == y.factors
                && x.shortfalls == y.shortfalls
        })
}

fn write(store: &Store, who: &Principal, action: &str, d: Decision) {
    let meta = meta(who, action, d.at, None);
    let d = d.bounded();
    let r = store.transaction::<(), ApiError>(&meta, |txn| txn.create(&d));
    if let Err(e) = r {
        // The caller's read succeeded; a decision that could not be stored is lost
        // evidence, not a reason to refuse the read.
        tracing::warn!(error = %ApiError::from(e), decision_id = %d.id, "decision not recorded");
    }
}

/// Records a broker's view of a need's candidates, unless it is the same list (same
/// offers, ranks and values) as the broker's last view of that need.
pub fn record_view(store: &Store, who: &Principal, need: &NeedId, candidates: Vec<Shown>) {
    if !records_views(who) {
        return;
    }
    let last = store.last_by_index::<Decision>(VIEWER_INDEX, &viewer_key(&who.id, need));
    if let Ok(Some(Decision {
        event: DecisionEvent::Viewed { candidates: prior },
        ..
    })) = &last
        && same_list(prior, &candidates)
    {
        return;
    }
    let d = Decision {
        id: new_id(),
        version: 1,
        at: clock::now(),
        actor: who.id.clone(),
        role: who.role,
        need: need.clone(),
        event: DecisionEvent::Viewed { candidates },
    };
    write(store, who, "decision.view", d);
}

/// Records a broker's look at one pair's explanation.
pub fn record_explained(store: &Store, who: &Principal, need: &NeedId, candidate: Shown) {
    if !records_views(who) {
        return;
    }
    let d = Decision {
        id: new_id(),
        version: 1,
        at: clock::now(),
        actor: who.id.clone(),
        role: who.role,
        need: need.clone(),
        event: DecisionEvent::Explained { candidate },
    };
    write(store, who, "decision.explain", d);
}

/// What a proposal record needs besides the transaction.
#[derive(Debug)]
pub struct Proposed<'a> {
    /// Id of the decision record.
    pub id: &'a str,
    /// When.
    pub at: Timestamp,
    /// Who proposed.
    pub who: &'a Principal,
    /// The need.
    pub need: &'a NeedId,
    /// The match.
    pub match_id: &'a str,
    /// Each proposed offer with its values at proposal time.
    pub proposed: Vec<Shown>,
}

/// Records a proposal inside the creating transaction: the proposer's last view of the
/// need's candidates, then each proposed offer that was not in it (rank 0).
pub fn record_proposal<E>(txn: &mut Txn<'_>, p: Proposed<'_>) -> Result<(), TxError<E>> {
    let last: Option<Decision> = txn.last_by_index(VIEWER_INDEX, &viewer_key(&p.who.id, p.need))?;
    let (mut candidates, view) = match last {
        Some(Decision {
            id,
            event: DecisionEvent::Viewed { candidates },
            ..
        }) => (candidates, id),
        _ => (Vec::new(), String::new()),
    };
    let offers: Vec<String> = p.proposed.iter().map(|s| s.offer.clone()).collect();
    for s in p.proposed {
        if !candidates.iter().any(|c| c.offer == s.offer) {
            candidates.push(Shown { rank: 0, ..s });
        }
    }
    let d = Decision {
        id: p.id.to_owned(),
        version: 1,
        at: p.at,
        actor: p.who.id.clone(),
        role: p.who.role,
        need: p.need.clone(),
        event: DecisionEvent::Proposed {
            match_id: p.match_id.to_owned(),
            offers,
            candidates,
            view,
        },
    }
    .bounded();
    txn.create(&d)
}

/// Records an answer to a match (accept, decline, withdraw, cancel) inside the
/// transaction that applies it; `updated` is the match after the answer.
pub fn record_answer<E>(
    txn: &mut Txn<'_>,
    id: &str,
    who: &Principal,
    updated: &Match,
    answer: Answer,
    reason: Option<(ReasonCode, String)>,
) -> Result<(), TxError<E>> {
    let d = Decision {
        id: id.to_owned(),
        version: 1,
        at: updated.updated_at,
        actor: who.id.clone(),
        role: who.role,
        need: updated.need.clone(),
        event: DecisionEvent::Answered {
            match_id: updated.id.clone(),
            answer,
            reason,
            status: updated.status,
        },
    }
    .bounded();
    txn.create(&d)
}

/// Filter of `ListDecisions`: `[from, to)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecisionFilter {
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
}

impl App {
    /// Recorded decisions, oldest first (admins; the role table allows no one else).
    pub async fn list_decisions(
        &self,
        filter: DecisionFilter,
        page: PageRequest,
    ) -> Result<Listed<Decision>, ApiError> {
        self.blocking(move |store| {
            let q = ListQuery {
                index: None,
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let keep = |d: &Decision| {
                filter.from.is_none_or(|f| d.at >= f) && filter.to.is_none_or(|t| d.at < t)
            };
            let p = store.list::<Decision>(&q, &keep)?;
            Ok(Listed {
                items: p.items,
                next: p.next,
            })
        })
        .await
    }
}
