//! `clearinghouse admin tune-weights`: fits the matching policy's weights and penalties
//! to the broker decisions the server recorded (`ListDecisions`), cross-validated, and
//! shows the proposal beside the policy in force with the held-out figures of both.
//! Nothing changes unless `--apply` is given (and confirmed): then the changed fields
//! alone go to `UpdateMatchingPolicy` with the etag read before the decisions were.
//!
//! The fit runs here, in the client, on decisions read page by page; the server only
//! records and lists them (ARCHITECTURE.md argues why).

use std::collections::HashMap;

use clearinghouse_domain::matches::ReasonCode;
use clearinghouse_matching::{
    Policy,
    fit::{FACTORS, GATES, Values},
    tune::{self, Decision, DecisionCandidate, Outcome, TuneError, TuneOptions, TuneReport},
};

use super::{Ctx, confirm::confirm, failure::CliError, settings::Format, timestamp, views};
use crate::{
    convert::{self, enums},
    pb,
};

/// Flags of `admin tune-weights`.
#[derive(Debug, Clone, clap::Args)]
pub struct TuneArgs {
    /// Only decisions at or after this time, YYYY-MM-DD or RFC 3339.
    #[arg(long, value_parser = timestamp::parse)]
    since: Option<prost_types::Timestamp>,
    /// Only decisions before this time, YYYY-MM-DD or RFC 3339.
    #[arg(long, value_parser = timestamp::parse)]
    until: Option<prost_types::Timestamp>,
    /// Folds of the cross-validation (2 to 20); lists of one need stay in one fold.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the assignment of needs to folds (the fit itself is deterministic).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Optimisation steps per fit (1 to 100000).
    #[arg(long, default_value_t = 600)]
    steps: usize,
    /// Apply the proposal through UpdateMatchingPolicy (asks for confirmation).
    #[arg(long)]
    apply: bool,
    /// With --apply: do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

/// The outcome a match's answers show for its proposed offers.
fn outcome_of(status: pb::MatchStatus, reason: i32) -> Outcome {
    use pb::MatchStatus as S;
    match status {
        S::Agreed | S::InImplementation | S::Suspended | S::Completed => Outcome::Accepted,
        S::Declined | S::Withdrawn | S::Cancelled => {
            let mut v = clearinghouse_domain::Violations::new("");
            Outcome::Declined(
                enums::REASON
                    .optional(&mut v, "reason_code", reason)
                    .unwrap_or(ReasonCode::Other),
            )
        }
        S::Unspecified | S::Proposed | S::AcceptedByRequester | S::AcceptedByProviders => {
            Outcome::Proposed
        }
    }
}

/// Positions of the client's factors and gates in the server's lists, by name.
fn positions(server: &[String], local: &[&str]) -> Result<Vec<usize>, CliError> {
    local
        .iter()
        .map(|name| {
            server.iter().position(|s| s == name).ok_or_else(|| {
                CliError::usage(format!(
                    "the server records no values for the factor or gate '{name}'; update the server or the client"
                ))
            })
        })
        .collect()
}

fn values_of(c: &pb::DecisionCandidate, fpos: &[usize], gpos: &[usize]) -> Option<Values> {
    let mut factors = [0.0; 9];
    for (slot, p) in factors.iter_mut().zip(fpos) {
        *slot = *c.factor_values.get(*p)?;
    }
    let mut shortfalls = [0.0; 3];
    for (slot, p) in shortfalls.iter_mut().zip(gpos) {
        *slot = *c.gate_shortfalls.get(*p)?;
    }
    Some(Values {
        factors,
        shortfalls,
    })
}

/// The candidate lists with their outcomes, from recorded decisions (oldest first).
///
/// Each proposal is read with the list it was chosen from; proposals chosen from the same
/// view of a need's candidates make one list. A proposed offer's outcome is its match's
/// status after the last answer: agreed or further is accepted, declined, withdrawn or
/// cancelled is declined with the reason given, otherwise proposed. Every other
/// candidate was passed over. Views without a proposal carry no choice and are left out.
pub fn lists(
    decisions: &[pb::Decision],
    factor_names: &[String],
    gate_names: &[String],
) -> Result<Vec<Decision>, CliError> {
    let fnames: Vec<&str> = FACTORS.iter().map(|k| k.name()).collect();
    let gnames: Vec<&str> = GATES.iter().map(|k| k.name()).collect();
    let (fpos, gpos) = (
        positions(factor_names, &fnames)?,
        positions(gate_names, &gnames)?,
    );
    let mut answered: HashMap<&str, Outcome> = HashMap::new();
    for d in decisions {
        if d.kind == pb::DecisionKind::Answered as i32 {
            let status = pb::MatchStatus::try_from(d.match_status).unwrap_or_default();
            answered.insert(&d.match_id, outcome_of(status, d.reason_code));
        }
    }
    let mut order: Vec<&str> = Vec::new();
    let mut by_list: HashMap<&str, Decision> = HashMap::new();
    for d in decisions
        .iter()
        .filter(|d| d.kind == pb::DecisionKind::Proposed as i32)
    {
        let key = if d.view_decision_id.is_empty() {
            d.id.as_str()
        } else {
            d.view_decision_id.as_str()
        };
        let list = by_list.entry(key).or_insert_with(|| {
            order.push(key);
            Decision {
                need_id: d.need_id.clone(),
                candidates: Vec::new(),
            }
        });
        for c in &d.candidates {
            if list.candidates.iter().any(|x| x.offer_id == c.offer_id) {
                continue;
            }
            let Some(values) = values_of(c, &fpos, &gpos) else {
                continue;
            };
            list.candidates.push(DecisionCandidate {
                offer_id: c.offer_id.clone(),
                values,
                outcome: Outcome::Passed,
            });
        }
        let outcome = answered
            .get(d.match_id.as_str())
            .copied()
            .unwrap_or(Outcome::Proposed);
        for c in &mut list.candidates {
            if d.proposed_offer_ids.contains(&c.offer_id) && outcome.gain() >= c.outcome.gain() {
                c.outcome = outcome;
            }
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|k| by_list.remove(k))
        .collect())
}

/// Decisions, the lists made of them and the fit.
#[derive(Debug)]
pub struct Tuned {
    /// The policy in force (read before the decisions).
    pub current: pb::MatchingPolicy,
    /// The fit.
    pub report: TuneReport,
    /// Decisions read.
    pub decisions: usize,
    /// Lists made of them (before those without signal were skipped).
    pub lists: usize,
    /// Folds.
    pub folds: usize,
    /// Seed.
    pub seed: u64,
}

/// The policy on the wire with the proposal's weights and penalties; the other fields
/// (bounds, etag) as in `current`.
pub fn proposed_policy(current: &pb::MatchingPolicy, p: &Policy) -> pb::MatchingPolicy {
    let (w, g) = (p.weights, p.gates);
    pb::MatchingPolicy {
        thematic_weight: w.thematic,
        geography_weight: w.geography,
        funding_weight: w.funding,
        budget_weight: w.budget,
        assistance_weight: w.assistance,
        timing_weight: w.timing,
        language_weight: w.language,
        domain_weight: w.domain,
        specificity_weight: w.specificity,
        missing_kinds_penalty: g.missing_kinds,
        no_common_language_penalty: g.no_common_language,
        single_donor_shortfall_penalty: g.single_donor_shortfall,
        ..current.clone()
    }
}

/// Mask paths of the weights and penalties that differ (by more than rounding noise).
pub fn changed_paths(current: &pb::MatchingPolicy, proposed: &pb::MatchingPolicy) -> Vec<String> {
    let pairs = [
        (
            "thematic_weight",
            current.thematic_weight,
            proposed.thematic_weight,
        ),
        (
            "geography_weight",
            current.geography_weight,
            proposed.geography_weight,
        ),
        (
            "funding_weight",
            current.funding_weight,
            proposed.funding_weight,
        ),
        (
            "budget_weight",
            current.budget_weight,
            proposed.budget_weight,
        ),
        (
            "assistance_weight",
            current.assistance_weight,
            proposed.assistance_weight,
        ),
        (
            "timing_weight",
            current.timing_weight,
            proposed.timing_weight,
        ),
        (
            "language_weight",
            current.language_weight,
            proposed.language_weight,
        ),
        (
            "domain_weight",
            current.domain_weight,
            proposed.domain_weight,
        ),
        (
            "specificity_weight",
            current.specificity_weight,
            proposed.specificity_weight,
        ),
        (
            "missing_kinds_penalty",
            current.missing_kinds_penalty,
            proposed.missing_kinds_penalty,
        ),
        (
            "no_common_language_penalty",
            current.no_common_language_penalty,
            proposed.no_common_language_penalty,
        ),
        (
            "single_donor_shortfall_penalty",
            current.single_donor_shortfall_penalty,
            proposed.single_donor_shortfall_penalty,
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, a, b)| (a - b).abs() > 1e-9)
        .map(|(n, _, _)| n.to_owned())
        .collect()
}

async fn read_decisions(
    ctx: &Ctx,
    a: &TuneArgs,
) -> Result<(Vec<pb::Decision>, Vec<String>, Vec<String>), CliError> {
    let mut c = ctx.api.admin.clone();
    let (mut all, mut token) = (Vec::new(), String::new());
    loop {
        let r = c
            .list_decisions(pb::ListDecisionsRequest {
                page_size: 100,
                page_token: token,
                start_time: a.since,
                end_time: a.until,
            })
            .await?
            .into_inner();
        all.extend(r.decisions);
        if r.next_page_token.is_empty() {
            return Ok((all, r.factor_names, r.gate_names));
        }
        token = r.next_page_token;
    }
}

fn too_few(usable: usize, needed: usize, decisions: usize, folds: usize) -> CliError {
    CliError::Reported {
        exit: super::exit::Exit::Conflict,
        message: format!(
            "too few decisions to fit: {usable} candidate list(s) carry a choice (a proposal \
             whose candidates ended differently) among {decisions} decision(s) read; \
             {folds} folds need at least {needed}. Nothing was changed."
        ),
    }
}

/// Runs `admin tune-weights`.
pub async fn run(ctx: &mut Ctx, a: TuneArgs) -> Result<(), CliError> {
    if !(2..=20).contains(&a.folds) || !(1..=100_000).contains(&a.steps) {
        return Err(CliError::usage(format!(
            "--folds must be 2 to 20 and --steps 1 to 100000 (got {} and {})",
            a.folds, a.steps
        )));
    }
    let current = ctx
        .api
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await?
        .into_inner()
        .policy
        .unwrap_or_default();
    let (decisions, fnames, gnames) = read_decisions(ctx, &a).await?;
    let mut made = lists(&decisions, &fnames, &gnames)?;
    // The seed moves needs between folds (folds follow a hash of the group name).
    if a.seed != 0 {
        for d in &mut made {
            d.need_id = format!("{}/{}", a.seed, d.need_id);
        }
    }
    let start = convert::policy::policy_in(&current);
    let opts = TuneOptions {
        folds: a.folds,
        steps: a.steps,
        ..TuneOptions::default()
    };
    let count = made.len();
    let report = tokio::task::spawn_blocking(move || tune::tune(&made, &start, &opts))
        .await
        .map_err(|e| CliError::Io(format!("the fit stopped: {e}")))?;
    let report = match report {
        Ok(r) => r,
        Err(TuneError::TooFewLists { usable, needed }) => {
            return Err(too_few(usable, needed, decisions.len(), a.folds));
        }
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    let tuned = Tuned {
        current: current.clone(),
        report,
        decisions: decisions.len(),
        lists: count,
        folds: a.folds,
        seed: a.seed,
    };
    let proposed = proposed_policy(&current, &tuned.report.proposed);
    let paths = changed_paths(&current, &proposed);
    let view = views::tune::report(&tuned, &proposed);
    if ctx.out.format == Format::Json {
        super::output::write_stdout(&views::tune::json(&tuned, &proposed, &paths)?)?;
    } else {
        ctx.out.print(&proposed, &view)?;
    }
    if !a.apply {
        eprintln!("nothing changed; run again with --apply to apply the proposal");
        return Ok(());
    }
    if paths.is_empty() {
        eprintln!("the proposal equals the policy in force; nothing to apply");
        return Ok(());
    }
    confirm(
        &format!(
            "apply the proposed weights and penalties ({} field(s)) to the policy with etag {}",
            paths.len(),
            current.etag
        ),
        a.yes,
    )?;
    let resp = ctx
        .api
        .admin
        .update_matching_policy(pb::UpdateMatchingPolicyRequest {
            policy: Some(proposed),
            update_mask: Some(prost_types::FieldMask { paths }),
        })
        .await?
        .into_inner();
    let etag = resp.policy.map(|p| p.etag).unwrap_or_default();
    eprintln!("applied: the matching policy is now at etag {etag}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (Vec<String>, Vec<String>) {
        (
            FACTORS.iter().map(|k| k.name().to_owned()).collect(),
            GATES.iter().map(|k| k.name().to_owned()).collect(),
        )
    }

    fn cand(offer: &str, rank: u32, x: f64) -> pb::DecisionCandidate {
        pb::DecisionCandidate {
            offer_id: offer.into(),
            rank,
            score: x,
            factor_values: vec![x; 9],
            gate_shortfalls: vec![0.0; 3],
        }
    }

    fn proposed(id: &str, view: &str, m: &str, offers: &[&str]) -> pb::Decision {
        pb::Decision {
            id: id.into(),
            need_id: "N1".into(),
            kind: pb::DecisionKind::Proposed as i32,
            match_id: m.into(),
            proposed_offer_ids: offers.iter().map(|o| (*o).to_owned()).collect(),
            candidates: vec![cand("A", 1, 0.9), cand("B", 2, 0.8), cand("C", 3, 0.7)],
            view_decision_id: view.into(),
            ..Default::default()
        }
    }

    fn answered(m: &str, status: pb::MatchStatus, reason: pb::ReasonCode) -> pb::Decision {
        pb::Decision {
            kind: pb::DecisionKind::Answered as i32,
            match_id: m.into(),
            match_status: status as i32,
            reason_code: reason as i32,
            ..Default::default()
        }
    }

    #[test]
    fn proposals_from_one_view_make_one_list_with_each_match_s_outcome() {
        let (f, g) = names();
        let ds = vec![
            proposed("P1", "V1", "M1", &["A"]),
            proposed("P2", "V1", "M2", &["B"]),
            answered("M1", pb::MatchStatus::Agreed, pb::ReasonCode::Unspecified),
            answered(
                "M2",
                pb::MatchStatus::Declined,
                pb::ReasonCode::ScopeMismatch,
            ),
        ];
        let l = lists(&ds, &f, &g).expect("lists");
        assert_eq!(l.len(), 1);
        let outcomes: Vec<(String, Outcome)> = l[0]
            .candidates
            .iter()
            .map(|c| (c.offer_id.clone(), c.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("A".to_owned(), Outcome::Accepted),
                ("B".to_owned(), Outcome::Declined(ReasonCode::ScopeMismatch)),
                ("C".to_owned(), Outcome::Passed),
            ]
        );
    }

    #[test]
    fn a_proposal_without_a_view_is_its_own_list_and_unanswered_stays_proposed() {
        let (f, g) = names();
        let ds = vec![
            proposed("P1", "", "M1", &["C"]),
            proposed("P2", "", "M2", &["A"]),
        ];
        let l = lists(&ds, &f, &g).expect("lists");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].candidates[2].outcome, Outcome::Proposed);
        assert_eq!(l[1].candidates[0].outcome, Outcome::Proposed);
    }

    #[test]
    fn values_are_read_by_name_whatever_order_the_server_lists_them_in() {
        let (mut f, g) = names();
        f.reverse();
        let mut d = proposed("P1", "", "M1", &["A"]);
        d.candidates[0].factor_values = (0..9).map(f64::from).collect();
        let l = lists(&[d], &f, &g).expect("lists");
        assert_eq!(l[0].candidates[0].values.factors[0], 8.0);
        assert_eq!(l[0].candidates[0].values.factors[8], 0.0);
        let missing = lists(&[], &f[..8], &g);
        assert!(missing.is_err());
    }

    #[test]
    fn only_changed_weights_and_penalties_are_in_the_mask() {
        let cur = pb::MatchingPolicy {
            thematic_weight: 0.24,
            geography_weight: 0.10,
            missing_kinds_penalty: 0.6,
            etag: "3".into(),
            ..Default::default()
        };
        let mut prop = cur.clone();
        prop.thematic_weight = 0.20;
        prop.geography_weight = 0.14;
        assert_eq!(
            changed_paths(&cur, &prop),
            vec!["thematic_weight".to_owned(), "geography_weight".to_owned()]
        );
    }
}
