//! Posting lists keyed by thematic sub-area × place × funding mode, a place being an M49
//! region or a country. An offer is listed under every sub-area it covers (directly or
//! through its area), in every region its scope reaches (globally, by region or by
//! sub-region) and every country it names outside those, for each funding mode it works
//! in; a need under its sub-areas, in its country's region and in its country, for each
//! mode it accepts. A pair that passes the thematic, geographic and funding filters always
//! shares a list (a sub-area covered, the need's country reached through its region or
//! named, a mode in common), so looking candidates up in the lists and then running the
//! full filters finds exactly what checking every pair finds; an offer naming a few
//! countries is not examined for the other countries of their region, nor an offer for a
//! need accepting none of its modes.

use std::{borrow::Cow, collections::HashMap, hash::BuildHasher};

use hashbrown::{DefaultHashBuilder, HashTable};

use clearinghouse_domain::{FundingMode, Need, Offer, SubArea, geo};

use crate::features::{NeedFeatures, OfferFeatures, regions};

fn region_of_country(iso3: &str) -> Option<usize> {
    let c = geo::country(iso3)?;
    regions().iter().position(|r| *r == c.region)
}

fn region_of_subregion(sub: &str) -> Option<usize> {
    let c = geo::countries().iter().find(|c| c.subregion == sub)?;
    regions().iter().position(|r| *r == c.region)
}

