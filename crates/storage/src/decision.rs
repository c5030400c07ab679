//! Broker decisions as the store keeps them: every candidate list a broker looked at,
//! every proposal with the list it was chosen from, and every answer to a proposal, each
//! with the factor values and gate shortfalls the candidates had at that moment. They are
//! the evidence the matching weights are fitted to (`clearinghouse_matching::tune`);
//! recording the values rather than the score lets any later policy rescore a list, and
//! a later change of policy or of a record never rewrites them.
//!
//! One record per event (never edited), bounded: at most [`MAX_SHOWN`] candidates and
//! [`MAX_PROPOSED`] proposed offers, so a record stays far under the 64 KiB value cap
//! (a candidate takes about 130 bytes). Stored as [`DecisionRecordV1`] under the same
//! rules as [`crate::records`]: a version byte, then postcard; enums as their codes.

use serde::{Deserialize, Serialize};

use clearinghouse_domain::{
    MatchStatus, NeedId, PrincipalId, Role, Timestamp, matches::ReasonCode,
};

use crate::{
    error::Error,
    records::{self, V1},
    resource::{Resource, index},
};

/// Most candidates one record keeps (the top of the list shown).
pub const MAX_SHOWN: usize = 50;
/// Most offers one proposal record names.
pub const MAX_PROPOSED: usize = 50;
/// Longest reason text kept, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Index of view records by viewer and need: `<principal id>/<need id>`.
pub const VIEWER_INDEX: &str = "viewer";

/// The [`VIEWER_INDEX`] value of `who` looking at `need`.
pub fn viewer_key(who: &PrincipalId, need: &NeedId) -> String {
    format!("{}/{}", who.0, need.0)
}

/// One candidate as it was shown: its rank, score, factor values and gate shortfalls.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The offer.
    pub offer: String,
    /// Position in the list shown, from 1; 0 when it was not in a ranked list (an offer
    /// proposed without having been listed, or one pair explained).
    pub rank: u32,
    /// Score in thousandths under the policy in force then.
    pub score_milli: u32,
    /// The nine factor values, in `clearinghouse_matching::fit::FACTORS` order.
    pub factors: [f64; 9],
    /// The three gate shortfalls, in `clearinghouse_matching::fit::GATES` order.
    pub shortfalls: [f64; 3],
}

/// What a broker, requester or provider did with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Accepted (requester or provider).
    Accept,
    /// Declined (requester or provider).
    Decline,
    /// Withdrawn by a broker.
    Withdraw,
    /// Cancelled after agreement.
    Cancel,
}

impl Answer {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Answer::Accept => "ACCEPT",
            Answer::Decline => "DECLINE",
            Answer::Withdraw => "WITHDRAW",
            Answer::Cancel => "CANCEL",
        }
    }

    /// From its code.
    pub fn from_code(code: &str) -> Option<Answer> {
        [
            Answer::Accept,
            Answer::Decline,
            Answer::Withdraw,
            Answer::Cancel,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum DecisionEvent {
    /// A broker looked at the first page of candidates for a need (FindOffersForNeed).
    Viewed {
        /// The candidates, best first.
        candidates: Vec<Shown>,
    },
    /// A broker asked for one pair's explanation (ExplainFit).
    Explained {
        /// The pair's values.
        candidate: Shown,
    },
    /// A match was proposed.
    Proposed {
        /// The match.
        match_id: String,
        /// Offers proposed.
        offers: Vec<String>,
        /// The list it was chosen from: the proposer's last view of the need's candidates
        /// (ranks as shown), then each proposed offer that was not in it (rank 0), all
        /// with the values they had when shown (proposed offers not shown: when proposed).
        candidates: Vec<Shown>,
        /// Id of the view record the list comes from, empty when there was none.
        view: String,
    },
    /// A match was answered (accepted, declined, withdrawn or cancelled).
    Answered {
        /// The match.
        match_id: String,
        /// What was done.
        answer: Answer,
        /// The reason given, when one was.
        reason: Option<(ReasonCode, String)>,
        /// The match's status after the answer.
        status: MatchStatus,
    },
}

impl DecisionEvent {
    /// Stable code of the kind of event.
    pub fn code(&self) -> &'static str {
        match self {
            DecisionEvent::Viewed { .. } => "VIEWED",
            DecisionEvent::Explained { .. } => "EXPLAINED",
            DecisionEvent::Proposed { .. } => "PROPOSED",
            DecisionEvent::Answered { .. } => "ANSWERED",
        }
    }
}

/// One recorded decision event.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Id chosen by the server (a ULID: sortable by time).
    pub id: String,
    /// Always 1: decisions are never edited.
    pub version: u64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: PrincipalId,
    /// The actor's role then.
    pub role: Role,
    /// The need it is about.
    pub need: NeedId,
    /// What happened.
    pub event: DecisionEvent,
}

