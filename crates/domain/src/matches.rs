//! Matches: a brokered pairing of one need with one offer (single-donor) or several
//! (jointly funded), each a contribution with its own acceptance, going through the
//! lifecycle of `domain.md`. Reaching AGREED reserves each contribution from its offer's
//! capacity; ending before completion releases it.
//!
//! Entry points: [`Match::propose`] and the transition methods; [`reserve`] and
//! [`release`] for offers; [`MatchStatus::check`] for the lifecycle table.

use crate::{
    code_enum,
    codes::FundingMode,
    ids::{NeedId, OfferId, PartyId, PrincipalId},
    money::Money,
    offer::Offer,
    offer_status::OfferStatus,
    time::Timestamp,
    transition::{Actor, StatusChange, TransitionError, check_edge},
    validation::{ValidationError, Violations},
};

code_enum! {
    /// Lifecycle status of a match.
    MatchStatus {
        /// Proposed; awaiting acceptances.
        Proposed = "PROPOSED",
        /// The requester accepted; providers pending.
        AcceptedByRequester = "ACCEPTED_BY_REQUESTER",
        /// Every provider accepted; the requester pending.
        AcceptedByProviders = "ACCEPTED_BY_PROVIDERS",
        /// Everyone accepted; capacity reserved.
        Agreed = "AGREED",
        /// Being implemented.
        InImplementation = "IN_IMPLEMENTATION",
        /// Implementation paused.
        Suspended = "SUSPENDED",
        /// Done. Terminal.
        Completed = "COMPLETED",
        /// Declined. Terminal.
        Declined = "DECLINED",
        /// Withdrawn. Terminal.
        Withdrawn = "WITHDRAWN",
        /// Cancelled during implementation. Terminal.
        Cancelled = "CANCELLED",
    }
}

code_enum! {
    /// Why a match was declined, withdrawn or cancelled.
    ReasonCode {
        /// The need was met otherwise.
        NeedAlreadyMet = "NEED_ALREADY_MET",
        /// Not eligible.
        NotEligible = "NOT_ELIGIBLE",
        /// No capacity left.
        NoCapacity = "NO_CAPACITY",
        /// Scope mismatch.
        ScopeMismatch = "SCOPE_MISMATCH",
        /// Timing.
        Timing = "TIMING",
        /// Funding unavailable.
        FundingUnavailable = "FUNDING_UNAVAILABLE",
        /// Political reasons.
        Political = "POLITICAL",
        /// Duplicate.
        Duplicate = "DUPLICATE",
        /// Other (the text says what).
        Other = "OTHER",
    }
}

code_enum! {
    /// What a contributor does in the project.
    ContributionRole {
        /// Funds.
        Funding = "FUNDING",
        /// Implements.
        Implementing = "IMPLEMENTING",
        /// Both.
        Both = "BOTH",
    }
}

code_enum! {
    /// Acceptance of one side.
    Acceptance {
        /// Not answered yet.
        Pending = "PENDING",
        /// Accepted.
        Accepted = "ACCEPTED",
        /// Declined.
        Declined = "DECLINED",
    }
}

code_enum! {
    /// Who proposed a match.
    Origin {
        /// A broker (possibly promoting an engine suggestion).
        Broker = "BROKER",
        /// A provider answering a circulated need.
        Provider = "PROVIDER",
    }
}

use Actor::{Broker, Provider, Requester, System};
use MatchStatus as M;

/// Every edge of the match lifecycle with the actors allowed to take it.
pub const MATCH_EDGES: &[(MatchStatus, MatchStatus, &[Actor])] = &[
    (M::Proposed, M::AcceptedByRequester, &[Requester]),
    (M::Proposed, M::AcceptedByProviders, &[Provider]),
    (M::Proposed, M::Agreed, &[Requester, Provider]),
    (M::Proposed, M::Declined, &[Requester, Provider]),
    (M::Proposed, M::Withdrawn, &[Broker, Provider]),
    (M::AcceptedByRequester, M::Agreed, &[Provider]),
    (M::AcceptedByRequester, M::Proposed, &[Provider, System]),
    (M::AcceptedByRequester, M::Declined, &[Provider]),
    (M::AcceptedByRequester, M::Withdrawn, &[Broker, Provider]),
    (M::AcceptedByProviders, M::Agreed, &[Requester]),
    (M::AcceptedByProviders, M::Declined, &[Requester]),
    (M::AcceptedByProviders, M::Withdrawn, &[Broker, Provider]),
    (M::Agreed, M::InImplementation, &[Provider]),
    (M::Agreed, M::Proposed, &[Provider, System]),
    (M::Agreed, M::Withdrawn, &[Broker, Provider]),
    (M::InImplementation, M::Completed, &[Provider]),
    (M::InImplementation, M::Suspended, &[Provider, Broker]),
    (M::InImplementation, M::Cancelled, &[Provider, Broker]),
    (M::Suspended, M::InImplementation, &[Provider, Broker]),
    (M::Suspended, M::Cancelled, &[Provider, Broker]),
];

