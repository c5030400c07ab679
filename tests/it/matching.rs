//! Matching over gRPC: ranked candidates with explanations, why-not answers, consortia,
//! the policy and the exchange rates, and an index that survives a restart.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Clients, TestServer, active_offer, circulated_need, need, offer};

fn joint(name: &str, ceiling_usd_cents: i64, scope: pb::GeoScope) -> pb::Offer {
    pb::Offer {
        funding_modes: vec![pb::FundingMode::JointlyFunded as i32],
        budget_ceiling: Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: ceiling_usd_cents,
        }),
        scope: Some(scope),
        ..offer(name)
    }
}

struct World {
    server: TestServer,
    _dir: tempfile::TempDir,
    ken: Clients,
    broker: Clients,
    fra: Clients,
    jpn: Clients,
    need_id: String,
    named: String,
    regional: String,
}

async fn world() -> World {
    let (server, dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let jpn = server.as_role(pb::Role::Provider, "state-JPN").await;
    let mut n = need("Control lists");
    n.estimated_budget = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 1_000_000,
    });
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    // Names KEN: the better geographic fit. Same sub-areas, kinds and funding mode.
    let mut best = offer("Kenya export controls");
    best.scope = Some(pb::GeoScope {
        countries: vec!["KEN".into()],
        ..Default::default()
    });
    let named = active_offer(&mut fra, best).await;
    let regional = active_offer(&mut fra, offer("Africa export controls")).await;
    World {
        server,
        _dir: dir,
        ken,
        broker,
        fra,
        jpn,
        need_id,
        named,
        regional,
    }
}

#[tokio::test]
async fn requester_gets_ranked_offers_with_explanations_and_a_why_not() {
    let mut w = world().await;
    let mut jpn = w.server.as_role(pb::Role::Provider, "state-JPN").await;
    let mut asia = offer("Asia only");
    asia.scope = Some(pb::GeoScope {
        regions: vec!["Asia".into()],
        ..Default::default()
    });
    let outside = active_offer(&mut jpn, asia).await;

    let got = w
        .ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: w.need_id.clone(),
        })
        .await
        .expect("need")
        .into_inner();
    assert!(got.need.is_some());
    let mut matcher = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(w.server.key(pb::Role::Requester, "state-KEN").await)),
    );
    let ranked = matcher
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: w.need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    let ids: Vec<&str> = ranked
        .candidates
        .iter()
        .map(|c| c.offer_id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec![w.named.as_str(), w.regional.as_str()],
        "the offer naming KEN ranks first; the Asian one is no candidate"
    );
    let top = &ranked.candidates[0];
    assert!(top.score > ranked.candidates[1].score);
    assert_eq!(top.factors.len(), 12, "9 factors and 3 gates");
    let geo = top
        .factors
        .iter()
        .find(|f| f.name == "geography")
        .expect("geography");
    assert_eq!(geo.reason, "offer names country KEN");
    assert!(ranked.next_page_token.is_empty());

    // Paging through the ranking.
    let first = matcher
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: w.need_id.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first.candidates.len(), 1);
    let second = matcher
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: w.need_id.clone(),
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.candidates[0].offer_id, w.regional);

    let why_not = matcher
        .explain_fit(pb::ExplainFitRequest {
            need_id: w.need_id.clone(),
            offer_id: outside,
        })
        .await
        .expect("explain")
        .into_inner();
    assert!(!why_not.is_candidate);
    let filters: Vec<&str> = why_not
        .failed_filters
        .iter()
        .map(|f| f.filter.as_str())
        .collect();
    assert_eq!(filters, vec!["GEOGRAPHY"]);
    assert_eq!(
        why_not.failed_filters[0].reason,
        "country KEN is outside the offer's scope"
    );

    // Another requester cannot rank KEN's need.
    let mut per = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(w.server.key(pb::Role::Requester, "state-PER").await)),
    );
    let e = per
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: w.need_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not theirs");
    assert_eq!(e.code(), Code::NotFound);
    let _ = (&mut w.broker, &mut w.fra, &mut w.jpn);
    w.server.stop().await;
}

