//! Regression tests for holes found from outside (docs/threat-model.md): calls stalled by
//! Nagle's algorithm, streams outliving their key, error replies growing with the input,
//! field masks naming fields that do not exist, timestamps outside the protobuf range,
//! and idle connections held for ever.

use std::time::{Duration, Instant};

use clearinghouse::pb;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::support::{Bearer, start};

async fn list_parties(ch: Channel, key: &str) {
    pb::party_service_client::PartyServiceClient::with_interceptor(ch, Bearer(Some(key.into())))
        .list_parties(pb::ListPartiesRequest {
            page_size: 10,
            ..Default::default()
        })
        .await
        .expect("list parties");
}

/// A reference call whose reply is small enough to leave in one write (so Nagle's
/// algorithm never holds it back): the health check.
async fn health_check(ch: Channel) {
    HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health check");
}

/// Sequential calls on one connection must not wait for the client's delayed ACK. A list
/// reply leaves as several writes; with Nagle's algorithm on the server's socket the last
/// one waits ~40 ms for the ACK of the first, so each list call costs tens of health checks.
/// Without it a list of ten parties costs about as much as a health check. Both are timed
/// on the same connection in the same run and compared as a ratio.
#[tokio::test]
async fn calls_on_one_connection_are_not_held_back_by_delayed_acks() {
    const CALLS: u32 = 20;
    let (server, _dir) = start().await;
    let ch = server.channel().await;
    for _ in 0..3 {
        list_parties(ch.clone(), &server.admin_key).await;
        health_check(ch.clone()).await;
    }
    let (mut lists, mut checks) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..CALLS {
        let t = Instant::now();
        list_parties(ch.clone(), &server.admin_key).await;
        lists += t.elapsed();
        let t = Instant::now();
        health_check(ch.clone()).await;
        checks += t.elapsed();
    }
    assert!(
        lists < checks * 10,
        "{CALLS} list calls took {lists:?}, {CALLS} health checks {checks:?} on one connection"
    );
    server.stop().await;
}
