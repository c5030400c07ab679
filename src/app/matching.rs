//! Matching use cases: candidates, explanations, consortia, and the policy and exchange
//! rates they use. The engine (`clearinghouse-matching`) is rebuilt from storage at start
//! and follows the store's audit trail after every write ([`Matching::follow`]); it lives
//! behind a lock that is never held across an await.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError, RwLock},
};

use clearinghouse_domain::{
    CurrencyCode, FundingMode, MatchingSettings, Need, NeedStatus, Offer, Principal, Role,
    Timestamp, TransitionError, Violations,
};
use clearinghouse_matching::{
    Engine, ExchangeRates, Explanation, FitContext, Gates, NeedStage, Policy, Rate, Rejection,
    Weights,
    consortium::{self, Consortium, Contender},
    fit::{self, Capacity},
    index::{Packing, Postings},
    naive::Work,
    rank::Ranked,
};
use clearinghouse_storage::{ListQuery, Resource, Store, WriteMeta};

use super::{App, clock, decisions, index_file, meta, visibility};
use crate::error::ApiError;

/// The engine, the settings in force, and how far the engine has followed the store.
///
/// The engine is a projection of the store: [`Matching::follow`] reads the audit trail
/// after the last entry it applied (up to the durable watermark) and loads the current
/// record of every need, offer and settings change it names. Every write path calls it
/// in its own blocking task, and a background task calls it periodically, so the engine
/// converges whatever happens to a call; updates are version-monotonic, so a late or
/// repeated one changes nothing.
#[derive(Debug)]
pub struct Matching {
    engine: RwLock<Engine>,
    settings: RwLock<MatchingSettings>,
    /// Audit sequence applied so far; held while following.
    applied: Mutex<u64>,
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

/// Whether the engine indexes a need in this status (brokers look ahead from
/// AUTHENTICATED; terminal needs leave).
pub fn engine_keeps_need(n: &Need) -> bool {
    matches!(
        n.status,
        NeedStatus::Authenticated
            | NeedStatus::Circulated
            | NeedStatus::PartiallyMatched
            | NeedStatus::Matched
    )
}

/// Records read per page while the index is built at start: the scan holds one page
/// at a time, never every record. Unit tests use small pages, so that their stores of a
/// few dozen records are rebuilt over several pages.
const LOAD_PAGE: usize = if cfg!(test) { 16 } else { 4_096 };

/// Calls `f` with every stored record of kind `R` that `keep` accepts, in creation order,
/// one page at a time, each decoded without the text, contacts and history the engine
/// never keeps (`Store::list_summaries`).
fn for_each_kept<R: clearinghouse_storage::summary::Summarized>(
    store: &Store,
    keep: &dyn Fn(&R) -> bool,
    mut f: impl FnMut(R),
) -> Result<(), ApiError> {
    let mut after = None;
    loop {
        let page = store.list_summaries::<R>(
            &ListQuery {
                index: None,
                after,
                limit: LOAD_PAGE,
                max_scan: LOAD_PAGE,
            },
            keep,
        )?;
        page.items.into_iter().for_each(&mut f);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

/// How the engine keeps records of kind `R`: packed in their stored encoding
/// (`Resource::encode`), a few hundred bytes each instead of the whole in-memory record,
/// and decoded when a record is asked for. A record that does not encode is kept whole.
pub fn packing<R: Resource + Clone>() -> Packing<R> {
    Packing {
        pack: |r: &R| r.encode().ok(),
        unpack: |bytes: &[u8]| R::decode(bytes).ok(),
    }
}

/// The open offers and the needs the engine keeps, read from the store page by page and
/// indexed as they come, offers and needs each on their own thread.
fn build_engine(store: &Store) -> Result<Engine, ApiError> {
    let (offers, needs) = std::thread::scope(|s| {
        let offers = s.spawn(|| {
            let mut offers = Postings::packed(packing::<Offer>());
            for_each_kept::<Offer>(store, &|o| o.status.is_open(), |o| {
                Engine::index_offer(&mut offers, o);
            })
            .map(|()| {
                offers.shrink_to_fit();
                offers
            })
        });
        let mut needs = Postings::packed(packing::<Need>());
        let needs = for_each_kept::<Need>(store, &engine_keeps_need, |n| {
            Engine::index_need(&mut needs, n);
        })
        .map(|()| {
            needs.shrink_to_fit();
            needs
        });
        let offers = offers
            .join()
            .unwrap_or_else(|_| Err(ApiError::Internal("indexing offers panicked".into())));
        (offers, needs)
    });
    Ok(Engine::untracked_from(offers?, needs?))
}

/// Where [`Matching::load_from`] took the index from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Every record read from the store.
    Store,
    /// The index file, written at this audit position, then the entries after it.
    File {
        /// The file's position.
        position: u64,
    },
}

/// Most audit entries one [`Matching::follow`] round reads.
const FOLLOW_PAGE: usize = 1_000;

impl Matching {
    /// Loads the settings (creating the defaults) and indexes every open offer and need.
    pub fn load(store: &Store, now: Timestamp) -> Result<Matching, ApiError> {
        Self::load_from(store, now, None).map(|(m, _)| m)
    }

    /// [`Matching::load`], starting from `file` (the index read from its file while the
    /// store opened) when it describes this store and is not too far behind
    /// ([`index_file::check_anchor`]): the entries after its position are applied before
    /// this returns. Otherwise the index is built from the store. Says which it did.
    pub fn load_from(
        store: &Store,
        now: Timestamp,
        file: Option<index_file::LoadedIndex>,
    ) -> Result<(Matching, Origin), ApiError> {
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
        let started = std::time::Instant::now();
        let from_file = match file {
            Some(f) => match index_file::check_anchor(store, &f.header, &f.end) {
                Ok(()) => Some(f),
                Err(why) => {
                    tracing::info!(reason = %why, "matching index file left aside; rebuilding");
                    None
                }
            },
            None => None,
        };
        if let Some(f) = from_file {
            let position = f.header.position;
            let m = Matching {
                engine: RwLock::new(Engine::untracked_from(f.offers, f.needs)),
                settings: RwLock::new(settings.clone()),
                applied: Mutex::new(position),
            };
            match m.try_follow(store) {
                Ok(()) => {
                    let replayed = m.applied().saturating_sub(position);
                    let (offers, needs) = {
                        let e = m.engine_read();
                        (e.offers().len(), e.needs().len())
                    };
                    tracing::info!(
                        offers,
                        needs,
                        position,
                        replayed,
                        read_ms = u64::try_from(f.elapsed.as_millis()).unwrap_or(u64::MAX),
                        replay_ms =
                            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "matching index loaded from its file"
                    );
                    return Ok((m, Origin::File { position }));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "matching index file could not be brought up to the store; rebuilding");
                }
            }
        }
        // Everything after this position is applied again by `follow` (harmlessly: the
        // engine ignores versions it already holds).
        let applied = store.audit_watermark()?;
        let engine = build_engine(store)?;
        tracing::info!(
            offers = engine.offers().len(),
            needs = engine.needs().len(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "matching index built"
        );
        let matching = Matching {
            engine: RwLock::new(engine),
            settings: RwLock::new(settings),
            applied: Mutex::new(applied),
        };
        Ok((matching, Origin::Store))
    }

    /// The engine, read-locked (never held across an await).
    pub(crate) fn engine_read(&self) -> std::sync::RwLockReadGuard<'_, Engine> {
        self.engine.read().unwrap_or_else(PoisonError::into_inner)
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

    /// Brings the engine up to the store (see the type's docs); failures are logged and
    /// left to the next call, which starts from the same position.
    pub fn follow(&self, store: &Store) {
        if let Err(e) = self.try_follow(store) {
            tracing::warn!(error = %e, "matching index could not follow the store; retrying later");
        }
    }

    /// Audit sequence the engine has applied.
    pub fn applied(&self) -> u64 {
        *self.applied.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn try_follow(&self, store: &Store) -> Result<(), ApiError> {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let page = store.list_audit(
                &clearinghouse_storage::AuditFilter::default(),
                Some(*applied),
                FOLLOW_PAGE,
            )?;
            let Some(last) = page.items.last().map(|e| e.sequence) else {
                return Ok(());
            };
            let mut touched: Vec<(&str, &str)> = Vec::new();
            for e in &page.items {
                let kind = match e.resource_kind.as_str() {
                    "need" => "need",
                    "offer" => "offer",
                    "settings" => "settings",
                    _ => continue,
                };
                if !touched.contains(&(kind, e.resource_id.as_str())) {
                    touched.push((kind, e.resource_id.as_str()));
                }
            }
            for (kind, id) in touched {
                match kind {
                    "need" => {
                        if let Some(n) = store.get::<Need>(id)? {
                            self.apply_need(&n);
                        }
                    }
                    "offer" => {
                        if let Some(o) = store.get::<Offer>(id)? {
                            self.apply_offer(&o);
                        }
                    }
                    _ => {
                        if let Some(s) = store.get::<MatchingSettings>(id)? {
                            self.apply_settings(s);
                        }
                    }
                }
            }
            *applied = last;
            if page.next.is_none() {
                return Ok(());
            }
        }
    }

    fn apply_need(&self, n: &Need) {
        self.with_ctx(NeedStage::AuthenticatedToo, |ctx| {
            let mut e = self.engine.write().unwrap_or_else(PoisonError::into_inner);
            if engine_keeps_need(n) {
                e.upsert_need(n.clone(), ctx, &mut Work::default());
            } else {
                e.remove_need(&n.id.0, n.version);
            }
        });
    }

    fn apply_offer(&self, o: &Offer) {
        self.with_ctx(NeedStage::AuthenticatedToo, |ctx| {
            let mut e = self.engine.write().unwrap_or_else(PoisonError::into_inner);
            if o.status.is_open() {
                e.upsert_offer(o.clone(), ctx, &mut Work::default());
            } else {
                e.remove_offer(&o.id.0, o.version, ctx, &mut Work::default());
            }
        });
    }

    /// Takes `s` unless the settings in force are as new or newer.
    pub fn apply_settings(&self, s: MatchingSettings) {
        let mut cur = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if s.version > cur.version {
            *cur = s;
        }
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

fn rule(reason: &'static str, message: String) -> ApiError {
    ApiError::Transition(TransitionError::Rule { reason, message })
}

/// Refuses candidates for a need the engine does not rank for this caller yet (or any
/// more), saying why and what would change it.
fn check_rankable(who: &Principal, need: &Need) -> Result<(), ApiError> {
    let open = match stage_for(who) {
        NeedStage::AuthenticatedToo => engine_keeps_need(need),
        NeedStage::Circulated => need.status.is_matchable(),
    };
    if open {
        return Ok(());
    }
    let when = if is_broker(who) {
        "brokers see candidates once a need is AUTHENTICATED"
    } else {
        "candidates are ranked once a broker has circulated the need"
    };
    Err(rule(
        "NEED_NOT_RANKED",
        format!("need {} is {}; {when}", need.id, need.status),
    ))
}

/// A ranked candidate with the record it names and its explanation.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// The offer or need, as stored now (contact removed where the caller may not see it).
    pub item: T,
    /// Its explanation.
    pub explanation: Explanation,
}

/// A page of ranked candidates and where the next one starts.
#[derive(Debug, Clone)]
pub struct Ranking<T> {
    /// Candidates, best first.
    pub items: Vec<Found<T>>,
    /// Cursor of the next page: the last candidate of this one (`None` at the end).
    pub next: Option<Ranked>,
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

    /// Ranked offers for a need, a page after `after`. The engine ranks; every offer
    /// returned is read again from the store and checked (visible, still fitting), so a
    /// change the engine has not followed yet never reaches the caller.
    pub async fn find_offers_for_need(
        &self,
        who: &Principal,
        need_id: String,
        after: Option<Ranked>,
        size: usize,
    ) -> Result<Ranking<Offer>, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let need = app.visible_need(&who, store, &need_id)?;
            if !owns_need(&who, &need) {
                return Err(ApiError::not_found("need", need_id));
            }
            check_rankable(&who, &need)?;
            let first_page = after.is_none();
            app.matching.with_ctx(stage_for(&who), |ctx| {
                let ranked = {
                    let e = app
                        .matching
                        .engine
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    let started = std::time::Instant::now();
                    let r =
                        e.offers_for_need_after(&need, ctx, size + 1, after, &mut Work::default());
                    crate::metrics::candidate_query("offers_for_need", started.elapsed());
                    r
                };
                let more = ranked.len() > size;
                let mut items = Vec::new();
                let mut shown = Vec::new();
                for r in ranked.iter().take(size) {
                    let Some(o) = store.get::<Offer>(&r.id)? else {
                        continue;
                    };
                    if !visibility::can_see_offer(&who, &o) {
                        continue;
                    }
                    if let Ok(explanation) = fit::explain(&need, &o, ctx) {
                        if first_page && decisions::records_views(&who) {
                            let rank = u32::try_from(shown.len() + 1).unwrap_or(u32::MAX);
                            shown.push(decisions::shown(
                                &need,
                                &o,
                                ctx,
                                rank,
                                explanation.score_milli,
                            ));
                        }
                        items.push(Found {
                            item: visibility::redact_offer(&who, o),
                            explanation,
                        });
                    }
                }
                if first_page {
                    decisions::record_view(store, &who, &need.id, shown);
                }
                let next = if more {
                    ranked.get(size.saturating_sub(1)).cloned()
                } else {
                    None
                };
                Ok(Ranking { items, next })
            })
        })
        .await
    }