impl MatchStatus {
    /// Checks that `actor` may move a match from `self` to `to`.
    pub fn check(self, to: MatchStatus, actor: Actor) -> Result<(), TransitionError> {
        check_edge(MATCH_EDGES, MatchStatus::code, self, to, actor)
    }

    /// Whether capacity is reserved in this status.
    pub fn reserves(self) -> bool {
        matches!(
            self,
            M::Agreed | M::InImplementation | M::Suspended | M::Completed
        )
    }

    /// Whether no edge leaves this status.
    pub fn is_terminal(self) -> bool {
        !MATCH_EDGES.iter().any(|(f, _, _)| *f == self)
    }

    /// IATI activity status code (1 pipeline, 2 implementation, 3 finalisation, 5
    /// cancelled, 6 suspended).
    pub fn iati_activity_status(self) -> u8 {
        match self {
            M::Proposed | M::AcceptedByRequester | M::AcceptedByProviders | M::Agreed => 1,
            M::InImplementation => 2,
            M::Completed => 3,
            M::Cancelled | M::Declined | M::Withdrawn => 5,
            M::Suspended => 6,
        }
    }
}

/// The name of an IATI activity status code (the IATI ActivityStatus codelist), for people;
/// `None` for a code outside it.
pub fn iati_activity_status_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "Pipeline/identification",
        2 => "Implementation",
        3 => "Finalisation",
        4 => "Closed",
        5 => "Cancelled",
        6 => "Suspended",
        _ => return None,
    })
}

/// One offer's part in a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The offer.
    pub offer: OfferId,
    /// Its provider.
    pub provider: PartyId,
    /// Funding, implementing or both.
    pub role: ContributionRole,
    /// Pledged amount in the offer's currency (none for in-kind).
    pub amount: Option<Money>,
    /// What is given in kind, if anything.
    pub in_kind: String,
    /// The provider's answer.
    pub acceptance: Acceptance,
    /// Reason given with a decline.
    pub decline_reason: Option<(ReasonCode, String)>,
}

/// A brokered match.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Id.
    pub id: String,
    /// Version from 1; the etag.
    pub version: u64,
    /// The need.
    pub need: NeedId,
    /// Its requesting party.
    pub requester: PartyId,
    /// Funding mode of the project.
    pub funding_mode: FundingMode,
    /// Contributions.
    pub contributions: Vec<Contribution>,
    /// The requester's answer.
    pub requester_acceptance: Acceptance,
    /// Lifecycle status.
    pub status: MatchStatus,
    /// Status history.
    pub history: Vec<StatusChange>,
    /// Fit score (thousandths) when proposed.
    pub score_milli: u32,
    /// Explanation lines when proposed.
    pub explanation: Vec<String>,
    /// Who proposed it.
    pub origin: Origin,
    /// Reason of a decline, withdrawal or cancellation.
    pub end_reason: Option<(ReasonCode, String)>,
    /// Created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Creator.
    pub created_by: PrincipalId,
}

/// What proposing a match takes.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// Id chosen by the server.
    pub id: String,
    /// The need.
    pub need: NeedId,
    /// Its requesting party.
    pub requester: PartyId,
    /// Funding mode.
    pub funding_mode: FundingMode,
    /// Contributions (acceptance is reset to pending).
    pub contributions: Vec<Contribution>,
    /// Score when proposed.
    pub score_milli: u32,
    /// Explanation when proposed.
    pub explanation: Vec<String>,
    /// Who proposes.
    pub origin: Origin,
}