#[tokio::test]
async fn provider_finds_circulated_needs_for_its_offer_but_never_committee_only_ones() {
    let mut w = world().await;
    let mut hidden = need("Confidential");
    hidden.visibility = pb::Visibility::CommitteeOnly as i32;
    let hidden_id = circulated_need(&mut w.ken, &mut w.broker, hidden).await;
    let fra_key = w.server.key(pb::Role::Provider, "state-FRA").await;
    let mut matcher = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(fra_key)),
    );
    let found = matcher
        .find_needs_for_offer(pb::FindNeedsForOfferRequest {
            offer_id: w.regional.clone(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    let ids: Vec<&str> = found
        .candidates
        .iter()
        .map(|c| c.need_id.as_str())
        .collect();
    assert_eq!(ids, vec![w.need_id.as_str()]);
    assert!(!ids.contains(&hidden_id.as_str()));
    // A broker sees both.
    let broker_key = w.server.key(pb::Role::Broker, "").await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(broker_key)),
    );
    let all = bm
        .find_needs_for_offer(pb::FindNeedsForOfferRequest {
            offer_id: w.regional.clone(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    assert_eq!(all.candidates.len(), 2);
    // JPN cannot rank FRA's offer.
    let jpn_key = w.server.key(pb::Role::Provider, "state-JPN").await;
    let mut jm = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(jpn_key)),
    );
    let e = jm
        .find_needs_for_offer(pb::FindNeedsForOfferRequest {
            offer_id: w.regional.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not theirs");
    assert_eq!(e.code(), Code::NotFound);
    // A withdrawn offer leaves the index.
    w.fra
        .offers
        .withdraw_offer(pb::WithdrawOfferRequest {
            id: w.regional.clone(),
            etag: String::new(),
            reason: "done".into(),
        })
        .await
        .expect("withdraw");
    let ranked = bm
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: w.need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    assert_eq!(
        ranked
            .candidates
            .iter()
            .map(|c| c.offer_id.as_str())
            .collect::<Vec<_>>(),
        vec![w.named.as_str()]
    );
    w.server.stop().await;
}

#[tokio::test]
async fn three_joint_offers_form_a_consortium_and_single_donor_offers_stay_out() {
    let mut w = world().await;
    let mut jn = need("Detection equipment, jointly funded");
    jn.accepted_funding_modes = vec![pb::FundingMode::JointlyFunded as i32];
    jn.preferred_funding_mode = pb::FundingMode::JointlyFunded as i32;
    jn.estimated_budget = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 900_000,
    });
    let need_id = circulated_need(&mut w.ken, &mut w.broker, jn).await;
    let africa = pb::GeoScope {
        regions: vec!["Africa".into()],
        ..Default::default()
    };
    let a = active_offer(
        &mut w.fra,
        joint(
            "FRA joint",
            400_000,
            pb::GeoScope {
                countries: vec!["KEN".into()],
                ..Default::default()
            },
        ),
    )
    .await;
    let b = active_offer(&mut w.jpn, joint("JPN joint", 300_000, africa.clone())).await;
    let mut deu = w.server.as_role(pb::Role::Provider, "state-DEU").await;
    let c = active_offer(&mut deu, joint("DEU joint", 500_000, africa)).await;

    let bkey = w.server.key(pb::Role::Broker, "").await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        w.server.channel().await,
        support::Bearer(Some(bkey)),
    );
    let s = bm
        .suggest_consortium(pb::SuggestConsortiumRequest {
            need_id: need_id.clone(),
        })
        .await
        .expect("consortium")
        .into_inner();
    let members: Vec<(&str, i64)> = s
        .members
        .iter()
        .map(|m| {
            (
                m.offer_id.as_str(),
                m.amount.as_ref().map_or(0, |x| x.minor_units),
            )
        })
        .collect();
    assert_eq!(s.covered.as_ref().map(|m| m.minor_units), Some(900_000));
    assert_eq!(s.uncovered.as_ref().map(|m| m.minor_units), Some(0));
    assert_eq!(s.method, pb::ConsortiumMethod::Exact as i32);
    assert_eq!(
        s.candidates_considered, 3,
        "the two single-donor offers are not considered"
    );
    assert_eq!(members.iter().map(|(_, a)| a).sum::<i64>(), 900_000);
    assert!(
        members
            .iter()
            .all(|(id, _)| [a.as_str(), b.as_str(), c.as_str()].contains(id))
    );
    assert_eq!(
        members[0],
        (a.as_str(), 400_000),
        "the best-fitting offer (names KEN) gives its all"
    );

    // A need accepting only single-donor funding cannot form a consortium.
    let mut solo = need("Single donor only");
    solo.accepted_funding_modes = vec![pb::FundingMode::SingleDonor as i32];
    let solo_id = circulated_need(&mut w.ken, &mut w.broker, solo).await;
    let e = bm
        .suggest_consortium(pb::SuggestConsortiumRequest { need_id: solo_id })
        .await
        .expect_err("single-donor need");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(support::reason(&e), "NOT_JOINTLY_FUNDED");
    w.server.stop().await;
}

