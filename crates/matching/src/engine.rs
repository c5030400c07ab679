//! The indexed engine: offers and open needs in posting lists, a bounded top-k of
//! candidate offers per need, kept current incrementally — a changed offer rescores only
//! the needs sharing its posting lists.

use std::{borrow::Cow, collections::HashMap};

use clearinghouse_domain::{Need, Offer, Timestamp};

use crate::{
    features::{self, NeedFeatures, OfferFeatures},
    fit::{self, Capacity, FitContext},
    index::{Change, Indexed, Packing, Postings, Prepared},
    naive::Work,
    rank::{Borrowed, BorrowedTopK, Ranked, sort_ranked},
    slim,
};

/// A record the engine ranks: one the caller holds, or the one in a slot of the
/// engine's postings (read, and decoded when packed, only when it is needed).
enum Rec<'a, T: Indexed> {
    /// Held by the caller.
    Held(&'a T),
    /// In this slot of these postings.
    Slot(&'a Postings<T>, u32),
}

impl<T: Indexed> Clone for Rec<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Indexed> Copy for Rec<'_, T> {}

impl<'a, T: Indexed> Rec<'a, T> {
    fn id(&self) -> &'a str {
        match *self {
            Rec::Held(t) => t.id(),
            Rec::Slot(p, s) => p.id_at(s).unwrap_or_default(),
        }
    }

    fn record(&self) -> Option<Cow<'a, T>> {
        match *self {
            Rec::Held(t) => Some(Cow::Borrowed(t)),
            Rec::Slot(p, s) => p.record(s),
        }
    }
}

/// One need–offer pair as the engine ranks it: both records (for the debug checks and
/// the rare pair whose features cannot score it), both features, and the two amounts in
/// the base currency of the call's rates.
#[derive(Clone, Copy)]
struct Pair<'a> {
    need: Rec<'a, Need>,
    nf: &'a NeedFeatures,
    budget: Option<Result<i64, ()>>,
    offer: Rec<'a, Offer>,
    of: &'a OfferFeatures,
    capacity: Capacity,
}

/// Which side of a pair is the candidate being ranked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Candidate {
    /// Offers ranked for a need.
    Offer,
    /// Needs ranked for an offer.
    Need,
}

impl<'a> Pair<'a> {
    /// The candidate with its score; the id is read from its slot only here, for a pair
    /// entering the top-k, so ranking touches no record otherwise.
    fn ranked(&self, side: Candidate, score_milli: u32) -> Borrowed<'a> {
        let (created_at, id) = match side {
            Candidate::Offer => (self.of.created_at, self.offer.id()),
            Candidate::Need => (self.nf.created_at, self.need.id()),
        };
        Borrowed {
            score_milli,
            created_at: Timestamp(created_at),
            id,
        }
    }

    /// `f` over both records (`None` when one cannot be read back).
    fn with_records<R>(&self, f: impl FnOnce(&Need, &Offer) -> R) -> Option<R> {
        let (need, offer) = (self.need.record()?, self.offer.record()?);
        Some(f(&need, &offer))
    }

    /// The pair's score, from the features when they can give it, else from the records
    /// (`None` when a record cannot be read back: the pair is left out).
    fn score(&self, from_features: Option<u32>, ctx: &FitContext<'_>) -> Option<u32> {
        from_features.or_else(|| self.with_records(|n, o| fit::score(n, o, ctx)))
    }
}

