//! Regression tests for holes found from outside (docs/threat-model.md): calls stalled by
//! Nagle's algorithm, streams outliving their key, error replies growing with the input,
//! field masks naming fields that do not exist, timestamps outside the protobuf range,
//! and idle connections held for ever.

use std::time::{Duration, Instant};

use clearinghouse::pb;
use tokio::time::timeout;
use tonic::{Code, Status, Streaming, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_types::StatusExt;

use crate::support::{
    Bearer, TestServer, active_offer, circulated_need, need, offer, reason, start, violations,
};

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

// ---------------------------------------------------------------------------------------
// Error replies stay small whatever the input (threat: memory and bandwidth exhaustion).

/// What an error costs in trailers: percent-encoded message (at most 3 bytes per byte),
/// base64 details, the status code and the names.
fn trailer_bytes(s: &Status) -> usize {
    s.message().len() * 3 + s.details().len().div_ceil(3) * 4 + 100
}

fn error_info(s: &Status) -> std::collections::HashMap<String, String> {
    s.get_details_error_info()
        .map(|i| i.metadata)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_list_of_a_hundred_thousand_bad_entries_is_refused_by_its_count_in_a_short_reply() {
    let (server, _dir) = start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let e = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(pb::Need {
                sub_areas: vec![999; 100_000],
                ..need("Flood")
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("too many sub-areas");
    // The count first; of the entries only those within the maximum were looked at.
    let fields = violations(&e, Code::InvalidArgument);
    assert_eq!(fields[0], "need.sub_areas");
    assert!(fields.len() <= 17, "{fields:?}");
    let bad = e.get_details_bad_request().expect("bad request");
    assert!(
        bad.field_violations[0]
            .description
            .contains("has 100000 entries; the maximum is 16"),
        "{:?}",
        bad.field_violations[0]
    );
    assert!(trailer_bytes(&e) < 8 * 1024, "{} bytes", trailer_bytes(&e));
    server.stop().await;
}

#[tokio::test]
async fn violations_are_capped_and_counted_and_values_are_quoted_short() {
    let (server, _dir) = start().await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let long = "Z".repeat(200_000);
    let e = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(pb::Offer {
                scope: Some(pb::GeoScope {
                    countries: (0..256).map(|i| format!("Q{i:02}")).collect(),
                    ..Default::default()
                }),
                languages: vec![long.clone()],
                ..offer("Many bad codes")
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("bad codes");
    let fields = violations(&e, Code::InvalidArgument);
    assert!(
        !fields.is_empty() && fields.len() <= 50,
        "{} violations",
        fields.len()
    );
    let omitted: usize = error_info(&e)
        .get("omitted_violations")
        .expect("the rest is counted")
        .parse()
        .expect("a number");
    assert!(
        fields.len() + omitted >= 257,
        "{} + {omitted}",
        fields.len()
    );
    let bad = e.get_details_bad_request().expect("bad request");
    let lang = bad
        .field_violations
        .iter()
        .find(|f| f.field == "offer.languages[0]")
        .expect("the language is reported");
    assert!(lang.description.len() < 200, "{}", lang.description);
    assert!(!lang.description.contains(&long[..100]), "no long echo");
    assert!(trailer_bytes(&e) < 8 * 1024, "{} bytes", trailer_bytes(&e));
    assert!(e.message().len() <= 512);
    server.stop().await;
}

#[tokio::test]
async fn every_error_names_its_request_id() {
    let (server, _dir) = start().await;
    let mut parties = pb::party_service_client::PartyServiceClient::new(server.channel().await);
    let mut req = tonic::Request::new(pb::GetPartyRequest {
        id: "x".repeat(100_000),
    });
    req.metadata_mut()
        .insert("x-request-id", "trace-42".parse().expect("ascii"));
    let e = parties.get_party(req).await.expect_err("no key");
    assert_eq!(e.code(), Code::Unauthenticated);
    assert_eq!(
        error_info(&e).get("request_id").map(String::as_str),
        Some("trace-42")
    );

    let mut admin = server.admin().await;
    let e = admin
        .parties
        .get_party(pb::GetPartyRequest {
            id: "x".repeat(100_000),
        })
        .await
        .expect_err("no such party");
    assert_eq!(e.code(), Code::NotFound);
    let id = error_info(&e)
        .get("request_id")
        .cloned()
        .unwrap_or_default();
    assert_eq!(id.len(), 26, "a generated ULID: {id:?}");
    assert!(e.message().len() < 200, "{}", e.message());
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Update masks name fields that exist, at their depth.

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn update_masks_naming_no_field_are_refused_and_change_nothing() {
    let (server, _dir) = start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let created = ken
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(need("Masked")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .need
        .expect("need");
    for bad in [
        "title.nonexistent",
        "estimated_budget.amount.x",
        "contact.fax",
        "id",
    ] {
        let e = ken
            .needs
            .update_need(pb::UpdateNeedRequest {
                need: Some(pb::Need {
                    title: "Changed".into(),
                    ..created.clone()
                }),
                update_mask: mask(&[bad]),
            })
            .await
            .expect_err(bad);
        assert_eq!(
            violations(&e, Code::InvalidArgument),
            ["need.update_mask.paths[0]"],
            "{bad}"
        );
        let d = e.get_details_bad_request().expect("details");
        assert!(d.field_violations[0].description.contains(bad), "{bad}");
    }
    let now = ken
        .needs
        .get_need(pb::GetNeedRequest {
            id: created.id.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(
        (now.title.as_str(), now.etag.as_str()),
        ("Masked", created.etag.as_str())
    );

    // A sub-field of a message field exists at its depth.
    let updated = ken
        .needs
        .update_need(pb::UpdateNeedRequest {
            need: Some(pb::Need {
                contact: Some(pb::ContactPoint {
                    name: "Desk officer".into(),
                    email: "new@example.org".into(),
                    ..Default::default()
                }),
                ..created.clone()
            }),
            update_mask: mask(&["contact.email"]),
        })
        .await
        .expect("contact.email names a field")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(updated.contact.expect("contact").email, "new@example.org");

    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let o = fra
        .offers
        .create_offer(pb::CreateOfferRequest {
            offer: Some(offer("Masked offer")),
            request_id: String::new(),
        })
        .await
        .expect("offer")
        .into_inner()
        .offer
        .expect("offer");
    for bad in [
        "budget_ceiling.amount.x",
        "scope.planets",
        "description.text",
    ] {
        let e = fra
            .offers
            .update_offer(pb::UpdateOfferRequest {
                offer: Some(o.clone()),
                update_mask: mask(&[bad]),
            })
            .await
            .expect_err(bad);
        assert_eq!(
            violations(&e, Code::InvalidArgument),
            ["offer.update_mask.paths[0]"],
            "{bad}"
        );
    }
    fra.offers
        .update_offer(pb::UpdateOfferRequest {
            offer: Some(o.clone()),
            update_mask: mask(&["scope.countries", "budget_ceiling.minor_units"]),
        })
        .await
        .expect("sub-fields that exist");

    let mut admin = server.admin().await;
    let p = admin
        .parties
        .get_party(pb::GetPartyRequest {
            id: "state-KEN".into(),
        })
        .await
        .expect("party")
        .into_inner()
        .party
        .expect("party");
    let e = admin
        .parties
        .update_party(pb::UpdatePartyRequest {
            party: Some(p),
            update_mask: mask(&["display_name.x"]),
        })
        .await
        .expect_err("no sub-field");
    assert_eq!(
        violations(&e, Code::InvalidArgument),
        ["party.update_mask.paths[0]"]
    );
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Timestamps within the protobuf range.

#[tokio::test]
async fn timestamps_outside_the_protobuf_range_are_refused() {
    let (server, _dir) = start().await;
    let mut admin = server.admin().await;
    let ts = |seconds, nanos| Some(prost_types::Timestamp { seconds, nanos });
    for (t, field) in [
        (ts(253_402_300_800, 0), "principal.expire_time.seconds"),
        (ts(4_102_444_800, -1), "principal.expire_time.nanos"),
        (
            ts(4_102_444_800, 1_000_000_000),
            "principal.expire_time.nanos",
        ),
    ] {
        let e = admin
            .admin
            .create_principal(pb::CreatePrincipalRequest {
                principal: Some(pb::Principal {
                    display_name: "Far future".into(),
                    role: pb::Role::Broker as i32,
                    expire_time: t,
                    ..Default::default()
                }),
            })
            .await
            .expect_err(field);
        assert_eq!(violations(&e, Code::InvalidArgument), [field]);
    }
    let e = admin
        .needs
        .list_needs(pb::ListNeedsRequest {
            updated_since: ts(-62_135_596_801, 0),
            ..Default::default()
        })
        .await
        .expect_err("before year 1");
    assert_eq!(
        violations(&e, Code::InvalidArgument),
        ["updated_since.seconds"]
    );
    let e = admin
        .offers
        .list_offers(pb::ListOffersRequest {
            updated_since: ts(0, -5),
            ..Default::default()
        })
        .await
        .expect_err("negative nanos");
    assert_eq!(
        violations(&e, Code::InvalidArgument),
        ["updated_since.nanos"]
    );
    // The range's own ends are fine.
    admin
        .needs
        .list_needs(pb::ListNeedsRequest {
            updated_since: ts(253_402_300_799, 999_999_999),
            ..Default::default()
        })
        .await
        .expect("9999-12-31T23:59:59.999999999Z");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// A stream ends when its key is revoked or expires.

const GUARD: Duration = Duration::from_secs(20);

async fn watcher(server: &TestServer, key: &str) -> Streaming<pb::WatchMatchesResponse> {
    server
        .matcher(key)
        .await
        .watch_matches(pb::WatchMatchesRequest { after_sequence: 0 })
        .await
        .expect("watch opens")
        .into_inner()
}

fn principal_id(key: &str) -> String {
    key.split('_').nth(1).expect("id").to_owned()
}

#[tokio::test]
async fn a_revoked_key_gets_no_further_event_and_its_stream_ends_unauthenticated() {
    let (server, _dir) = start().await;
    let mut ken = server.as_role(pb::Role::Requester, "state-KEN").await;
    let mut broker = server.as_role(pb::Role::Broker, "").await;
    let mut fra = server.as_role(pb::Role::Provider, "state-FRA").await;
    let need_id = circulated_need(&mut ken, &mut broker, need("Watched")).await;
    let offer_id = active_offer(
        &mut fra,
        pb::Offer {
            budget_ceiling: Some(pb::Money {
                currency_code: "USD".into(),
                minor_units: 10_000_000,
            }),
            ..offer("Watched offer")
        },
    )
    .await;
    let watcher_key = server.key(pb::Role::Broker, "").await;
    let mut stream = watcher(&server, &watcher_key).await;
    let bkey = server.key(pb::Role::Broker, "").await;
    let m = server
        .matcher(&bkey)
        .await
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
        .expect("match");
    let first = timeout(GUARD, stream.message())
        .await
        .expect("in time")
        .expect("ok")
        .expect("an event");
    assert_eq!(first.match_id, m.id);

    let mut admin = server.admin().await;
    admin
        .admin
        .revoke_principal(pb::RevokePrincipalRequest {
            id: principal_id(&watcher_key),
        })
        .await
        .expect("revoke");
    let rkey = server.key(pb::Role::Requester, "state-KEN").await;
    server
        .matcher(&rkey)
        .await
        .accept_match(pb::AcceptMatchRequest {
            id: m.id.clone(),
            etag: String::new(),
        })
        .await
        .expect("an event after the revocation");
    let end = timeout(GUARD, stream.message())
        .await
        .expect("the stream ends");
    let e = end.expect_err("no event for a revoked key");
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    assert_eq!(reason(&e), "UNAUTHENTICATED");
    assert!(error_info(&e).contains_key("request_id"));
    server.stop().await;
}

#[tokio::test]
async fn a_stream_ends_unauthenticated_when_its_key_expires() {
    let (server, _dir) = start().await;
    let mut admin = server.admin().await;
    let expires = std::time::SystemTime::now() + Duration::from_secs(3);
    let since_epoch = expires
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    let key = admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: "Short-lived broker".into(),
                role: pb::Role::Broker as i32,
                expire_time: Some(prost_types::Timestamp {
                    seconds: i64::try_from(since_epoch.as_secs()).expect("seconds"),
                    nanos: 0,
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("create")
        .into_inner()
        .api_key;
    let mut stream = watcher(&server, &key).await;
    let end = timeout(GUARD, stream.message())
        .await
        .expect("the stream ends soon after the expiry");
    let e = end.expect_err("ended by the expiry");
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    server.stop().await;
}