impl Decision {
    /// The record with its lists cut to their bounds: [`MAX_SHOWN`] ranked candidates
    /// (a proposal keeps up to [`MAX_PROPOSED`] unranked ones besides), [`MAX_PROPOSED`]
    /// offers, [`MAX_REASON_CHARS`] of reason text.
    pub fn bounded(mut self) -> Decision {
        match &mut self.event {
            DecisionEvent::Viewed { candidates } => candidates.truncate(MAX_SHOWN),
            DecisionEvent::Proposed {
                offers, candidates, ..
            } => {
                offers.truncate(MAX_PROPOSED);
                let (mut listed, unlisted): (Vec<Shown>, Vec<Shown>) =
                    candidates.drain(..).partition(|c| c.rank > 0);
                listed.truncate(MAX_SHOWN);
                listed.extend(unlisted.into_iter().take(MAX_PROPOSED));
                *candidates = listed;
            }
            DecisionEvent::Answered {
                reason: Some((_, text)),
                ..
            } => {
                if let Some((i, _)) = text.char_indices().nth(MAX_REASON_CHARS) {
                    text.truncate(i);
                }
            }
            DecisionEvent::Answered { reason: None, .. } | DecisionEvent::Explained { .. } => {}
        }
        self
    }
}

/// A candidate as stored (version 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShownV1 {
    /// Offer id.
    pub offer: String,
    /// Rank shown (0: not ranked).
    pub rank: u32,
    /// Score in thousandths.
    pub score_milli: u32,
    /// Factor values.
    pub factors: [f64; 9],
    /// Gate shortfalls.
    pub shortfalls: [f64; 3],
}

/// A decision as stored (version 1). Fields an event does not use are empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecordV1 {
    /// Id.
    pub id: String,
    /// When (ms).
    pub at: i64,
    /// Actor principal id.
    pub actor: String,
    /// Actor role code.
    pub role: String,
    /// Need id.
    pub need: String,
    /// Event code (`VIEWED`, `EXPLAINED`, `PROPOSED`, `ANSWERED`).
    pub event: String,
    /// Match id (proposals and answers).
    pub match_id: String,
    /// Offers proposed.
    pub offers: Vec<String>,
    /// Candidates shown.
    pub candidates: Vec<ShownV1>,
    /// View record a proposal's list comes from.
    pub view: String,
    /// Answer code.
    pub answer: String,
    /// Reason code and text of an answer.
    pub reason: Option<(String, String)>,
    /// Match status code after an answer.
    pub status: String,
}

fn shown_out(s: &Shown) -> ShownV1 {
    ShownV1 {
        offer: s.offer.clone(),
        rank: s.rank,
        score_milli: s.score_milli,
        factors: s.factors,
        shortfalls: s.shortfalls,
    }
}

fn shown_in(s: ShownV1) -> Shown {
    Shown {
        offer: s.offer,
        rank: s.rank,
        score_milli: s.score_milli,
        factors: s.factors,
        shortfalls: s.shortfalls,
    }
}

fn corrupt(detail: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("decision: {detail}"))
}

fn code<T>(s: &str, f: fn(&str) -> Option<T>) -> Result<T, Error> {
    f(s).ok_or_else(|| corrupt(format!("unknown code {s}")))
}

impl From<&Decision> for DecisionRecordV1 {
    fn from(d: &Decision) -> Self {
        let mut r = DecisionRecordV1 {
            id: d.id.clone(),
            at: d.at.0,
            actor: d.actor.0.clone(),
            role: d.role.code().to_owned(),
            need: d.need.0.clone(),
            event: d.event.code().to_owned(),
            match_id: String::new(),
            offers: Vec::new(),
            candidates: Vec::new(),
            view: String::new(),
            answer: String::new(),
            reason: None,
            status: String::new(),
        };
        match &d.event {
            DecisionEvent::Viewed { candidates } => {
                r.candidates = candidates.iter().map(shown_out).collect();
            }
            DecisionEvent::Explained { candidate } => r.candidates = vec![shown_out(candidate)],
            DecisionEvent::Proposed {
                match_id,
                offers,
                candidates,
                view,
            } => {
                r.match_id.clone_from(match_id);
                r.offers.clone_from(offers);
                r.candidates = candidates.iter().map(shown_out).collect();
                r.view.clone_from(view);
            }
            DecisionEvent::Answered {
                match_id,
                answer,
                reason,
                status,
            } => {
                r.match_id.clone_from(match_id);
                r.answer = answer.code().to_owned();
                r.reason = reason
                    .as_ref()
                    .map(|(c, t)| (c.code().to_owned(), t.clone()));
                r.status = status.code().to_owned();
            }
        }
        r
    }
}

