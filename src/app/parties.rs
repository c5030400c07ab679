//! The party registry.

use clearinghouse_domain::{
    Party, PartyField, PartyFields, PartyId, PartyKind, Principal, Violations,
};
use clearinghouse_storage::{IdempotencyKey, ListQuery, index};

use super::{App, Listed, MAX_SCAN, PageRequest, clock, meta, new_id, rejected};
use crate::error::ApiError;

/// Filters of `ListParties`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyFilter {
    /// Kind.
    pub kind: Option<PartyKind>,
    /// ISO3 country.
    pub country: Option<String>,
    /// M49 region.
    pub region: Option<String>,
}

impl App {
    /// Registers a party. States get the id `state-ISO3` (one per State).
    pub async fn create_party(
        &self,
        who: &Principal,
        fields: PartyFields,
        edge: Violations,
        idem: Option<IdempotencyKey>,
    ) -> Result<Party, ApiError> {
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let party = match (
                Party::new(PartyId(new_id()), fields, now, who.id.clone()),
                edge.is_empty(),
            ) {
                (Ok(p), true) => p,
                (Ok(_), false) => return Err(rejected(edge, None)),
                (Err(e), _) => return Err(rejected(edge, Some(e))),
            };
            Ok(store
                .create(party, &meta(&who, "party.create", now, idem))?
                .into_inner())
        })
        .await
    }

    /// Reads a party.
    pub async fn get_party(&self, id: String) -> Result<Party, ApiError> {
        self.point_read(|store| {
            store
                .get::<Party>(&id)?
                .ok_or_else(|| ApiError::not_found("party", id))
        })
    }

    /// Lists parties in creation order.
    pub async fn list_parties(
        &self,
        filter: PartyFilter,
        page: PageRequest,
    ) -> Result<Listed<Party>, ApiError> {
        self.blocking(move |store| {
            let idx = if let Some(c) = &filter.country {
                Some((index::COUNTRY, c.clone()))
            } else if let Some(k) = filter.kind {
                Some((index::KIND, k.code().to_owned()))
            } else {
                filter.region.as_ref().map(|r| (index::REGION, r.clone()))
            };
            let q = ListQuery {
                index: idx.as_ref().map(|(i, v)| (*i, v.as_str())),
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let keep = |p: &Party| {
                filter.kind.is_none_or(|k| p.kind == k)
                    && filter
                        .country
                        .as_ref()
                        .is_none_or(|c| p.fields.country_code == *c)
                    && filter
                        .region
                        .as_ref()
                        .is_none_or(|r| p.country().is_some_and(|c| c.region == r))
            };
            let page = store.list::<Party>(&q, &keep)?;
            Ok(Listed {
                items: page.items,
                next: page.next,
            })
        })
        .await
    }

    /// Applies a field-mask update.
    pub async fn update_party(
        &self,
        who: &Principal,
        id: String,
        etag: Option<u64>,
        src: PartyFields,
        mask: Vec<String>,
        edge: Violations,
    ) -> Result<Party, ApiError> {
        let mut edge = edge;
        if etag.is_none() {
            edge.add(
                "etag",
                "is required for updates; send the etag from your last read",
            );
        }
        if mask.is_empty() {
            edge.add("update_mask", "is required; list the fields to change");
        }
        let mut fields = Vec::new();
        for (i, path) in mask.iter().enumerate() {
            match PartyField::parse(path) {
                Some(f) => fields.push(f),
                None => edge.add(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "'{}' is not an editable field of a party",
                        super::short(path)
                    ),
                ),
            }
        }
        if !edge.is_empty() {
            return Err(rejected(edge, None));
        }
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let r = store.update_unchecked::<Party, ApiError>(
                &id,
                etag,
                &meta(&who, "party.update", now, None),
                |cur| Ok(cur.updated(&src, &fields, now)?),
            );
            match r {
                Err(clearinghouse_storage::UpdateError::Store(
                    clearinghouse_storage::Error::NotFound { .. },
                )) => Err(ApiError::not_found("party", &id)),
                other => Ok(other?),
            }
        })
        .await
    }
}
