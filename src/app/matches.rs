//! The brokering lifecycle: propose, answer, implement. Reaching AGREED reserves each
//! contribution from its offer and re-derives the need's status, in one transaction over
//! the match, its offers and its need; leaving a reserving status releases it.
//! Concurrent agreements on one offer serialize in that transaction (exactly one gets the
//! last capacity); on one need they serialize on the need's version (the loser retries).

use clearinghouse_domain::{
    FundingMode, Match, MatchStatus, Money, Need, Offer, OfferId, PartyId, Principal, Role,
    TransitionError, Violations,
    matches::{self, ContributionRole, Origin, Proposal, ReasonCode},
    need::Coverage,
    transition::Actor,
};
use clearinghouse_matching::{FitContext, NeedStage, fit};
use clearinghouse_storage::{
    Error as StoreError, IdempotencyKey, ListQuery, TxError, UpdateError, index,
};

use super::{
    App, Listed, MAX_SCAN, PageRequest, clock,
    matching::{policy_of, rates_of},
    meta, new_id, rejected, visibility,
};
use crate::error::ApiError;

/// A contribution as asked for.
#[derive(Debug, Clone)]
pub struct NewContribution {
    /// Offer.
    pub offer: OfferId,
    /// Role.
    pub role: ContributionRole,
    /// Amount in the offer's currency.
    pub amount: Option<Money>,
    /// In-kind description.
    pub in_kind: String,
}

/// Filters of `ListMatches`.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    /// Status.
    pub status: Option<MatchStatus>,
    /// Need.
    pub need: Option<String>,
    /// Offer.
    pub offer: Option<String>,
    /// Taking part.
    pub party: Option<String>,
}

/// A lifecycle step.
#[derive(Debug, Clone)]
pub enum MatchAction {
    /// Accept (requester or provider).
    Accept,
    /// Decline with a reason.
    Decline(ReasonCode, String),
    /// Withdraw with a reason (broker).
    Withdraw(ReasonCode, String),
    /// Start implementation.
    Start,
    /// Suspend.
    Suspend(String),
    /// Resume.
    Resume,
    /// Complete.
    Complete,
    /// Cancel with a reason.
    Cancel(ReasonCode, String),
}

impl MatchAction {
    fn name(&self) -> &'static str {
        match self {
            MatchAction::Accept => "match.accept",
            MatchAction::Decline(..) => "match.decline",
            MatchAction::Withdraw(..) => "match.withdraw",
            MatchAction::Start => "match.start",
            MatchAction::Suspend(_) => "match.suspend",
            MatchAction::Resume => "match.resume",
            MatchAction::Complete => "match.complete",
            MatchAction::Cancel(..) => "match.cancel",
        }
    }
}

/// Whether `who` takes part in `m` (brokers and admins see every match).
pub fn can_see_match(who: &Principal, m: &Match) -> bool {
    match who.role {
        Role::Admin | Role::Broker => true,
        Role::Requester => who.party.as_ref() == Some(&m.requester),
        Role::Provider => m
            .contributions
            .iter()
            .any(|c| Some(&c.provider) == who.party.as_ref()),
        Role::Analyst => false,
    }
}

fn contributes(who: &Principal, m: &Match) -> bool {
    who.role == Role::Provider
        && m.contributions
            .iter()
            .any(|c| Some(&c.provider) == who.party.as_ref())
}

fn rule(reason: &'static str, message: String) -> ApiError {
    ApiError::Transition(TransitionError::Rule { reason, message })
}

/// Applies `action` for `who` to the current match.
fn apply(
    action: &MatchAction,
    cur: &Match,
    who: &Principal,
    now: clearinghouse_domain::Timestamp,
) -> Result<Match, ApiError> {
    let id = &who.id;
    let own_party = who.party.clone().unwrap_or_else(|| PartyId(String::new()));
    let is_requester = who.role == Role::Requester && who.party.as_ref() == Some(&cur.requester);
    let is_provider = contributes(who, cur);
    let broker = matches!(who.role, Role::Admin | Role::Broker);
    let actor = if broker {
        Actor::Broker
    } else if is_requester {
        Actor::Requester
    } else {
        Actor::Provider
    };
    Ok(match action {
        MatchAction::Accept if is_requester => cur.accept_by_requester(id, now)?,
        MatchAction::Accept if is_provider => cur.accept_by_provider(&own_party, id, now)?,
        MatchAction::Decline(c, t) if is_requester => {
            cur.decline_by_requester((*c, t.clone()), id, now)?
        }
        MatchAction::Decline(c, t) if is_provider => {
            cur.decline_by_provider(&own_party, (*c, t.clone()), id, now)?
        }
        MatchAction::Accept | MatchAction::Decline(..) => {
            return Err(ApiError::PermissionDenied(
                "only the requester or a contributing provider answers a match".to_owned(),
            ));
        }
        MatchAction::Withdraw(c, t) => cur.withdraw(actor, (*c, t.clone()), id, now)?,
        _ if !broker && !is_provider => {
            return Err(ApiError::PermissionDenied(
                "only a contributing provider or a broker reports implementation".to_owned(),
            ));
        }
        MatchAction::Start => {
            cur.implementation(MatchStatus::InImplementation, actor, None, id, now)?
        }
        MatchAction::Suspend(t) => cur.implementation(
            MatchStatus::Suspended,
            actor,
            Some((ReasonCode::Other, t.clone())),
            id,
            now,
        )?,
        MatchAction::Resume => {
            cur.implementation(MatchStatus::InImplementation, actor, None, id, now)?
        }
        MatchAction::Complete => {
            cur.implementation(MatchStatus::Completed, actor, None, id, now)?
        }
        MatchAction::Cancel(c, t) => cur.implementation(
            MatchStatus::Cancelled,
            actor,
            Some((*c, t.clone())),
            id,
            now,
        )?,
    })
}

