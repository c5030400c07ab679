//! Restart on the same data directory keeps everything, and seeding stays idempotent.

use clearinghouse::pb;

use crate::support::{TestServer, need, offer};

#[tokio::test]
async fn restart_on_the_same_data_dir_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let mut ken = server.clients(Some(&key)).await;
    let mut fra = server.clients(Some(&pkey)).await;
    let n = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("kept")),
            request_id: String::new(),
        })
        .await
        .expect("need")
        .into_inner()
        .need
        .expect("need");
    let n = ken
        .needs
        .submit_need(pb::SubmitNeedRequest {
            id: n.id,
            etag: n.etag,
        })
        .await
        .expect("submit")
        .into_inner()
        .need
        .expect("need");
    let o = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("kept")),
            request_id: String::new(),
        })
        .await
        .expect("offer")
        .into_inner()
        .offer
        .expect("offer");
    let admin_key = server.admin_key.clone();
    server.stop().await;

    let server = TestServer::start_in(dir.path()).await;
    assert_eq!(
        server.admin_key, admin_key,
        "the bootstrap key is not replaced"
    );
    let mut ken = server.clients(Some(&key)).await;
    let mut fra = server.clients(Some(&pkey)).await;
    let n2 = ken
        .needs
        .get_need(pb::GetNeedRequest { id: n.id.clone() })
        .await
        .expect("need after restart")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(n2, n);
    let o2 = fra
        .offers
        .get_offer(pb::GetOfferRequest { id: o.id.clone() })
        .await
        .expect("offer after restart")
        .into_inner()
        .offer
        .expect("offer");
    assert_eq!(o2, o);
    let mut admin = server.admin().await;
    let states = admin
        .parties
        .list_parties(pb::ListPartiesRequest {
            page_size: 500,
            kind: pb::PartyKind::State as i32,
            ..Default::default()
        })
        .await
        .expect("parties")
        .into_inner()
        .parties;
    assert_eq!(states.len(), 193, "seeding did not duplicate parties");
    let audit = admin
        .admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            resource_id: n.id,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    assert_eq!(audit.len(), 2);
    server.stop().await;
}
