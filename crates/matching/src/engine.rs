//! The indexed engine: offers and open needs in posting lists, a bounded top-k of
//! candidate offers per need, kept current incrementally — a changed offer rescores only
//! the needs sharing its posting lists.

use std::collections::HashMap;

use clearinghouse_domain::{Need, Offer};

use crate::{
    features::{self, NeedFeatures, OfferFeatures},
    fit::{self, FitContext},
    index::{Change, Indexed, Postings},
    naive::Work,
    rank::{Ranked, TopK, sort_ranked},
};

/// Runs one pair through the filters and, unless its score's upper bound cannot enter
/// `top`, scores it with `score` (computed or cached); the candidate is `(created_at, id)`
/// of whichever side is ranked.
fn consider(
    top: &mut TopK,
    (need, nf): (&Need, &NeedFeatures),
    (offer, of): (&Offer, &OfferFeatures),
    candidate: (clearinghouse_domain::Timestamp, &str),
    ctx: &FitContext<'_>,
    work: &mut Work,
    score: &mut dyn FnMut(&mut Work) -> u32,
) {
    work.filtered += 1;
    let passes = features::passes(nf, of, ctx.today, ctx.stage);
    debug_assert_eq!(
        passes,
        fit::passes(need, offer, ctx),
        "features disagree with fit::passes"
    );
    if !passes {
        return;
    }
    let bound = features::upper_bound(nf, of, ctx);
    if !top.admits(bound) {
        return;
    }
    let score_milli = score(work);
    debug_assert_eq!(
        score_milli,
        fit::score(need, offer, ctx),
        "cached score is stale"
    );
    debug_assert!(
        bound >= score_milli,
        "upper bound {bound} below score {score_milli}"
    );
    if top.admits(score_milli) {
        top.push(Ranked {
            score_milli,
            created_at: candidate.0,
            id: candidate.1.to_owned(),
        });
    }
}

/// Scores of pairs keyed by (need slot, offer slot) with the versions they were computed
/// for; valid while the policy, rates, date and slot numbering (the postings'
/// generations) stay the same (the fingerprint).
#[derive(Debug, Default)]
struct ScoreCache {
    fingerprint: u64,
    scores: HashMap<(u32, u32), (u64, u64, u32), std::hash::BuildHasherDefault<SlotHasher>>,
}

/// A multiplicative hasher for the cache's (slot, slot) keys: the keys are small integers
/// chosen by the engine, never by a client, so a keyed hash buys nothing here.
#[derive(Debug, Default, Clone, Copy)]
struct SlotHasher(u64);

impl std::hash::Hasher for SlotHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
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
        if f != self.fingerprint || self.scores.len() > CACHE_LIMIT {
            self.scores.clear();
            self.fingerprint = f;
        }
    }
}