#[tokio::test]
async fn policy_and_exchange_rates_change_scores_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut n = need("EUR budget");
    n.estimated_budget = Some(pb::Money {
        currency_code: "EUR".into(),
        minor_units: 1_000_000,
    });
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    let mut o = offer("USD capacity");
    o.budget_ceiling = Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: 540_000,
    });
    let offer_id = active_offer(&mut fra, o).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(bkey.clone())),
    );
    let budget = |r: &pb::ExplainFitResponse| {
        r.factors
            .iter()
            .find(|f| f.name == "budget")
            .cloned()
            .expect("budget factor")
    };

    let before = bm
        .explain_fit(pb::ExplainFitRequest {
            need_id: need_id.clone(),
            offer_id: offer_id.clone(),
        })
        .await
        .expect("explain")
        .into_inner();
    assert!(budget(&before).value.abs() < 1e-9);
    assert!(
        budget(&before).reason.starts_with("no exchange rate"),
        "{}",
        budget(&before).reason
    );

    let mut admin = server.admin().await;
    let first = admin
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner();
    let etag = first.policy.expect("policy").etag;
    let e = admin
        .admin
        .set_exchange_rates(pb::SetExchangeRatesRequest {
            base_currency_code: "USD".into(),
            rates: vec![pb::ExchangeRate {
                currency_code: "EUR".into(),
                rate: "abc".into(),
            }],
            etag: etag.clone(),
        })
        .await
        .expect_err("bad rate");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["rates[0].rate"]
    );
    let set = admin
        .admin
        .set_exchange_rates(pb::SetExchangeRatesRequest {
            base_currency_code: "USD".into(),
            rates: vec![pb::ExchangeRate {
                currency_code: "EUR".into(),
                rate: "1.08".into(),
            }],
            etag: etag.clone(),
        })
        .await
        .expect("rates")
        .into_inner();
    assert_ne!(set.etag, etag, "the settings moved to a new version");
    let stale_rates = admin
        .admin
        .set_exchange_rates(pb::SetExchangeRatesRequest {
            base_currency_code: "USD".into(),
            rates: Vec::new(),
            etag,
        })
        .await
        .expect_err("stale etag");
    assert_eq!(stale_rates.code(), Code::Aborted);
    let after = bm
        .explain_fit(pb::ExplainFitRequest {
            need_id: need_id.clone(),
            offer_id: offer_id.clone(),
        })
        .await
        .expect("explain")
        .into_inner();
    assert!(
        (budget(&after).value - 0.5).abs() < 1e-9,
        "540,000 of 1,080,000 USD cents: {}",
        budget(&after).reason
    );

    let read = admin
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner();
    assert_eq!(read.base_currency_code, "USD");
    assert_eq!(read.rates.len(), 1);
    assert_eq!(read.rates[0].rate, "1.08");
    let policy = read.policy.expect("policy");
    assert!((policy.thematic_weight - 0.24).abs() < 1e-9);
    assert!((policy.specificity_weight - 0.18).abs() < 1e-9);
    assert!((policy.missing_kinds_penalty - 0.6).abs() < 1e-9);
    let weights = || {
        pb_mask(&[
            "thematic_weight",
            "geography_weight",
            "funding_weight",
            "budget_weight",
            "assistance_weight",
            "timing_weight",
            "language_weight",
            "domain_weight",
            "specificity_weight",
            "missing_kinds_penalty",
            "no_common_language_penalty",
            "single_donor_shortfall_penalty",
        ])
    };
    let bad = pb::MatchingPolicy {
        thematic_weight: 0.9,
        ..policy.clone()
    };
    let e = admin
        .admin
        .update_matching_policy(pb::UpdateMatchingPolicyRequest {
            policy: Some(bad),
            update_mask: pb_mask(&["thematic_weight"]),
        })
        .await
        .expect_err("sum");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["policy.weights"]
    );
    // All weight on budget and no gate: the score becomes the budget credit.
    let budget_only = pb::MatchingPolicy {
        thematic_weight: 0.0,
        geography_weight: 0.0,
        funding_weight: 0.0,
        budget_weight: 1.0,
        assistance_weight: 0.0,
        timing_weight: 0.0,
        language_weight: 0.0,
        domain_weight: 0.0,
        specificity_weight: 0.0,
        missing_kinds_penalty: 0.0,
        no_common_language_penalty: 0.0,
        single_donor_shortfall_penalty: 0.0,
        ..policy.clone()
    };
    admin
        .admin
        .update_matching_policy(pb::UpdateMatchingPolicyRequest {
            policy: Some(budget_only.clone()),
            update_mask: weights(),
        })
        .await
        .expect("update");
    let stale = admin
        .admin
        .update_matching_policy(pb::UpdateMatchingPolicyRequest {
            policy: Some(budget_only),
            update_mask: weights(),
        })
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);
    let scored = bm
        .explain_fit(pb::ExplainFitRequest {
            need_id: need_id.clone(),
            offer_id: offer_id.clone(),
        })
        .await
        .expect("explain")
        .into_inner();
    assert!((scored.score - 0.5).abs() < 1e-9);
    server.stop().await;

    // After a restart the index is rebuilt from storage and the settings are kept.
    let server = TestServer::start_in(dir.path()).await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(bkey)),
    );
    let ranked = bm
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id,
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    assert_eq!(ranked.candidates.len(), 1);
    assert!((ranked.candidates[0].score - 0.5).abs() < 1e-9);
    let kept = server
        .admin()
        .await
        .admin
        .get_matching_policy(pb::GetMatchingPolicyRequest {})
        .await
        .expect("policy")
        .into_inner()
        .policy
        .expect("policy");
    assert_eq!(
        (kept.specificity_weight, kept.single_donor_shortfall_penalty),
        (0.0, 0.0),
        "weights and penalties survive the restart"
    );
    server.stop().await;
}

