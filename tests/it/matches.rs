//! The brokering lifecycle over gRPC: single-donor and consortium matches from proposal to
//! completion, capacity reserved at AGREED, a co-funder's decline, and two agreements
//! racing for one offer's last capacity.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Matcher, active_offer, circulated_need, need, offer};

fn usd(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: units,
    })
}

fn contribution(offer_id: &str, amount: i64) -> pb::Contribution {
    pb::Contribution {
        offer_id: offer_id.to_owned(),
        amount: usd(amount),
        ..Default::default()
    }
}

fn usd_offer(name: &str, ceiling: i64, mode: pb::FundingMode) -> pb::Offer {
    pb::Offer {
        budget_ceiling: usd(ceiling),
        funding_modes: vec![mode as i32],
        ..offer(name)
    }
}

fn status(m: &pb::Match) -> pb::MatchStatus {
    pb::MatchStatus::try_from(m.status).unwrap_or(pb::MatchStatus::Unspecified)
}

#[tokio::test]
async fn single_donor_match_goes_from_proposal_to_fulfilled_need() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut n = need("Control lists");
    n.estimated_budget = usd(1_000_000);
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    let offer_id = active_offer(
        &mut fra,
        usd_offer("FRA", 5_000_000, pb::FundingMode::SingleDonor),
    )
    .await;

    let bkey = server.key(pb::Role::Broker, "").await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let (mut bm, mut rm, mut pm) = (
        server.matcher(&bkey).await,
        server.matcher(&rkey).await,
        server.matcher(&pkey).await,
    );

    let m = bm
        .create_match(pb::CreateMatchRequest {
            need_id: need_id.clone(),
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![contribution(&offer_id, 1_000_000)],
            request_id: "0b6c1e2a-7d3f-4a59-9c21-5e8f7a6b4c3d".into(),
        })
        .await
        .expect("propose")
        .into_inner()
        .r#match
        .expect("match");
    assert_eq!(status(&m), pb::MatchStatus::Proposed);
    // A retry with the same request_id returns the same match; another payload is refused.
    let retry = pb::CreateMatchRequest {
        need_id: need_id.clone(),
        funding_mode: pb::FundingMode::SingleDonor as i32,
        contributions: vec![contribution(&offer_id, 1_000_000)],
        request_id: "0b6c1e2a-7d3f-4a59-9c21-5e8f7a6b4c3d".into(),
    };
    let again = bm
        .create_match(retry.clone())
        .await
        .expect("retry")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(again.id, m.id);
    let other = pb::CreateMatchRequest {
        contributions: vec![contribution(&offer_id, 900_000)],
        ..retry
    };
    let e = bm.create_match(other).await.expect_err("reused request id");
    assert_eq!(e.code(), Code::AlreadyExists);
    assert!(m.score > 0.0 && !m.explanation.is_empty());
    assert_eq!(m.iati_activity_status, 1);

    let e = bm
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("brokers do not accept");
    assert_eq!(e.code(), Code::PermissionDenied);
    let m1 = rm
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: m.etag.clone(),
        })
        .await
        .expect("requester")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(status(&m1), pb::MatchStatus::AcceptedByRequester);
    let m2 = pm
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: m1.etag.clone(),
        })
        .await
        .expect("provider")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(status(&m2), pb::MatchStatus::Agreed);
    assert_eq!(m2.gap.as_ref().map(|g| g.minor_units), Some(0));

    // Capacity is reserved and the need is matched, in the same transaction.
    let o = fra
        .offers
        .get_offer(pb::GetOfferRequest {
            id: offer_id.clone(),
        })
        .await
        .expect("offer")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(o.committed.as_ref().map(|c| c.minor_units), Some(1_000_000));
    assert_eq!(o.status, pb::OfferStatus::PartiallyCommitted as i32);
    let nd = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(nd.status, pb::NeedStatus::Matched as i32);

    let m3 = pm
        .start_implementation(pb::StartImplementationRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("start")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(
        (status(&m3), m3.iati_activity_status),
        (pb::MatchStatus::InImplementation, 2)
    );
    pm.suspend_match(pb::SuspendMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
        reason_text: "rainy season".into(),
    })
    .await
    .expect("suspend");
    bm.resume_match(pb::ResumeMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("resume");
    let done = pm
        .complete_match(pb::CompleteMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("complete")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(
        (status(&done), done.iati_activity_status),
        (pb::MatchStatus::Completed, 3)
    );
    let nd = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(nd.status, pb::NeedStatus::Fulfilled as i32);
    let history: Vec<&str> = done
        .status_history
        .iter()
        .map(|c| c.to_status.as_str())
        .collect();
    assert_eq!(
        history,
        vec![
            "PROPOSED",
            "ACCEPTED_BY_REQUESTER",
            "AGREED",
            "IN_IMPLEMENTATION",
            "SUSPENDED",
            "IN_IMPLEMENTATION",
            "COMPLETED"
        ]
    );

    // Lists show the match to its parties only.
    let listed = rm
        .list_matches(pb::ListMatchesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .matches;
    assert_eq!(listed.len(), 1);
    let other = server.key(pb::Role::Requester, "state-PER").await;
    let mut om = server.matcher(&other).await;
    assert!(
        om.list_matches(pb::ListMatchesRequest::default())
            .await
            .expect("list")
            .into_inner()
            .matches
            .is_empty()
    );
    assert_eq!(
        om.get_match(pb::GetMatchRequest { id: m.id.clone() })
            .await
            .expect_err("hidden")
            .code(),
        Code::NotFound
    );
    server.stop().await;
}

#[tokio::test]
async fn three_member_consortium_agrees_and_a_co_funder_decline_reopens_the_gap() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut n = need("Detection equipment");
    n.accepted_funding_modes = vec![pb::FundingMode::JointlyFunded as i32];
    n.preferred_funding_mode = pb::FundingMode::JointlyFunded as i32;
    n.estimated_budget = usd(900_000);
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    let parties = ["state-FRA", "state-JPN", "state-DEU"];
    let ceilings = [400_000, 300_000, 500_000];
    let pledges = [400_000, 300_000, 200_000];
    let mut offers = Vec::new();
    let mut keys = Vec::new();
    for (p, c) in parties.iter().zip(ceilings) {
        let key = server.key(pb::Role::Provider, p).await;
        let mut cl = server.clients(Some(&key)).await;
        offers.push(active_offer(&mut cl, usd_offer(p, c, pb::FundingMode::JointlyFunded)).await);
        keys.push(key);
    }
    let bkey = server.key(pb::Role::Broker, "").await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let mut bm = server.matcher(&bkey).await;
    let mut rm = server.matcher(&rkey).await;
    let propose = |bm: &mut Matcher| {
        let contributions = offers
            .iter()
            .zip(pledges)
            .map(|(o, a)| contribution(o, a))
            .collect();
        let req = pb::CreateMatchRequest {
            need_id: need_id.clone(),
            funding_mode: pb::FundingMode::JointlyFunded as i32,
            contributions,
            request_id: String::new(),
        };
        let mut bm = bm.clone();
        async move {
            bm.create_match(req)
                .await
                .expect("propose")
                .into_inner()
                .r#match
                .expect("match")
        }
    };

    // First consortium: everyone accepts; each offer reserves its pledge.
    let m = propose(&mut bm).await;
    assert_eq!(m.contributions.len(), 3);
    rm.accept_match(pb::AcceptMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("requester");
    let mut last = None;
    for key in &keys {
        let mut pm = server.matcher(key).await;
        last = Some(
            pm.accept_match(pb::AcceptMatchRequest {
                id: m.id.clone(),
                etag: String::new(),
            })
            .await
            .expect("provider")
            .into_inner()
            .r#match
            .expect("m"),
        );
    }
    let agreed = last.expect("accepted");
    assert_eq!(status(&agreed), pb::MatchStatus::Agreed);
    let mut admin = server.admin().await;
    for (o, pledge) in offers.iter().zip(pledges) {
        let got = admin
            .offers
            .get_offer(pb::GetOfferRequest { id: o.clone() })
            .await
            .expect("offer")
            .into_inner()
            .offer
            .expect("offer");
        assert_eq!(got.committed.as_ref().map(|c| c.minor_units), Some(pledge));
    }
    let nd = admin
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(nd.status, pb::NeedStatus::Matched as i32);

    // A co-funder withdraws its contribution after agreement: back to PROPOSED, gap shown,
    // every reservation released, the need no longer matched.
    let mut deu = server.matcher(&keys[2]).await;
    let back = deu
        .decline_match(pb::DeclineMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
            reason_code: pb::ReasonCode::FundingUnavailable as i32,
            reason_text: "budget cut".into(),
        })
        .await
        .expect("co-funder declines")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(status(&back), pb::MatchStatus::Proposed);
    assert_eq!(back.gap.as_ref().map(|g| g.minor_units), Some(200_000));
    assert_eq!(
        back.contributions[2].acceptance,
        pb::Acceptance::Declined as i32
    );
    assert_eq!(
        back.contributions[2].decline_reason_code,
        pb::ReasonCode::FundingUnavailable as i32
    );
    for o in &offers {
        let got = admin
            .offers
            .get_offer(pb::GetOfferRequest { id: o.clone() })
            .await
            .expect("offer")
            .into_inner()
            .offer
            .expect("offer");
        assert_eq!(
            got.committed.as_ref().map(|c| c.minor_units),
            Some(0),
            "released"
        );
    }
    let nd = admin
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(nd.status, pb::NeedStatus::Circulated as i32);

    // Bad answers: a reason is required; a broker withdraws with one.
    let e = rm
        .decline_match(pb::DeclineMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
            reason_code: 0,
            reason_text: String::new(),
        })
        .await
        .expect_err("reason");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["reason_code"]
    );
    let w = bm
        .withdraw_match(pb::WithdrawMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
            reason_code: pb::ReasonCode::Other as i32,
            reason_text: "re-broker".into(),
        })
        .await
        .expect("withdraw")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(status(&w), pb::MatchStatus::Withdrawn);
    server.stop().await;
}

