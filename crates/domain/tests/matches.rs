//! The match lifecycle: every edge of the table, acceptance rules, co-funder declines and
//! capacity reservation.

use clearinghouse_domain::{
    AssistanceKind, CurrencyCode, FundingMode, GeoScope, Money, NeedId, Offer, OfferFields,
    OfferId, OfferStatus, PartyId, PrincipalId, SubArea, Timestamp,
    matches::{
        self, Acceptance, Contribution, ContributionRole, MATCH_EDGES, Match, MatchStatus, Origin,
        Proposal, ReasonCode,
    },
    offer::OfferContext,
    transition::{Actor, TransitionError},
};

const T0: Timestamp = Timestamp(1_795_000_000_000);

fn who() -> PrincipalId {
    PrincipalId("p".into())
}

fn usd(units: i64) -> Option<Money> {
    Some(Money {
        currency: CurrencyCode::USD,
        minor_units: units,
    })
}

fn contribution(offer: &str, provider: &str, amount: i64) -> Contribution {
    Contribution {
        offer: OfferId(offer.into()),
        provider: PartyId(provider.into()),
        role: ContributionRole::Funding,
        amount: usd(amount),
        in_kind: String::new(),
        acceptance: Acceptance::Pending,
        decline_reason: None,
    }
}

fn proposal(
    mode: FundingMode,
    cs: Vec<Contribution>,
) -> Result<Match, clearinghouse_domain::ValidationError> {
    Match::propose(
        Proposal {
            id: "M".into(),
            need: NeedId("N".into()),
            requester: PartyId("state-KEN".into()),
            funding_mode: mode,
            contributions: cs,
            score_milli: 800,
            explanation: vec![],
            origin: Origin::Broker,
        },
        T0,
        who(),
    )
}

#[test]
fn every_pair_and_actor_agrees_with_the_table() {
    for &from in MatchStatus::ALL {
        for &to in MatchStatus::ALL {
            for actor in [
                Actor::Requester,
                Actor::Provider,
                Actor::Broker,
                Actor::System,
            ] {
                let edge = MATCH_EDGES.iter().find(|(f, t, _)| *f == from && *t == to);
                assert_eq!(
                    from.check(to, actor).is_ok(),
                    edge.is_some_and(|(_, _, w)| w.contains(&actor)),
                    "{from}->{to} by {actor:?}"
                );
            }
        }
    }
    let terminal: Vec<MatchStatus> = MatchStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.is_terminal())
        .collect();
    assert_eq!(
        terminal,
        vec![
            MatchStatus::Completed,
            MatchStatus::Declined,
            MatchStatus::Withdrawn,
            MatchStatus::Cancelled
        ]
    );
}

#[test]
fn proposals_are_validated() {
    let two = vec![contribution("A", "x", 1), contribution("B", "y", 1)];
    assert!(
        proposal(FundingMode::SingleDonor, two.clone()).is_err(),
        "single-donor has one funder"
    );
    assert!(proposal(FundingMode::JointlyFunded, two).is_ok());
    assert!(
        proposal(
            FundingMode::JointlyFunded,
            vec![contribution("A", "x", 1), contribution("A", "x", 2)]
        )
        .is_err(),
        "offer twice"
    );
    assert!(proposal(FundingMode::JointlyFunded, vec![]).is_err());
    assert!(
        proposal(FundingMode::SingleDonor, vec![contribution("A", "x", 0)]).is_err(),
        "zero amount"
    );
}

#[test]
fn agreement_needs_the_requester_and_every_provider() {
    let m = proposal(
        FundingMode::JointlyFunded,
        vec![contribution("A", "x", 1), contribution("B", "y", 1)],
    )
    .expect("valid");
    let m = m
        .accept_by_provider(&PartyId("x".into()), &who(), T0)
        .expect("x");
    assert_eq!(m.status, MatchStatus::Proposed);
    let m = m.accept_by_requester(&who(), T0).expect("requester");
    assert_eq!(m.status, MatchStatus::AcceptedByRequester);
    assert!(
        m.accept_by_provider(&PartyId("z".into()), &who(), T0)
            .is_err(),
        "no contribution of z"
    );
    let m = m
        .accept_by_provider(&PartyId("y".into()), &who(), T0)
        .expect("y");
    assert_eq!(m.status, MatchStatus::Agreed);
    assert!(
        m.accept_by_requester(&who(), T0).is_err(),
        "no answers once agreed"
    );
}