#[tokio::test]
async fn broker_plans_an_allocation_that_respects_capacity_and_explains_the_unfunded() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut ids = Vec::new();
    for iso in ["KEN", "UGA", "PER"] {
        let key = server
            .key(pb::Role::Requester, &format!("state-{iso}"))
            .await;
        let mut req = server.clients(Some(&key)).await;
        let mut n = need(&format!("{iso} need"));
        n.accepted_funding_modes = vec![pb::FundingMode::SingleDonor as i32];
        n.estimated_budget = Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: 700_000,
        });
        ids.push(circulated_need(&mut req, &mut broker, n).await);
    }
    let usd = |u| {
        Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: u,
        })
    };
    // One Africa-wide offer that cannot fund both African needs, one for Uganda only.
    let a = active_offer(
        &mut fra,
        pb::Offer {
            budget_ceiling: usd(1_000_000),
            ..offer("Africa")
        },
    )
    .await;
    let b = active_offer(
        &mut fra,
        pb::Offer {
            budget_ceiling: usd(800_000),
            scope: Some(pb::GeoScope {
                countries: vec!["UGA".into()],
                ..Default::default()
            }),
            ..offer("Uganda")
        },
    )
    .await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(bkey)),
    );
    let plan = bm
        .plan_allocation(pb::PlanAllocationRequest::default())
        .await
        .expect("plan")
        .into_inner();
    assert_eq!(plan.single_donor_method, pb::AllocationMethod::Exact as i32);
    let mut lines: Vec<(String, String, i64)> = plan
        .lines
        .iter()
        .map(|l| {
            (
                l.need_id.clone(),
                l.offer_id.clone(),
                l.amount.as_ref().map_or(0, |m| m.minor_units),
            )
        })
        .collect();
    lines.sort();
    let mut want = vec![
        (ids[0].clone(), a.clone(), 700_000),
        (ids[1].clone(), b.clone(), 700_000),
    ];
    want.sort();
    assert_eq!(
        lines, want,
        "both African needs funded, each offer within capacity"
    );
    assert_eq!(plan.unfunded.len(), 1);
    assert_eq!(plan.unfunded[0].need_id, ids[2]);
    assert_eq!(plan.unfunded[0].reason, "no offer passes the hard filters");
    // Filters narrow the plan; providers may not plan.
    let americas = bm
        .plan_allocation(pb::PlanAllocationRequest {
            region: "Americas".into(),
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    assert_eq!(americas.needs_considered, 1);
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let mut pm = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(pkey)),
    );
    assert_eq!(
        pm.plan_allocation(pb::PlanAllocationRequest::default())
            .await
            .expect_err("brokers only")
            .code(),
        Code::PermissionDenied
    );
    server.stop().await;
}