#[tokio::test]
async fn concurrent_agreements_over_one_offers_capacity_let_exactly_one_succeed() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let offer_id = active_offer(
        &mut fra,
        usd_offer("FRA", 1_000_000, pb::FundingMode::SingleDonor),
    )
    .await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let mut bm = server.matcher(&bkey).await;
    let match_ids = proposed_and_accepted_by_kenya_and_uganda(
        &server,
        &mut broker,
        &mut bm,
        &offer_id,
        700_000,
    )
    .await;
    // The provider's two acceptances race; 700k + 700k exceeds the 1,000k ceiling.
    let mut tasks = Vec::new();
    for id in match_ids.clone() {
        let mut pm = server.matcher(&pkey).await;
        tasks.push(tokio::spawn(async move {
            pm.accept_match(pb::AcceptMatchRequest {
                id,
                etag: String::new(),
            })
            .await
        }));
    }
    let mut ok = 0;
    let mut exhausted = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
                assert_eq!(support::reason(&e), "CAPACITY_EXHAUSTED");
                exhausted += 1;
            }
        }
    }
    assert_eq!((ok, exhausted), (1, 1));
    let o = fra
        .offers
        .get_offer(pb::GetOfferRequest { id: offer_id })
        .await
        .expect("offer")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(
        o.committed.as_ref().map(|c| c.minor_units),
        Some(700_000),
        "never over-committed"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_offer_at_its_maximum_engagements_refuses_the_next_agreement() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut o = usd_offer("FRA", 10_000_000, pb::FundingMode::SingleDonor);
    o.max_engagements = 1;
    let offer_id = active_offer(&mut fra, o).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let mut bm = server.matcher(&bkey).await;
    let mut pm = server.matcher(&pkey).await;
    // Both matches are proposed and accepted by their requesters while the offer is open.
    let proposed = proposed_and_accepted_by_kenya_and_uganda(
        &server,
        &mut broker,
        &mut bm,
        &offer_id,
        100_000,
    )
    .await;
    let mut answers = Vec::new();
    for id in proposed {
        answers.push(
            pm.accept_match(pb::AcceptMatchRequest {
                id,
                etag: String::new(),
            })
            .await,
        );
    }
    let first = answers[0].as_ref().expect("the first agreement").get_ref();
    assert_eq!(
        first.r#match.as_ref().map(status),
        Some(pb::MatchStatus::Agreed)
    );
    let e = answers[1].as_ref().expect_err("one engagement only");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    // Its one engagement taken, the offer is FULLY_COMMITTED and takes on no other match.
    assert_eq!(support::reason(e), "OFFER_NOT_OPEN", "{e:?}");
    assert!(e.message().contains("FULLY_COMMITTED"), "{e:?}");
    let o = fra
        .offers
        .get_offer(pb::GetOfferRequest { id: offer_id })
        .await
        .expect("offer")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(o.status, pb::OfferStatus::FullyCommitted as i32);
    assert_eq!(
        o.committed.as_ref().map(|c| c.minor_units),
        Some(100_000),
        "only the agreed match reserves"
    );
    server.stop().await;
}

/// For Kenya and Uganda: a circulated need of `amount`, a single-donor match proposed on
/// `offer_id` for it, accepted by the requester. The match ids, in that order.
async fn proposed_and_accepted_by_kenya_and_uganda(
    server: &support::TestServer,
    broker: &mut support::Clients,
    bm: &mut support::Matcher,
    offer_id: &str,
    amount: i64,
) -> Vec<String> {
    let mut ids = Vec::new();
    for iso in ["KEN", "UGA"] {
        let rkey = server
            .key(pb::Role::Requester, &format!("state-{iso}"))
            .await;
        let mut req = server.clients(Some(&rkey)).await;
        let mut n = need(&format!("{iso} need"));
        n.estimated_budget = usd(amount);
        let need_id = circulated_need(&mut req, broker, n).await;
        let m = bm
            .create_match(pb::CreateMatchRequest {
                need_id,
                funding_mode: pb::FundingMode::SingleDonor as i32,
                contributions: vec![contribution(offer_id, amount)],
                request_id: String::new(),
            })
            .await
            .expect("propose")
            .into_inner()
            .r#match
            .expect("m");
        let mut rm = server.matcher(&rkey).await;
        rm.accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("requester accepts");
        ids.push(m.id);
    }
    ids
}
