//! Matching use cases: candidates, explanations, consortia, and the policy and exchange
//! rates they use. The engine (`clearinghouse-matching`) is rebuilt from storage at start
//! and updated after every need or offer write; it lives behind a lock that is never held
//! across an await.

use std::sync::{PoisonError, RwLock};

use clearinghouse_domain::{
    CurrencyCode, FundingMode, MatchingSettings, Need, NeedStatus, Offer, Principal, Role,
    Timestamp, TransitionError, Violations,
};
use clearinghouse_matching::{
    Engine, ExchangeRates, Explanation, FitContext, Gates, NeedStage, Policy, Rate, Rejection,
    Weights,
    consortium::{self, Consortium, Contender},
    fit::{self, Capacity},
    naive::Work,
};
use clearinghouse_storage::{ListQuery, Store, WriteMeta};

use super::{App, clock, meta, visibility};
use crate::error::ApiError;

/// The engine and the settings in force.
#[derive(Debug)]
pub struct Matching {
    engine: RwLock<Engine>,
    settings: RwLock<MatchingSettings>,
}

/// The settings a fresh deployment starts with: the default policy (docs/matching.md),
/// USD as the base currency, no other rates.
pub fn default_settings(now: Timestamp) -> MatchingSettings {
    let p = Policy::default();
    MatchingSettings {
        version: 1,
        weights: p.weights.to_array(),
        gates: p.gates.to_array(),
        top_k: u32::try_from(p.top_k).unwrap_or(20),
        exact_consortium_max: u32::try_from(p.exact_consortium_max).unwrap_or(16),
        base_currency: CurrencyCode::USD,
        rates: Vec::new(),
        updated_at: now,
    }
}

/// The engine's policy from stored settings.
pub fn policy_of(s: &MatchingSettings) -> Policy {
    Policy {
        weights: Weights::from_array(s.weights),
        gates: Gates::from_array(s.gates),
        top_k: s.top_k as usize,
        exact_consortium_max: s.exact_consortium_max as usize,
    }
}

/// The engine's rate table from stored settings.
pub fn rates_of(s: &MatchingSettings) -> ExchangeRates {
    let mut r = ExchangeRates::only(s.base_currency);
    for (c, num, den) in &s.rates {
        r.to_base.insert(
            *c,
            Rate {
                num: *num,
                den: *den,
            },
        );
    }
    r
}

fn engine_keeps_need(n: &Need) -> bool {
    matches!(
        n.status,
        NeedStatus::Authenticated
            | NeedStatus::Circulated
            | NeedStatus::PartiallyMatched
            | NeedStatus::Matched
    )
}

fn read_all<R: clearinghouse_storage::Resource>(store: &Store) -> Result<Vec<R>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list::<R>(
            &ListQuery {
                index: None,
                after,
                limit: 10_000,
                max_scan: usize::MAX,
            },
            &|_| true,
        )?;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

