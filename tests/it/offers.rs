//! Offers through the generated client.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, offer, reason};

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn provider_creates_edits_activates_and_withdraws_its_offer() {
    let (server, _dir) = support::start().await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let created = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("Outreach")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(created.provider_party_id, "state-FRA");
    assert_eq!(created.status, pb::OfferStatus::Draft as i32);
    assert_eq!(created.committed.as_ref().map(|m| m.minor_units), Some(0));

    // In DRAFT everything is editable, scope included.
    let widened = fra
        .offers
        .update_offer(pb::UpdateOfferRequest {
            offer: Some(pb::Offer {
                id: created.id.clone(),
                etag: created.etag.clone(),
                scope: Some(pb::GeoScope {
                    regions: vec!["Africa".into(), "Americas".into()],
                    excluded_countries: vec!["SDN".into()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["scope"]),
        })
        .await
        .expect("edit scope")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(widened.scope.as_ref().map(|s| s.regions.len()), Some(2));
    assert_eq!(widened.programme_name, "Outreach");

    let active = fra
        .offers
        .activate_offer(pb::ActivateOfferRequest {
            id: created.id.clone(),
            etag: widened.etag.clone(),
        })
        .await
        .expect("activate")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(active.status, pb::OfferStatus::Active as i32);

    // Once active, scope and capacity are fixed; the description is not.
    let locked = fra
        .offers
        .update_offer(pb::UpdateOfferRequest {
            offer: Some(pb::Offer {
                id: created.id.clone(),
                etag: active.etag.clone(),
                budget_ceiling: Some(pb::Money {
                    currency_code: "EUR".into(),
                    minor_units: 1,
                }),
                ..Default::default()
            }),
            update_mask: mask(&["budget_ceiling"]),
        })
        .await
        .expect_err("locked");
    assert_eq!(locked.code(), Code::FailedPrecondition);
    assert_eq!(reason(&locked), "FIELD_NOT_EDITABLE");
    let described = fra
        .offers
        .update_offer(pb::UpdateOfferRequest {
            offer: Some(pb::Offer {
                id: created.id.clone(),
                etag: active.etag.clone(),
                description: "Now with lab visits".into(),
                ..Default::default()
            }),
            update_mask: mask(&["description"]),
        })
        .await
        .expect("describe")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(described.description, "Now with lab visits");

    let withdrawn = fra
        .offers
        .withdraw_offer(pb::WithdrawOfferRequest {
            id: created.id.clone(),
            etag: described.etag.clone(),
            reason: "Budget cut".into(),
        })
        .await
        .expect("withdraw")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(withdrawn.status, pb::OfferStatus::Withdrawn as i32);
    server.stop().await;
}

#[tokio::test]
async fn a_provider_cannot_touch_another_providers_offer() {
    let (server, _dir) = support::start().await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut jpn = server.as_role(pb::Role::Provider, "state-JPN").await;
    let created = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("Outreach")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .offer
        .expect("offer");
    // A draft of another provider is invisible, so it is NOT_FOUND.
    let get = jpn
        .offers
        .get_offer(pb::GetOfferRequest {
            id: created.id.clone(),
        })
        .await
        .expect_err("hidden");
    assert_eq!(get.code(), Code::NotFound);
    let act = jpn
        .offers
        .activate_offer(pb::ActivateOfferRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("not yours");
    assert_eq!(act.code(), Code::NotFound);
    // Recording an offer for another party is refused outright.
    let mut o = offer("Spoof");
    o.provider_party_id = "state-FRA".into();
    let spoof = jpn
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(o),
            request_id: String::new(),
        })
        .await
        .expect_err("spoof");
    assert_eq!(spoof.code(), Code::PermissionDenied);
    // Once active, others see it without its contact.
    fra.offers
        .activate_offer(pb::ActivateOfferRequest {
            id: created.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("activate");
    let seen = jpn
        .offers
        .get_offer(pb::GetOfferRequest {
            id: created.id.clone(),
        })
        .await
        .expect("visible")
        .into_inner()
        .offer
        .expect("offer");
    assert!(seen.contact.is_none());
    let own = fra
        .offers
        .get_offer(pb::GetOfferRequest { id: created.id })
        .await
        .expect("own")
        .into_inner()
        .offer
        .expect("offer");
    assert!(own.contact.is_some());
    server.stop().await;
}
