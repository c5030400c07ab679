//! What a caller may not see must look exactly like what does not exist, whatever else
//! is wrong with the request; a publication consent withheld after circulation hides the
//! need at once; retries of creates return the original; page tokens are opaque.

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Clients, active_offer, circulated_need, need, offer};

const STALE: &str = "97";

fn usd(units: i64) -> Option<pb::Money> {
    Some(pb::Money {
        currency_code: "USD".into(),
        minor_units: units,
    })
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// The status and `ErrorInfo` reason of a refusal, with the id replaced, so a hidden
/// record and an unknown one can be compared.
fn shape(s: &tonic::Status, id: &str) -> (Code, String, String) {
    (
        s.code(),
        support::reason(s),
        s.message().replace(id, "<id>"),
    )
}

async fn pending_match(
    server: &support::TestServer,
    broker: &str,
    need_id: &str,
    offer_id: &str,
) -> pb::Match {
    server
        .matcher(broker)
        .await
        .create_match(pb::CreateMatchRequest {
            need_id: need_id.to_owned(),
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id: offer_id.to_owned(),
                amount: usd(1_000_000),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .expect("propose")
        .into_inner()
        .r#match
        .expect("match")
}

#[tokio::test]
async fn records_a_caller_may_not_see_look_unknown_even_with_a_stale_etag() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut nga = server.as_role(pb::Role::Requester, "state-NGA").await;
    let mut deu = server.as_role(pb::Role::Provider, "state-DEU").await;
    let mut usd_offer = offer("DEU");
    usd_offer.budget_ceiling = usd(50_000_000);
    let their_need = circulated_need(&mut nga, &mut broker, need("NGA's need")).await;
    let their_offer = active_offer(&mut deu, usd_offer).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let their_match = pending_match(&server, &bkey, &their_need, &their_offer).await;
    // A draft need of NGA (a requester sees only its own; a provider never a draft).
    let draft = nga
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("draft")),
            request_id: String::new(),
        })
        .await
        .expect("draft")
        .into_inner()
        .need
        .expect("need")
        .id;

    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let kkey = server.key(pb::Role::Requester, "state-KEN").await;
    let fkey = server.key(pb::Role::Provider, "state-FRA").await;
    let (mut km, mut fm) = (server.matcher(&kkey).await, server.matcher(&fkey).await);
    let unknown = "01JUNKNOWN0000000000000000";

    // Each case: the call on the hidden record, and the same call on an unknown id.
    macro_rules! same {
        ($label:expr, $id:expr, |$v:ident| $call:expr) => {{
            let hidden = {
                let $v = $id.to_owned();
                $call.await.expect_err($label)
            };
            let absent = {
                let $v = unknown.to_owned();
                $call.await.expect_err($label)
            };
            assert_eq!(
                hidden.code(),
                Code::NotFound,
                "{}: {}",
                $label,
                hidden.message()
            );
            assert_eq!(shape(&hidden, $id), shape(&absent, unknown), "{}", $label);
        }};
    }
    let upd = |id: String| pb::UpdateNeedRequest {
        need: Some(pb::Need {
            id,
            etag: STALE.into(),
            title: "mine now".into(),
            ..Default::default()
        }),
        update_mask: mask(&["title"]),
    };
    same!("update another's need", &their_need, |id| ken
        .needs
        .update_need(upd(id)));
    same!("update another's draft", &draft, |id| ken
        .needs
        .update_need(upd(id)));
    same!("withdraw another's need", &their_need, |id| ken
        .needs
        .withdraw_need(pb::WithdrawNeedRequest {
            id,
            etag: STALE.into(),
            reason: "mine".into(),
        }));
    same!("submit another's draft", &draft, |id| ken
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id,
            etag: STALE.into()
        }));
    same!("feedback on another's need", &their_need, |id| ken
        .needs
        .add_need_feedback(pb::AddNeedFeedbackRequest {
            id,
            etag: STALE.into(),
            text: "mine".into(),
        }));
    let upd_offer = |id: String| pb::UpdateOfferRequest {
        offer: Some(pb::Offer {
            id,
            etag: STALE.into(),
            description: "mine now".into(),
            ..Default::default()
        }),
        update_mask: mask(&["description"]),
    };
    same!("update another's offer", &their_offer, |id| fra
        .offers
        .update_offer(upd_offer(id)));
    same!("withdraw another's offer", &their_offer, |id| fra
        .offers
        .withdraw_offer(pb::WithdrawOfferRequest {
            id,
            etag: STALE.into(),
            reason: "mine".into(),
        }));
    same!("requester accepts another's match", &their_match.id, |id| {
        km.accept_match(pb::AcceptMatchRequest {
            id,
            etag: STALE.into(),
        })
    });
    same!(
        "requester declines another's match",
        &their_match.id,
        |id| km.decline_match(pb::DeclineMatchRequest {
            id,
            etag: STALE.into(),
            reason_code: pb::ReasonCode::Timing as i32,
            reason_text: String::new(),
        })
    );
    same!("provider accepts another's match", &their_match.id, |id| fm
        .accept_match(pb::AcceptMatchRequest {
            id,
            etag: STALE.into()
        }));
    same!("provider declines another's match", &their_match.id, |id| {
        fm.decline_match(pb::DeclineMatchRequest {
            id,
            etag: STALE.into(),
            reason_code: pb::ReasonCode::NoCapacity as i32,
            reason_text: String::new(),
        })
    });
    same!("provider starts another's match", &their_match.id, |id| fm
        .start_implementation(pb::StartImplementationRequest {
            id,
            etag: STALE.into()
        }));
    server.stop().await;
}