impl Match {
    /// Validates a proposal: single-donor has exactly one funding contribution; a
    /// jointly funded or pooled match at least one; offers appear once each.
    pub fn propose(
        p: Proposal,
        now: Timestamp,
        actor: PrincipalId,
    ) -> Result<Match, ValidationError> {
        let mut v = Violations::new("match");
        v.count("contributions", p.contributions.len(), 1, 16);
        let funders = p
            .contributions
            .iter()
            .filter(|c| c.role != ContributionRole::Implementing)
            .count();
        if p.funding_mode == FundingMode::SingleDonor && funders != 1 {
            v.add(
                "contributions",
                format!("a single-donor match has exactly one funding contribution, not {funders}"),
            );
        }
        for (i, c) in p.contributions.iter().enumerate() {
            if p.contributions[..i].iter().any(|x| x.offer == c.offer) {
                v.add(
                    format!("contributions[{i}].offer_id"),
                    format!("offer {} is listed twice", c.offer),
                );
            }
            if c.amount.is_none()
                && c.in_kind.trim().is_empty()
                && c.role != ContributionRole::Implementing
            {
                v.add(
                    format!("contributions[{i}].amount"),
                    "give an amount or describe the in-kind contribution",
                );
            }
            if c.amount.is_some_and(|m| m.minor_units == 0) {
                v.add(
                    format!("contributions[{i}].amount.minor_units"),
                    "must be positive",
                );
            }
            v.text(
                &format!("contributions[{i}].in_kind"),
                &c.in_kind,
                false,
                2000,
            );
        }
        v.into_result()?;
        let contributions = p
            .contributions
            .into_iter()
            .map(|c| Contribution {
                acceptance: Acceptance::Pending,
                decline_reason: None,
                ..c
            })
            .collect();
        Ok(Match {
            id: p.id,
            version: 1,
            need: p.need,
            requester: p.requester,
            funding_mode: p.funding_mode,
            contributions,
            requester_acceptance: Acceptance::Pending,
            status: MatchStatus::Proposed,
            history: vec![StatusChange::new(
                None,
                MatchStatus::Proposed.code(),
                now,
                &actor,
                "",
            )],
            score_milli: p.score_milli,
            explanation: p.explanation,
            origin: p.origin,
            end_reason: None,
            created_at: now,
            updated_at: now,
            created_by: actor,
        })
    }