impl App {
    fn base_units(&self, m: Money) -> Option<i64> {
        rates_of(&self.matching.settings()).to_base(m)
    }

    /// Budget of the need not covered by the match's live contributions, in the base
    /// currency; `None` when something cannot be converted or the need has no budget.
    pub fn match_gap(&self, m: &Match, need: &Need) -> Option<Money> {
        let base = self.matching.settings().base_currency;
        let budget = self.base_units(need.fields.estimated_budget?)?;
        let mut pledged = 0i64;
        for p in m.pledged() {
            pledged = pledged.saturating_add(self.base_units(p)?);
        }
        Some(Money {
            currency: base,
            minor_units: (budget - pledged).max(0),
        })
    }

    fn coverage(&self, need: &Need, reserved_base: Option<i64>, any: bool) -> Coverage {
        if !any {
            return Coverage::Nothing;
        }
        match (
            need.fields
                .estimated_budget
                .and_then(|b| self.base_units(b)),
            reserved_base,
        ) {
            (None, _) if need.fields.estimated_budget.is_none() => Coverage::Full,
            (Some(b), Some(r)) if r >= b => Coverage::Full,
            _ => Coverage::Partial,
        }
    }

    /// Proposes a match after checking the need, every offer's fit and the funding mode.
    pub async fn create_match(
        &self,
        who: &Principal,
        need_id: String,
        mode: Option<FundingMode>,
        contributions: Vec<NewContribution>,
        edge: Violations,
        idem: Option<IdempotencyKey>,
    ) -> Result<Match, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let mut edge = edge;
            let need = match store.get::<Need>(&need_id)? {
                Some(n) if visibility::can_see_need(&who, &n) => n,
                _ => return Err(ApiError::not_found("need", need_id)),
            };
            if !need.status.is_matchable() {
                return Err(rule(
                    "NEED_NOT_MATCHABLE",
                    format!(
                        "need {} is {}; only circulated needs take matches",
                        need.id, need.status
                    ),
                ));
            }
            let Some(mode) = mode else {
                edge.add("funding_mode", "is required");
                return Err(rejected(edge, None));
            };
            if !need.fields.accepted_funding_modes.contains(&mode) {
                edge.add("funding_mode", format!("the need does not accept {mode}"));
            }
            let settings = app.matching.settings();
            let (policy, rates) = (policy_of(&settings), rates_of(&settings));
            let ctx = FitContext {
                policy: &policy,
                rates: &rates,
                today: clock::now().date(),
                stage: NeedStage::Circulated,
            };
            let joint_modes = [FundingMode::JointlyFunded, FundingMode::PooledIoFund];
            let mut built = Vec::new();
            let (mut score, mut lines) = (1000u32, Vec::new());
            for (i, c) in contributions.iter().enumerate() {
                let Some(offer) = store
                    .get::<Offer>(&c.offer.0)?
                    .filter(|o| visibility::can_see_offer(&who, o))
                else {
                    edge.add(
                        format!("contributions[{i}].offer_id"),
                        format!("no open offer '{}'", c.offer),
                    );
                    continue;
                };
                if who.role == Role::Provider && who.party.as_ref() != Some(&offer.provider) {
                    return Err(ApiError::PermissionDenied(format!(
                        "a provider proposes matches from its own offers; {} is not yours",
                        offer.id
                    )));
                }
                let mode_ok = if joint_modes.contains(&mode) {
                    offer
                        .fields
                        .funding_modes
                        .iter()
                        .any(|m| joint_modes.contains(m))
                } else {
                    offer.fields.funding_modes.contains(&mode)
                };
                if !mode_ok {
                    return Err(rule(
                        "FUNDING_MODE_MISMATCH",
                        format!("offer {} does not work in {mode}", offer.id),
                    ));
                }
                if let (Some(a), Some(ceiling)) = (c.amount, offer.fields.budget_ceiling)
                    && a.currency != ceiling.currency
                {
                    edge.add(
                        format!("contributions[{i}].amount.currency_code"),
                        format!("pledge in the offer's currency {}", ceiling.currency),
                    );
                }
                match fit::explain(&need, &offer, &ctx) {
                    Ok(e) => {
                        score = score.min(e.score_milli);
                        let reasons: Vec<String> = e
                            .factors
                            .iter()
                            .filter(|f| f.weight > 0.0)
                            .map(|f| format!("{}: {}", f.kind.name(), f.reason))
                            .collect();
                        lines.push(format!(
                            "offer {} ({:.3}): {}",
                            offer.id,
                            f64::from(e.score_milli) / 1000.0,
                            reasons.join("; ")
                        ));
                    }
                    Err(rejections) => {
                        let why: Vec<String> = rejections.into_iter().map(|r| r.reason).collect();
                        return Err(rule(
                            "OFFER_DOES_NOT_FIT",
                            format!(
                                "offer {} does not fit the need: {}",
                                offer.id,
                                why.join("; ")
                            ),
                        ));
                    }
                }
                built.push(matches::Contribution {
                    offer: offer.id.clone(),
                    provider: offer.provider.clone(),
                    role: c.role,
                    amount: c.amount,
                    in_kind: c.in_kind.clone(),
                    acceptance: matches::Acceptance::Pending,
                    decline_reason: None,
                });
            }
            if !edge.is_empty() {
                return Err(rejected(edge, None));
            }
            let origin = if who.role == Role::Provider {
                Origin::Provider
            } else {
                Origin::Broker
            };
            let now = clock::now();
            let proposal = Proposal {
                id: new_id(),
                need: need.id.clone(),
                requester: need.requester.clone(),
                funding_mode: mode,
                contributions: built,
                score_milli: score,
                explanation: lines,
                origin,
            };
            let m = Match::propose(proposal, now, who.id.clone())?;
            let created = store
                .create(m, &meta(&who, "match.create", now, idem.clone()))?
                .into_inner();
            app.live.notify();
            Ok(created)
        })
        .await
    }

    /// Reads a match the caller takes part in.
    pub async fn get_match(
        &self,
        who: &Principal,
        id: String,
    ) -> Result<(Match, Option<Money>), ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| match store.get::<Match>(&id)? {
            Some(m) if can_see_match(&who, &m) => {
                let gap = store
                    .get::<Need>(&m.need.0)?
                    .and_then(|n| app.match_gap(&m, &n));
                Ok((m, gap))
            }
            _ => Err(ApiError::not_found("match", id)),
        })
        .await
    }

    /// Lists the matches the caller takes part in.
    pub async fn list_matches(
        &self,
        who: &Principal,
        mut filter: MatchFilter,
        page: PageRequest,
    ) -> Result<Listed<Match>, ApiError> {
        if matches!(who.role, Role::Requester | Role::Provider) {
            let own = who.party.as_ref().map(|p| p.0.clone());
            if filter.party.is_some() && filter.party != own {
                return Ok(Listed {
                    items: Vec::new(),
                    next: None,
                });
            }
            filter.party = own;
        }
        let who = who.clone();
        self.blocking(move |store| {
            let idx = if let Some(n) = &filter.need {
                Some((index::NEED, n.clone()))
            } else if let Some(o) = &filter.offer {
                Some((index::OFFER, o.clone()))
            } else if let Some(p) = &filter.party {
                Some((index::PARTY, p.clone()))
            } else {
                filter.status.map(|s| (index::STATUS, s.code().to_owned()))
            };
            let q = ListQuery {
                index: idx.as_ref().map(|(i, v)| (*i, v.as_str())),
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let keep = |m: &Match| {
                can_see_match(&who, m)
                    && filter.status.is_none_or(|s| m.status == s)
                    && filter.need.as_ref().is_none_or(|n| m.need.0 == *n)
                    && filter
                        .offer
                        .as_ref()
                        .is_none_or(|o| m.contributions.iter().any(|c| c.offer.0 == *o))
                    && filter.party.as_ref().is_none_or(|p| {
                        m.requester.0 == *p || m.contributions.iter().any(|c| c.provider.0 == *p)
                    })
            };
            let p = store.list::<Match>(&q, &keep)?;
            Ok(Listed {
                items: p.items,
                next: p.next,
            })
        })
        .await
    }

    /// Runs one lifecycle step, reserving or releasing capacity and re-deriving the
    /// need's status in the same transaction.
    pub async fn transition_match(
        &self,
        who: &Principal,
        id: String,
        etag: Option<u64>,
        action: MatchAction,
    ) -> Result<(Match, Option<Money>), ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            for _attempt in 0..8 {
                let Some(seen) = store.get::<Match>(&id)?.filter(|m| can_see_match(&who, m)) else {
                    return Err(ApiError::not_found("match", &id));
                };
                let need: Need = store.get(&seen.need.0)?.ok_or_else(|| {
                    ApiError::Internal(format!("match {id} names a missing need"))
                })?;
                // Other matches of the need that hold reservations, read before the transaction;
                // the need's version guards against them changing meanwhile.
                let others: Vec<Match> = store
                    .list::<Match>(
                        &ListQuery {
                            index: Some((index::NEED, &need.id.0)),
                            after: None,
                            limit: 10_000,
                            max_scan: MAX_SCAN,
                        },
                        &|m| m.id != id && m.status.reserves(),
                    )?
                    .items;
                let mut others_base = Some(0i64);
                for m in &others {
                    for p in m.pledged() {
                        others_base = others_base
                            .and_then(|t| app.base_units(p).map(|v| t.saturating_add(v)));
                    }
                }
                let others_done = others.iter().all(|m| m.status == MatchStatus::Completed);
                let now = clock::now();
                let meta = meta(&who, action.name(), now, None);
                let result = store.transaction::<(Match, bool), ApiError>(&meta, |txn| {
                    let cur: Match = txn
                        .get(&id)?
                        .ok_or_else(|| TxError::rejected(ApiError::not_found("match", &id)))?;
                    if let Some(e) = etag
                        && e != cur.version
                    {
                        return Err(TxError::rejected(ApiError::Store(
                            StoreError::StaleVersion {
                                kind: "match",
                                id: id.clone(),
                                expected: e,
                                actual: cur.version,
                            },
                        )));
                    }
                    let next = apply(&action, &cur, &who, now).map_err(TxError::rejected)?;
                    let (was, is) = (cur.status.reserves(), next.status.reserves());
                    if !was && is {
                        for c in next.reserving() {
                            let amount = c.amount.unwrap_or(Money {
                                currency: clearinghouse_domain::CurrencyCode::USD,
                                minor_units: 0,
                            });
                            txn.update::<Offer, ApiError>(&c.offer.0, None, |o| {
                                Ok(matches::reserve(o, amount, &who.id, now)?)
                            })?;
                        }
                    }
                    if was && !is {
                        for c in cur.reserving() {
                            let amount = c.amount.unwrap_or(Money {
                                currency: clearinghouse_domain::CurrencyCode::USD,
                                minor_units: 0,
                            });
                            txn.update::<Offer, ApiError>(&c.offer.0, None, |o| {
                                Ok(matches::release(o, amount, &who.id, now))
                            })?;
                        }
                    }
                    let updated = txn.update::<Match, ApiError>(&id, None, |_| Ok(next.clone()))?;
                    if was != is || next.status == MatchStatus::Completed {
                        let mine = if is {
                            next.pledged().into_iter().try_fold(0i64, |t, p| {
                                app.base_units(p).map(|v| t.saturating_add(v))
                            })
                        } else {
                            Some(0)
                        };
                        let total = others_base.zip(mine).map(|(a, b)| a.saturating_add(b));
                        let cov = app.coverage(&need, total, is || !others.is_empty());
                        let done = next.status == MatchStatus::Completed && others_done;
                        txn.update::<Need, ApiError>(&need.id.0, Some(need.version), |n| {
                            let n = n.with_coverage(cov, &who.id, now)?;
                            Ok(if done { n.fulfilled(&who.id, now)? } else { n })
                        })?;
                    }
                    // Whether offers or the need changed too (the index must follow).
                    Ok((updated, was != is || next.status == MatchStatus::Completed))
                });
                match result {
                    Err(UpdateError::Store(StoreError::StaleVersion { kind: "need", .. })) => {
                        continue;
                    }
                    Err(UpdateError::Store(StoreError::NotFound { kind, id })) => {
                        return Err(ApiError::not_found(kind, id));
                    }
                    other => {
                        let (m, touched_others) = other?;
                        app.live.notify();
                        let need = store.get::<Need>(&m.need.0)?;
                        if touched_others {
                            // Keep the matching index in step with the offers and the need.
                            if let Some(n) = &need {
                                app.matching.on_need(n);
                            }
                            for c in &m.contributions {
                                if let Some(o) = store.get::<Offer>(&c.offer.0)? {
                                    app.matching.on_offer(&o);
                                }
                            }
                        }
                        let gap = need.and_then(|n| app.match_gap(&m, &n));
                        return Ok((m, gap));
                    }
                }
            }
            Err(rule(
                "BUSY",
                "the need kept changing under concurrent matches; retry".to_owned(),
            ))
        })
        .await
    }
}