fn sub_index(s: SubArea) -> usize {
    SubArea::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// Places per sub-area: every region, then every country of the table.
fn places() -> usize {
    regions().len() + geo::countries().len()
}

/// The list of a sub-area, a place (a region index, or the number of regions plus a
/// country index) and a funding mode.
fn key(sub: SubArea, place: usize, mode: usize) -> usize {
    (sub_index(sub) * places() + place) * FundingMode::ALL.len() + mode
}

/// Indices of the modes in `modes`, each once.
fn mode_indices(modes: &[FundingMode]) -> Vec<usize> {
    let mut out: Vec<usize> = modes
        .iter()
        .filter_map(|m| FundingMode::ALL.iter().position(|x| x == m))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Something kept in posting lists.
pub trait Indexed: Clone + PartialEq {
    /// Compact filter features kept beside the item.
    type Features: Copy;
    /// Id.
    fn id(&self) -> &str;
    /// Version of the stored record it was built from (updates only move forward).
    fn version(&self) -> u64;
    /// Posting-list keys.
    fn keys(&self) -> Vec<usize>;
    /// Its filter features.
    fn features(&self) -> Self::Features;
}

impl Indexed for Offer {
    type Features = OfferFeatures;
    fn features(&self) -> OfferFeatures {
        OfferFeatures::of(self)
    }
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn keys(&self) -> Vec<usize> {
        let f = &self.fields;
        let mut regs: Vec<usize> = if f.scope.global {
            (0..regions().len()).collect()
        } else {
            f.scope
                .regions
                .iter()
                .filter_map(|r| regions().iter().position(|x| x == r))
                .chain(
                    f.scope
                        .subregions
                        .iter()
                        .filter_map(|s| region_of_subregion(s)),
                )
                .collect()
        };
        regs.sort_unstable();
        regs.dedup();
        // Named countries outside the regions already listed (a country inside one is
        // found through the region's list).
        let mut countries: Vec<usize> = f
            .scope
            .countries
            .iter()
            .filter(|c| region_of_country(c).is_some_and(|r| !regs.contains(&r)))
            .filter_map(|c| geo::country_index(c))
            .collect();
        countries.sort_unstable();
        countries.dedup();
        let places: Vec<usize> = regs
            .iter()
            .copied()
            .chain(countries.iter().map(|c| regions().len() + c))
            .collect();
        let modes = mode_indices(&f.funding_modes);
        let (places, modes) = (&places, &modes);
        let subs = SubArea::ALL.iter().copied().filter(|s| f.covers(*s));
        let mut keys: Vec<usize> = subs
            .flat_map(|s| {
                places
                    .iter()
                    .flat_map(move |p| modes.iter().map(move |m| key(s, *p, *m)))
            })
            .collect();
        keys.sort_unstable();
        keys
    }
}

impl Indexed for Need {
    type Features = NeedFeatures;
    fn features(&self) -> NeedFeatures {
        NeedFeatures::of(self)
    }
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn keys(&self) -> Vec<usize> {
        let country = &self.fields.country_code;
        let (Some(r), Some(c)) = (region_of_country(country), geo::country_index(country)) else {
            return Vec::new();
        };
        let modes = mode_indices(&self.fields.accepted_funding_modes);
        let mut keys: Vec<usize> = self
            .fields
            .sub_areas
            .iter()
            .flat_map(|s| [r, regions().len() + c].map(|p| (*s, p)))
            .flat_map(|(s, p)| modes.iter().map(move |m| key(s, p, *m)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// How a [`Postings`] keeps its items: `pack` turns one into bytes, `unpack` reads them
/// back whole (a storage record codec, for instance). A packed item costs its encoded
/// length instead of its in-memory size; reading it back decodes it. `unpack(pack(x))`
/// must equal `x`.
pub struct Packing<T> {
    /// The item's bytes, or `None` to keep this item whole.
    pub pack: fn(&T) -> Option<Vec<u8>>,
    /// The item from its bytes, or `None` when they do not decode.
    pub unpack: fn(&[u8]) -> Option<T>,
}

impl<T> Clone for Packing<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Packing<T> {}

impl<T> std::fmt::Debug for Packing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Packing")
    }
}

/// An item as a slot holds it.
#[derive(Debug, Clone)]
enum Held<T> {
    /// The item itself, boxed so that checking a slot reads a pointer.
    Whole(Box<T>),
    /// Its bytes under the postings' [`Packing`].
    Packed(Box<[u8]>),
}

/// A live slot: the item's id and version (read without decoding it) and the item.
#[derive(Debug, Clone)]
struct Slot<T> {
    id: Box<str>,
    version: u64,
    held: Held<T>,
}

/// The id of the live item in `slot`.
fn slot_id<T>(slots: &[Option<Slot<T>>], slot: u32) -> Option<&str> {
    slots.get(slot as usize)?.as_ref().map(|s| &*s.id)
}

/// An item made ready to enter [`Postings`]: its id, version, posting-list keys and
/// features computed, and the item packed (or kept whole). Making it is the costly part
/// of an insert and needs no access to the postings, so a loader can do it on the thread
/// that decoded the item and hand only this over.
#[derive(Debug)]
pub struct Prepared<T: Indexed> {
    slot: Slot<T>,
    keys: Vec<usize>,
    features: T::Features,
    packing: Option<Packing<T>>,
}

impl<T: Indexed> Prepared<T> {
    /// `item` ready for postings using `packing`; `bytes`, when given, are taken as its
    /// packed form (what `packing` gives for it, e.g. read from a file in that encoding)
    /// instead of packing it again. Without a packing the item is kept whole.
    pub fn new(item: T, bytes: Option<Vec<u8>>, packing: Option<Packing<T>>) -> Prepared<T> {
        let packed = packing.and_then(|p| bytes.or_else(|| (p.pack)(&item)));
        debug_assert!(
            packed.as_ref().is_none_or(|b| packing
                .and_then(|p| (p.unpack)(b))
                .is_some_and(|back| back == item)),
            "packed bytes that do not give the item back"
        );
        let (keys, features) = (item.keys(), item.features());
        let (id, version) = (item.id().into(), item.version());
        let held = match packed {
            Some(bytes) => Held::Packed(bytes.into_boxed_slice()),
            None => Held::Whole(Box::new(item)),
        };
        Prepared {
            slot: Slot { id, version, held },
            keys,
            features,
            packing,
        }
    }
}

/// Items in posting lists. Slots of replaced or removed items stay empty until a
/// compaction renumbers every slot (and bumps [`Postings::generation`]). Changes are
/// version-monotonic: an item older than the one held, or than a removal, is ignored,
/// so a late update can never bring back what a newer one replaced or removed.
///
/// Items are kept whole, or packed into bytes with a [`Packing`] ([`Postings::packed`]);
/// ranking reads only ids, versions and features, so a packed item is decoded only when
/// its record is asked for ([`Postings::get`], [`Postings::record`], [`Postings::iter`])
/// or when [`Postings::upsert`] and [`Postings::remove`] hand back the item they
/// replaced ([`Postings::apply_upsert`] and [`Postings::apply_remove`] do not).
#[derive(Debug, Clone)]
pub struct Postings<T: Indexed> {
    slots: Vec<Option<Slot<T>>>,
    feats: Vec<T::Features>,
    /// The slot of each live id, keyed by the id kept in the slot (held once).
    by_id: HashTable<u32>,
    /// Hashes ids for `by_id` (foldhash, seeded per process).
    ids: DefaultHashBuilder,
    lists: Vec<Vec<u32>>,
    dead: usize,
    /// Version at which each removed id left (a later upsert must be newer).
    removed: HashMap<String, u64>,
    generation: u64,
    /// Dead slots tolerated before a compaction (also at most half of all slots).
    compact_after: usize,
    packing: Option<Packing<T>>,
}

/// Dead slots a [`Postings`] tolerates by default before compacting.
pub const COMPACT_AFTER: usize = 1024;

/// What an upsert or removal did.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// Applied; the item it replaced or removed, if any.
    Applied(Option<T>),
    /// Ignored: the index already holds this version or a newer one (or a newer removal).
    Stale,
}

impl<T: Indexed> Default for Postings<T> {
    fn default() -> Self {
        Postings {
            slots: Vec::new(),
            feats: Vec::new(),
            by_id: HashTable::new(),
            ids: DefaultHashBuilder::default(),
            lists: vec![Vec::new(); SubArea::ALL.len() * places() * FundingMode::ALL.len()],
            dead: 0,
            removed: HashMap::new(),
            generation: 0,
            compact_after: COMPACT_AFTER,
            packing: None,
        }
    }
}

impl<T: Indexed> Postings<T> {
    /// An empty index keeping its items whole.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index keeping its items packed with `packing`.
    pub fn packed(packing: Packing<T>) -> Self {
        Postings {
            packing: Some(packing),
            ..Self::default()
        }
    }

    /// The version held for `id` (live or removed), if any.
    pub fn version_of(&self, id: &str) -> Option<u64> {
        self.slot_of(id)
            .map(|s| s.version)
            .or_else(|| self.removed.get(id).copied())
    }

    fn slot_of(&self, id: &str) -> Option<&Slot<T>> {
        let slot = *self.by_id.find(self.ids.hash_one(id), |&s| {
            slot_id(&self.slots, s) == Some(id)
        })?;
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Adds or replaces an item unless a version at least as new is held or was removed.
    pub fn upsert(&mut self, item: T) -> Change<T> {
        self.upsert_with(item, None)
    }

    fn upsert_with(&mut self, item: T, bytes: Option<Vec<u8>>) -> Change<T> {
        let prepared = Prepared::new(item, bytes, self.packing);
        match self.put(prepared) {
            None => Change::Stale,
            Some(old) => Change::Applied(old.and_then(|h| self.unpacked(h))),
        }
    }

    /// As [`Postings::upsert`], without reading back the item it replaces (nothing is
    /// decoded); returns whether it applied.
    pub fn apply_upsert(&mut self, item: T) -> bool {
        let prepared = Prepared::new(item, None, self.packing);
        self.put(prepared).is_some()
    }

    /// As [`Postings::apply_upsert`], for an item made ready with [`Prepared::new`] (on
    /// another thread, say, so that its record is dropped where it was decoded).
    pub fn upsert_prepared(&mut self, item: Prepared<T>) -> bool {
        self.put(item).is_some()
    }

    /// Adds or replaces `item` unless a version at least as new is held or was removed:
    /// `None` when ignored, else what it replaced, as held.
    fn put(&mut self, item: Prepared<T>) -> Option<Option<Held<T>>> {
        if self
            .version_of(&item.slot.id)
            .is_some_and(|v| v >= item.slot.version)
        {
            return None;
        }
        if self.packing.is_none() {
            self.packing = item.packing;
        }
        self.removed.remove(&*item.slot.id);
        let old = self.take(&item.slot.id);
        self.insert(item);
        Some(old)
    }

    /// Removes an item as of `version` (the version of the record that left), unless a
    /// newer version is held; remembers the removal so older upserts stay out.
    pub fn remove(&mut self, id: &str, version: u64) -> Change<T> {
        match self.drop_item(id, version) {
            None => Change::Stale,
            Some(old) => Change::Applied(old.and_then(|h| self.unpacked(h))),
        }
    }

    /// As [`Postings::remove`], without reading back the item removed (nothing is
    /// decoded); returns whether it applied.
    pub fn apply_remove(&mut self, id: &str, version: u64) -> bool {
        self.drop_item(id, version).is_some()
    }

    fn drop_item(&mut self, id: &str, version: u64) -> Option<Option<Held<T>>> {
        if self.version_of(id).is_some_and(|v| v > version) {
            return None;
        }
        self.removed.insert(id.to_owned(), version);
        Some(self.take(id))
    }

    fn insert(&mut self, item: Prepared<T>) {
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        for k in item.keys {
            self.lists[k].push(slot);
        }
        let hash = self.ids.hash_one(&*item.slot.id);
        self.feats.push(item.features);
        self.slots.push(Some(item.slot));
        let (slots, ids) = (&self.slots, &self.ids);
        self.by_id.insert_unique(hash, slot, |&s| {
            ids.hash_one(slot_id(slots, s).unwrap_or_default())
        });
    }

    fn take(&mut self, id: &str) -> Option<Held<T>> {
        let hash = self.ids.hash_one(id);
        let slots = &self.slots;
        let (slot, _) = self
            .by_id
            .find_entry(hash, |&s| slot_id(slots, s) == Some(id))
            .ok()?
            .remove();
        let old = self.slots.get_mut(slot as usize)?.take();
        self.dead += 1;
        if self.dead > self.compact_after && self.dead * 2 > self.slots.len() {
            self.compact();
        }
        old.map(|s| s.held)
    }

    fn unpacked(&self, held: Held<T>) -> Option<T> {
        match held {
            Held::Whole(b) => Some(*b),
            Held::Packed(bytes) => self.unpack(&bytes),
        }
    }

    /// The item from its packed bytes. They were made by this postings' packing (or
    /// given as its output), whose `unpack` gives every packed item back: a failure is
    /// a broken packing, which debug builds stop at; a release build answers `None`, and
    /// the engine then leaves the pair out rather than score it.
    fn unpack(&self, bytes: &[u8]) -> Option<T> {
        let item = self.packing.and_then(|p| (p.unpack)(bytes));
        debug_assert!(item.is_some(), "packed bytes that do not unpack");
        item
    }

    /// Renumbers the live slots densely, in their order: every posting list keeps its
    /// live slots in the same (ascending) order under their new numbers.
    fn compact(&mut self) {
        let mut renumbered: Vec<Option<u32>> = Vec::with_capacity(self.slots.len());
        let mut next = 0u32;
        for s in &self.slots {
            renumbered.push(s.as_ref().map(|_| {
                next += 1;
                next - 1
            }));
        }
        let new_of = |s: &u32| renumbered.get(*s as usize).copied().flatten();
        for list in &mut self.lists {
            *list = list.iter().filter_map(new_of).collect();
        }
        let slots = std::mem::take(&mut self.slots);
        let feats = std::mem::take(&mut self.feats);
        for (slot, f) in slots.into_iter().zip(feats) {
            if let Some(slot) = slot {
                self.slots.push(Some(slot));
                self.feats.push(f);
            }
        }
        // A slot's hash is its id's, which moves with it: only the numbers change.
        for s in self.by_id.iter_mut() {
            if let Some(n) = renumbered.get(*s as usize).copied().flatten() {
                *s = n;
            } else {
                debug_assert!(false, "a live id in the dead slot {s}");
            }
        }
        self.dead = 0;
        self.generation += 1;
    }

    /// Gives back memory the vectors and maps grew into beyond what they hold (after
    /// filling the index in one go, e.g. at start).
    pub fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
        self.feats.shrink_to_fit();
        let (slots, ids) = (&self.slots, &self.ids);
        self.by_id
            .shrink_to_fit(|&s| ids.hash_one(slot_id(slots, s).unwrap_or_default()));
        self.removed.shrink_to_fit();
        for l in &mut self.lists {
            l.shrink_to_fit();
        }
    }

    /// Sets how many dead slots are tolerated before a compaction.
    pub fn set_compact_after(&mut self, dead: usize) {
        self.compact_after = dead;
    }

    /// Bumped whenever a compaction renumbers the slots: anything keyed by slot must be
    /// dropped when it changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn view<'a>(&'a self, slot: &'a Slot<T>) -> Option<Cow<'a, T>> {
        match &slot.held {
            Held::Whole(b) => Some(Cow::Borrowed(&**b)),
            Held::Packed(bytes) => self.unpack(bytes).map(Cow::Owned),
        }
    }

    /// The item with this id (decoded when packed).
    pub fn get(&self, id: &str) -> Option<Cow<'_, T>> {
        self.view(self.slot_of(id)?)
    }

    /// Every live item, in insertion order (each decoded when packed).
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, T>> {
        self.slots.iter().flatten().filter_map(|s| self.view(s))
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every live slot, ascending (a slot names one inserted version of an item).
    pub fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// The id of the live item in `slot`.
    pub fn id_at(&self, slot: u32) -> Option<&str> {
        self.slots.get(slot as usize)?.as_ref().map(|s| &*s.id)
    }

    /// The version of the live item in `slot`.
    pub fn version_at(&self, slot: u32) -> Option<u64> {
        self.slots.get(slot as usize)?.as_ref().map(|s| s.version)
    }

    /// The live item in `slot` (decoded when packed).
    pub fn record(&self, slot: u32) -> Option<Cow<'_, T>> {
        self.view(self.slots.get(slot as usize)?.as_ref()?)
    }

    /// The bytes of the live item in `slot` when it is packed (its [`Packing`]'s
    /// encoding), `None` when it is kept whole or the slot is dead.
    pub fn packed_at(&self, slot: u32) -> Option<&[u8]> {
        match &self.slots.get(slot as usize)?.as_ref()?.held {
            Held::Packed(bytes) => Some(bytes),
            Held::Whole(_) => None,
        }
    }

    /// The features of the live item in `slot`.
    pub fn features_at(&self, slot: u32) -> Option<&T::Features> {
        self.slots.get(slot as usize)?.as_ref()?;
        self.feats.get(slot as usize)
    }

    /// Calls `f` with the slot and features of each live item sharing at least one of
    /// `keys`, once, in posting-list order; `seen` is scratch space a caller may reuse
    /// across calls.
    pub fn for_each_sharing<'a>(
        &'a self,
        keys: &[usize],
        seen: &mut Vec<u64>,
        mut f: impl FnMut(u32, &'a T::Features),
    ) {
        seen.clear();
        seen.resize(self.slots.len().div_ceil(64), 0);
        for k in keys {
            for &s in self.lists.get(*k).map_or(&[][..], Vec::as_slice) {
                let (word, bit) = ((s / 64) as usize, 1u64 << (s % 64));
                let Some(w) = seen.get_mut(word) else {
                    continue;
                };
                if *w & bit == 0 {
                    *w |= bit;
                    if let Some(feats) = self.features_at(s) {
                        f(s, feats);
                    }
                }
            }
        }
    }

    /// The features of every slot, by slot (a dead slot keeps its last item's).
    pub fn slot_features(&self) -> &[T::Features] {
        &self.feats
    }

    /// Slots of the live items sharing at least one of `keys`, ascending, each once.
    pub fn slots_sharing(&self, keys: &[usize]) -> Vec<u32> {
        let mut slots: Vec<u32> = keys
            .iter()
            .filter_map(|k| self.lists.get(*k))
            .flat_map(|l| l.iter().copied())
            .filter(|s| self.slots.get(*s as usize).is_some_and(Option::is_some))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Live items sharing at least one of `keys`, each once (decoded when packed).
    pub fn sharing(&self, keys: &[usize]) -> Vec<Cow<'_, T>> {
        self.slots_sharing(keys)
            .into_iter()
            .filter_map(|s| self.record(s))
            .collect()
    }
}