async fn provider_view(
    fra: &mut Clients,
    fm: &mut support::Matcher,
    need_id: &str,
    offer_id: &str,
) -> (bool, bool, bool) {
    let get = fra
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.to_owned(),
        })
        .await
        .is_ok();
    let listed = fra
        .needs
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .needs
        .iter()
        .any(|n| n.id == need_id);
    let ranked = fm
        .find_needs_for_offer(pb::FindNeedsForOfferRequest {
            offer_id: offer_id.to_owned(),
            ..Default::default()
        })
        .await
        .expect("rank")
        .into_inner()
        .candidates
        .iter()
        .any(|c| c.need_id == need_id);
    (get, listed, ranked)
}

#[tokio::test]
async fn withholding_consent_after_circulation_hides_the_need_at_once() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut deu = server.as_role(pb::Role::Provider, "state-DEU").await;
    let mut analyst = server.as_role(pb::Role::Analyst, "").await;
    let mut n = need("Public need");
    n.visibility = pb::Visibility::Public as i32;
    let need_id = circulated_need(&mut ken, &mut broker, n).await;
    let mut o = offer("FRA");
    o.budget_ceiling = usd(50_000_000);
    let fra_offer = active_offer(&mut fra, o.clone()).await;
    let deu_offer = active_offer(&mut deu, o).await;
    // DEU is named in a proposal before the objection; FRA is not.
    let bkey = server.key(pb::Role::Broker, "").await;
    let deu_match = pending_match(&server, &bkey, &need_id, &deu_offer).await;
    let fkey = server.key(pb::Role::Provider, "state-FRA").await;
    let dkey = server.key(pb::Role::Provider, "state-DEU").await;
    let (mut fm, mut dm) = (server.matcher(&fkey).await, server.matcher(&dkey).await);
    assert_eq!(
        provider_view(&mut fra, &mut fm, &need_id, &fra_offer).await,
        (true, true, true)
    );

    let cur = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .need
        .expect("need");
    let withheld = ken
        .needs
        .update_need(pb::UpdateNeedRequest {
            need: Some(pb::Need {
                id: need_id.clone(),
                etag: cur.etag,
                publication_consent: pb::PublicationConsent::Withheld as i32,
                ..Default::default()
            }),
            update_mask: mask(&["publication_consent"]),
        })
        .await
        .expect("withhold")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(withheld.visibility, pb::Visibility::CommitteeOnly as i32);

    // At once, on every read path of a provider not in a match, and of an analyst.
    assert_eq!(
        provider_view(&mut fra, &mut fm, &need_id, &fra_offer).await,
        (false, false, false)
    );
    let e = analyst
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect_err("analyst");
    assert_eq!(e.code(), Code::NotFound);
    // The provider named in the open match keeps reading it through the match; the
    // match stays for the Committee to decide on.
    let (get, listed, ranked) = provider_view(&mut deu, &mut dm, &need_id, &deu_offer).await;
    assert!(get && !listed && !ranked, "{get} {listed} {ranked}");
    let m = dm
        .get_match(pb::GetMatchRequest {
            id: deu_match.id.clone(),
        })
        .await
        .expect("match")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(m.status, pb::MatchStatus::Proposed as i32);
    // In the audit trail, by name.
    let mut admin = server.admin().await;
    let trail = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            resource_id: need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    assert!(
        trail.iter().any(|e| e.action == "need.consent_withheld"),
        "{trail:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn candidates_for_a_need_matching_does_not_rank_yet_say_why() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let id = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("draft")),
            request_id: String::new(),
        })
        .await
        .expect("draft")
        .into_inner()
        .need
        .expect("need")
        .id;
    let kkey = server.key(pb::Role::Requester, "state-KEN").await;
    let e = server
        .matcher(&kkey)
        .await
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: id,
            ..Default::default()
        })
        .await
        .expect_err("draft");
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(support::reason(&e), "NEED_NOT_RANKED");
    assert!(e.message().contains("DRAFT"), "{}", e.message());
    server.stop().await;
}