impl Matching {
    /// Loads the settings (creating the defaults) and indexes every open offer and need.
    pub fn load(store: &Store, now: Timestamp) -> Result<Matching, ApiError> {
        let settings = match store.get::<MatchingSettings>(MatchingSettings::ID)? {
            Some(s) => s,
            None => {
                let meta = WriteMeta {
                    actor: clearinghouse_domain::PrincipalId::system(),
                    action: "settings.create".into(),
                    now,
                    idempotency: None,
                };
                store.create_missing(&[default_settings(now)], &meta)?;
                store
                    .get::<MatchingSettings>(MatchingSettings::ID)?
                    .unwrap_or_else(|| default_settings(now))
            }
        };
        let policy = policy_of(&settings);
        let rates = rates_of(&settings);
        let ctx = FitContext {
            policy: &policy,
            rates: &rates,
            today: now.date(),
            stage: NeedStage::AuthenticatedToo,
        };
        let mut engine = Engine::new(policy.top_k);
        let mut work = Work::default();
        for o in read_all::<Offer>(store)?
            .into_iter()
            .filter(|o| o.status.is_open())
        {
            engine.upsert_offer(o, &ctx, &mut work);
        }
        for n in read_all::<Need>(store)?
            .into_iter()
            .filter(engine_keeps_need)
        {
            engine.upsert_need(n, &ctx, &mut work);
        }
        tracing::info!(
            offers = engine.offers().len(),
            needs = engine.needs().len(),
            "matching index built"
        );
        Ok(Matching {
            engine: RwLock::new(engine),
            settings: RwLock::new(settings),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> MatchingSettings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn with_ctx<T>(&self, stage: NeedStage, f: impl FnOnce(&FitContext<'_>) -> T) -> T {
        let s = self.settings();
        let (policy, rates) = (policy_of(&s), rates_of(&s));
        f(&FitContext {
            policy: &policy,
            rates: &rates,
            today: clock::now().date(),
            stage,
        })
    }

    /// Keeps the index in step with a written need.
    pub fn on_need(&self, n: &Need) {
        self.with_ctx(NeedStage::AuthenticatedToo, |ctx| {
            let mut e = self.engine.write().unwrap_or_else(PoisonError::into_inner);
            if engine_keeps_need(n) {
                e.upsert_need(n.clone(), ctx, &mut Work::default());
            } else {
                e.remove_need(&n.id.0);
            }
        });
    }

    /// Keeps the index in step with a written offer.
    pub fn on_offer(&self, o: &Offer) {
        self.with_ctx(NeedStage::AuthenticatedToo, |ctx| {
            let mut e = self.engine.write().unwrap_or_else(PoisonError::into_inner);
            if o.status.is_open() {
                e.upsert_offer(o.clone(), ctx, &mut Work::default());
            } else {
                e.remove_offer(&o.id.0, ctx, &mut Work::default());
            }
        });
    }

    fn replace_settings(&self, s: MatchingSettings) {
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = s;
    }
}

fn stage_for(who: &Principal) -> NeedStage {
    match who.role {
        Role::Admin | Role::Broker => NeedStage::AuthenticatedToo,
        _ => NeedStage::Circulated,
    }
}

fn is_broker(who: &Principal) -> bool {
    matches!(who.role, Role::Admin | Role::Broker)
}

fn owns_need(who: &Principal, n: &Need) -> bool {
    is_broker(who) || (who.role == Role::Requester && who.party.as_ref() == Some(&n.requester))
}

fn owns_offer(who: &Principal, o: &Offer) -> bool {
    is_broker(who) || (who.role == Role::Provider && who.party.as_ref() == Some(&o.provider))
}

/// A ranked candidate with the record it names and its explanation.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// The offer or need.
    pub item: T,
    /// Its explanation.
    pub explanation: Explanation,
}

/// A consortium with the offers of its members.
#[derive(Debug, Clone)]
pub struct SuggestedConsortium {
    /// The choice.
    pub consortium: Consortium,
    /// The members' offers, in member order.
    pub offers: Vec<Offer>,
    /// Joint or pooled offers considered.
    pub considered: usize,
    /// Currency of the amounts.
    pub base: CurrencyCode,
}

impl App {
    fn visible_need(&self, who: &Principal, store: &Store, id: &str) -> Result<Need, ApiError> {
        match store.get::<Need>(id)? {
            Some(n) if visibility::can_see_need(who, &n) => Ok(n),
            _ => Err(ApiError::not_found("need", id)),
        }
    }

    fn visible_offer(&self, who: &Principal, store: &Store, id: &str) -> Result<Offer, ApiError> {
        match store.get::<Offer>(id)? {
            Some(o) if visibility::can_see_offer(who, &o) => Ok(o),
            _ => Err(ApiError::not_found("offer", id)),
        }
    }

    /// Ranked offers for a need: `offset` and `size` page through the ranking; the flag
    /// says whether more follow.
    pub async fn find_offers_for_need(
        &self,
        who: &Principal,
        need_id: String,
        offset: usize,
        size: usize,
    ) -> Result<(Vec<Found<Offer>>, bool), ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let need = app.visible_need(&who, store, &need_id)?;
            if !owns_need(&who, &need) {
                return Err(ApiError::not_found("need", need_id));
            }
            app.matching.with_ctx(stage_for(&who), |ctx| {
                let e = app
                    .matching
                    .engine
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                let ranked = e.offers_for_need(&need, ctx, offset + size + 1, &mut Work::default());
                let more = ranked.len() > offset + size;
                let items = ranked
                    .iter()
                    .skip(offset)
                    .take(size)
                    .filter_map(|r| e.offers().get(&r.id))
                    .filter_map(|o| {
                        fit::explain(&need, o, ctx).ok().map(|explanation| Found {
                            item: o.clone(),
                            explanation,
                        })
                    })
                    .collect();
                Ok((items, more))
            })
        })
        .await
    }