    fn move_to(
        &mut self,
        to: MatchStatus,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
        reason: &str,
    ) -> Result<(), TransitionError> {
        if to == self.status {
            return Ok(());
        }
        self.status.check(to, actor)?;
        self.history.push(StatusChange::new(
            Some(self.status.code()),
            to.code(),
            now,
            who,
            reason,
        ));
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    fn live(&self) -> impl Iterator<Item = &Contribution> {
        self.contributions
            .iter()
            .filter(|c| c.acceptance != Acceptance::Declined)
    }

    fn providers_all_accepted(&self) -> bool {
        let mut live = self.live().peekable();
        live.peek().is_some() && live.all(|c| c.acceptance == Acceptance::Accepted)
    }

    fn settle(
        &mut self,
        actor: Actor,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        let req = self.requester_acceptance == Acceptance::Accepted;
        let prov = self.providers_all_accepted();
        let to = match (req, prov) {
            (true, true) => MatchStatus::Agreed,
            (true, false) => MatchStatus::AcceptedByRequester,
            (false, true) => MatchStatus::AcceptedByProviders,
            (false, false) => MatchStatus::Proposed,
        };
        self.move_to(to, actor, who, now, "")
    }

    /// The requester accepts.
    pub fn accept_by_requester(
        &self,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        let mut next = self.clone();
        self.require_open_for_answers()?;
        next.requester_acceptance = Acceptance::Accepted;
        next.settle(Actor::Requester, who, now)?;
        Ok(next)
    }

    /// A provider accepts its contribution(s).
    pub fn accept_by_provider(
        &self,
        provider: &PartyId,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        self.require_open_for_answers()?;
        let mut next = self.clone();
        let mut any = false;
        for c in next
            .contributions
            .iter_mut()
            .filter(|c| &c.provider == provider && c.acceptance == Acceptance::Pending)
        {
            c.acceptance = Acceptance::Accepted;
            any = true;
        }
        if !any {
            return Err(rule(
                "NO_PENDING_CONTRIBUTION",
                format!("party {provider} has no pending contribution in this match"),
            ));
        }
        next.settle(Actor::Provider, who, now)?;
        Ok(next)
    }

    fn require_open_for_answers(&self) -> Result<(), TransitionError> {
        if matches!(
            self.status,
            M::Proposed | M::AcceptedByRequester | M::AcceptedByProviders
        ) {
            Ok(())
        } else {
            Err(TransitionError::Illegal {
                from: self.status.code(),
                to: "ACCEPTED",
                allowed: MATCH_EDGES
                    .iter()
                    .filter(|(f, _, _)| *f == self.status)
                    .map(|(_, t, _)| t.code())
                    .collect(),
            })
        }
    }

    /// The requester declines: the match ends.
    pub fn decline_by_requester(
        &self,
        reason: (ReasonCode, String),
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        self.require_open_for_answers()?;
        let mut next = self.clone();
        next.requester_acceptance = Acceptance::Declined;
        next.move_to(MatchStatus::Declined, Actor::Requester, who, now, &reason.1)?;
        next.end_reason = Some(reason);
        Ok(next)
    }

    /// A provider declines (or, once agreed, withdraws) its contribution. A sole funder's
    /// decline ends the match; a co-funder's returns it to PROPOSED with the gap open.
    pub fn decline_by_provider(
        &self,
        provider: &PartyId,
        reason: (ReasonCode, String),
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        if !matches!(
            self.status,
            M::Proposed | M::AcceptedByRequester | M::AcceptedByProviders | M::Agreed
        ) {
            return Err(rule(
                "NOT_DECLINABLE",
                format!(
                    "a contribution cannot be declined while the match is {}",
                    self.status
                ),
            ));
        }
        let mut next = self.clone();
        let mut any = false;
        for c in next
            .contributions
            .iter_mut()
            .filter(|c| &c.provider == provider && c.acceptance != Acceptance::Declined)
        {
            c.acceptance = Acceptance::Declined;
            c.decline_reason = Some(reason.clone());
            any = true;
        }
        if !any {
            return Err(rule(
                "NO_CONTRIBUTION",
                format!("party {provider} has no open contribution in this match"),
            ));
        }
        if next.live().next().is_none() {
            let to = if self.status == M::Agreed {
                MatchStatus::Withdrawn
            } else {
                MatchStatus::Declined
            };
            next.move_to(to, Actor::Provider, who, now, &reason.1)?;
            next.end_reason = Some(reason);
        } else {
            next.move_to(MatchStatus::Proposed, Actor::Provider, who, now, &reason.1)?;
        }
        Ok(next)
    }

    /// A broker (or the sole provider) withdraws the match before implementation.
    pub fn withdraw(
        &self,
        actor: Actor,
        reason: (ReasonCode, String),
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        let mut next = self.clone();
        next.move_to(MatchStatus::Withdrawn, actor, who, now, &reason.1)?;
        next.end_reason = Some(reason);
        Ok(next)
    }

    /// Implementation transitions: start, suspend, resume, complete, cancel.
    pub fn implementation(
        &self,
        to: MatchStatus,
        actor: Actor,
        reason: Option<(ReasonCode, String)>,
        who: &PrincipalId,
        now: Timestamp,
    ) -> Result<Match, TransitionError> {
        let mut next = self.clone();
        let text = reason.as_ref().map(|r| r.1.clone()).unwrap_or_default();
        next.move_to(to, actor, who, now, &text)?;
        if to == MatchStatus::Cancelled {
            next.end_reason = reason;
        }
        Ok(next)
    }

    /// Contributions that hold (or would hold) a reservation: every one not declined.
    /// A pledged amount reserves budget; every contribution, in-kind included, takes
    /// one of its offer's engagements.
    pub fn reserving(&self) -> impl Iterator<Item = &Contribution> {
        self.live()
    }

    /// Sum of the live pledged amounts per currency (for the gap shown to brokers).
    pub fn pledged(&self) -> Vec<Money> {
        let mut out: Vec<Money> = Vec::new();
        for m in self.live().filter_map(|c| c.amount) {
            match out.iter_mut().find(|x| x.currency == m.currency) {
                Some(x) => x.minor_units = x.minor_units.saturating_add(m.minor_units),
                None => out.push(m),
            }
        }
        out
    }
}

fn rule(reason: &'static str, message: String) -> TransitionError {
    TransitionError::Rule { reason, message }
}

/// The offer status its commitment implies: full when its ceiling is reserved or its
/// maximum number of engagements is reached (an offer with neither limit never fills).
pub fn derived_offer_status(o: &Offer, engagements: u32) -> OfferStatus {
    if !o.status.is_open() && o.status != OfferStatus::FullyCommitted {
        return o.status;
    }
    let max = o.fields.max_engagements;
    match o.fields.budget_ceiling {
        Some(c) if o.committed_minor_units >= c.minor_units => OfferStatus::FullyCommitted,
        _ if max > 0 && engagements >= max => OfferStatus::FullyCommitted,
        _ if o.committed_minor_units > 0 || engagements > 0 => OfferStatus::PartiallyCommitted,
        _ => OfferStatus::Active,
    }
}

fn set_offer_status(o: &mut Offer, engagements: u32, now: Timestamp, who: &PrincipalId) {
    let to = derived_offer_status(o, engagements);
    if to != o.status {
        o.history.push(StatusChange::new(
            Some(o.status.code()),
            to.code(),
            now,
            who,
            "",
        ));
        o.status = to;
    }
    o.updated_at = now;
}

/// Reserves a contribution from the offer: `amount` from its remaining budget (none for
/// an in-kind contribution) and one engagement, `engaged` being the number of other
/// matches already reserving from it. Refuses with `CAPACITY_EXHAUSTED`,
/// `ENGAGEMENTS_EXHAUSTED`, `ABOVE_MAX_CONTRIBUTION` or `CURRENCY_MISMATCH`.
pub fn reserve(
    o: &Offer,
    amount: Option<Money>,
    engaged: u32,
    who: &PrincipalId,
    now: Timestamp,
) -> Result<Offer, TransitionError> {
    if !o.status.is_open() {
        return Err(rule(
            "OFFER_NOT_OPEN",
            format!("offer {} is {}; it cannot take on a match", o.id, o.status),
        ));
    }
    let max = o.fields.max_engagements;
    if max > 0 && engaged >= max {
        return Err(rule(
            "ENGAGEMENTS_EXHAUSTED",
            format!(
                "offer {} takes at most {max} engagement(s) and has {engaged} already",
                o.id
            ),
        ));
    }
    let mut next = o.clone();
    if let Some(amount) = amount {
        if let Some(c) = o.fields.budget_ceiling {
            if c.currency != amount.currency {
                return Err(rule(
                    "CURRENCY_MISMATCH",
                    format!(
                        "offer {} budgets in {}; pledge the amount in {}",
                        o.id, c.currency, c.currency
                    ),
                ));
            }
            let remaining = c.minor_units - o.committed_minor_units;
            if amount.minor_units > remaining {
                return Err(rule(
                    "CAPACITY_EXHAUSTED",
                    format!(
                        "offer {} has {} {} left; the contribution needs {}",
                        o.id,
                        remaining.max(0),
                        c.currency,
                        amount.minor_units
                    ),
                ));
            }
        }
        if let Some(max) = o.fields.max_contribution
            && max.currency == amount.currency
            && amount.minor_units > max.minor_units
        {
            return Err(rule(
                "ABOVE_MAX_CONTRIBUTION",
                format!("offer {} gives at most {} per project", o.id, max),
            ));
        }
        next.committed_minor_units = next
            .committed_minor_units
            .saturating_add(amount.minor_units);
    }
    set_offer_status(&mut next, engaged + 1, now, who);
    Ok(next)
}

/// Returns a contribution's reservation to the offer; `engaged` is the number of other
/// matches still reserving from it.
pub fn release(
    o: &Offer,
    amount: Option<Money>,
    engaged: u32,
    who: &PrincipalId,
    now: Timestamp,
) -> Offer {
    let mut next = o.clone();
    if let Some(amount) = amount {
        next.committed_minor_units = (next.committed_minor_units - amount.minor_units).max(0);
    }
    set_offer_status(&mut next, engaged, now, who);
    next
}