#[test]
fn a_co_funders_decline_returns_to_proposed_but_a_sole_funders_ends_it() {
    let reason = (ReasonCode::FundingUnavailable, "cut".to_owned());
    let joint = proposal(
        FundingMode::JointlyFunded,
        vec![contribution("A", "x", 100), contribution("B", "y", 50)],
    )
    .expect("valid");
    let joint = joint.accept_by_requester(&who(), T0).expect("requester");
    let back = joint
        .decline_by_provider(&PartyId("y".into()), reason.clone(), &who(), T0)
        .expect("decline");
    assert_eq!(back.status, MatchStatus::Proposed);
    assert_eq!(
        back.pledged(),
        vec![Money {
            currency: CurrencyCode::USD,
            minor_units: 100
        }]
    );
    let solo =
        proposal(FundingMode::SingleDonor, vec![contribution("A", "x", 100)]).expect("valid");
    let ended = solo
        .decline_by_provider(&PartyId("x".into()), reason, &who(), T0)
        .expect("decline");
    assert_eq!(ended.status, MatchStatus::Declined);
    assert!(ended.end_reason.is_some());
}

#[test]
fn reservation_respects_capacity_and_release_returns_it() {
    let mut o = Offer::new(
        OfferContext {
            id: OfferId("O".into()),
            provider: PartyId("x".into()),
            now: T0,
            actor: who(),
        },
        OfferFields {
            programme_name: "p".into(),
            description: "d".into(),
            areas: vec![clearinghouse_domain::Area::CrossCutting],
            assistance_kinds: vec![clearinghouse_domain::AssistanceKind::Training],
            funding_modes: vec![FundingMode::SingleDonor],
            scope: GeoScope {
                global: true,
                ..GeoScope::default()
            },
            budget_ceiling: usd(1000),
            ..OfferFields::default()
        },
    )
    .expect("offer");
    o.status = OfferStatus::Active;
    let a = Money {
        currency: CurrencyCode::USD,
        minor_units: 700,
    };
    let o1 = matches::reserve(&o, Some(a), 0, &who(), T0).expect("fits");
    assert_eq!(
        (o1.committed_minor_units, o1.status),
        (700, OfferStatus::PartiallyCommitted)
    );
    match matches::reserve(&o1, Some(a), 1, &who(), T0) {
        Err(TransitionError::Rule { reason, .. }) => assert_eq!(reason, "CAPACITY_EXHAUSTED"),
        other => panic!("expected CAPACITY_EXHAUSTED, got {other:?}"),
    }
    let full = matches::reserve(
        &o1,
        Some(Money {
            currency: CurrencyCode::USD,
            minor_units: 300,
        }),
        1,
        &who(),
        T0,
    )
    .expect("exactly full");
    assert_eq!(full.status, OfferStatus::FullyCommitted);
    let eur = Money {
        currency: CurrencyCode::parse("EUR").expect("eur"),
        minor_units: 1,
    };
    assert!(
        matches::reserve(&o, Some(eur), 0, &who(), T0).is_err(),
        "pledges are in the offer's currency"
    );
    let back = matches::release(
        &full,
        Some(Money {
            currency: CurrencyCode::USD,
            minor_units: 1000,
        }),
        0,
        &who(),
        T0,
    );
    assert_eq!(
        (back.committed_minor_units, back.status),
        (0, OfferStatus::Active)
    );
}

#[test]
fn engagements_and_in_kind_contributions_count_against_max_engagements() {
    let mut o = Offer::new(
        OfferContext {
            id: OfferId("O1".into()),
            provider: PartyId("org-x".into()),
            now: T0,
            actor: who(),
        },
        OfferFields {
            programme_name: "Experts".into(),
            description: "Expert missions".into(),
            sub_areas: vec![SubArea::ControlLists],
            assistance_kinds: vec![AssistanceKind::ExpertMission],
            funding_modes: vec![FundingMode::InKind],
            scope: GeoScope {
                global: true,
                ..GeoScope::default()
            },
            max_engagements: 2,
            ..OfferFields::default()
        },
    )
    .expect("offer");
    o.status = OfferStatus::Active;
    // In-kind: no amount, but each contribution takes an engagement.
    let one = matches::reserve(&o, None, 0, &who(), T0).expect("first");
    assert_eq!(one.status, OfferStatus::PartiallyCommitted);
    let two = matches::reserve(&one, None, 1, &who(), T0).expect("second");
    assert_eq!(two.status, OfferStatus::FullyCommitted);
    match matches::reserve(&o, None, 2, &who(), T0) {
        Err(TransitionError::Rule { reason, .. }) => assert_eq!(reason, "ENGAGEMENTS_EXHAUSTED"),
        other => panic!("expected ENGAGEMENTS_EXHAUSTED, got {other:?}"),
    }
    let back = matches::release(&two, None, 1, &who(), T0);
    assert_eq!(back.status, OfferStatus::PartiallyCommitted);
}

#[test]
fn every_status_maps_to_a_named_iati_activity_status() {
    for (from, to, _) in MATCH_EDGES {
        for status in [*from, *to] {
            let code = status.iati_activity_status();
            assert!(
                matches::iati_activity_status_name(code).is_some(),
                "{status:?} maps to IATI code {code}, which has no name"
            );
        }
    }
    assert_eq!(
        matches::iati_activity_status_name(1),
        Some("Pipeline/identification")
    );
    assert_eq!(matches::iati_activity_status_name(0), None);
    assert_eq!(matches::iati_activity_status_name(7), None);
}