#[tokio::test]
async fn retries_of_creates_return_the_original_even_after_a_change() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("n")).await;
    let mut o = offer("FRA");
    o.budget_ceiling = usd(50_000_000);
    let offer_id = active_offer(&mut fra, o).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = server.matcher(&bkey).await;
    let ask = pb::CreateMatchRequest {
        need_id: need_id.clone(),
        funding_mode: pb::FundingMode::SingleDonor as i32,
        contributions: vec![pb::Contribution {
            offer_id: offer_id.clone(),
            amount: usd(1_000_000),
            ..Default::default()
        }],
        request_id: "6f1d1c4e-2b3a-4c5d-8e9f-0a1b2c3d4e5f".into(),
    };
    let first = bm
        .create_match(ask.clone())
        .await
        .expect("first")
        .into_inner()
        .r#match
        .expect("m");
    // The offer is withdrawn: a fresh proposal would now fail, the retry must not.
    fra.offers
        .withdraw_offer(pb::WithdrawOfferRequest {
            id: offer_id,
            etag: String::new(),
            reason: "budget cut".into(),
        })
        .await
        .expect("withdraw");
    let again = bm
        .create_match(ask)
        .await
        .expect("retry")
        .into_inner()
        .r#match
        .expect("m");
    assert_eq!(again.id, first.id);

    let mut admin = server.admin().await;
    let make = |name: &str| pb::CreatePrincipalRequest {
        principal: Some(pb::Principal {
            display_name: name.into(),
            role: pb::Role::Analyst as i32,
            ..Default::default()
        }),
        request_id: "0e7c5a1b-9d2f-4e3a-b6c8-1f2e3d4c5b6a".into(),
    };
    let a = admin
        .admin
        .create_principal(make("GP analyst"))
        .await
        .expect("a")
        .into_inner();
    let b = admin
        .admin
        .create_principal(make("GP analyst"))
        .await
        .expect("b")
        .into_inner();
    assert_eq!(
        a.principal.as_ref().map(|p| &p.id),
        b.principal.as_ref().map(|p| &p.id)
    );
    assert_eq!(a.api_key, b.api_key, "the retry returns the same key");
    // The key works.
    let mut as_analyst = server.clients(Some(&a.api_key)).await;
    as_analyst
        .needs
        .list_needs(pb::ListNeedsRequest::default())
        .await
        .expect("the returned key authenticates");
    let e = admin
        .admin
        .create_principal(make("Another name"))
        .await
        .expect_err("another payload");
    assert_eq!(e.code(), Code::AlreadyExists);
    server.stop().await;
}