/// Offers, needs and, when tracked, each need's current top-k.
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
        self.rank_offers(need, None, ctx, TopK::new(k), work)
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
        self.rank_offers(need, None, ctx, TopK::after(k, after), work)
    }

    /// Ranks offers for `need`; with `cached` (the need's slot and the cache), scores are
    /// looked up by (need, version, offer, version) before being computed.
    fn rank_offers(
        &self,
        need: &Need,
        cached: Option<(u32, &mut ScoreCache)>,
        ctx: &FitContext<'_>,
        mut top: TopK,
        work: &mut Work,
    ) -> Vec<Ranked> {
        let nf = NeedFeatures::of(need);
        let mut cached = cached;
        for (oslot, o, of) in self.offers.sharing_with_features(&need.keys()) {
            let mut score = |work: &mut Work| match cached.as_mut() {
                Some((nslot, cache)) => {
                    let key = (*nslot, oslot);
                    match cache.scores.get(&key) {
                        Some(&(nv, ov, s)) if nv == need.version && ov == of.version => {
                            work.cached += 1;
                            s
                        }
                        _ => {
                            work.scored += 1;
                            let s = fit::score(need, o, ctx);
                            cache.scores.insert(key, (need.version, of.version, s));
                            s
                        }
                    }
                }
                None => {
                    work.scored += 1;
                    fit::score(need, o, ctx)
                }
            };
            consider(
                &mut top,
                (need, &nf),
                (o, of),
                (clearinghouse_domain::Timestamp(of.created_at), &o.id.0),
                ctx,
                work,
                &mut score,
            );
        }
        top.into_sorted()
    }

    /// Best `k` needs in the engine for `offer`, through the index.
    pub fn needs_for_offer(
        &self,
        offer: &Offer,
        ctx: &FitContext<'_>,
        k: usize,
        work: &mut Work,
    ) -> Vec<Ranked> {
        self.needs_for_offer_where(offer, ctx, k, &|_| true, work)
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
        let mut top = TopK::after(k, after);
        let of = OfferFeatures::of(offer);
        for (_, n, nf) in self.needs.sharing_with_features(&offer.keys()) {
            if keep(n) {
                let mut score = |work: &mut Work| {
                    work.scored += 1;
                    fit::score(n, offer, ctx)
                };
                consider(
                    &mut top,
                    (n, nf),
                    (offer, &of),
                    (clearinghouse_domain::Timestamp(nf.created_at), &n.id.0),
                    ctx,
                    work,
                    &mut score,
                );
            }
        }
        top.into_sorted()
    }

    /// The kept top-k of a need.
    pub fn top_for(&self, need_id: &str) -> &[Ranked] {
        self.top.get(need_id).map_or(&[], Vec::as_slice)
    }

    /// Recomputes every need's top-k (the full re-match).
    pub fn rematch_all(&mut self, ctx: &FitContext<'_>, work: &mut Work) {
        let mut cache = std::mem::take(&mut self.cache);
        cache.ready_for(ctx, self.generations());
        let tops: HashMap<String, Vec<Ranked>> = self
            .needs
            .iter_slots()
            .map(|(slot, n)| {
                (
                    n.id.0.clone(),
                    self.rank_offers(n, Some((slot, &mut cache)), ctx, TopK::new(self.k), work),
                )
            })
            .collect();
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
        match self.needs.upsert(need) {
            Change::Stale => false,
            Change::Applied(_) => {
                if let Some(top) = top {
                    self.top.insert(id, top);
                }
                true
            }
        }
    }

    /// Removes a need as of `version`, unless a newer version is held.
    pub fn remove_need(&mut self, id: &str, version: u64) -> bool {
        match self.needs.remove(id, version) {
            Change::Stale => false,
            Change::Applied(_) => {
                self.top.remove(id);
                true
            }
        }
    }

    /// Adds or replaces an offer (and, when tracked, updates the top-k of the needs it
    /// can affect); ignored when the engine holds this version or a newer one.
    pub fn upsert_offer(&mut self, offer: Offer, ctx: &FitContext<'_>, work: &mut Work) -> bool {
        match self.offers.upsert(offer.clone()) {
            Change::Stale => false,
            Change::Applied(old) => {
                if self.track_top {
                    self.refresh_after_offer_change(old.as_ref(), Some(&offer), ctx, work);
                }
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
        match self.offers.remove(id, version) {
            Change::Stale => false,
            Change::Applied(old) => {
                if self.track_top {
                    self.refresh_after_offer_change(old.as_ref(), None, ctx, work);
                }
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
        let affected: Vec<Need> = self.needs.sharing(&keys).into_iter().cloned().collect();
        for need in affected {
            let list = self.top.entry(need.id.0.clone()).or_default();
            let was_full = list.len() >= self.k;
            let had = list.iter().position(|r| r.id == id);
            if let Some(i) = had {
                list.remove(i);
                if was_full {
                    // Something below the cut may now belong in the top-k: recompute.
                    let fresh = self.offers_for_need(&need, ctx, self.k, work);
                    self.top.insert(need.id.0.clone(), fresh);
                    continue;
                }
            }
            if let Some(o) = new {
                work.filtered += 1;
                if fit::passes(&need, o, ctx) {
                    work.scored += 1;
                    let r = Ranked {
                        score_milli: fit::score(&need, o, ctx),
                        created_at: o.created_at,
                        id: id.clone(),
                    };
                    let list = self.top.entry(need.id.0.clone()).or_default();
                    list.push(r);
                    sort_ranked(list);
                    list.truncate(self.k);
                }
            }
        }
    }
}