    /// Ranked needs for an offer, among those the caller may see (checked again on each
    /// need as stored now).
    pub async fn find_needs_for_offer(
        &self,
        who: &Principal,
        offer_id: String,
        after: Option<Ranked>,
        size: usize,
    ) -> Result<Ranking<Need>, ApiError> {
        let (app, who) = (self.clone(), who.clone());
        self.blocking(move |store| {
            let offer = app.visible_offer(&who, store, &offer_id)?;
            if !owns_offer(&who, &offer) {
                return Err(ApiError::not_found("offer", offer_id));
            }
            app.matching.with_ctx(stage_for(&who), |ctx| {
                let ranked = {
                    let e = app
                        .matching
                        .engine
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    let keep = |n: &Need| visibility::can_see_need(&who, n);
                    let started = std::time::Instant::now();
                    let r = e.needs_for_offer_after(
                        &offer,
                        ctx,
                        size + 1,
                        after,
                        &keep,
                        &mut Work::default(),
                    );
                    crate::metrics::candidate_query("needs_for_offer", started.elapsed());
                    r
                };
                let more = ranked.len() > size;
                let mut items = Vec::new();
                for r in ranked.iter().take(size) {
                    let Some(n) = store.get::<Need>(&r.id)? else {
                        continue;
                    };
                    if !visibility::can_see_need(&who, &n) {
                        continue;
                    }
                    if let Ok(explanation) = fit::explain(&n, &offer, ctx) {
                        items.push(Found {
                            item: visibility::redact_need(&who, n),
                            explanation,
                        });
                    }
                }
                let next = if more {
                    ranked.get(size.saturating_sub(1)).cloned()
                } else {
                    None
                };
                Ok(Ranking { items, next })
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
            Ok(app.matching.with_ctx(stage_for(&who), |ctx| {
                let e = fit::explain(&need, &offer, ctx);
                if let Ok(x) = &e
                    && decisions::records_views(&who)
                {
                    let s = decisions::shown(&need, &offer, ctx, 0, x.score_milli);
                    decisions::record_explained(store, &who, &need.id, s);
                }
                e
            }))
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
            check_rankable(&who, &need)?;
            let joint = [FundingMode::JointlyFunded, FundingMode::PooledIoFund];
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
                let (ranked, offers): (Vec<Ranked>, HashMap<String, Offer>) = {
                    let e = app.matching.engine.read().unwrap_or_else(PoisonError::into_inner);
                    let ranked = e.offers_for_need(&need, ctx, usize::MAX, &mut Work::default());
                    let offers = ranked.iter().filter_map(|r| e.offers().get(&r.id).map(|o| (r.id.clone(), o.into_owned()))).collect();
                    (ranked, offers)
                };
                let mut contenders = Vec::new();
                for r in &ranked {
                    let Some(o) = offers.get(&r.id) else { continue };
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
                let mut members = Vec::new();
                for m in &c.members {
                    if let Some(o) = store.get::<Offer>(&m.offer_id)? {
                        members.push(visibility::redact_offer(&who, o));
                    }
                }
                Ok(SuggestedConsortium { consortium: c, offers: members, considered: contenders.len(), base: ctx.rates.base })
            })
        })
        .await
    }

    /// The settings in force.
    pub fn matching_settings(&self) -> MatchingSettings {
        self.matching.settings()
    }

    /// Changes the policy fields named in `mask` to their values in `values`, checking
    /// the etag (required) and validating the result.
    pub async fn update_policy(
        &self,
        who: &Principal,
        values: Policy,
        mask: Vec<String>,
        etag: Option<u64>,
    ) -> Result<MatchingSettings, ApiError> {
        let mut v = Violations::new("");
        if etag.is_none() {
            v.add(
                "policy.etag",
                "is required; send the etag from GetMatchingPolicy",
            );
        }
        if mask.is_empty() {
            v.add(
                "update_mask",
                "is required; name the fields to change, e.g. [\"language_weight\"]",
            );
        }
        for (i, path) in mask.iter().enumerate() {
            if !POLICY_FIELDS.contains(&path.as_str()) {
                v.add(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "'{}' is not a field of the matching policy; use one of {}",
                        crate::app::short(path),
                        POLICY_FIELDS.join(", ")
                    ),
                );
            }
        }
        v.into_result()?;
        let (app, who) = (self.clone(), who.clone());
        self.write(move |store| {
            let now = clock::now();
            let updated = store.update_unchecked::<MatchingSettings, ApiError>(
                MatchingSettings::ID,
                etag,
                &meta(&who, "settings.policy", now, None),
                |cur| {
                    let mut p = policy_of(cur);
                    for path in &mask {
                        apply_policy_field(&mut p, &values, path);
                    }
                    p.validate()?;
                    let mut next = cur.clone();
                    next.weights = p.weights.to_array();
                    next.gates = p.gates.to_array();
                    next.top_k = u32::try_from(p.top_k).unwrap_or(20);
                    next.exact_consortium_max = u32::try_from(p.exact_consortium_max).unwrap_or(16);
                    next.updated_at = now;
                    Ok(next)
                },
            )?;
            app.matching.apply_settings(updated.clone());
            tracing::info!(version = updated.version, "matching policy updated");
            Ok(updated)
        })
        .await
    }

