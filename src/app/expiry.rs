//! Time-driven transitions the server applies itself: offers whose `valid_until` has
//! passed become EXPIRED (and leave the matching index). Runs at start and periodically;
//! `now` is an argument so tests control the date.

use clearinghouse_domain::{Offer, OfferStatus, PrincipalId, Timestamp};
use clearinghouse_storage::{ListQuery, Store, WriteMeta, index};

use super::{MAX_SCAN, matching::Matching};
use crate::error::ApiError;

/// Expires every open offer whose validity ended before `now`; returns how many.
pub fn expire_offers(
    store: &Store,
    matching: &Matching,
    now: Timestamp,
) -> Result<usize, ApiError> {
    let today = now.date();
    let meta = WriteMeta {
        actor: PrincipalId::system(),
        action: "offer.expire".to_owned(),
        now,
        idempotency: None,
    };
    let mut expired = 0;
    for status in [
        OfferStatus::Active,
        OfferStatus::PartiallyCommitted,
        OfferStatus::FullyCommitted,
    ] {
        let mut after = None;
        loop {
            let q = ListQuery {
                index: Some((index::STATUS, status.code())),
                after,
                limit: 500,
                max_scan: MAX_SCAN,
            };
            let page =
                store.list::<Offer>(&q, &|o| o.fields.valid_until.is_some_and(|u| u < today))?;
            for o in &page.items {
                match store.update_unchecked::<Offer, ApiError>(
                    &o.id.0,
                    Some(o.version),
                    &meta,
                    |cur| Ok(cur.expire(now)?),
                ) {
                    Ok(_) => expired += 1,
                    // Changed meanwhile (or no longer due): the next run looks again.
                    Err(
                        clearinghouse_storage::UpdateError::Store(
                            clearinghouse_storage::Error::StaleVersion { .. },
                        )
                        | clearinghouse_storage::UpdateError::Rejected(_),
                    ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    matching.follow(store);
    if expired > 0 {
        tracing::info!(expired, "offers past valid_until expired");
    }
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use clearinghouse_domain::{
        Area, AssistanceKind, Date, FundingMode, GeoScope, OfferFields, OfferId, PartyId,
        offer::OfferContext, transition::Actor,
    };
    use clearinghouse_storage::StoreOptions;

    use super::*;

    fn day(s: &str) -> Timestamp {
        Timestamp(i64::from(Date::parse(s).expect("date").0) * 86_400_000 + 43_200_000)
    }

    #[test]
    fn offers_past_valid_until_expire_once_and_leave_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            &StoreOptions {
                cache_capacity_bytes: 16 << 20,
                sync_fault: None,
            },
        )
        .expect("store");
        let matching = Matching::load(&store, day("2026-01-01")).expect("matching");
        let meta = WriteMeta {
            actor: PrincipalId::system(),
            action: "offer.create".into(),
            now: day("2026-01-01"),
            idempotency: None,
        };
        for (id, until) in [("O-ends-jan", "2026-01-31"), ("O-ends-dec", "2026-12-31")] {
            let o = Offer::new(
                OfferContext {
                    id: OfferId(id.into()),
                    provider: PartyId("state-FRA".into()),
                    now: day("2026-01-01"),
                    actor: PrincipalId::system(),
                },
                OfferFields {
                    programme_name: "p".into(),
                    description: "d".into(),
                    areas: vec![Area::CrossCutting],
                    assistance_kinds: vec![AssistanceKind::Training],
                    funding_modes: vec![FundingMode::SingleDonor],
                    scope: GeoScope {
                        global: true,
                        ..GeoScope::default()
                    },
                    valid_until: Date::parse(until).ok(),
                    ..OfferFields::default()
                },
            )
            .expect("offer")
            .activate(Actor::Provider, &PrincipalId::system(), day("2026-01-01"))
            .expect("active");
            store.create(o, &meta).expect("stored");
        }
        assert_eq!(
            expire_offers(&store, &matching, day("2026-01-31")).expect("run"),
            0,
            "not due on its last day"
        );
        assert_eq!(
            expire_offers(&store, &matching, day("2026-02-01")).expect("run"),
            1
        );
        assert_eq!(
            expire_offers(&store, &matching, day("2026-02-02")).expect("run"),
            0,
            "once only"
        );
        let o: Offer = store.get("O-ends-jan").expect("get").expect("offer");
        assert_eq!(o.status, OfferStatus::Expired);
        assert_eq!(
            o.history.last().map(|c| c.reason.as_str()),
            Some("valid_until passed")
        );
        let other: Offer = store.get("O-ends-dec").expect("get").expect("offer");
        assert_eq!(other.status, OfferStatus::Active);
    }
}
