//! What the store needs to know about each kind of record: its id, version, unique key,
//! index entries and codec. Implemented here for the domain types.

use clearinghouse_domain::{FeedbackEntry, Match, MatchingSettings, Need, Offer, Party, Principal};

use crate::{
    error::Error,
    records::{
        self, FeedbackRecordV1, MatchRecordV1, OfferRecordV1, PartyRecordV1, PrincipalRecordV1, V1,
    },
};

/// A kind of record the store keeps.
pub trait Resource: Sized + Clone + Send + 'static {
    /// Kind name: tree names and audit entries use it.
    const KIND: &'static str;
    /// Whether records are never changed once written; [`Txn::update`](crate::Txn::update)
    /// refuses them with [`Error::AppendOnly`].
    const APPEND_ONLY: bool = false;
    /// Id.
    fn id(&self) -> &str;
    /// Version (the etag), from 1.
    fn version(&self) -> u64;
    /// Sets the version.
    fn set_version(&mut self, v: u64);
    /// A value that must be unique among records of this kind (human-readable), if any.
    fn unique_value(&self) -> Option<String>;
    /// Secondary index entries: (index name, value).
    fn index_entries(&self) -> Vec<(&'static str, String)>;
    /// Encodes with the version byte.
    fn encode(&self) -> Result<Vec<u8>, Error>;
    /// Decodes a stored value.
    fn decode(bytes: &[u8]) -> Result<Self, Error>;
}

/// Index names, shared by the store's users.
pub mod index {
    /// By status code.
    pub const STATUS: &str = "status";
    /// By owning party id.
    pub const PARTY: &str = "party";
    /// By thematic area code.
    pub const AREA: &str = "area";
    /// By sub-area code.
    pub const SUB_AREA: &str = "sub_area";
    /// By ISO3 country.
    pub const COUNTRY: &str = "country";
    /// By M49 region.
    pub const REGION: &str = "region";
    /// By kind (parties).
    pub const KIND: &str = "kind";
    /// By need (matches).
    pub const NEED: &str = "need";
    /// By offer (matches).
    pub const OFFER: &str = "offer";
}

fn scoped(party: &str, external_id: &str) -> Option<String> {
    (!external_id.is_empty()).then(|| format!("{party}/external_id={external_id}"))
}

impl Resource for Party {
    const KIND: &'static str = "party";
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        scoped("*", &self.fields.external_id)
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let mut e = vec![(index::KIND, self.kind.code().to_owned())];
        if let Some(c) = self.country() {
            e.push((index::COUNTRY, c.iso3.to_owned()));
            e.push((index::REGION, c.region.to_owned()));
        }
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(V1, &PartyRecordV1::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<PartyRecordV1, Party>("party", bytes)
    }
}

impl Resource for Need {
    const KIND: &'static str = "need";
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        scoped(&self.requester.0, &self.fields.external_id)
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let mut e = vec![
            (index::STATUS, self.status.code().to_owned()),
            (index::PARTY, self.requester.0.clone()),
            (index::COUNTRY, self.fields.country_code.clone()),
        ];
        if let Some(a) = self.fields.area {
            e.push((index::AREA, a.code().to_owned()));
        }
        for s in &self.fields.sub_areas {
            e.push((index::SUB_AREA, s.code().to_owned()));
        }
        if let Some(c) = self.country() {
            e.push((index::REGION, c.region.to_owned()));
        }
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        crate::written::need(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_need(bytes)
    }
}

impl Resource for Offer {
    const KIND: &'static str = "offer";
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        scoped(&self.provider.0, &self.fields.external_id)
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let f = &self.fields;
        let mut e = vec![
            (index::STATUS, self.status.code().to_owned()),
            (index::PARTY, self.provider.0.clone()),
        ];
        let mut areas: Vec<&str> = f.areas.iter().map(|a| a.code()).collect();
        areas.extend(f.sub_areas.iter().map(|s| s.area().code()));
        areas.sort_unstable();
        areas.dedup();
        e.extend(areas.into_iter().map(|a| (index::AREA, a.to_owned())));
        e.extend(
            f.sub_areas
                .iter()
                .map(|s| (index::SUB_AREA, s.code().to_owned())),
        );
        e.extend(
            f.scope
                .countries
                .iter()
                .map(|c| (index::COUNTRY, c.clone())),
        );
        e.extend(f.scope.regions.iter().map(|r| (index::REGION, r.clone())));
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        crate::written::offer(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<OfferRecordV1, Offer>("offer", bytes)
    }
}

impl Resource for Principal {
    const KIND: &'static str = "principal";
    fn id(&self) -> &str {
        &self.id.0
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        None
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let mut e = vec![(
            index::STATUS,
            if self.revoked_at.is_some() {
                "REVOKED"
            } else {
                "ACTIVE"
            }
            .to_owned(),
        )];
        if let Some(p) = &self.party {
            e.push((index::PARTY, p.0.clone()));
        }
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(V1, &PrincipalRecordV1::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<PrincipalRecordV1, Principal>("principal", bytes)
    }
}

impl Resource for MatchingSettings {
    const KIND: &'static str = "settings";
    fn id(&self) -> &str {
        MatchingSettings::ID
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        None
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(records::V2, &records::SettingsRecordV2::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_settings(bytes)
    }
}

impl Resource for Match {
    const KIND: &'static str = "match";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        None
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        let mut e = vec![
            (index::STATUS, self.status.code().to_owned()),
            (index::NEED, self.need.0.clone()),
            (index::PARTY, self.requester.0.clone()),
        ];
        for c in &self.contributions {
            e.push((index::OFFER, c.offer.0.clone()));
            if !e
                .iter()
                .any(|(i, v)| *i == index::PARTY && *v == c.provider.0)
            {
                e.push((index::PARTY, c.provider.0.clone()));
            }
        }
        e
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(V1, &MatchRecordV1::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<MatchRecordV1, Match>("match", bytes)
    }
}

impl Resource for FeedbackEntry {
    const KIND: &'static str = "feedback";
    const APPEND_ONLY: bool = true;
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
    fn unique_value(&self) -> Option<String> {
        None
    }
    fn index_entries(&self) -> Vec<(&'static str, String)> {
        vec![(index::NEED, self.need.0.clone())]
    }
    fn encode(&self) -> Result<Vec<u8>, Error> {
        records::encode(V1, &FeedbackRecordV1::from(self))
    }
    fn decode(bytes: &[u8]) -> Result<Self, Error> {
        records::decode_v1::<FeedbackRecordV1, FeedbackEntry>("feedback", bytes)
    }
}