/// Runs one pair through the filters and, unless its score (or, when the features cannot
/// give it, its upper bound) cannot enter `top`, takes its score from `cache` or counts
/// it as computed; `side` says which side of the pair is the candidate. `keep`, when
/// given, is asked of a need only once its pair could enter `top` (so a packed need is
/// decoded only then); what enters is the same as if it had been asked first.
fn consider<'a>(
    top: &mut BorrowedTopK<'a>,
    pair: Pair<'a>,
    side: Candidate,
    ctx: &FitContext<'_>,
    work: &mut Work,
    cache: Option<(&mut NeedScores, u32)>,
    keep: Option<&dyn Fn(&Need) -> bool>,
) {
    work.filtered += 1;
    let passes = features::passes(pair.nf, pair.of, ctx.today, ctx.stage);
    debug_assert!(
        pair.with_records(|n, o| fit::passes(n, o, ctx) == passes)
            .unwrap_or(true),
        "features disagree with fit::passes"
    );
    if !passes {
        return;
    }
    let from_features = features::score(pair.nf, pair.of, pair.budget, pair.capacity, ctx);
    debug_assert!(
        from_features.is_none_or(|s| pair
            .with_records(|n, o| s == fit::score(n, o, ctx))
            .unwrap_or(true)),
        "features score {from_features:?} differs from fit::score"
    );
    let bound = from_features.unwrap_or_else(|| features::upper_bound(pair.nf, pair.of, ctx));
    if !top.admits(bound) {
        return;
    }
    if let Some(keep) = keep
        && !pair.need.record().is_some_and(|n| keep(&n))
    {
        return;
    }
    let score = match cache {
        Some((scores, oslot)) => scores.get_or_insert(oslot, pair.of.version, work, || {
            pair.score(from_features, ctx)
        }),
        None => {
            work.scored += 1;
            pair.score(from_features, ctx)
        }
    };
    let Some(score_milli) = score else {
        return;
    };
    debug_assert!(
        pair.with_records(|n, o| score_milli == fit::score(n, o, ctx))
            .unwrap_or(true),
        "cached score is stale"
    );
    debug_assert!(
        bound >= score_milli,
        "upper bound {bound} below score {score_milli}"
    );
    if top.admits(score_milli) {
        top.push(pair.ranked(side, score_milli));
    }
}

/// The cached scores of one need (at one version) against offer slots: `(offer slot,
/// offer version, score)` sorted by slot from earlier re-matches, and those added by the
/// current one until [`NeedScores::settle`] merges them in. One need's scores sit
/// together, so a re-match reads them in a few cache lines, not one hash probe each.
#[derive(Debug, Default, Clone)]
struct NeedScores {
    version: u64,
    sorted: Vec<(u32, u64, u32)>,
    fresh: Vec<(u32, u64, u32)>,
}

impl NeedScores {
    /// The score cached for `oslot` at `version`, or the one `compute` gives (kept).
    fn get_or_insert(
        &mut self,
        oslot: u32,
        version: u64,
        work: &mut Work,
        compute: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        match self.sorted.binary_search_by_key(&oslot, |e| e.0) {
            Ok(i) => match self.sorted.get_mut(i) {
                Some(e) if e.1 == version => {
                    work.cached += 1;
                    Some(e.2)
                }
                Some(e) => {
                    work.scored += 1;
                    let s = compute()?;
                    *e = (oslot, version, s);
                    Some(s)
                }
                None => compute(),
            },
            Err(_) => {
                work.scored += 1;
                let s = compute()?;
                self.fresh.push((oslot, version, s));
                Some(s)
            }
        }
    }

    /// Merges the scores added since the last call into the sorted ones.
    fn settle(&mut self) -> usize {
        if !self.fresh.is_empty() {
            self.sorted.append(&mut self.fresh);
            self.sorted.sort_unstable_by_key(|e| e.0);
        }
        self.sorted.len()
    }
}

/// Scores of pairs by need slot, then offer slot, with the versions they were computed
/// for; valid while the policy, rates, date and slot numbering (the postings'
/// generations) stay the same (the fingerprint).
#[derive(Debug, Default)]
struct ScoreCache {
    fingerprint: u64,
    needs: Vec<NeedScores>,
    total: usize,
}

/// Most cached scores kept before the cache starts over.
const CACHE_LIMIT: usize = 4_000_000;

fn fingerprint(ctx: &FitContext<'_>, generations: (u64, u64)) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    generations.hash(&mut h);
    for w in ctx.policy.scoring_parameters() {
        w.to_bits().hash(&mut h);
    }
    ctx.rates.base.as_str().hash(&mut h);
    for (c, r) in &ctx.rates.to_base {
        (c.as_str(), r.num, r.den).hash(&mut h);
    }
    (ctx.today.0, ctx.stage == crate::fit::NeedStage::Circulated).hash(&mut h);
    h.finish()
}

