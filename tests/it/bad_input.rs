//! Bad input gets INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for the transport limit) with
//! one field violation per bad field, and changes nothing.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Clients, need, offer, violations};

async fn create_need_err(c: &mut Clients, n: pb::Need) -> tonic::Status {
    c.needs
        .create_need(pb::CreateNeedRequest {
            need: Some(n),
            request_id: String::new(),
        })
        .await
        .expect_err("must be refused")
}

async fn count_needs(c: &mut Clients) -> usize {
    c.needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs
        .len()
}

#[tokio::test]
async fn each_bad_need_field_is_named_and_nothing_is_stored() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let with = |f: &dyn Fn(&mut pb::Need)| {
        let mut n = need("t");
        n.requester_party_id = "state-KEN".into();
        f(&mut n);
        n
    };
    let cases: Vec<(&str, pb::Need, Vec<&str>)> = vec![
        (
            "missing fields",
            pb::Need {
                requester_party_id: "state-KEN".into(),
                ..Default::default()
            },
            vec![
                "need.title",
                "need.description",
                "need.area",
                "need.sub_areas",
                "need.assistance_kinds",
                "need.accepted_funding_modes",
            ],
        ),
        (
            "unknown requester",
            with(&|n| n.requester_party_id = "state-XXX".into()),
            vec!["need.requester_party_id"],
        ),
        (
            "unknown beneficiary country",
            with(&|n| n.beneficiary_countries = vec!["KEN".into(), "ABC".into()]),
            vec!["need.beneficiary_countries[1]"],
        ),
        (
            "country of another State",
            with(&|n| n.country_code = "FRA".into()),
            vec!["need.country_code"],
        ),
        (
            "sub-area outside its area",
            with(&|n| {
                n.sub_areas = vec![
                    pb::SubArea::ControlLists as i32,
                    pb::SubArea::InsiderThreat as i32,
                ]
            }),
            vec!["need.sub_areas[1]"],
        ),
        (
            "negative money",
            with(&|n| {
                n.estimated_budget = Some(pb::Money {
                    currency_code: "USD".into(),
                    minor_units: -1,
                })
            }),
            vec!["need.estimated_budget.minor_units"],
        ),
        (
            "unknown currency",
            with(&|n| {
                n.estimated_budget = Some(pb::Money {
                    currency_code: "DOGE".into(),
                    minor_units: 1,
                })
            }),
            vec!["need.estimated_budget.currency_code"],
        ),
        (
            "oversized text",
            with(&|n| n.description = "x".repeat(8001)),
            vec!["need.description"],
        ),
        (
            "unknown enum value",
            with(&|n| {
                n.area = 99;
                n.assistance_kinds = vec![42];
            }),
            vec!["need.area", "need.assistance_kinds[0]"],
        ),
        (
            "impossible date",
            with(&|n| n.wanted_from = "2026-02-30".into()),
            vec!["need.wanted_from"],
        ),
        (
            "empty window",
            with(&|n| {
                n.wanted_from = "2027-06-01".into();
                n.needed_by = "2027-01-01".into();
            }),
            vec!["need.needed_by"],
        ),
        (
            "preferred not accepted",
            with(&|n| n.preferred_funding_mode = pb::FundingMode::InKind as i32),
            vec!["need.preferred_funding_mode"],
        ),
        (
            "bad language",
            with(&|n| n.languages = vec!["English".into()]),
            vec!["need.languages[0]"],
        ),
        (
            "unicode control characters",
            with(&|n| n.title = "a\u{0}b".into()),
            vec!["need.title"],
        ),
        (
            "bad e-mail",
            with(&|n| {
                n.contact = Some(pb::ContactPoint {
                    email: "nobody".into(),
                    ..Default::default()
                })
            }),
            vec!["need.contact.email"],
        ),
        (
            "duplicate sub-area",
            with(&|n| {
                n.sub_areas = vec![
                    pb::SubArea::ControlLists as i32,
                    pb::SubArea::ControlLists as i32,
                ]
            }),
            vec!["need.sub_areas[1]"],
        ),
    ];
    for (label, n, want) in cases {
        let e = create_need_err(&mut broker, n).await;
        let got = violations(&e, Code::InvalidArgument);
        assert_eq!(got, want, "{label}: {}", e.message());
    }
    // Several problems at once are all reported.
    let all = with(&|n| {
        n.title = String::new();
        n.sub_areas = vec![pb::SubArea::InsiderThreat as i32];
        n.estimated_budget = Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: -5,
        });
    });
    let e = create_need_err(&mut broker, all).await;
    assert_eq!(
        violations(&e, Code::InvalidArgument).len(),
        3,
        "{}",
        e.message()
    );
    // Unicode that is merely unusual is fine.
    let ok = with(&|n| n.title = "Côte d’Ivoire — 控制清单 🚢".into());
    broker
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(ok),
            request_id: String::new(),
        })
        .await
        .expect("unicode title");
    assert_eq!(
        count_needs(&mut broker).await,
        1,
        "only the valid need was stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_offers_updates_lists_and_request_ids_are_refused() {
    let (server, _dir) = support::start().await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut o = offer("x");
    o.scope = Some(pb::GeoScope {
        regions: vec!["Atlantis".into()],
        countries: vec!["ZZZ".into()],
        ..Default::default()
    });
    o.min_contribution = Some(pb::Money {
        currency_code: "EUR".into(),
        minor_units: 10,
    });
    o.max_contribution = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 5,
    });
    let e = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(o),
            request_id: String::new(),
        })
        .await
        .expect_err("bad offer");
    let got = violations(&e, Code::InvalidArgument);
    for field in [
        "offer.scope.regions[0]",
        "offer.scope.countries[0]",
        "offer.max_contribution.currency_code",
        "offer.min_contribution",
    ] {
        assert!(
            got.iter().any(|g| g == field),
            "{field} missing from {got:?}"
        );
    }
    let e = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("x")),
            request_id: "not-a-uuid".into(),
        })
        .await
        .expect_err("bad request id");
    assert_eq!(violations(&e, Code::InvalidArgument), vec!["request_id"]);

    let created = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("x")),
            request_id: String::new(),
        })
        .await
        .expect("ok")
        .into_inner()
        .offer
        .expect("offer");
    let e = fra
        .offers
        .update_offer(pb::UpdateOfferRequest {
            offer: Some(pb::Offer {
                id: created.id.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["colour".into()],
            }),
        })
        .await
        .expect_err("bad mask");
    assert_eq!(
        violations(&e, Code::InvalidArgument),
        vec!["offer.etag", "offer.update_mask.paths[0]"]
    );
    let e = fra
        .offers
        .list_offers(pb::ListOffersRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .expect_err("negative page");
    assert_eq!(violations(&e, Code::InvalidArgument), vec!["page_size"]);
    let e = fra
        .offers
        .list_offers(pb::ListOffersRequest {
            country_code: "Kenya".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad filter");
    assert_eq!(violations(&e, Code::InvalidArgument), vec!["country_code"]);
    let e = fra
        .offers
        .list_offers(pb::ListOffersRequest {
            status: 77,
            ..Default::default()
        })
        .await
        .expect_err("bad enum filter");
    assert_eq!(violations(&e, Code::InvalidArgument), vec!["status"]);
    let unchanged = fra
        .offers
        .get_offer(pb::GetOfferRequest { id: created.id })
        .await
        .expect("get")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(unchanged.etag, "1");
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_the_transport_limit_is_resource_exhausted() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut n = need("huge");
    n.description = "x".repeat(2 * 1024 * 1024);
    let e = create_need_err(&mut ken, n).await;
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert_eq!(count_needs(&mut ken).await, 0);
    server.stop().await;
}