fn pb_mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn required_kinds_and_languages_travel_through_the_api_and_filter_candidates() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let wanting = |required: &str| pb::Need {
        languages: vec!["fr".into(), "en".into()],
        required_languages: vec![required.to_owned()],
        required_assistance_kinds: vec![pb::AssistanceKind::Training as i32],
        ..need("French training")
    };
    let e = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(wanting("es")),
            request_id: String::new(),
        })
        .await
        .expect_err("a required language must be one of the need's");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["need.required_languages[0]"]
    );
    let need_id = circulated_need(&mut ken, &mut broker, wanting("fr")).await;
    let stored = broker
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(stored.required_languages, vec!["fr".to_owned()]);
    assert_eq!(
        stored.required_assistance_kinds,
        vec![pb::AssistanceKind::Training as i32]
    );
    let english = active_offer(
        &mut fra,
        pb::Offer {
            languages: vec!["en".into()],
            ..offer("English only")
        },
    )
    .await;
    let french = active_offer(
        &mut fra,
        pb::Offer {
            languages: vec!["fr".into()],
            ..offer("En français")
        },
    )
    .await;
    let mut bm = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(server.key(pb::Role::Broker, "").await)),
    );
    let ranked = bm
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner();
    let ids: Vec<&str> = ranked
        .candidates
        .iter()
        .map(|c| c.offer_id.as_str())
        .collect();
    assert_eq!(ids, vec![french.as_str()]);
    let why_not = bm
        .explain_fit(pb::ExplainFitRequest {
            need_id,
            offer_id: english,
        })
        .await
        .expect("explain")
        .into_inner();
    let filters: Vec<&str> = why_not
        .failed_filters
        .iter()
        .map(|f| f.filter.as_str())
        .collect();
    assert_eq!(filters, vec!["REQUIRED_LANGUAGE"]);
    server.stop().await;
}
