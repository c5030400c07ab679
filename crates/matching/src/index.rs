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

use std::collections::HashMap;

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
pub trait Indexed: Clone {
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

/// Items in posting lists. Slots of replaced or removed items stay empty until a
/// compaction renumbers every slot (and bumps [`Postings::generation`]). Changes are
/// version-monotonic: an item older than the one held, or than a removal, is ignored,
/// so a late update can never bring back what a newer one replaced or removed.
#[derive(Debug, Clone)]
pub struct Postings<T: Indexed> {
    /// Boxed so that checking a slot reads a pointer, not the item's own memory.
    slots: Vec<Option<Box<T>>>,
    feats: Vec<T::Features>,
    by_id: HashMap<String, u32>,
    lists: Vec<Vec<u32>>,
    dead: usize,
    /// Version at which each removed id left (a later upsert must be newer).
    removed: HashMap<String, u64>,
    generation: u64,
    /// Dead slots tolerated before a compaction (also at most half of all slots).
    compact_after: usize,
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
            by_id: HashMap::new(),
            lists: vec![Vec::new(); SubArea::ALL.len() * places() * FundingMode::ALL.len()],
            dead: 0,
            removed: HashMap::new(),
            generation: 0,
            compact_after: COMPACT_AFTER,
        }
    }
}

impl<T: Indexed> Postings<T> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The version held for `id` (live or removed), if any.
    pub fn version_of(&self, id: &str) -> Option<u64> {
        self.get(id)
            .map(Indexed::version)
            .or_else(|| self.removed.get(id).copied())
    }

    /// Adds or replaces an item unless a version at least as new is held or was removed.
    pub fn upsert(&mut self, item: T) -> Change<T> {
        if self
            .version_of(item.id())
            .is_some_and(|v| v >= item.version())
        {
            return Change::Stale;
        }
        self.removed.remove(item.id());
        let old = self.take(item.id());
        self.insert(item);
        Change::Applied(old)
    }

    /// Removes an item as of `version` (the version of the record that left), unless a
    /// newer version is held; remembers the removal so older upserts stay out.
    pub fn remove(&mut self, id: &str, version: u64) -> Change<T> {
        if self.version_of(id).is_some_and(|v| v > version) {
            return Change::Stale;
        }
        self.removed.insert(id.to_owned(), version);
        Change::Applied(self.take(id))
    }

    fn insert(&mut self, item: T) {
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        for k in item.keys() {
            self.lists[k].push(slot);
        }
        self.by_id.insert(item.id().to_owned(), slot);
        self.feats.push(item.features());
        self.slots.push(Some(Box::new(item)));
    }

    fn take(&mut self, id: &str) -> Option<T> {
        let slot = self.by_id.remove(id)?;
        let old = self.slots.get_mut(slot as usize)?.take().map(|b| *b);
        self.dead += 1;
        if self.dead > self.compact_after && self.dead * 2 > self.slots.len() {
            self.compact();
        }
        old
    }

    fn compact(&mut self) {
        let items: Vec<T> = std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .map(|b| *b)
            .collect();
        let removed = std::mem::take(&mut self.removed);
        let (generation, compact_after) = (self.generation + 1, self.compact_after);
        *self = Self::default();
        for i in items {
            self.insert(i);
        }
        self.removed = removed;
        self.generation = generation;
        self.compact_after = compact_after;
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

    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.slots.get(*self.by_id.get(id)? as usize)?.as_deref()
    }

    /// Every live item, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().map(|b| &**b)
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every live item with its slot (a slot names one inserted version of an item).
    pub fn iter_slots(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.as_deref()
                .map(|t| (u32::try_from(i).unwrap_or(u32::MAX), t))
        })
    }

    /// Live items sharing at least one of `keys`, each once, with their slot and features.
    pub fn sharing_with_features(&self, keys: &[usize]) -> Vec<(u32, &T, &T::Features)> {
        let mut out = Vec::new();
        self.for_each_sharing(keys, &mut Vec::new(), |s, item, f| out.push((s, item, f)));
        out
    }

    /// Calls `f` with each live item sharing at least one of `keys`, once, in posting-list
    /// order, with its slot and features; `seen` is scratch space a caller may reuse
    /// across calls.
    pub fn for_each_sharing<'a>(
        &'a self,
        keys: &[usize],
        seen: &mut Vec<u64>,
        mut f: impl FnMut(u32, &'a T, &'a T::Features),
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
                    if let Some((item, feats)) = self.at(s) {
                        f(s, item, feats);
                    }
                }
            }
        }
    }

    /// The live item in `slot` with its features.
    pub fn at(&self, slot: u32) -> Option<(&T, &T::Features)> {
        let item = self.slots.get(slot as usize)?.as_deref()?;
        Some((item, self.feats.get(slot as usize)?))
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

    /// Live items sharing at least one of `keys`, each once.
    pub fn sharing(&self, keys: &[usize]) -> Vec<&T> {
        let mut slots: Vec<u32> = keys
            .iter()
            .flat_map(|k| self.lists[*k].iter().copied())
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
            .into_iter()
            .filter_map(|s| self.slots[s as usize].as_deref())
            .collect()
    }
}