impl ScoreCache {
    fn ready_for(&mut self, ctx: &FitContext<'_>, generations: (u64, u64)) {
        let f = fingerprint(ctx, generations);
        if f != self.fingerprint || self.total > CACHE_LIMIT {
            self.needs.clear();
            self.total = 0;
            self.fingerprint = f;
        }
    }

    /// The scores of the need in `slot` at `version` (emptied when they were for another
    /// version).
    fn for_need(&mut self, slot: u32, version: u64) -> Option<&mut NeedScores> {
        let i = slot as usize;
        if self.needs.len() <= i {
            self.needs.resize_with(i + 1, NeedScores::default);
        }
        let scores = self.needs.get_mut(i)?;
        if scores.version != version {
            *scores = NeedScores {
                version,
                ..NeedScores::default()
            };
        }
        Some(scores)
    }
}

/// Offers, needs and, when tracked, each need's current top-k. The engine keeps the
/// [`slim`] copy of every record it is given: what matching reads, not the free text,
/// history and contacts (a record for a caller is read again from the store).
#[derive(Debug, Default)]
pub struct Engine {
    offers: Postings<Offer>,
    needs: Postings<Need>,
    top: HashMap<String, Vec<Ranked>>,
    k: usize,
    track_top: bool,
    cache: ScoreCache,
}

impl Engine {
    /// An empty engine keeping each need's best `k` candidates current as offers change
    /// (incremental re-matching).
    pub fn new(k: usize) -> Engine {
        Engine {
            k,
            track_top: true,
            ..Engine::default()
        }
    }

    /// An empty engine that only indexes: candidate queries rank fresh, and a change
    /// costs only its posting-list update (what a server answering queries needs).
    pub fn untracked() -> Engine {
        Engine::default()
    }

    /// An engine that only indexes (as [`Engine::untracked`]) over posting lists filled
    /// with [`Engine::index_offer`] and [`Engine::index_need`], e.g. each on its own
    /// thread while a server starts.
    pub fn untracked_from(offers: Postings<Offer>, needs: Postings<Need>) -> Engine {
        Engine {
            offers,
            needs,
            ..Engine::default()
        }
    }

    /// Adds `offer` to `offers` as an untracked engine's [`Engine::upsert_offer`] does (its
    /// [`slim`] copy, version-monotonic); returns whether it applied.
    pub fn index_offer(offers: &mut Postings<Offer>, offer: Offer) -> bool {
        offers.apply_upsert(slim::offer(offer))
    }

    /// Adds `need` to `needs` as an untracked engine's [`Engine::upsert_need`] does (its
    /// [`slim`] copy, version-monotonic); returns whether it applied.
    pub fn index_need(needs: &mut Postings<Need>, need: Need) -> bool {
        needs.apply_upsert(slim::need(need))
    }

    /// The slim copy of `offer` made ready for postings packing with `packing`, `bytes`
    /// being that copy's packed form ([`Prepared::new`]); then [`Postings::upsert_prepared`]
    /// adds it as [`Engine::index_offer`] would.
    pub fn prepare_offer(offer: Offer, bytes: Vec<u8>, packing: Packing<Offer>) -> Prepared<Offer> {
        Prepared::new(slim::offer(offer), Some(bytes), Some(packing))
    }

    /// As [`Engine::prepare_offer`], for a need.
    pub fn prepare_need(need: Need, bytes: Vec<u8>, packing: Packing<Need>) -> Prepared<Need> {
        Prepared::new(slim::need(need), Some(bytes), Some(packing))
    }

    /// Compacts the posting lists after `dead` replaced or removed items (instead of
    /// [`crate::index::COMPACT_AFTER`]); tests use small values to reach compaction.
    #[must_use]
    pub fn compact_after(mut self, dead: usize) -> Engine {
        self.offers.set_compact_after(dead);
        self.needs.set_compact_after(dead);
        self
    }