#[tokio::test]
async fn page_tokens_are_opaque_and_candidate_pages_never_repeat() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("n")).await;
    for i in 0..4 {
        let mut o = offer(&format!("FRA {i}"));
        o.budget_ceiling = usd(1_000_000 * (i + 1));
        active_offer(&mut fra, o).await;
    }
    let page = broker
        .parties
        .list_parties(pb::ListPartiesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let token = page.next_page_token;
    assert!(!token.is_empty());
    assert!(
        !token.contains('.') && token.parse::<u64>().is_err(),
        "{token}"
    );
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let e = broker
        .parties
        .list_parties(pb::ListPartiesRequest {
            page_size: 1,
            page_token: String::from_utf8(tampered).expect("ascii"),
            ..Default::default()
        })
        .await
        .expect_err("tampered");
    assert_eq!(e.code(), Code::InvalidArgument);

    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = server.matcher(&bkey).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let r = bm
            .find_offers_for_need(pb::FindOffersForNeedRequest {
                need_id: need_id.clone(),
                page_size: 1,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        seen.extend(r.candidates.iter().map(|c| (c.offer_id.clone(), c.score)));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 4, "no candidate twice");
    assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
    server.stop().await;
}

#[tokio::test]
async fn candidate_pages_never_repeat_an_offer_when_offers_arrive_between_pages() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("n")).await;
    let mut first = Vec::new();
    for i in 0..4 {
        let mut o = offer(&format!("FRA {i}"));
        o.budget_ceiling = usd(1_000_000 * (i + 1));
        first.push(active_offer(&mut fra, o).await);
    }
    let bkey = server.key(pb::Role::Broker, "").await;
    let mut bm = server.matcher(&bkey).await;
    let mut seen: Vec<(String, f64)> = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = bm
            .find_offers_for_need(pb::FindOffersForNeedRequest {
                need_id: need_id.clone(),
                page_size: 1,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        seen.extend(r.candidates.iter().map(|c| (c.offer_id.clone(), c.score)));
        pages += 1;
        if pages <= 2 {
            // Between pages, offers arrive that rank anywhere: copies of the ones listed.
            for i in 0..3 {
                let mut o = offer(&format!("FRA late {pages}.{i}"));
                o.budget_ceiling = usd(1_000_000 * (i + 1));
                active_offer(&mut fra, o).await;
            }
        }
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no candidate twice: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].1 >= w[1].1),
        "best first: {seen:?}"
    );
    for id in &first {
        assert!(
            ids.contains(id),
            "an offer there from the start is listed: {id}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn feedback_never_fills_the_need_record() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("n")).await;
    let long = "Outcome: delivered as planned. ".repeat(120); // ~3,700 characters
    for _ in 0..30 {
        ken.needs
            .add_need_feedback(pb::AddNeedFeedbackRequest {
                id: need_id.clone(),
                etag: String::new(),
                text: long.clone(),
            })
            .await
            .expect("feedback");
    }
    // 30 × 3.7 KB would be far over a record's 64 KiB; the need is still writable.
    let n = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: need_id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(n.feedback.len(), 30);
    ken.needs
        .update_need(pb::UpdateNeedRequest {
            need: Some(pb::Need {
                id: need_id,
                etag: n.etag,
                contact: Some(pb::ContactPoint {
                    name: "New desk officer".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            update_mask: mask(&["contact"]),
        })
        .await
        .expect("still writable");
    server.stop().await;
}
