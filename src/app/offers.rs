//! Offers: record, read, list, edit, activate and withdraw.

use clearinghouse_domain::{
    Area, FundingMode, Offer, OfferField, OfferFields, OfferId, OfferStatus, Party, PartyId,
    Principal, Role, SubArea, Timestamp, Violations, offer::OfferContext,
};
use clearinghouse_storage::{IdempotencyKey, ListQuery, TxError, index};

use super::{
    App, Listed, MAX_SCAN, PageRequest, actor_of, clock, meta, new_id, rejected, visibility,
};
use crate::error::ApiError;

/// Filters of `ListOffers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferFilter {
    /// Status.
    pub status: Option<OfferStatus>,
    /// Covers this area (whole or in part).
    pub area: Option<Area>,
    /// Covers this sub-area (directly or through its area).
    pub sub_area: Option<SubArea>,
    /// Scope names this country.
    pub country: Option<String>,
    /// Scope names this region.
    pub region: Option<String>,
    /// Works in this mode.
    pub funding_mode: Option<FundingMode>,
    /// Provider.
    pub party: Option<PartyId>,
    /// Changed at or after.
    pub updated_since: Option<Timestamp>,
}

impl OfferFilter {
    fn matches(&self, o: &Offer) -> bool {
        let f = &o.fields;
        self.status.is_none_or(|s| o.status == s)
            && self
                .area
                .is_none_or(|a| f.areas.contains(&a) || f.sub_areas.iter().any(|s| s.area() == a))
            && self.sub_area.is_none_or(|s| f.covers(s))
            && self
                .country
                .as_ref()
                .is_none_or(|c| f.scope.countries.contains(c))
            && self
                .region
                .as_ref()
                .is_none_or(|r| f.scope.regions.contains(r))
            && self
                .funding_mode
                .is_none_or(|m| f.funding_modes.contains(&m))
            && self.party.as_ref().is_none_or(|p| o.provider == *p)
            && self.updated_since.is_none_or(|t| o.updated_at >= t)
    }

    fn index(&self) -> Option<(&'static str, String)> {
        if let Some(p) = &self.party {
            Some((index::PARTY, p.0.clone()))
        } else if let Some(c) = &self.country {
            Some((index::COUNTRY, c.clone()))
        } else if let Some(a) = self.area {
            Some((index::AREA, a.code().to_owned()))
        } else if let Some(s) = self.sub_area {
            // Offers covering a sub-area through its whole area are in the area index.
            Some((index::AREA, s.area().code().to_owned()))
        } else if let Some(s) = self.status {
            Some((index::STATUS, s.code().to_owned()))
        } else {
            self.region.as_ref().map(|r| (index::REGION, r.clone()))
        }
    }
}

/// Which transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferAction {
    /// DRAFT → ACTIVE.
    Activate,
    /// → WITHDRAWN.
    Withdraw,
}

fn check_owner(who: &Principal, o: &Offer) -> Result<(), ApiError> {
    if !visibility::can_see_offer(who, o)
        || (who.role == Role::Provider && who.party.as_ref() != Some(&o.provider))
    {
        return Err(ApiError::not_found("offer", &o.id.0));
    }
    Ok(())
}

fn check_parties(
    store: &clearinghouse_storage::Store,
    edge: &mut Violations,
    ids: &[PartyId],
) -> Result<(), ApiError> {
    for (i, p) in ids.iter().enumerate() {
        if store.get::<Party>(&p.0)?.is_none() {
            edge.add(
                format!("implementing_party_ids[{i}]"),
                format!("no party '{}'; see ListParties", super::short(&p.0)),
            );
        }
    }
    Ok(())
}