    /// Ranked needs for an offer, among those the caller may see.
    pub async fn find_needs_for_offer(
        &self,
        who: &Principal,
        offer_id: String,
        offset: usize,
        size: usize,
    ) -> Result<(Vec<Found<Need>>, bool), ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let offer = app.visible_offer(&who, store, &offer_id)?;
            if !owns_offer(&who, &offer) {
                return Err(ApiError::not_found("offer", offer_id));
            }
            app.matching.with_ctx(stage_for(&who), |ctx| {
                let e = app
                    .matching
                    .engine
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                let keep = |n: &Need| visibility::can_see_need(&who, n);
                let ranked = e.needs_for_offer_where(
                    &offer,
                    ctx,
                    offset + size + 1,
                    &keep,
                    &mut Work::default(),
                );
                let more = ranked.len() > offset + size;
                let items = ranked
                    .iter()
                    .skip(offset)
                    .take(size)
                    .filter_map(|r| e.needs().get(&r.id))
                    .filter_map(|n| {
                        fit::explain(n, &offer, ctx).ok().map(|explanation| Found {
                            item: n.clone(),
                            explanation,
                        })
                    })
                    .collect();
                Ok((items, more))
            })
        })
        .await
    }

    /// Explains one pair, or lists the hard filters it fails.
    pub async fn explain_fit(
        &self,
        who: &Principal,
        need_id: String,
        offer_id: String,
    ) -> Result<Result<Explanation, Vec<Rejection>>, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let need = app.visible_need(&who, store, &need_id)?;
            let offer = app.visible_offer(&who, store, &offer_id)?;
            match who.role {
                Role::Requester if !owns_need(&who, &need) => {
                    return Err(ApiError::not_found("need", need_id));
                }
                Role::Provider if !owns_offer(&who, &offer) => {
                    return Err(ApiError::not_found("offer", offer_id));
                }
                _ => {}
            }
            Ok(app
                .matching
                .with_ctx(stage_for(&who), |ctx| fit::explain(&need, &offer, ctx)))
        })
        .await
    }

    /// The joint or pooled offers that best cover a jointly funded need's budget.
    pub async fn suggest_consortium(
        &self,
        who: &Principal,
        need_id: String,
    ) -> Result<SuggestedConsortium, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let need = app.visible_need(&who, store, &need_id)?;
            if !owns_need(&who, &need) {
                return Err(ApiError::not_found("need", need_id));
            }
            let joint = [FundingMode::JointlyFunded, FundingMode::PooledIoFund];
            let rule = |reason, message: String| ApiError::Transition(TransitionError::Rule { reason, message });
            let modes: Vec<FundingMode> = need.fields.accepted_funding_modes.iter().copied().filter(|m| joint.contains(m)).collect();
            if modes.is_empty() {
                return Err(rule("NOT_JOINTLY_FUNDED", "the need accepts neither JOINTLY_FUNDED nor POOLED_IO_FUND; consortia are for jointly funded needs".to_owned()));
            }
            app.matching.with_ctx(stage_for(&who), |ctx| {
                let budget = match fit::need_budget(&need, ctx.rates) {
                    None => return Err(rule("BUDGET_MISSING", "the need states no estimated budget; add one to size a consortium".to_owned())),
                    Some(Err(())) => {
                        return Err(rule("NO_EXCHANGE_RATE", format!(
                            "no exchange rate from {} to {}; set one with SetExchangeRates",
                            need.fields.estimated_budget.map(|b| b.currency.to_string()).unwrap_or_default(),
                            ctx.rates.base
                        )))
                    }
                    Some(Ok(b)) => b,
                };
                let e = app.matching.engine.read().unwrap_or_else(PoisonError::into_inner);
                let ranked = e.offers_for_need(&need, ctx, usize::MAX, &mut Work::default());
                let mut contenders = Vec::new();
                for r in &ranked {
                    let Some(o) = e.offers().get(&r.id) else { continue };
                    if !o.fields.funding_modes.iter().any(|m| modes.contains(m)) {
                        continue; // single-donor offers never join a consortium
                    }
                    let max = match fit::capacity(o, ctx.rates) {
                        Capacity::Unlimited => budget,
                        Capacity::Amount(a) => a,
                        Capacity::NoRate => continue,
                    };
                    let min = match o.fields.min_contribution.map(|m| ctx.rates.to_base(m)) {
                        None => 0,
                        Some(Some(v)) => v,
                        Some(None) => continue,
                    };
                    contenders.push(Contender { offer_id: r.id.clone(), score_milli: r.score_milli, min, max });
                }
                let c = consortium::suggest(budget, &contenders, ctx.policy.exact_consortium_max);
                let offers = c.members.iter().filter_map(|m| e.offers().get(&m.offer_id).cloned()).collect();
                Ok(SuggestedConsortium { consortium: c, offers, considered: contenders.len(), base: ctx.rates.base })
            })
        })
        .await
    }

    /// The settings in force.
    pub fn matching_settings(&self) -> MatchingSettings {
        self.matching.settings()
    }

    /// Replaces the policy (validated), checking the etag.
    pub async fn update_policy(
        &self,
        who: &Principal,
        policy: Policy,
        etag: Option<u64>,
    ) -> Result<MatchingSettings, ApiError> {
        policy.validate()?;
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let now = clock::now();
            let updated = store.update::<MatchingSettings, ApiError>(
                MatchingSettings::ID,
                etag,
                &meta(&who, "settings.policy", now, None),
                |cur| {
                    let mut next = cur.clone();
                    next.weights = policy.weights.to_array();
                    next.gates = policy.gates.to_array();
                    next.top_k = u32::try_from(policy.top_k).unwrap_or(20);
                    next.exact_consortium_max =
                        u32::try_from(policy.exact_consortium_max).unwrap_or(16);
                    next.updated_at = now;
                    Ok(next)
                },
            )?;
            app.matching.replace_settings(updated.clone());
            tracing::info!(version = updated.version, "matching policy updated");
            Ok(updated)
        })
        .await
    }

    /// Replaces the exchange-rate table.
    pub async fn set_exchange_rates(
        &self,
        who: &Principal,
        base: String,
        rates: Vec<(String, String)>,
    ) -> Result<MatchingSettings, ApiError> {
        let mut v = Violations::new("");
        let base_code = CurrencyCode::parse(&base);
        if base_code.is_none() {
            v.add(
                "base_currency_code",
                format!("'{base}' is not an ISO 4217 currency code"),
            );
        }
        v.count("rates", rates.len(), 0, 200);
        let mut table = Vec::new();
        for (i, (c, r)) in rates.iter().enumerate() {
            let code = CurrencyCode::parse(c);
            if code.is_none() {
                v.add(
                    format!("rates[{i}].currency_code"),
                    format!("'{c}' is not an ISO 4217 currency code"),
                );
            }
            let rate = Rate::parse(r);
            if rate.is_none() {
                v.add(
                    format!("rates[{i}].rate"),
                    format!("'{r}' is not a positive decimal with at most 9 decimals"),
                );
            }
            if let (Some(code), Some(rate)) = (code, rate) {
                if Some(code) == base_code || table.iter().any(|(x, _, _)| *x == code) {
                    v.add(
                        format!("rates[{i}].currency_code"),
                        format!("{code} is the base or listed twice"),
                    );
                }
                table.push((code, rate.num, rate.den));
            }
        }
        v.into_result()?;
        let base_code =
            base_code.ok_or_else(|| ApiError::Internal("base currency vanished".into()))?;
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let now = clock::now();
            let updated = store.update::<MatchingSettings, ApiError>(MatchingSettings::ID, None, &meta(&who, "settings.rates", now, None), |cur| {
                let mut next = cur.clone();
                next.base_currency = base_code;
                next.rates.clone_from(&table);
                next.updated_at = now;
                Ok(next)
            })?;
            app.matching.replace_settings(updated.clone());
            tracing::info!(base = %updated.base_currency, rates = updated.rates.len(), "exchange rates updated");
            Ok(updated)
        })
        .await
    }
}

