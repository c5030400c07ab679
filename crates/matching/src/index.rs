//! Posting lists keyed by thematic sub-area × M49 region. An offer is listed under every
//! sub-area it covers (directly or through its area) in every region its scope touches; a
//! need under its sub-areas in its country's region. A pair that passes the thematic and
//! geographic filters always shares a list, so looking candidates up in the lists and
//! then running the full filters finds exactly what checking every pair finds.

use std::collections::HashMap;

use clearinghouse_domain::{Need, Offer, SubArea, geo};

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

fn key(sub: SubArea, region: usize) -> usize {
    sub_index(sub) * regions().len() + region
}

/// Something kept in posting lists.
pub trait Indexed: Clone {
    /// Compact filter features kept beside the item.
    type Features: Copy;
    /// Id.
    fn id(&self) -> &str;
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
                .chain(
                    f.scope
                        .countries
                        .iter()
                        .filter_map(|c| region_of_country(c)),
                )
                .collect()
        };
        regs.sort_unstable();
        regs.dedup();
        let subs = SubArea::ALL.iter().copied().filter(|s| f.covers(*s));
        let mut keys: Vec<usize> = subs
            .flat_map(|s| regs.iter().map(move |r| key(s, *r)))
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
    fn keys(&self) -> Vec<usize> {
        let Some(r) = region_of_country(&self.fields.country_code) else {
            return Vec::new();
        };
        let mut keys: Vec<usize> = self.fields.sub_areas.iter().map(|s| key(*s, r)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// Items in posting lists, with tombstones for replaced or removed items.
#[derive(Debug, Clone)]
pub struct Postings<T: Indexed> {
    /// Boxed so that checking a slot reads a pointer, not the item's own memory.
    slots: Vec<Option<Box<T>>>,
    feats: Vec<T::Features>,
    by_id: HashMap<String, u32>,
    lists: Vec<Vec<u32>>,
    dead: usize,
}

impl<T: Indexed> Default for Postings<T> {
    fn default() -> Self {
        Postings {
            slots: Vec::new(),
            feats: Vec::new(),
            by_id: HashMap::new(),
            lists: vec![Vec::new(); SubArea::ALL.len() * regions().len()],
            dead: 0,
        }
    }
}

impl<T: Indexed> Postings<T> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an item; returns the replaced one.
    pub fn upsert(&mut self, item: T) -> Option<T> {
        let old = self.remove(item.id());
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        for k in item.keys() {
            self.lists[k].push(slot);
        }
        self.by_id.insert(item.id().to_owned(), slot);
        self.feats.push(item.features());
        self.slots.push(Some(Box::new(item)));
        old
    }

    /// Removes an item; returns it.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        let slot = self.by_id.remove(id)?;
        let old = self.slots.get_mut(slot as usize)?.take().map(|b| *b);
        self.dead += 1;
        if self.dead > 1024 && self.dead * 2 > self.slots.len() {
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
        *self = Self::default();
        for i in items {
            self.upsert(i);
        }
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
        let mut seen = vec![0u64; self.slots.len().div_ceil(64)];
        let mut out = Vec::new();
        for k in keys {
            for &s in &self.lists[*k] {
                let (word, bit) = ((s / 64) as usize, 1u64 << (s % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    if let Some(item) = self.slots[s as usize].as_deref() {
                        out.push((s, item, &self.feats[s as usize]));
                    }
                }
            }
        }
        out
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