    /// A copy of the offers, needs and tracked top-k as they are now, with an empty score
    /// cache: long read-only work (an allocation plan over every need) runs on it, so
    /// whoever holds the engine behind a lock holds that lock only for the copy and writers
    /// are not held back for the whole computation. Answers from the copy equal the
    /// engine's at the moment of the copy.
    pub fn snapshot(&self) -> Engine {
        Engine {
            offers: self.offers.clone(),
            needs: self.needs.clone(),
            top: self.top.clone(),
            k: self.k,
            track_top: self.track_top,
            cache: ScoreCache::default(),
        }
    }

    /// How many times the offers' and the needs' slots were renumbered.
    pub fn generations(&self) -> (u64, u64) {
        (self.needs.generation(), self.offers.generation())
    }

    /// The offers.
    pub fn offers(&self) -> &Postings<Offer> {
        &self.offers
    }

    /// The needs.
    pub fn needs(&self) -> &Postings<Need> {
        &self.needs
    }

    /// Best `k` offers for `need` (which need not be in the engine), through the index.
    pub fn offers_for_need(
        &self,
        need: &Need,
        ctx: &FitContext<'_>,
        k: usize,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.rank_offers_fresh(need, ctx, (k, None), work)
    }

    /// The next `k` offers for `need` ranked after `after` (a page of the ranking that
    /// neither repeats nor skips a candidate whose score did not change).
    pub fn offers_for_need_after(
        &self,
        need: &Need,
        ctx: &FitContext<'_>,
        k: usize,
        after: Option<Ranked>,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.rank_offers_fresh(need, ctx, (k, after), work)
    }

    /// Ranks offers for `need`; with `cache` (the need's cached scores), scores are looked
    /// up by offer slot and version before being computed; `capacities` holds each offer
    /// slot's capacity under the call's rates when the caller converted them already.
    #[allow(clippy::too_many_arguments)]
    fn rank_offers<'a>(
        &'a self,
        (need, keys): (Rec<'a, Need>, &[usize]),
        nf: &'a NeedFeatures,
        mut cache: Option<&mut NeedScores>,
        capacities: Option<&[Capacity]>,
        seen: &mut Vec<u64>,
        ctx: &FitContext<'_>,
        mut top: BorrowedTopK<'a>,
        work: &mut Work,
    ) -> Vec<Ranked> {
        let budget = features::budget_in(nf, ctx.rates);
        self.offers.for_each_sharing(keys, seen, |oslot, of| {
            let capacity = capacities
                .and_then(|c| c.get(oslot as usize).copied())
                .unwrap_or_else(|| features::capacity_in(of, ctx.rates));
            consider(
                &mut top,
                Pair {
                    need,
                    nf,
                    budget,
                    offer: Rec::Slot(&self.offers, oslot),
                    of,
                    capacity,
                },
                Candidate::Offer,
                ctx,
                work,
                cache.as_deref_mut().map(|c| (c, oslot)),
                None,
            );
        });
        top.into_sorted()
    }

    /// Ranks offers for a need that is not (or need not be) in the engine.
    fn rank_offers_fresh(
        &self,
        need: &Need,
        ctx: &FitContext<'_>,
        (k, after): (usize, Option<Ranked>),
        work: &mut Work,
    ) -> Vec<Ranked> {
        let nf = NeedFeatures::of(need);
        let top = BorrowedTopK::after(k, after);
        let keys = need.keys();
        self.rank_offers(
            (Rec::Held(need), &keys),
            &nf,
            None,
            None,
            &mut Vec::new(),
            ctx,
            top,
            work,
        )
    }

    /// Best `k` needs in the engine for `offer`, through the index.
    pub fn needs_for_offer(
        &self,
        offer: &Offer,
        ctx: &FitContext<'_>,
        k: usize,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.rank_needs(offer, ctx, (k, None), None, work)
    }

    /// Best `k` needs accepted by `keep` (e.g. what the caller may see) for `offer`.
    pub fn needs_for_offer_where(
        &self,
        offer: &Offer,
        ctx: &FitContext<'_>,
        k: usize,
        keep: &dyn Fn(&Need) -> bool,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.needs_for_offer_after(offer, ctx, k, None, keep, work)
    }