/// Filters of `PlanAllocation`.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    /// Needs in this M49 region.
    pub region: Option<String>,
    /// Needs in this area.
    pub area: Option<clearinghouse_domain::Area>,
    /// Offers of this GP sub-working group.
    pub gp_group: Option<clearinghouse_domain::GpSubWorkingGroup>,
}

/// A plan with what it considered.
#[derive(Debug, Clone)]
pub struct PlannedAllocation {
    /// The plan.
    pub plan: clearinghouse_matching::allocation::Plan,
    /// Base currency of the amounts.
    pub base: CurrencyCode,
    /// Needs considered.
    pub needs: usize,
    /// Offers considered.
    pub offers: usize,
}

impl App {
    /// A dry-run allocation over the circulated needs and open offers that pass `filter`.
    pub async fn plan_allocation(&self, filter: PlanFilter) -> Result<PlannedAllocation, ApiError> {
        use clearinghouse_matching::allocation;
        let app = self.clone();
        self.blocking(move |_| {
            app.matching.with_ctx(NeedStage::Circulated, |ctx| {
                let e = app
                    .matching
                    .engine
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                let keep_need = |n: &Need| {
                    filter
                        .region
                        .as_ref()
                        .is_none_or(|r| n.country().is_some_and(|c| c.region == r))
                        && filter.area.is_none_or(|a| n.fields.area == Some(a))
                };
                let keep_offer = |o: &Offer| {
                    filter
                        .gp_group
                        .is_none_or(|g| o.fields.gp_sub_working_group == Some(g))
                };
                let inputs = allocation::inputs(&e, ctx, &keep_need, &keep_offer);
                let mut plan = allocation::plan(&inputs.needs, &inputs.offers, &inputs.edges);
                plan.unfunded.extend(inputs.skipped);
                Ok(PlannedAllocation {
                    plan,
                    base: ctx.rates.base,
                    needs: inputs.needs.len(),
                    offers: inputs.offers.len(),
                })
            })
        })
        .await
    }
}
