//! The brokering lifecycle: propose, answer, implement. Reaching AGREED reserves each
//! contribution from its offer and re-derives the need's status, in one transaction over
//! the match, its offers and its need; leaving a reserving status releases it.
//! Concurrent agreements on one offer serialize in that transaction (exactly one gets the
//! last capacity); on one need they serialize on the need's version (the loser retries).
//! A proposal and each answer to it are recorded as broker decisions in the same
//! transaction ([`super::decisions`]).

use clearinghouse_domain::{
    FundingMode, Match, MatchStatus, Money, Need, Offer, OfferId, PartyId, Principal, Role,
    TransitionError, Violations,
    matches::{self, ContributionRole, Origin, Proposal, ReasonCode},
    need::Coverage,
    transition::Actor,
};
use clearinghouse_matching::{FitContext, NeedStage, fit};
use clearinghouse_storage::{
    Error as StoreError, IdempotencyKey, ListQuery, TxError, Txn, UpdateError,
    decision::{Answer, Shown},
    index,
};

use super::{
    App, Listed, MAX_SCAN, PageRequest, clock, decisions,
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
    /// The decision this step records, if it answers the proposal.
    fn answer(&self) -> Option<(Answer, Option<(ReasonCode, String)>)> {
        match self {
            MatchAction::Accept => Some((Answer::Accept, None)),
            MatchAction::Decline(c, t) => Some((Answer::Decline, Some((*c, t.clone())))),
            MatchAction::Withdraw(c, t) => Some((Answer::Withdraw, Some((*c, t.clone())))),
            MatchAction::Cancel(c, t) => Some((Answer::Cancel, Some((*c, t.clone())))),
            MatchAction::Start
            | MatchAction::Suspend(_)
            | MatchAction::Resume
            | MatchAction::Complete => None,
        }
    }

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

/// What a proposal asks for.
struct Ask<'a> {
    need_id: &'a str,
    mode: Option<FundingMode>,
    contributions: &'a [NewContribution],
    match_id: &'a str,
}

