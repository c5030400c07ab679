//! Recorded broker decisions on the wire (`ListDecisions`).

use clearinghouse_matching::fit::{FACTORS, GATES};
use clearinghouse_storage::decision::{Answer, Decision, DecisionEvent, Shown};

use super::{enums, ts_out};
use crate::pb;

/// Names of the factors, the order of `DecisionCandidate.factor_values`.
pub fn factor_names() -> Vec<String> {
    FACTORS.iter().map(|k| k.name().to_owned()).collect()
}

/// Names of the gates, the order of `DecisionCandidate.gate_shortfalls`.
pub fn gate_names() -> Vec<String> {
    GATES.iter().map(|k| k.name().to_owned()).collect()
}

fn candidate_out(s: &Shown) -> pb::DecisionCandidate {
    pb::DecisionCandidate {
        offer_id: s.offer.clone(),
        rank: s.rank,
        score: f64::from(s.score_milli) / 1000.0,
        factor_values: s.factors.to_vec(),
        gate_shortfalls: s.shortfalls.to_vec(),
    }
}

fn answer_out(a: Answer) -> pb::DecisionAnswer {
    match a {
        Answer::Accept => pb::DecisionAnswer::Accept,
        Answer::Decline => pb::DecisionAnswer::Decline,
        Answer::Withdraw => pb::DecisionAnswer::Withdraw,
        Answer::Cancel => pb::DecisionAnswer::Cancel,
    }
}

/// A decision for the wire.
pub fn out(d: &Decision) -> pb::Decision {
    let mut m = pb::Decision {
        id: d.id.clone(),
        decision_time: Some(ts_out(d.at)),
        actor_principal_id: d.actor.0.clone(),
        actor_role: enums::ROLE.out(d.role),
        need_id: d.need.0.clone(),
        ..Default::default()
    };
    match &d.event {
        DecisionEvent::Viewed { candidates } => {
            m.kind = pb::DecisionKind::Viewed as i32;
            m.candidates = candidates.iter().map(candidate_out).collect();
        }
        DecisionEvent::Explained { candidate } => {
            m.kind = pb::DecisionKind::Explained as i32;
            m.candidates = vec![candidate_out(candidate)];
        }
        DecisionEvent::Proposed {
            match_id,
            offers,
            candidates,
            view,
        } => {
            m.kind = pb::DecisionKind::Proposed as i32;
            m.match_id.clone_from(match_id);
            m.proposed_offer_ids.clone_from(offers);
            m.candidates = candidates.iter().map(candidate_out).collect();
            m.view_decision_id.clone_from(view);
        }
        DecisionEvent::Answered {
            match_id,
            answer,
            reason,
            status,
        } => {
            m.kind = pb::DecisionKind::Answered as i32;
            m.match_id.clone_from(match_id);
            m.answer = answer_out(*answer) as i32;
            if let Some((code, text)) = reason {
                m.reason_code = enums::REASON.out(*code);
                m.reason_text.clone_from(text);
            }
            m.match_status = enums::MATCH_STATUS.out(*status);
        }
    }
    m
}
