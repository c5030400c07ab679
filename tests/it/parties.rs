//! The party registry: seeded on first start, extended by brokers.

use tonic::Code;

use clearinghouse::pb;

use crate::support;

#[tokio::test]
async fn registry_holds_every_un_member_and_starter_organizations() {
    let (server, _dir) = support::start().await;
    let mut analyst = server.as_role(pb::Role::Analyst, "").await;
    let mut states = 0;
    let mut token = String::new();
    loop {
        let page = analyst
            .parties
            .list_parties(pb::ListPartiesRequest {
                page_size: 500,
                page_token: token,
                kind: pb::PartyKind::State as i32,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        states += page.parties.len();
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(states, 193);
    let iaea = analyst
        .parties
        .get_party(pb::GetPartyRequest {
            id: "org-iaea".into(),
        })
        .await
        .expect("iaea")
        .into_inner()
        .party
        .expect("party");
    assert_eq!(iaea.short_name, "IAEA");
    let ken = analyst
        .parties
        .get_party(pb::GetPartyRequest {
            id: "state-KEN".into(),
        })
        .await
        .expect("ken")
        .into_inner()
        .party
        .expect("party");
    assert_eq!(
        (ken.region.as_str(), ken.subregion.as_str()),
        ("Africa", "Eastern Africa")
    );
    let africa = analyst
        .parties
        .list_parties(pb::ListPartiesRequest {
            page_size: 500,
            region: "Africa".into(),
            kind: pb::PartyKind::State as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .parties;
    assert_eq!(africa.len(), 54);
    server.stop().await;
}

#[tokio::test]
async fn broker_adds_and_edits_an_organization_but_a_state_exists_once() {
    let (server, _dir) = support::start().await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let created = broker
        .parties
        .create_party(pb::CreatePartyRequest {
            party: Some(pb::Party {
                kind: pb::PartyKind::NgoAcademic as i32,
                display_name: "Centre for Nonproliferation Studies".into(),
                short_name: "CNS".into(),
                country_code: "USA".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .party
        .expect("party");
    let edited = broker
        .parties
        .update_party(pb::UpdatePartyRequest {
            party: Some(pb::Party {
                id: created.id.clone(),
                etag: created.etag.clone(),
                description: "Monterey".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await
        .expect("edit")
        .into_inner()
        .party
        .expect("party");
    assert_eq!(
        (edited.description.as_str(), edited.short_name.as_str()),
        ("Monterey", "CNS")
    );
    let dup = broker
        .parties
        .create_party(pb::CreatePartyRequest {
            party: Some(pb::Party {
                kind: pb::PartyKind::State as i32,
                display_name: "Kenya".into(),
                country_code: "KEN".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("state exists");
    assert_eq!(dup.code(), Code::AlreadyExists);
    server.stop().await;
}