/// Checks a proposal inside the creating transaction: the need is visible and open,
/// the funding mode is accepted, every offer is visible, the caller's own (providers),
/// works in the mode and fits the need.
fn propose(
    txn: &mut Txn<'_>,
    who: &Principal,
    ask: &Ask<'_>,
    mut edge: Violations,
    ctx: &FitContext<'_>,
) -> Result<(Proposal, Vec<Shown>), TxError<ApiError>> {
    let reject = |e: ApiError| TxError::Rejected(e);
    let need: Option<Need> = txn.get(ask.need_id)?;
    let need = match need {
        Some(n) if visibility::can_see_need(who, &n) => n,
        _ => return Err(reject(ApiError::not_found("need", ask.need_id))),
    };
    if !need.status.is_matchable() {
        return Err(reject(rule(
            "NEED_NOT_MATCHABLE",
            format!(
                "need {} is {}; only circulated needs take matches",
                need.id, need.status
            ),
        )));
    }
    let Some(mode) = ask.mode else {
        edge.add("funding_mode", "is required");
        return Err(reject(rejected(edge, None)));
    };
    if !need.fields.accepted_funding_modes.contains(&mode) {
        edge.add("funding_mode", format!("the need does not accept {mode}"));
    }
    let joint_modes = [FundingMode::JointlyFunded, FundingMode::PooledIoFund];
    let mut built = Vec::new();
    let mut shown = Vec::new();
    let (mut score, mut lines) = (1000u32, Vec::new());
    for (i, c) in ask.contributions.iter().enumerate() {
        let offer: Option<Offer> = txn.get(&c.offer.0)?;
        let Some(offer) = offer.filter(|o| visibility::can_see_offer(who, o)) else {
            edge.add(
                format!("contributions[{i}].offer_id"),
                format!("no open offer '{}'", super::short(&c.offer.0)),
            );
            continue;
        };
        if who.role == Role::Provider && who.party.as_ref() != Some(&offer.provider) {
            return Err(reject(ApiError::PermissionDenied(format!(
                "a provider proposes matches from its own offers; {} is not yours",
                offer.id
            ))));
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
            return Err(reject(rule(
                "FUNDING_MODE_MISMATCH",
                format!("offer {} does not work in {mode}", offer.id),
            )));
        }
        if let (Some(a), Some(ceiling)) = (c.amount, offer.fields.budget_ceiling)
            && a.currency != ceiling.currency
        {
            edge.add(
                format!("contributions[{i}].amount.currency_code"),
                format!("pledge in the offer's currency {}", ceiling.currency),
            );
        }
        match fit::explain(&need, &offer, ctx) {
            Ok(e) => {
                score = score.min(e.score_milli);
                shown.push(decisions::shown(&need, &offer, ctx, 0, e.score_milli));
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
                return Err(reject(rule(
                    "OFFER_DOES_NOT_FIT",
                    format!(
                        "offer {} does not fit the need: {}",
                        offer.id,
                        why.join("; ")
                    ),
                )));
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
        return Err(reject(rejected(edge, None)));
    }
    let proposal = Proposal {
        id: ask.match_id.to_owned(),
        need: need.id.clone(),
        requester: need.requester.clone(),
        funding_mode: mode,
        contributions: built,
        score_milli: score,
        explanation: lines,
        origin: if who.role == Role::Provider {
            Origin::Provider
        } else {
            Origin::Broker
        },
    };
    Ok((proposal, shown))
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

    /// Proposes a match after checking the need, every offer's fit and the funding mode,
    /// all in one transaction. A retry with the same request id returns the original
    /// match before anything is checked again (the need may have changed since).
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
        let (match_id, decision_id) = (new_id(), new_id());
        self.write(move |store| {
            let settings = app.matching.settings();
            let (policy, rates) = (policy_of(&settings), rates_of(&settings));
            let now = clock::now();
            let ctx = FitContext {
                policy: &policy,
                rates: &rates,
                today: now.date(),
                stage: NeedStage::Circulated,
            };
            let meta = meta(&who, "match.create", now, idem.clone());
            let created = store.transaction::<Match, ApiError>(&meta, |txn| {
                if let Some(k) = &idem
                    && let Some(prior) = txn.replay::<Match, _>(k)?
                {
                    return Ok(prior);
                }
                let ask = Ask {
                    need_id: &need_id,
                    mode,
                    contributions: &contributions,
                    match_id: &match_id,
                };
                let (proposal, shown) = propose(txn, &who, &ask, edge.clone(), &ctx)?;
                let m = Match::propose(proposal, now, who.id.clone())
                    .map_err(|e| TxError::rejected(e.into()))?;
                if let Some(k) = &idem {
                    txn.remember::<Match, _>(k, &m.id)?;
                }
                txn.create(&m)?;
                decisions::record_proposal(
                    txn,
                    decisions::Proposed {
                        id: &decision_id,
                        at: now,
                        who: &who,
                        need: &m.need,
                        match_id: &m.id,
                        proposed: shown.clone(),
                    },
                )?;
                Ok(m)
            });
            let m = match created {
                Err(UpdateError::Store(StoreError::NotFound { kind, id })) => {
                    return Err(ApiError::not_found(kind, id));
                }
                other => other?,
            };
            app.live.notify();
            Ok(m)
        })
        .await
    }

    /// Reads a match the caller takes part in.
    pub async fn get_match(
        &self,
        who: &Principal,
        id: String,
    ) -> Result<(Match, Option<Money>), ApiError> {
        self.point_read(|store| match store.get::<Match>(&id)? {
            Some(m) if can_see_match(who, &m) => {
                let gap = store
                    .get::<Need>(&m.need.0)?
                    .and_then(|n| self.match_gap(&m, &n));
                Ok((m, gap))
            }
            _ => Err(ApiError::not_found("match", id)),
        })
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

    /// Runs one lifecycle step in one transaction: the match exists and the caller takes
    /// part in it, then the etag, then the step; reaching a reserving status reserves
    /// every contribution from its offer (budget and an engagement), leaving one releases
    /// them, and the need's coverage is recomputed from the need's matches read in the
    /// same transaction.
    pub async fn transition_match(
        &self,
        who: &Principal,
        id: String,
        etag: Option<u64>,
        action: MatchAction,
    ) -> Result<(Match, Option<Money>), ApiError> {
        let (app, who) = (self.clone(), who.clone());
        let decision_id = new_id();
        self.write(move |store| {
            let now = clock::now();
            let meta = meta(&who, action.name(), now, None);
            let result = store.transaction::<Match, ApiError>(&meta, |txn| {
                let cur: Option<Match> = txn.get(&id)?;
                let Some(cur) = cur.filter(|m| can_see_match(&who, m)) else {
                    return Err(TxError::rejected(ApiError::not_found("match", &id)));
                };
                if let Some(e) = etag
                    && e != cur.version
                {
                    return Err(TxError::Store(StoreError::StaleVersion {
                        kind: "match",
                        id: id.clone(),
                        expected: e,
                        actual: cur.version,
                    }));
                }
                let next = apply(&action, &cur, &who, now).map_err(TxError::rejected)?;
                let (was, is) = (cur.status.reserves(), next.status.reserves());
                if was != is {
                    let changing = if is { &next } else { &cur };
                    for c in changing.reserving() {
                        // Other matches holding a reservation on this offer.
                        let engaged: Vec<Match> = txn.list_by_index(index::OFFER, &c.offer.0)?;
                        let engaged = engaged
                            .iter()
                            .filter(|m| m.id != id && m.status.reserves())
                            .count();
                        let engaged = u32::try_from(engaged).unwrap_or(u32::MAX);
                        let (amount, offer) = (c.amount, c.offer.0.clone());
                        txn.update::<Offer, ApiError>(&offer, None, &|_| Ok(()), &|o| {
                            Ok(if is {
                                matches::reserve(o, amount, engaged, &who.id, now)?
                            } else {
                                matches::release(o, amount, engaged, &who.id, now)
                            })
                        })?;
                    }
                }
                let updated =
                    txn.update::<Match, ApiError>(&id, None, &|_| Ok(()), &|_| Ok(next.clone()))?;
                if let Some((answer, reason)) = action.answer() {
                    decisions::record_answer(txn, &decision_id, &who, &updated, answer, reason)?;
                }
                if was != is || next.status == MatchStatus::Completed {
                    let others: Vec<Match> = txn.list_by_index(index::NEED, &next.need.0)?;
                    let others: Vec<&Match> = others
                        .iter()
                        .filter(|m| m.id != id && m.status.reserves())
                        .collect();
                    let mut total = Some(0i64);
                    let pledges = others.iter().flat_map(|m| m.pledged()).chain(if is {
                        next.pledged()
                    } else {
                        Vec::new()
                    });
                    for p in pledges {
                        total = total.and_then(|t| app.base_units(p).map(|v| t.saturating_add(v)));
                    }
                    let others_done = others.iter().all(|m| m.status == MatchStatus::Completed);
                    let done = next.status == MatchStatus::Completed && others_done;
                    let any = is || !others.is_empty();
                    txn.update::<Need, ApiError>(&next.need.0, None, &|_| Ok(()), &|n| {
                        let cov = app.coverage(n, total, any);
                        let n = n.with_coverage(cov, &who.id, now)?;
                        Ok(if done { n.fulfilled(&who.id, now)? } else { n })
                    })?;
                }
                Ok(updated)
            });
            let m = match result {
                Err(UpdateError::Store(StoreError::NotFound { kind, id })) => {
                    return Err(ApiError::not_found(kind, id));
                }
                other => other?,
            };
            app.live.notify();
            let gap = store
                .get::<Need>(&m.need.0)?
                .and_then(|n| app.match_gap(&m, &n));
            Ok((m, gap))
        })
        .await
    }
}