impl App {
    /// Records an offer in DRAFT.
    pub async fn create_offer(
        &self,
        who: &Principal,
        provider: String,
        fields: OfferFields,
        edge: Violations,
        idem: Option<IdempotencyKey>,
    ) -> Result<Offer, ApiError> {
        let provider = match (who.role, &who.party) {
            (Role::Provider, Some(own)) => {
                if !provider.is_empty() && provider != own.0 {
                    return Err(ApiError::PermissionDenied(format!(
                        "this key acts for party {own}; it cannot record offers of {provider}"
                    )));
                }
                own.clone()
            }
            _ => PartyId(provider),
        };
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let mut edge = edge;
            if provider.0.is_empty() {
                edge.add(
                    "provider_party_id",
                    "is required when a broker records an offer",
                );
            } else if store.get::<Party>(&provider.0)?.is_none() {
                edge.add(
                    "provider_party_id",
                    format!("no party '{}'; see ListParties", super::short(&provider.0)),
                );
            }
            check_parties(store, &mut edge, &fields.implementing_parties)?;
            let built = Offer::new(
                OfferContext {
                    id: OfferId(new_id()),
                    provider,
                    now,
                    actor: who.id.clone(),
                },
                fields,
            );
            let offer = match (built, edge.is_empty()) {
                (Ok(o), true) => o,
                (Ok(_), false) => return Err(rejected(edge, None)),
                (Err(e), _) => return Err(rejected(edge, Some(e))),
            };
            let created = store
                .create(offer, &meta(&who, "offer.create", now, idem))?
                .into_inner();
            Ok(visibility::redact_offer(&who, created))
        })
        .await
    }

    /// Reads an offer the caller may see.
    pub async fn get_offer(&self, who: &Principal, id: String) -> Result<Offer, ApiError> {
        self.point_read(|store| match store.get::<Offer>(&id)? {
            Some(o) if visibility::can_see_offer(who, &o) => Ok(visibility::redact_offer(who, o)),
            _ => Err(ApiError::not_found("offer", id)),
        })
    }

    /// Lists the offers the caller may see, in creation order.
    pub async fn list_offers(
        &self,
        who: &Principal,
        filter: OfferFilter,
        page: PageRequest,
    ) -> Result<Listed<Offer>, ApiError> {
        let who = who.clone();
        self.blocking(move |store| {
            let idx = filter.index();
            let q = ListQuery {
                index: idx.as_ref().map(|(i, v)| (*i, v.as_str())),
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let p = store.list::<Offer>(&q, &|o| {
                filter.matches(o) && visibility::can_see_offer(&who, o)
            })?;
            Ok(Listed {
                items: p
                    .items
                    .into_iter()
                    .map(|o| visibility::redact_offer(&who, o))
                    .collect(),
                next: p.next,
            })
        })
        .await
    }

    /// Applies a field-mask update.
    pub async fn update_offer(
        &self,
        who: &Principal,
        id: String,
        etag: Option<u64>,
        src: OfferFields,
        mask: Vec<String>,
        edge: Violations,
    ) -> Result<Offer, ApiError> {
        let mut edge = edge;
        if etag.is_none() {
            edge.add(
                "etag",
                "is required for updates; send the etag from your last read",
            );
        }
        if mask.is_empty() {
            edge.add(
                "update_mask",
                "is required; list the fields to change, e.g. [\"description\"]",
            );
        }
        let mut fields = Vec::new();
        for (i, path) in mask.iter().enumerate() {
            match OfferField::parse(path) {
                Some(f) => fields.push(f),
                None => edge.add(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "'{}' is not an editable field of an offer",
                        super::short(path)
                    ),
                ),
            }
        }
        let who = who.clone();
        self.write(move |store| {
            if !edge.is_empty() {
                return Err(rejected(edge, None));
            }
            let now = clock::now();
            let updated = store.transaction::<Offer, ApiError>(
                &meta(&who, "offer.update", now, None),
                |txn| {
                    let cur: Option<Offer> = txn.get(&id)?;
                    let Some(cur) = cur else {
                        return Err(TxError::rejected(ApiError::not_found("offer", &id)));
                    };
                    check_owner(&who, &cur).map_err(TxError::rejected)?;
                    if etag.is_some_and(|e| e != cur.version) {
                        // The version comes before what is wrong with the fields.
                        return txn.update(
                            &id,
                            etag,
                            &|o: &Offer| check_owner(&who, o),
                            &|o: &Offer| Ok(o.clone()),
                        );
                    }
                    if fields.contains(&OfferField::ImplementingPartyIds) {
                        let mut v = Violations::new("");
                        for (i, p) in src.implementing_parties.iter().enumerate() {
                            let party: Option<Party> = txn.get(&p.0)?;
                            if party.is_none() {
                                v.add(
                                    format!("implementing_party_ids[{i}]"),
                                    format!("no party '{}'; see ListParties", super::short(&p.0)),
                                );
                            }
                        }
                        if !v.is_empty() {
                            return Err(TxError::rejected(rejected(v, None)));
                        }
                    }
                    txn.update(
                        &id,
                        etag,
                        &|o: &Offer| check_owner(&who, o),
                        &|o: &Offer| Ok(o.updated(&src, &fields, now, &who.id)?),
                    )
                },
            );
            Ok(visibility::redact_offer(
                &who,
                not_found_as_offer(updated, &id)?,
            ))
        })
        .await
    }

    /// Activates or withdraws an offer.
    pub async fn transition_offer(
        &self,
        who: &Principal,
        action: OfferAction,
        id: String,
        etag: Option<u64>,
        reason: String,
    ) -> Result<Offer, ApiError> {
        if action == OfferAction::Withdraw {
            super::needs::require_reason(&reason)?;
        }
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let actor = actor_of(&who);
            let name = match action {
                OfferAction::Activate => "offer.activate",
                OfferAction::Withdraw => "offer.withdraw",
            };
            let updated = store.update::<Offer, ApiError>(
                &id,
                etag,
                &meta(&who, name, now, None),
                |cur| check_owner(&who, cur),
                |cur| {
                    Ok(match action {
                        OfferAction::Activate => cur.activate(actor, &who.id, now)?,
                        OfferAction::Withdraw => cur.withdraw(actor, &who.id, now, &reason)?,
                    })
                },
            );
            Ok(visibility::redact_offer(
                &who,
                not_found_as_offer(updated, &id)?,
            ))
        })
        .await
    }
}

fn not_found_as_offer(
    r: Result<Offer, clearinghouse_storage::UpdateError<ApiError>>,
    id: &str,
) -> Result<Offer, ApiError> {
    match r {
        Err(clearinghouse_storage::UpdateError::Store(
            clearinghouse_storage::Error::NotFound { .. },
        )) => Err(ApiError::not_found("offer", id)),
        other => Ok(other?),
    }
}