    /// The next `k` needs accepted by `keep` for `offer`, ranked after `after`.
    pub fn needs_for_offer_after(
        &self,
        offer: &Offer,
        ctx: &FitContext<'_>,
        k: usize,
        after: Option<Ranked>,
        keep: &dyn Fn(&Need) -> bool,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.rank_needs(offer, ctx, (k, after), Some(keep), work)
    }

    /// Ranks the needs (those `keep` accepts, when given) for `offer`.
    fn rank_needs(
        &self,
        offer: &Offer,
        ctx: &FitContext<'_>,
        (k, after): (usize, Option<Ranked>),
        keep: Option<&dyn Fn(&Need) -> bool>,
        work: &mut Work,
    ) -> Vec<Ranked> {
        let mut top = BorrowedTopK::after(k, after);
        let of = OfferFeatures::of(offer);
        let capacity = features::capacity_in(&of, ctx.rates);
        self.needs
            .for_each_sharing(&offer.keys(), &mut Vec::new(), |slot, nf| {
                consider(
                    &mut top,
                    Pair {
                        need: Rec::Slot(&self.needs, slot),
                        nf,
                        budget: features::budget_in(nf, ctx.rates),
                        offer: Rec::Held(offer),
                        of: &of,
                        capacity,
                    },
                    Candidate::Need,
                    ctx,
                    work,
                    None,
                    keep,
                );
            });
        top.into_sorted()
    }

    /// The kept top-k of a need.
    pub fn top_for(&self, need_id: &str) -> &[Ranked] {
        self.top.get(need_id).map_or(&[], Vec::as_slice)
    }

    /// Recomputes every need's top-k (the full re-match). Each offer's capacity is
    /// converted once under the call's rates, each need's budget once per need, and each
    /// pair is filtered and scored from the features beside the posting lists.
    pub fn rematch_all(&mut self, ctx: &FitContext<'_>, work: &mut Work) {
        let mut cache = std::mem::take(&mut self.cache);
        cache.ready_for(ctx, self.generations());
        let capacities: Vec<Capacity> = self
            .offers
            .slot_features()
            .iter()
            .map(|of| features::capacity_in(of, ctx.rates))
            .collect();
        let mut seen = Vec::new();
        let mut tops: HashMap<String, Vec<Ranked>> = HashMap::with_capacity(self.needs.len());
        let mut total = 0;
        for slot in self.needs.live_slots() {
            let (Some(nf), Some(need), Some(id)) = (
                self.needs.features_at(slot),
                self.needs.record(slot),
                self.needs.id_at(slot),
            ) else {
                continue;
            };
            let mut scores = cache.for_need(slot, need.version);
            let top = self.rank_offers(
                (Rec::Slot(&self.needs, slot), &need.keys()),
                nf,
                scores.as_deref_mut(),
                Some(&capacities),
                &mut seen,
                ctx,
                BorrowedTopK::after(self.k, None),
                work,
            );
            total += scores.map_or(0, NeedScores::settle);
            tops.insert(id.to_owned(), top);
        }
        cache.total = total;
        self.cache = cache;
        self.top = tops;
    }

    /// Adds or replaces a need (and, when tracked, computes its top-k); ignored when the
    /// engine holds this version or a newer one. Returns whether it applied.
    pub fn upsert_need(&mut self, need: Need, ctx: &FitContext<'_>, work: &mut Work) -> bool {
        let top = self
            .track_top
            .then(|| self.offers_for_need(&need, ctx, self.k, work));
        let id = need.id.0.clone();
        let applied = self.needs.apply_upsert(slim::need(need));
        if applied && let Some(top) = top {
            self.top.insert(id, top);
        }
        applied
    }

    /// Removes a need as of `version`, unless a newer version is held.
    pub fn remove_need(&mut self, id: &str, version: u64) -> bool {
        let applied = self.needs.apply_remove(id, version);
        if applied {
            self.top.remove(id);
        }
        applied
    }

