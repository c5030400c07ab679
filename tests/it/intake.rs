//! Intake over gRPC: a note verbale listing needs in three areas becomes three drafts
//! with codes and the words behind them, which become DRAFT needs through CreateNeed;
//! bad texts are INVALID_ARGUMENT on `text`.

use tonic::Code;

use clearinghouse::pb;

use crate::support;

const NOTE: &str = "The Permanent Mission of the Republic of Kenya to the United Nations presents its compliments to the Chair of the Committee established pursuant to resolution 1540 (2004) and has the honour to request assistance in the following areas:
1. Drafting of legislation criminalizing the financing of proliferation and establishing penalties for violations of the national export control law.
2. Training of customs and border officers in the detection of nuclear and radioactive material at the port of Mombasa, including the provision of radiation portal monitors.
3. Strengthening biosafety and biosecurity at the national public health laboratories that hold dangerous pathogens.
The Government would welcome support in English before the end of 2027.";

fn chars(s: &str, start: u32, end: u32) -> String {
    s.chars()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect()
}

#[tokio::test]
async fn a_note_verbale_with_three_needs_becomes_three_drafts_with_their_evidence() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut intake = pb::intake_service_client::IntakeServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(key.clone())),
    );
    let r = intake
        .suggest_needs(pb::SuggestNeedsRequest { text: NOTE.into() })
        .await
        .expect("suggest")
        .into_inner();
    assert_eq!(r.language, "en");
    assert_eq!(r.requesting_state, "KEN");
    let areas: Vec<i32> = r.needs.iter().map(|n| n.thematic_area).collect();
    assert_eq!(
        areas,
        vec![
            pb::ThematicArea::LegislationEnforcement as i32,
            pb::ThematicArea::BorderLawEnforcement as i32,
            pb::ThematicArea::AccountingSecurity as i32,
        ],
        "one draft per area, in text order"
    );
    for n in &r.needs {
        assert!(!n.sub_areas.is_empty() && !n.title.is_empty());
        for s in &n.sub_areas {
            for e in &s.evidence {
                assert_eq!(
                    chars(NOTE, e.start, e.end),
                    e.phrase,
                    "evidence points at its words"
                );
            }
        }
    }
    // The broker confirms: each draft becomes a DRAFT need through the usual call.
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    for n in &r.needs {
        let created = broker
            .needs
            .create_need(pb::CreateNeedRequest {
                need: Some(pb::Need {
                    requester_party_id: format!("state-{}", n.requesting_state),
                    title: n.title.clone(),
                    description: n
                        .excerpts
                        .iter()
                        .map(|x| x.text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    area: n.thematic_area,
                    sub_areas: n.sub_areas.iter().take(3).map(|s| s.sub_area).collect(),
                    weapon_domains: n.weapon_domains.clone(),
                    assistance_kinds: if n.assistance_kinds.is_empty() {
                        vec![pb::AssistanceKind::ExpertMission as i32]
                    } else {
                        n.assistance_kinds.clone()
                    },
                    accepted_funding_modes: vec![pb::FundingMode::SingleDonor as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("the draft is a valid need")
            .into_inner()
            .need
            .expect("need");
        assert_eq!(created.status, pb::NeedStatus::Draft as i32);
    }
    server.stop().await;
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawText {
    #[prost(bytes = "vec", tag = "1")]
    text: Vec<u8>,
}

#[tokio::test]
async fn empty_oversized_and_non_utf8_texts_are_invalid_arguments() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Provider, "state-FRA").await;
    let mut intake = pb::intake_service_client::IntakeServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(key.clone())),
    );
    for text in [String::new(), "   ".into(), "x ".repeat(40_000)] {
        let e = intake
            .suggest_offer_scope(pb::SuggestOfferScopeRequest { text })
            .await
            .expect_err("refused");
        assert_eq!(support::violations(&e, Code::InvalidArgument), vec!["text"]);
    }
    let scope = intake
        .suggest_offer_scope(pb::SuggestOfferScopeRequest {
            text: "Our programme trains customs officers in West Africa on strategic trade controls and the detection of chemical weapons precursors.".into(),
        })
        .await
        .expect("scope")
        .into_inner();
    assert!(
        scope.subregions.iter().any(|r| r == "Western Africa"),
        "{:?}",
        scope.subregions
    );
    // Bytes that are not UTF-8 where a string is expected.
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let mut req = tonic::Request::new(RawText {
        text: vec![b'o', b'k', 0xff, 0xfe, b'!'],
    });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    let e = grpc
        .unary(
            req,
            http::uri::PathAndQuery::from_static("/clearinghouse.v1.IntakeService/SuggestNeeds"),
            tonic_prost::ProstCodec::<RawText, pb::SuggestNeedsResponse>::default(),
        )
        .await
        .expect_err("not UTF-8");
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    server.stop().await;
}