    /// Replaces the exchange-rate table, checking the etag of the settings (required).
    pub async fn set_exchange_rates(
        &self,
        who: &Principal,
        base: String,
        rates: Vec<(String, String)>,
        etag: Option<u64>,
    ) -> Result<MatchingSettings, ApiError> {
        let mut v = Violations::new("");
        if etag.is_none() {
            v.add(
                "etag",
                "is required; send policy.etag from GetMatchingPolicy",
            );
        }
        let base_code = CurrencyCode::parse(&base);
        if base_code.is_none() {
            v.add(
                "base_currency_code",
                format!(
                    "'{}' is not an ISO 4217 currency code",
                    crate::app::short(&base)
                ),
            );
        }
        v.count("rates", rates.len(), 0, 200);
        let mut table = Vec::new();
        if rates.len() <= 200 {
            for (i, (c, r)) in rates.iter().enumerate() {
                let code = CurrencyCode::parse(c);
                if code.is_none() {
                    v.add(
                        format!("rates[{i}].currency_code"),
                        format!(
                            "'{}' is not an ISO 4217 currency code",
                            crate::app::short(c)
                        ),
                    );
                }
                let rate = Rate::parse(r);
                if rate.is_none() {
                    v.add(
                        format!("rates[{i}].rate"),
                        format!(
                            "'{}' is not a positive decimal with at most 9 decimals",
                            crate::app::short(r)
                        ),
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
        }
        v.into_result()?;
        let base_code =
            base_code.ok_or_else(|| ApiError::Internal("base currency vanished".into()))?;
        let (app, who) = (self.clone(), who.clone());
        self.write(move |store| {
            let now = clock::now();
            let updated = store.update_unchecked::<MatchingSettings, ApiError>(MatchingSettings::ID, etag, &meta(&who, "settings.rates", now, None), |cur| {
                let mut next = cur.clone();
                next.base_currency = base_code;
                next.rates.clone_from(&table);
                next.updated_at = now;
                Ok(next)
            })?;
            app.matching.apply_settings(updated.clone());
            tracing::info!(base = %updated.base_currency, rates = updated.rates.len(), "exchange rates updated");
            Ok(updated)
        })
        .await
    }
}

/// The fields of the matching policy an update mask may name.
pub const POLICY_FIELDS: &[&str] = &[
    "thematic_weight",
    "geography_weight",
    "funding_weight",
    "budget_weight",
    "assistance_weight",
    "timing_weight",
    "language_weight",
    "domain_weight",
    "specificity_weight",
    "missing_kinds_penalty",
    "no_common_language_penalty",
    "single_donor_shortfall_penalty",
    "top_k",
    "exact_consortium_max",
];

fn apply_policy_field(p: &mut Policy, src: &Policy, path: &str) {
    let (w, s) = (&mut p.weights, &src.weights);
    match path {
        "thematic_weight" => w.thematic = s.thematic,
        "geography_weight" => w.geography = s.geography,
        "funding_weight" => w.funding = s.funding,
        "budget_weight" => w.budget = s.budget,
        "assistance_weight" => w.assistance = s.assistance,
        "timing_weight" => w.timing = s.timing,
        "language_weight" => w.language = s.language,
        "domain_weight" => w.domain = s.domain,
        "specificity_weight" => w.specificity = s.specificity,
        "missing_kinds_penalty" => p.gates.missing_kinds = src.gates.missing_kinds,
        "no_common_language_penalty" => p.gates.no_common_language = src.gates.no_common_language,
        "single_donor_shortfall_penalty" => {
            p.gates.single_donor_shortfall = src.gates.single_donor_shortfall
        }
        "top_k" => p.top_k = src.top_k,
        "exact_consortium_max" => p.exact_consortium_max = src.exact_consortium_max,
        _ => {}
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
    /// The engine's read lock is held only while the inputs are copied out, so a long
    /// plan never holds up index updates or candidate queries.
    pub async fn plan_allocation(&self, filter: PlanFilter) -> Result<PlannedAllocation, ApiError> {
        self.plan_allocation_then(filter, || {}).await
    }

    /// [`App::plan_allocation`], running `while_planning` once the inputs are copied out
    /// of the engine and before the plan is computed (tests look at the engine's lock
    /// from there).
    async fn plan_allocation_then(
        &self,
        filter: PlanFilter,
        while_planning: impl FnOnce() + Send + 'static,
    ) -> Result<PlannedAllocation, ApiError> {
        use clearinghouse_matching::allocation;
        let app = self.clone();
        // On the planner thread: a plan keeps a core busy and must not take it from calls.
        self.planner
            .run(move || {
                app.matching.with_ctx(NeedStage::Circulated, |ctx| {
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
                    // On a copy: the lock is held for the copy, not for the whole plan, so
                    // writers (`follow`) are not held back while it is computed.
                    let snapshot = app.matching.engine_read().snapshot();
                    let inputs = allocation::inputs(&snapshot, ctx, &keep_need, &keep_offer);
                    while_planning();
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clearinghouse_domain::{PrincipalId, transition::Actor};
    use clearinghouse_storage::StoreOptions;

    use super::*;
    use crate::app::test_support::{
        NOW, active_offer, app_on_temp_store, app_with_one_offer_and_one_need, circulated_need,
        provider_of_france, system_meta,
    };

    #[test]
    fn a_packed_index_ranks_plans_and_compacts_as_one_of_whole_records() {
        use clearinghouse_matching::{
            allocation, naive, slim,
            synth::{self, Shape},
        };

        for seed in [1u64, 7, 42] {
            let data = synth::generate(
                seed,
                Shape {
                    needs: 120,
                    offers: 400,
                    planted_pct: 20,
                },
            );
            let (policy, rates) = (Policy::default(), synth::rates());
            let ctx = FitContext {
                policy: &policy,
                rates: &rates,
                today: data.today,
                stage: NeedStage::Circulated,
            };
            // Every slim record comes back from its packed bytes exactly.
            let (pn, po) = (packing::<Need>(), packing::<Offer>());
            for n in &data.needs {
                let s = slim::need(n.clone());
                let bytes = (pn.pack)(&s).expect("a need packs");
                assert_eq!((pn.unpack)(&bytes).as_ref(), Some(&s), "need {}", s.id.0);
            }
            for o in &data.offers {
                let s = slim::offer(o.clone());
                let bytes = (po.pack)(&s).expect("an offer packs");
                assert_eq!((po.unpack)(&bytes).as_ref(), Some(&s), "offer {}", s.id.0);
            }
            let build = |packed: bool| {
                let (mut offers, mut needs) = if packed {
                    (Postings::packed(po), Postings::packed(pn))
                } else {
                    (Postings::new(), Postings::new())
                };
                offers.set_compact_after(16);
                needs.set_compact_after(16);
                for o in &data.offers {
                    Engine::index_offer(&mut offers, o.clone());
                }
                for n in &data.needs {
                    Engine::index_need(&mut needs, n.clone());
                }
                Engine::untracked_from(offers, needs)
            };
            let (mut whole, mut packed) = (build(false), build(true));
            let mut w = Work::default();
            // Two offers in three leave: the offers' slots are compacted.
            for (i, o) in data.offers.iter().enumerate() {
                if !i.is_multiple_of(3) {
                    assert!(whole.remove_offer(&o.id.0, o.version, &ctx, &mut w));
                    assert!(packed.remove_offer(&o.id.0, o.version, &ctx, &mut w));
                }
            }
            // So do two needs in three, leaving the needs' slots compacted too.
            let gone = |i: usize| !i.is_multiple_of(3) && i.is_multiple_of(2);
            for (i, n) in data.needs.iter().enumerate() {
                if !i.is_multiple_of(3) {
                    assert!(whole.remove_need(&n.id.0, n.version));
                    assert!(packed.remove_need(&n.id.0, n.version));
                }
            }
            // Half of those come back, newer: the same need in a new slot.
            for (i, n) in data.needs.iter().enumerate() {
                if gone(i) {
                    let mut back = n.clone();
                    back.version += 1;
                    assert!(whole.upsert_need(back.clone(), &ctx, &mut w));
                    assert!(packed.upsert_need(back, &ctx, &mut w));
                }
            }
            assert!(packed.offers().generation() > 0, "no compaction of offers");
            assert!(packed.needs().generation() > 0, "no compaction of needs");
            let live = packed.offers().live_slots().next().expect("a live offer");
            assert!(
                packed.offers().packed_at(live).is_some(),
                "offers are not packed"
            );
            for n in &data.needs {
                assert_eq!(
                    whole.offers_for_need(n, &ctx, 10, &mut w),
                    packed.offers_for_need(n, &ctx, 10, &mut w)
                );
            }
            let keep = |n: &Need| n.id.0.bytes().last().is_some_and(|b| b % 2 == 0);
            // The filter is asked only of needs that could enter the top-k: the answer is
            // the all-pairs ranking of the needs it accepts.
            let kept: Vec<Need> = packed
                .needs()
                .iter()
                .map(|n| n.into_owned())
                .filter(|n| keep(n))
                .collect();
            for o in &data.offers {
                let first = whole.needs_for_offer_where(o, &ctx, 5, &keep, &mut w);
                assert_eq!(first, naive::needs_for_offer(o, &kept, &ctx, 5, &mut w));
                assert_eq!(
                    first,
                    packed.needs_for_offer_where(o, &ctx, 5, &keep, &mut w)
                );
                // The next page, after the first page's last need.
                let after = first.last().cloned();
                assert_eq!(
                    whole.needs_for_offer_after(o, &ctx, 5, after.clone(), &keep, &mut w),
                    packed.needs_for_offer_after(o, &ctx, 5, after, &keep, &mut w)
                );
            }
            let plan =
                |e: &Engine| format!("{:?}", allocation::inputs(e, &ctx, &|_| true, &|_| true));
            assert_eq!(plan(&whole), plan(&packed));
        }
    }

    fn held(m: &Matching, id: &str) -> Option<u64> {
        m.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .offers()
            .get(id)
            .map(|o| o.version)
    }

    /// Settings are applied by version: a late copy of an older version (a slow writer,
    /// another replica's feed) never replaces a newer one.
    #[test]
    fn an_older_settings_version_applied_late_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            &StoreOptions {
                cache_capacity_bytes: 16 << 20,
                sync_fault: None,
            },
        )
        .expect("store");
        let matching = Matching::load(&store, NOW).expect("matching");
        let first = matching.settings();
        let mut newer = first.clone();
        newer.version = first.version + 2;
        newer.weights = [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
        let mut older = first.clone();
        older.version = first.version + 1;
        matching.apply_settings(newer.clone());
        matching.apply_settings(older);
        assert_eq!(matching.settings(), newer, "the newer version stays");
        matching.apply_settings(first);
        assert_eq!(
            matching.settings(),
            newer,
            "and the first one does not come back"
        );
    }

    /// Writes the engine never heard of (a call cancelled between the write and the index
    /// update, another replica) reach it by following the audit trail, in order, and a
    /// stale copy applied late changes nothing.
    #[test]
    fn the_index_follows_the_store_whatever_the_writers_did() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            &StoreOptions {
                cache_capacity_bytes: 16 << 20,
                sync_fault: None,
            },
        )
        .expect("store");
        let matching = Matching::load(&store, NOW).expect("matching");
        let meta = |action: &str| WriteMeta {
            actor: PrincipalId::system(),
            action: action.into(),
            now: NOW,
            idempotency: None,
        };
        store
            .create(active_offer("O1"), &meta("offer.create"))
            .expect("create");
        assert_eq!(
            held(&matching, "O1"),
            None,
            "written behind the index's back"
        );
        matching.follow(&store);
        assert_eq!(held(&matching, "O1"), Some(1));
        let stale = store.get::<Offer>("O1").expect("get").expect("offer");
        let withdrawn = store
            .update_unchecked::<Offer, ApiError>("O1", None, &meta("offer.withdraw"), |o| {
                Ok(o.withdraw(Actor::Provider, &PrincipalId::system(), NOW, "gone")?)
            })
            .expect("withdraw");
        assert_eq!(withdrawn.version, 2);
        matching.follow(&store);
        assert_eq!(held(&matching, "O1"), None, "withdrawn offers leave");
        // A late copy of version 1 (a write path that lost the race) is ignored.
        matching.apply_offer(&stale);
        assert_eq!(
            held(&matching, "O1"),
            None,
            "an older version never comes back"
        );
        assert_eq!(
            matching.applied(),
            store.audit_watermark().expect("watermark")
        );
    }

    /// The engine's copy of a need can be behind the store (a write whose call was
    /// cancelled before the index followed, another replica's write not yet fed): every
    /// need a provider is answered with is read again from the store and its visibility
    /// checked on that copy, so a need that has just become committee-only never reaches
    /// the provider, even while the engine still holds it as public.
    #[tokio::test]
    async fn needs_for_an_offer_are_read_again_so_a_stale_engine_copy_never_reaches_a_provider() {
        use clearinghouse_domain::Visibility;
        let (_dir, app, store) = app_with_one_offer_and_one_need();
        let france = provider_of_france();
        let found = app
            .find_needs_for_offer(&france, "O1".into(), None, 10)
            .await
            .expect("find");
        let ids: Vec<&str> = found.items.iter().map(|f| f.item.id.0.as_str()).collect();
        assert_eq!(ids, ["N1"], "a public circulated need is found");

        // Behind the index's back: the need becomes committee-only.
        store
            .update_unchecked::<Need, ApiError>("N1", None, &system_meta("need.consent"), |n| {
                let mut n = n.clone();
                n.fields.visibility = Visibility::CommitteeOnly;
                Ok(n)
            })
            .expect("withhold");
        let engine_copy = app
            .matching
            .engine_read()
            .needs()
            .get("N1")
            .map(|n| n.fields.visibility);
        assert_eq!(
            engine_copy,
            Some(Visibility::Public),
            "the engine is stale, as after a cancelled call"
        );
        let found = app
            .find_needs_for_offer(&france, "O1".into(), None, 10)
            .await
            .expect("find");
        assert!(
            found.items.is_empty(),
            "a committee-only need reached a provider: {:?}",
            found.items.iter().map(|f| &f.item.id).collect::<Vec<_>>()
        );
    }

    /// `PlanAllocation` copies what it needs out of the engine and lets the lock go before
    /// planning: with std's writer-preferring lock, a plan holding the read guard would
    /// hold back every index write and, behind that write, every candidate query.
    #[tokio::test]
    async fn a_plan_does_not_hold_the_engine_lock_while_it_is_computed() {
        let (_dir, app, _store) = app_with_one_offer_and_one_need();
        let matching = Arc::clone(&app.matching);
        let (tx, rx) = std::sync::mpsc::channel();
        let planned = app
            .plan_allocation_then(PlanFilter::default(), move || {
                // An index write can take the lock while the plan is being computed.
                let free = matching.engine.try_write().is_ok();
                tx.send(free).expect("send");
            })
            .await
            .expect("plan");
        assert_eq!(
            rx.recv().ok(),
            Some(true),
            "the engine's lock was held while planning"
        );
        assert_eq!((planned.needs, planned.offers), (1, 1), "the plan saw both");
    }

    /// The engine keeps slim copies (no titles, descriptions, histories or contacts), but
    /// every candidate and consortium member a caller receives is the whole record as
    /// stored: read again from the store, never the engine's copy.
    #[tokio::test]
    async fn candidates_and_consortia_carry_the_whole_stored_records_not_the_engines_copies() {
        use clearinghouse_domain::{Money, need::Contact};

        use crate::app::test_support::principal;
        let (_dir, app) = app_on_temp_store();
        let store = Arc::clone(&app.store);
        let contact = Contact {
            name: "Desk officer".into(),
            email: "desk@example.org".into(),
            phone: "+33 1 00 00 00 00".into(),
            organization: "Ministry".into(),
        };
        let mut offer = active_offer("O1");
        offer.fields.funding_modes = vec![FundingMode::SingleDonor, FundingMode::JointlyFunded];
        offer.fields.contact = contact.clone();
        offer.fields.eligibility_notes = "States of the region".into();
        store
            .create(offer, &system_meta("offer.create"))
            .expect("offer");
        let mut need = circulated_need("N1");
        need.fields.accepted_funding_modes = vec![FundingMode::JointlyFunded];
        need.fields.estimated_budget = Some(Money {
            currency: CurrencyCode::USD,
            minor_units: 5_000_000,
        });
        need.fields.contact = contact.clone();
        need.fields.public_summary = "Customs training".into();
        store
            .create(need, &system_meta("need.create"))
            .expect("need");
        app.matching.follow(&store);
        let stored_need = store.get::<Need>("N1").expect("get").expect("need");
        let stored_offer = store.get::<Offer>("O1").expect("get").expect("offer");
        {
            let engine = app.matching.engine_read();
            let n = engine.needs().get("N1").expect("indexed need");
            let o = engine.offers().get("O1").expect("indexed offer");
            assert!(
                n.fields.title.is_empty()
                    && n.fields.description.is_empty()
                    && n.history.is_empty(),
                "the engine keeps a slim need"
            );
            assert!(
                o.fields.programme_name.is_empty() && o.fields.description.is_empty(),
                "the engine keeps a slim offer"
            );
        }
        let broker = principal("b1", Role::Broker, None);

        let offers = app
            .find_offers_for_need(&broker, "N1".into(), None, 10)
            .await
            .expect("find offers");
        let found: Vec<&Offer> = offers.items.iter().map(|f| &f.item).collect();
        assert_eq!(
            found,
            [&stored_offer],
            "the offer as stored, contact included"
        );

        let needs = app
            .find_needs_for_offer(&broker, "O1".into(), None, 10)
            .await
            .expect("find needs");
        let found: Vec<&Need> = needs.items.iter().map(|f| &f.item).collect();
        assert_eq!(found, [&stored_need], "the need as stored");
        assert_eq!(found[0].fields.title, "Training of customs officers");
        assert_eq!(found[0].fields.description, "Training on control lists");
        assert!(!found[0].history.is_empty());

        let consortium = app
            .suggest_consortium(&broker, "N1".into())
            .await
            .expect("consortium");
        assert_eq!(consortium.offers, [stored_offer], "members as stored");
    }
}
