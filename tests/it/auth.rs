//! Authentication and the role × method table, over real calls.

use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

use clearinghouse::{auth::table::METHOD_ROLES, pb};
use clearinghouse_domain::Role;

use crate::support::{self, TestServer};

/// Calls `path` with an empty request message (decoded as the default request).
async fn call_raw(channel: Channel, key: Option<&str>, path: &str) -> Result<(), Status> {
    if path.ends_with("/WatchMatches") {
        // A stream: the decision comes with the response headers; drop it once opened.
        let mut client = pb::match_service_client::MatchServiceClient::with_interceptor(
            channel,
            support::Bearer(key.map(str::to_owned)),
        );
        return client
            .watch_matches(pb::WatchMatchesRequest { after_sequence: 0 })
            .await
            .map(|_| ());
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut req = Request::new(());
    if let Some(k) = key {
        let v: MetadataValue<_> = format!("Bearer {k}")
            .parse()
            .map_err(|_| Status::internal("bad key"))?;
        req.metadata_mut().insert("authorization", v);
    }
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = http::uri::PathAndQuery::try_from(path.to_owned())
        .map_err(|_| Status::internal("bad path"))?;
    grpc.unary(req, path, codec).await.map(|_| ())
}

async fn keys(server: &TestServer) -> Vec<(Role, String)> {
    vec![
        (Role::Admin, server.admin_key.clone()),
        (Role::Broker, server.key(pb::Role::Broker, "").await),
        (
            Role::Requester,
            server.key(pb::Role::Requester, "state-KEN").await,
        ),
        (
            Role::Provider,
            server.key(pb::Role::Provider, "state-FRA").await,
        ),
        (Role::Analyst, server.key(pb::Role::Analyst, "").await),
    ]
}

/// Who may call what, written from `api.md`'s roles table and the domain's lifecycles
/// (not from the code's own table, which this checks): A admin, B broker, R requester,
/// P provider, N analyst (a GP working group).
const EXPECTED: &[(&str, &str)] = &[
    // The registry of parties is kept by Committee staff; everyone reads it.
    ("PartyService/CreateParty", "AB"),
    ("PartyService/GetParty", "ABRPN"),
    ("PartyService/ListParties", "ABRPN"),
    ("PartyService/UpdateParty", "AB"),
    // Requesters record and move their own needs; brokers record on their behalf and
    // authenticate, reject, circulate and close; everyone reads what they may see.
    ("NeedService/CreateNeed", "BR"),
    ("NeedService/GetNeed", "ABRPN"),
    ("NeedService/ListNeeds", "ABRPN"),
    ("NeedService/UpdateNeed", "BR"),
    ("NeedService/SubmitNeed", "BR"),
    ("NeedService/AuthenticateNeed", "B"),
    ("NeedService/RejectNeed", "B"),
    ("NeedService/CirculateNeed", "B"),
    ("NeedService/WithdrawNeed", "BR"),
    ("NeedService/AddNeedFeedback", "BR"),
    ("NeedService/CloseNeed", "B"),
    // Providers keep their own offers; brokers record on their behalf.
    ("OfferService/CreateOffer", "BP"),
    ("OfferService/GetOffer", "ABRPN"),
    ("OfferService/ListOffers", "ABRPN"),
    ("OfferService/UpdateOffer", "BP"),
    ("OfferService/ActivateOffer", "BP"),
    ("OfferService/WithdrawOffer", "BP"),
    // Matching: requesters for their needs, providers for their offers, brokers for any;
    // admins read everything; analysts only report.
    ("MatchService/FindOffersForNeed", "ABR"),
    ("MatchService/FindNeedsForOffer", "ABP"),
    ("MatchService/ExplainFit", "ABRP"),
    ("MatchService/SuggestConsortium", "ABR"),
    ("MatchService/PlanAllocation", "AB"),
    ("MatchService/CreateMatch", "BP"),
    ("MatchService/GetMatch", "ABRP"),
    ("MatchService/ListMatches", "ABRP"),
    ("MatchService/AcceptMatch", "RP"),
    ("MatchService/DeclineMatch", "RP"),
    ("MatchService/WithdrawMatch", "B"),
    ("MatchService/StartImplementation", "P"),
    ("MatchService/SuspendMatch", "BP"),
    ("MatchService/ResumeMatch", "BP"),
    ("MatchService/CompleteMatch", "P"),
    ("MatchService/CancelMatch", "BP"),
    ("MatchService/WatchMatches", "ABRP"),
    // Reports: "all reports" for brokers, "reports and exports" for GP working groups;
    // providers read them too (confidential needs as counts); the worklist is brokers'.
    ("ReportService/GetCoverageReport", "ABPN"),
    ("ReportService/GetAgeingReport", "ABPN"),
    ("ReportService/GetMatchesReport", "ABPN"),
    ("ReportService/GetProviderPortfolio", "ABPN"),
    ("ReportService/GetPipelineReport", "ABPN"),
    ("ReportService/GetWorklist", "AB"),
    ("ReportService/ExportMatches", "ABPN"),
    ("ReportService/ExportIati", "ABPN"),
    // Intake reads texts for brokers, requesters and providers; it stores nothing.
    ("IntakeService/SuggestNeeds", "BRP"),
    ("IntakeService/SuggestOfferScope", "BRP"),
    // Administration is the admin's alone.
    ("AdminService/CreatePrincipal", "A"),
    ("AdminService/ListPrincipals", "A"),
    ("AdminService/RevokePrincipal", "A"),
    ("AdminService/ListAuditEntries", "A"),
    ("AdminService/GetMatchingPolicy", "A"),
    ("AdminService/UpdateMatchingPolicy", "A"),
    ("AdminService/SetExchangeRates", "A"),
    // A backup holds every record, contacts and key hashes included.
    ("AdminService/ExportBackup", "A"),
    // Broker decisions name every candidate each broker looked at.
    ("AdminService/ListDecisions", "A"),
];

fn letter(role: Role) -> char {
    match role {
        Role::Admin => 'A',
        Role::Broker => 'B',
        Role::Requester => 'R',
        Role::Provider => 'P',
        Role::Analyst => 'N',
    }
}

/// Every RPC the server describes, as `/package.Service/Method`.
fn described_methods() -> Vec<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptors");
    let mut out = Vec::new();
    for file in set.file {
        if file.package() != "clearinghouse.v1" {
            continue;
        }
        for svc in &file.service {
            for m in &svc.method {
                out.push(format!("/clearinghouse.v1.{}/{}", svc.name(), m.name()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_role_and_method_decision_follows_api_md() {
    let (server, _dir) = support::start().await;
    let channel = server.channel().await;
    let keys = keys(&server).await;
    let methods = described_methods();
    let mut checked = 0;
    for path in &methods {
        let short = path.trim_start_matches("/clearinghouse.v1.");
        let Some((_, who)) = EXPECTED.iter().find(|(m, _)| *m == short) else {
            panic!("{path} is served but not in this test's table: decide who may call it");
        };
        for (role, key) in &keys {
            let r = call_raw(channel.clone(), Some(key), path).await;
            let code = r.as_ref().err().map_or(Code::Ok, Status::code);
            if who.contains(letter(*role)) {
                assert!(
                    code != Code::PermissionDenied && code != Code::Unauthenticated,
                    "{role} may call {path} (api.md), got {r:?}"
                );
            } else {
                assert_eq!(code, Code::PermissionDenied, "{role} must be denied {path}");
                let msg = r.err().map(|s| s.message().to_owned()).unwrap_or_default();
                assert!(msg.contains(role.code()), "message names the role: {msg}");
            }
            checked += 1;
        }
    }
    assert_eq!(
        methods.len(),
        EXPECTED.len(),
        "the table lists methods the server does not serve"
    );
    assert_eq!(checked, EXPECTED.len() * 5);
    // And the code's own table agrees with the served methods (no stale entries).
    for (path, _) in METHOD_ROLES {
        assert!(
            methods.iter().any(|m| m == path),
            "{path} is in the table but not served"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_key_are_unauthenticated_but_health_is_open() {
    let (server, _dir) = support::start().await;
    let channel = server.channel().await;
    for (path, _) in METHOD_ROLES {
        let none = call_raw(channel.clone(), None, path)
            .await
            .expect_err("no key");
        assert_eq!(none.code(), Code::Unauthenticated, "{path}");
    }
    let forged = format!("chk_{}_{}", "01ABCDEFGHJKMNPQRSTVWXYZ00", "0".repeat(64));
    for bad in ["not-a-key", forged.as_str()] {
        let e = call_raw(
            channel.clone(),
            Some(bad),
            "/clearinghouse.v1.PartyService/ListParties",
        )
        .await
        .expect_err("bad key");
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    // A real id with a wrong secret is refused too.
    let admin_id = server.admin_key.split('_').nth(1).expect("id").to_owned();
    let wrong = format!("chk_{admin_id}_{}", "f".repeat(64));
    let e = call_raw(
        channel.clone(),
        Some(&wrong),
        "/clearinghouse.v1.PartyService/ListParties",
    )
    .await
    .expect_err("wrong secret");
    assert_eq!(e.code(), Code::Unauthenticated);

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for svc in clearinghouse::server::SERVICE_NAMES {
        let s = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: (*svc).to_owned(),
            })
            .await
            .expect("health")
            .into_inner();
        assert_eq!(
            s.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_and_an_admin_cannot_revoke_itself() {
    let (server, _dir) = support::start().await;
    let mut admin = server.admin().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut broker = server.clients(Some(&key)).await;
    broker
        .parties
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .expect("works before");
    let id = key.split('_').nth(1).expect("id").to_owned();
    let revoked = admin
        .admin
        .revoke_principal(pb::RevokePrincipalRequest { id })
        .await
        .expect("revoke")
        .into_inner()
        .principal
        .expect("p");
    assert!(revoked.revoked);
    let e = broker
        .parties
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .expect_err("revoked");
    assert_eq!(e.code(), Code::Unauthenticated);
    let own = server.admin_key.split('_').nth(1).expect("id").to_owned();
    let e = admin
        .admin
        .revoke_principal(pb::RevokePrincipalRequest { id: own })
        .await
        .expect_err("self");
    assert_eq!(e.code(), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test]
async fn requesters_and_providers_need_a_party_and_keys_are_never_listed() {
    let (server, _dir) = support::start().await;
    let mut admin = server.admin().await;
    let e = admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: "x".into(),
                role: pb::Role::Requester as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("party required");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["principal.party_id"]
    );
    let e = admin
        .admin
        .create_principal(pb::CreatePrincipalRequest {
            principal: Some(pb::Principal {
                display_name: "x".into(),
                role: pb::Role::Provider as i32,
                party_id: "state-XXX".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("unknown party");
    assert_eq!(
        support::violations(&e, Code::InvalidArgument),
        vec!["principal.party_id"]
    );
    let key = server.key(pb::Role::Provider, "state-FRA").await;
    let listed = admin
        .admin
        .list_principals(pb::ListPrincipalsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let dump = format!("{listed:?}");
    let secret = key.rsplit('_').next().expect("secret");
    assert!(
        !dump.contains(secret),
        "a key secret leaked into ListPrincipals"
    );
    assert_eq!(listed.principals.len(), 2);
    server.stop().await;
}
