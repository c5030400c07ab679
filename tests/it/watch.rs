//! WatchMatches: every event once, in order, across a reconnect; streams end at shutdown.

use std::time::Duration;

use tokio::time::timeout;
use tonic::Streaming;

use clearinghouse::pb;

use crate::support::{self, Bearer, need, offer};

const GUARD: Duration = Duration::from_secs(20);

async fn next(s: &mut Streaming<pb::WatchMatchesResponse>) -> pb::WatchMatchesResponse {
    timeout(GUARD, s.message())
        .await
        .expect("event within the guard time")
        .expect("stream ok")
        .expect("an event")
}

#[tokio::test]
async fn watch_delivers_every_event_once_in_order_across_a_reconnect_and_ends_at_shutdown() {
    let (server, _dir) = support::start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = support::circulated_need(&mut ken, &mut broker, need("Watched")).await;
    let o = pb::Offer {
        budget_ceiling: Some(pb::Money {
            currency_code: "USD".into(),
            minor_units: 10_000_000,
        }),
        ..offer("Watched offer")
    };
    let offer_id = support::active_offer(&mut fra, o).await;

    let bkey = server.key(pb::Role::Broker, "").await;
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    let pkey = server.key(pb::Role::Provider, "state-FRA").await;
    let client = |key: String| {
        let ch = server.channel();
        async move {
            pb::match_service_client::MatchServiceClient::with_interceptor(
                ch.await,
                Bearer(Some(key)),
            )
        }
    };
    let (mut bm, mut rm, mut pm) = (
        client(bkey.clone()).await,
        client(rkey).await,
        client(pkey).await,
    );

    let mut watch = bm
        .watch_matches(pb::WatchMatchesRequest { after_sequence: 0 })
        .await
        .expect("watch")
        .into_inner();
    let m = bm
        .create_match(pb::CreateMatchRequest {
            need_id,
            funding_mode: pb::FundingMode::SingleDonor as i32,
            contributions: vec![pb::Contribution {
                offer_id,
                amount: Some(pb::Money {
                    currency_code: "USD".into(),
                    minor_units: 1_000_000,
                }),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .expect("propose")
        .into_inner()
        .r#match
        .expect("m");
    let e1 = next(&mut watch).await;
    assert_eq!(
        (e1.action.as_str(), e1.match_id.as_str(), e1.version),
        ("match.create", m.id.as_str(), 1)
    );
    rm.accept_match(pb::AcceptMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("requester accepts");
    let e2 = next(&mut watch).await;
    assert_eq!((e2.action.as_str(), e2.version), ("match.accept", 2));
    assert!(e2.sequence > e1.sequence);
    drop(watch);

    // While disconnected: agreement and start.
    pm.accept_match(pb::AcceptMatchRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("provider accepts");
    pm.start_implementation(pb::StartImplementationRequest {
        id: m.id.clone(),
        etag: String::new(),
    })
    .await
    .expect("start");

    // Reconnect after the last event seen: exactly the two missed events, in order.
    let mut watch = bm
        .watch_matches(pb::WatchMatchesRequest {
            after_sequence: e2.sequence,
        })
        .await
        .expect("rewatch")
        .into_inner();
    let e3 = next(&mut watch).await;
    let e4 = next(&mut watch).await;
    assert_eq!((e3.action.as_str(), e3.version), ("match.accept", 3));
    assert_eq!((e4.action.as_str(), e4.version), ("match.start", 4));
    assert!(e2.sequence < e3.sequence && e3.sequence < e4.sequence);
    assert_eq!(
        e4.r#match.as_ref().map(|x| x.status),
        Some(pb::MatchStatus::InImplementation as i32)
    );

    // A party outside the match sees none of its events: its first event is its own.
    let per = server.key(pb::Role::Requester, "state-PER").await;
    let mut outsider = client(per).await;
    let mut quiet = outsider
        .watch_matches(pb::WatchMatchesRequest { after_sequence: 0 })
        .await
        .expect("watch")
        .into_inner();

    // Shutdown ends open streams cleanly (and does not wait for them forever).
    timeout(GUARD, server.stop())
        .await
        .expect("server stops with streams open");
    let end = timeout(GUARD, watch.message()).await.expect("stream ends");
    assert!(matches!(end, Ok(None)), "clean end, got {end:?}");
    let end = timeout(GUARD, quiet.message()).await.expect("stream ends");
    assert!(
        matches!(end, Ok(None)),
        "the outsider saw no event: {end:?}"
    );
}
