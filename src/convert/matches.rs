//! `pb::Match` out of the domain, and the wire enums of the match lifecycle.

use clearinghouse_domain::{
    self as d, Match, Money, Violations,
    matches::{ContributionRole, ReasonCode},
};

use super::{enums, etag_out, history_out, limits, money_in, money_out, ts_out};
use crate::{app::matches::NewContribution, pb};

/// Contributions asked for in a `CreateMatch`.
pub fn contributions_in(v: &mut Violations, cs: &[pb::Contribution]) -> Vec<NewContribution> {
    if cs.is_empty() {
        v.add("contributions", "needs at least 1 entries");
    }
    limits::capped(v, "contributions", cs, limits::MATCH_CONTRIBUTIONS)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.offer_id.is_empty() {
                v.add(format!("contributions[{i}].offer_id"), "is required");
            }
            NewContribution {
                offer: d::OfferId(c.offer_id.clone()),
                role: enums::CONTRIBUTION_ROLE
                    .optional(v, &format!("contributions[{i}].role"), c.role)
                    .unwrap_or(ContributionRole::Funding),
                amount: money_in(v, &format!("contributions[{i}].amount"), c.amount.as_ref()),
                in_kind: c.in_kind.clone(),
            }
        })
        .collect()
}

/// A reason code and text, the code required.
pub fn reason_in(code: i32, text: &str) -> Result<(ReasonCode, String), crate::error::ApiError> {
    let mut v = Violations::new("");
    let c = enums::REASON.required(&mut v, "reason_code", code);
    v.text("reason_text", text, false, 2000);
    if c == Some(ReasonCode::Other) && text.trim().is_empty() {
        v.add("reason_text", "is required with reason_code OTHER");
    }
    v.into_result()?;
    c.map(|c| (c, text.to_owned()))
        .ok_or_else(|| crate::error::ApiError::invalid("reason_code", "is required"))
}

/// A match for the wire.
pub fn out(m: &Match, gap: Option<Money>) -> pb::Match {
    pb::Match {
        id: m.id.clone(),
        etag: etag_out(m.version),
        need_id: m.need.0.clone(),
        requester_party_id: m.requester.0.clone(),
        funding_mode: enums::FUNDING_MODE.out(m.funding_mode),
        contributions: m
            .contributions
            .iter()
            .map(|c| pb::Contribution {
                offer_id: c.offer.0.clone(),
                provider_party_id: c.provider.0.clone(),
                role: enums::CONTRIBUTION_ROLE.out(c.role),
                amount: money_out(c.amount),
                in_kind: c.in_kind.clone(),
                acceptance: enums::ACCEPTANCE.out(c.acceptance),
                decline_reason_code: c
                    .decline_reason
                    .as_ref()
                    .map_or(0, |r| enums::REASON.out(r.0)),
                decline_reason_text: c
                    .decline_reason
                    .as_ref()
                    .map(|r| r.1.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        requester_acceptance: enums::ACCEPTANCE.out(m.requester_acceptance),
        status: enums::MATCH_STATUS.out(m.status),
        status_history: history_out(&m.history),
        score: f64::from(m.score_milli) / 1000.0,
        explanation: m.explanation.clone(),
        origin: m.origin.code().to_owned(),
        end_reason_code: m.end_reason.as_ref().map_or(0, |r| enums::REASON.out(r.0)),
        end_reason_text: m
            .end_reason
            .as_ref()
            .map(|r| r.1.clone())
            .unwrap_or_default(),
        gap: money_out(gap),
        iati_activity_status: i32::from(m.status.iati_activity_status()),
        create_time: Some(ts_out(m.created_at)),
        update_time: Some(ts_out(m.updated_at)),
        create_principal_id: m.created_by.0.clone(),
    }
}

/// A match as a row of `ExportMatches`.
pub fn export_row(m: &Match, need: Option<&clearinghouse_domain::Need>) -> pb::MatchExportRow {
    pb::MatchExportRow {
        match_id: m.id.clone(),
        need_id: m.need.0.clone(),
        requester: m.requester.0.clone(),
        country: need
            .map(|n| n.fields.country_code.clone())
            .unwrap_or_default(),
        area: need
            .and_then(|n| n.fields.area)
            .map(|a| a.code().to_owned())
            .unwrap_or_default(),
        status: m.status.code().to_owned(),
        funding_mode: m.funding_mode.code().to_owned(),
        offer_ids: m.contributions.iter().map(|c| c.offer.0.clone()).collect(),
        provider_ids: m
            .contributions
            .iter()
            .map(|c| c.provider.0.clone())
            .collect(),
        pledged: m
            .pledged()
            .into_iter()
            .filter_map(|p| super::money_out(Some(p)))
            .collect(),
        score_milli: m.score_milli,
        created_on: m.created_at.date().to_string(),
        iati_activity_status: u32::from(m.status.iati_activity_status()),
    }
}