    /// Adds or replaces an offer (and, when tracked, updates the top-k of the needs it
    /// can affect); ignored when the engine holds this version or a newer one.
    pub fn upsert_offer(&mut self, offer: Offer, ctx: &FitContext<'_>, work: &mut Work) -> bool {
        let offer = slim::offer(offer);
        // The refresh needs the new offer after the index took it: a copy, when tracked.
        let Some(new) = self.track_top.then(|| offer.clone()) else {
            return self.offers.apply_upsert(offer);
        };
        match self.offers.upsert(offer) {
            Change::Stale => false,
            Change::Applied(old) => {
                self.refresh_after_offer_change(old.as_ref(), Some(&new), ctx, work);
                true
            }
        }
    }

    /// Removes an offer as of `version` (and, when tracked, updates the top-k of the
    /// needs that listed it), unless a newer version is held.
    pub fn remove_offer(
        &mut self,
        id: &str,
        version: u64,
        ctx: &FitContext<'_>,
        work: &mut Work,
    ) -> bool {
        if !self.track_top {
            return self.offers.apply_remove(id, version);
        }
        match self.offers.remove(id, version) {
            Change::Stale => false,
            Change::Applied(old) => {
                self.refresh_after_offer_change(old.as_ref(), None, ctx, work);
                true
            }
        }
    }

    fn refresh_after_offer_change(
        &mut self,
        old: Option<&Offer>,
        new: Option<&Offer>,
        ctx: &FitContext<'_>,
        work: &mut Work,
    ) {
        let mut keys: Vec<usize> = old.map(Indexed::keys).unwrap_or_default();
        keys.extend(new.map(Indexed::keys).unwrap_or_default());
        keys.sort_unstable();
        keys.dedup();
        let Some(id) = old.or(new).map(|o| o.id.0.clone()) else {
            return;
        };
        let changed = new.map(|o| {
            let of = OfferFeatures::of(o);
            let capacity = features::capacity_in(&of, ctx.rates);
            (o, of, capacity)
        });
        let mut seen = Vec::new();
        // The needs sharing a posting list with the offer, by slot: a need's record is
        // read only when its top-k is recomputed (or for the debug checks).
        for slot in self.needs.slots_sharing(&keys) {
            let (Some(nf), Some(need_id)) = (self.needs.features_at(slot), self.needs.id_at(slot))
            else {
                continue;
            };
            let need = Rec::Slot(&self.needs, slot);
            let list = self.top.entry(need_id.to_owned()).or_default();
            let was_full = list.len() >= self.k;
            let had = list.iter().position(|r| r.id == id);
            if let Some(i) = had {
                list.remove(i);
                if was_full {
                    // Something below the cut may now belong in the top-k: recompute.
                    let Some(rec) = need.record() else {
                        continue;
                    };
                    let top = BorrowedTopK::after(self.k, None);
                    let fresh = self.rank_offers(
                        (need, &rec.keys()),
                        nf,
                        None,
                        None,
                        &mut seen,
                        ctx,
                        top,
                        work,
                    );
                    self.top.insert(need_id.to_owned(), fresh);
                    continue;
                }
            }
            if let Some((offer, of, capacity)) = &changed {
                work.filtered += 1;
                let pair = Pair {
                    need,
                    nf,
                    budget: features::budget_in(nf, ctx.rates),
                    offer: Rec::Held(offer),
                    of,
                    capacity: *capacity,
                };
                let passes = features::passes(nf, of, ctx.today, ctx.stage);
                debug_assert!(
                    pair.with_records(|n, o| fit::passes(n, o, ctx) == passes)
                        .unwrap_or(true),
                    "features disagree with fit::passes"
                );
                let from_features = passes.then(|| {
                    work.scored += 1;
                    features::score(nf, of, pair.budget, pair.capacity, ctx)
                });
                if let Some(score_milli) = from_features.and_then(|f| pair.score(f, ctx)) {
                    let r = Ranked {
                        score_milli,
                        created_at: Timestamp(of.created_at),
                        id: id.clone(),
                    };
                    debug_assert!(
                        pair.with_records(|n, o| r.score_milli == fit::score(n, o, ctx))
                            .unwrap_or(true)
                    );
                    if let Some(list) = self.top.get_mut(need_id) {
                        list.push(r);
                        sort_ranked(list);
                        list.truncate(self.k);
                    }
                }
            }
        }
    }
}
