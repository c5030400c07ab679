//! Confidentiality: who sees which need, and never a point of contact they should not.

use std::collections::BTreeSet;

use tonic::Code;

use clearinghouse::pb;

use crate::support::{self, Clients, need};

async fn circulated(
    ken: &mut Clients,
    broker: &mut Clients,
    title: &str,
    visibility: pb::Visibility,
    consent: pb::PublicationConsent,
) -> String {
    let n = pb::Need {
        visibility: visibility as i32,
        publication_consent: consent as i32,
        ..need(title)
    };
    support::circulated_need(ken, broker, n).await
}

async fn listed(c: &mut Clients) -> Vec<pb::Need> {
    c.needs
        .list_needs(pb::ListNeedsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs
}

fn titles(needs: &[pb::Need]) -> BTreeSet<String> {
    needs.iter().map(|n| n.title.clone()).collect()
}

#[tokio::test]
async fn a_provider_listing_needs_never_sees_a_committee_only_one_or_any_contact() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut provider = server.as_role(pb::Role::Provider, "state-FRA").await;
    let mut analyst = server.as_role(pb::Role::Analyst, "").await;
    let mut per = server.as_role(pb::Role::Requester, "state-PER").await;

    let granted = pb::PublicationConsent::Granted;
    circulated(
        &mut ken,
        &mut broker,
        "public",
        pb::Visibility::Public,
        granted,
    )
    .await;
    circulated(
        &mut ken,
        &mut broker,
        "providers",
        pb::Visibility::Providers,
        granted,
    )
    .await;
    let secret = circulated(
        &mut ken,
        &mut broker,
        "committee",
        pb::Visibility::CommitteeOnly,
        granted,
    )
    .await;
    // Consent withheld: circulated to the Committee only.
    let withheld = circulated(
        &mut ken,
        &mut broker,
        "withheld",
        pb::Visibility::Public,
        pb::PublicationConsent::Withheld,
    )
    .await;
    ken.needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("draft")),
            request_id: String::new(),
        })
        .await
        .expect("draft");

    let seen = listed(&mut provider).await;
    assert_eq!(
        titles(&seen),
        ["providers", "public"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
    assert!(
        seen.iter().all(|n| n.contact.is_none()),
        "providers never see a point of contact"
    );
    for id in [&secret, &withheld] {
        let e = provider
            .needs
            .get_need(pb::GetNeedRequest { id: id.clone() })
            .await
            .expect_err("hidden");
        assert_eq!(e.code(), Code::NotFound);
    }
    // Filters cannot reveal it either.
    let filtered = provider
        .needs
        .list_needs(pb::ListNeedsRequest {
            party_id: "state-KEN".into(),
            status: pb::NeedStatus::Circulated as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .needs;
    assert!(
        filtered
            .iter()
            .all(|n| n.title != "committee" && n.title != "withheld")
    );

    assert_eq!(
        titles(&listed(&mut analyst).await),
        ["public".to_owned()].into_iter().collect()
    );
    assert!(
        listed(&mut per).await.is_empty(),
        "another requester sees none of KEN's needs"
    );
    let e = per
        .needs
        .get_need(pb::GetNeedRequest { id: secret.clone() })
        .await
        .expect_err("hidden");
    assert_eq!(e.code(), Code::NotFound);

    let all = listed(&mut broker).await;
    assert_eq!(all.len(), 5);
    assert!(
        all.iter().all(|n| n.contact.is_some()),
        "brokers see contacts"
    );
    let own = listed(&mut ken).await;
    assert_eq!(own.len(), 5);
    let w = own
        .iter()
        .find(|n| n.title == "withheld")
        .expect("withheld");
    assert_eq!(w.visibility, pb::Visibility::CommitteeOnly as i32);
    server.stop().await;
}
