//! The call log of the real binary (JSON lines): one line per call with the request id,
//! method, principal id (never the key), status and duration; and the request id on
//! every line logged inside a call, including lines from the use cases that run on the
//! blocking pool.

use std::time::Duration;

use serde_json::Value;
use tonic::{Request, metadata::MetadataValue};

use clearinghouse::pb;

use crate::support::{Bearer, ChildLimits, ChildServer, poll_until};

fn with_id<T>(msg: T, id: &'static str, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("x-request-id", MetadataValue::from_static(id));
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    r
}

/// The request id a log line carries: its own field, or a field of one of its spans.
fn request_id_of(line: &Value) -> Option<&str> {
    line["fields"]["request_id"].as_str().or_else(|| {
        line["spans"]
            .as_array()?
            .iter()
            .find_map(|s| s["request_id"].as_str())
    })
}

fn principal_of(key: &str) -> &str {
    key.strip_prefix("chk_")
        .and_then(|r| r.rsplit_once('_'))
        .map(|(id, _)| id)
        .expect("key format")
}

#[tokio::test]
async fn every_call_logs_one_line_and_every_line_of_a_call_names_its_request_id() {
    let server = ChildServer::spawn("", ChildLimits::default());
    let ch = server.channel().await;
    let admin_id = principal_of(&server.admin_key).to_owned();
    let admin_secret = server
        .admin_key
        .rsplit('_')
        .next()
        .expect("secret")
        .to_owned();

    // A write whose use case logs from the blocking pool.
    let mut admin = pb::admin_service_client::AdminServiceClient::new(ch.clone());
    let created = admin
        .create_principal(with_id(
            pb::CreatePrincipalRequest {
                principal: Some(pb::Principal {
                    display_name: "Mission of Peru".to_owned(),
                    role: pb::Role::Requester as i32,
                    party_id: "state-PER".to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "log-create-principal",
            &server.admin_key,
        ))
        .await
        .expect("create principal")
        .into_inner();
    let new_secret = created
        .api_key
        .rsplit('_')
        .next()
        .expect("secret")
        .to_owned();
    // A refused read.
    let mut needs = pb::need_service_client::NeedServiceClient::new(ch.clone());
    needs
        .get_need(with_id(
            pb::GetNeedRequest {
                id: "01JNOSUCHNEED0000000000000".to_owned(),
            },
            "log-missing-need",
            &server.admin_key,
        ))
        .await
        .expect_err("not found");
    // A call with no key at all.
    pb::party_service_client::PartyServiceClient::with_interceptor(ch, Bearer(None))
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .expect_err("no key");

    let per_call = |id: &str| {
        server
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["target"] == "clearinghouse::call" && v["fields"]["request_id"] == id)
            .collect::<Vec<_>>()
    };
    // The server logs a call once its reply is sent, so the client can see the reply before
    // the line: wait for all three lines, the anonymous one included.
    let anonymous_logged = || {
        server
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| {
                v["target"] == "clearinghouse::call"
                    && v["fields"]["method"] == "/clearinghouse.v1.PartyService/ListParties"
            })
    };
    let logged = poll_until(Duration::from_secs(10), || {
        (!per_call("log-create-principal").is_empty()
            && !per_call("log-missing-need").is_empty()
            && anonymous_logged())
        .then_some(())
    })
    .await;
    assert!(logged.is_some(), "each call is logged");

    let create = per_call("log-create-principal");
    assert_eq!(create.len(), 1, "one line per call: {create:?}");
    let f = &create[0]["fields"];
    assert_eq!(
        f["method"],
        "/clearinghouse.v1.AdminService/CreatePrincipal"
    );
    assert_eq!(f["principal"], admin_id.as_str());
    assert_eq!(f["code"], "OK");
    assert!(f["duration_ms"].as_f64().is_some(), "{f}");
    assert_eq!(create[0]["level"], "INFO", "successes are logged at info");

    let missing = per_call("log-missing-need");
    assert_eq!(missing.len(), 1, "{missing:?}");
    let f = &missing[0]["fields"];
    assert_eq!(f["method"], "/clearinghouse.v1.NeedService/GetNeed");
    assert_eq!(f["code"], "NOT_FOUND");
    assert_eq!(f["reason"], "NOT_FOUND");

    let lines: Vec<Value> = server
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let anonymous: Vec<&Value> = lines
        .iter()
        .filter(|v| {
            v["target"] == "clearinghouse::call"
                && v["fields"]["method"] == "/clearinghouse.v1.PartyService/ListParties"
        })
        .collect();
    assert!(
        anonymous
            .iter()
            .any(|v| v["fields"]["code"] == "UNAUTHENTICATED" && v["fields"]["principal"] == "-"),
        "the call without a key is logged with no principal: {anonymous:?}"
    );

    // The use case's own line, written on the blocking pool, names the call.
    let app_line = lines
        .iter()
        .find(|v| v["fields"]["message"] == "principal created")
        .expect("the use case logs the new principal");
    assert_eq!(
        request_id_of(app_line),
        Some("log-create-principal"),
        "{app_line}"
    );
    // Every line inside a call's span names its request id, and every per-call line has
    // its own.
    for v in &lines {
        let in_call = v["spans"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "call"));
        if in_call || v["target"] == "clearinghouse::call" {
            assert!(
                request_id_of(v).is_some(),
                "a call's line without its id: {v}"
            );
        }
    }
    for raw in server.logs() {
        assert!(
            !raw.contains(&admin_secret),
            "a key secret in the log: {raw}"
        );
        assert!(!raw.contains(&new_secret), "a key secret in the log: {raw}");
    }
}
