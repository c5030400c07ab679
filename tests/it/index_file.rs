//! The matching index's file (`data_dir/matching-index`): written at shutdown, loaded at
//! the next start with the writes after it applied, and left aside when it is behind,
//! damaged or another store's. Every start answers candidates as the store says.

use std::path::Path;

use clearinghouse::pb;

use crate::support::{self, TestServer, active_offer, circulated_need, need, offer};

/// The offers ranked for `need_id`, as a broker sees them.
async fn ranked(server: &TestServer, need_id: &str) -> Vec<String> {
    let key = server.key(pb::Role::Broker, "").await;
    let mut matcher = pb::match_service_client::MatchServiceClient::with_interceptor(
        server.channel().await,
        support::Bearer(Some(key)),
    );
    let mut ids: Vec<String> = matcher
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: need_id.into(),
            ..Default::default()
        })
        .await
        .expect("find")
        .into_inner()
        .candidates
        .into_iter()
        .map(|c| c.offer_id)
        .collect();
    ids.sort();
    ids
}

async fn add_offer(server: &TestServer, name: &str) -> String {
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    active_offer(&mut fra, offer(name)).await
}

fn index_file(dir: &Path) -> std::path::PathBuf {
    dir.join("matching-index")
}

#[tokio::test]
async fn the_index_file_is_loaded_when_it_fits_the_store_and_rebuilt_over_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("Control lists")).await;
    let first = add_offer(&server, "First").await;
    server.stop().await;
    let saved = std::fs::read(index_file(dir.path())).expect("saved at shutdown");

    // Written after the file: applied from the audit trail at the next start.
    let server = TestServer::start_in(dir.path()).await;
    assert_eq!(
        ranked(&server, &need_id).await,
        std::slice::from_ref(&first)
    );
    let second = add_offer(&server, "Second").await;
    server.stop().await;
    std::fs::write(index_file(dir.path()), &saved).expect("put the older file back");
    let server = TestServer::start_in(dir.path()).await;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(ranked(&server, &need_id).await, both, "behind the store");
    server.stop().await;

    // A damaged file: rebuilt from the store.
    let mut damaged = std::fs::read(index_file(dir.path())).expect("file");
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(index_file(dir.path()), &damaged).expect("damage");
    let server = TestServer::start_in(dir.path()).await;
    assert_eq!(ranked(&server, &need_id).await, both, "damaged");
    server.stop().await;

    // Another store's file: rebuilt from this store.
    let other = tempfile::tempdir().expect("tempdir");
    let elsewhere = TestServer::start_in(other.path()).await;
    let mut ken = elsewhere.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = elsewhere.as_role(pb::Role::Broker, "").await;
    circulated_need(&mut ken, &mut broker, need("Elsewhere")).await;
    add_offer(&elsewhere, "Elsewhere one").await;
    add_offer(&elsewhere, "Elsewhere two").await;
    elsewhere.stop().await;
    std::fs::copy(index_file(other.path()), index_file(dir.path())).expect("copy");
    let server = TestServer::start_in(dir.path()).await;
    assert_eq!(
        ranked(&server, &need_id).await,
        both,
        "another store's file"
    );
    server.stop().await;

    // Without a file kept (index_save_secs = 0) none is read or written.
    std::fs::remove_file(index_file(dir.path())).expect("remove");
    let server = TestServer::start_configured(
        dir.path(),
        clearinghouse::server::RunOptions::default(),
        |c| c.index_save_secs = 0,
    )
    .await;
    assert_eq!(ranked(&server, &need_id).await, both);
    server.stop().await;
    assert!(!index_file(dir.path()).exists());
}