impl TryFrom<DecisionRecordV1> for Decision {
    type Error = Error;
    fn try_from(r: DecisionRecordV1) -> Result<Self, Error> {
        let event = match r.event.as_str() {
            "VIEWED" => DecisionEvent::Viewed {
                candidates: r.candidates.into_iter().map(shown_in).collect(),
            },
            "EXPLAINED" => DecisionEvent::Explained {
                candidate: r
                    .candidates
                    .into_iter()
                    .next()
                    .map(shown_in)
                    .ok_or_else(|| corrupt("an explanation without its pair"))?,
            },
            "PROPOSED" => DecisionEvent::Proposed {
                match_id: r.match_id,
                offers: r.offers,
                candidates: r.candidates.into_iter().map(shown_in).collect(),
                view: r.view,
            },
            "ANSWERED" => DecisionEvent::Answered {
                match_id: r.match_id,
                answer: code(&r.answer, Answer::from_code)?,
                reason: r
                    .reason
                    .map(|(c, t)| Ok::<_, Error>((code(&c, ReasonCode::from_code)?, t)))
                    .transpose()?,
                status: code(&r.status, MatchStatus::from_code)?,
            },
            other => return Err(corrupt(format!("unknown event {other}"))),
        };
        Ok(Decision {
            id: r.id,
            version: 1,
            at: Timestamp(r.at),
            actor: PrincipalId(r.actor),
            role: code(&r.role, Role::from_code)?,
            need: NeedId(r.need),
            event,
        })
    }
}

impl Resource for Decision {
    const KIND: &'static str = "decision";
    const APPEND_ONLY: bool = true;
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        None
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let mut e = vec![(index::NEED, self.need.0.clone())];
        if matches!(self.event, DecisionEvent::Viewed { .. }) {
            e.push((VIEWER_INDEX, viewer_key(&self.actor, &self.need)));
        }
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(V1, &DecisionRecordV1::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<DecisionRecordV1, Decision>("decision", bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{MemoryEngine, Store, WriteMeta};

    fn view(id: &str, who: &str, need: &str, offer: &str) -> Decision {
        Decision {
            id: id.into(),
            version: 1,
            at: Timestamp(1_795_000_000_000),
            actor: PrincipalId(who.into()),
            role: Role::Broker,
            need: NeedId(need.into()),
            event: DecisionEvent::Viewed {
                candidates: vec![Shown {
                    offer: offer.into(),
                    rank: 1,
                    score_milli: 900,
                    factors: [0.5; 9],
                    shortfalls: [0.0; 3],
                }],
            },
        }
    }

    #[test]
    fn the_last_view_of_a_need_by_a_broker_is_found_among_many() {
        let store = Store::with_engine(Arc::new(MemoryEngine::new(false))).expect("store");
        let meta = WriteMeta {
            actor: PrincipalId("b1".into()),
            action: "decision.view".into(),
            now: Timestamp(1_795_000_000_000),
            idempotency: None,
        };
        // More views than one scan chunk, interleaved with another broker's and need's.
        for i in 0..1_100 {
            let ds = [
                view(&format!("a{i}"), "b1", "n1", &format!("o{i}")),
                view(&format!("b{i}"), "b2", "n1", "x"),
                view(&format!("c{i}"), "b1", "n2", "y"),
            ];
            store
                .transaction::<(), ()>(&meta, |txn| {
                    for d in &ds {
                        txn.create(d)?;
                    }
                    Ok(())
                })
                .expect("write");
        }
        let key = viewer_key(&PrincipalId("b1".into()), &NeedId("n1".into()));
        let last = store
            .last_by_index::<Decision>(VIEWER_INDEX, &key)
            .expect("read")
            .expect("a view");
        assert_eq!(last.id, "a1099");
        let in_txn = store
            .transaction::<Option<Decision>, ()>(&meta, |txn| txn.last_by_index(VIEWER_INDEX, &key))
            .expect("read");
        assert_eq!(in_txn.map(|d| d.id), Some("a1099".to_owned()));
        let none = store
            .transaction::<Option<Decision>, ()>(&meta, |txn| {
                txn.last_by_index(VIEWER_INDEX, "nobody/n1")
            })
            .expect("read");
        assert_eq!(none, None);
    }

    #[test]
    fn bounded_keeps_the_top_of_a_view_and_every_unlisted_proposed_offer() {
        let mut d = view("v", "b1", "n1", "o");
        if let DecisionEvent::Viewed { candidates } = &mut d.event {
            let c = candidates[0].clone();
            *candidates = (0..MAX_SHOWN + 5).map(|_| c.clone()).collect();
        }
        let DecisionEvent::Viewed { candidates } = d.bounded().event else {
            panic!("a view");
        };
        assert_eq!(candidates.len(), MAX_SHOWN);
    }
}
