//! The HTTP edge on the gRPC port: Connect unary calls in JSON and protobuf (driven with
//! `curl`, `buf curl` and the Connect client for Node), gRPC-Web over HTTP/1.1, and the
//! rules they share with gRPC — authentication, the method table, the rate limit, the
//! message limit, and the same error reasons and field violations.

use std::process::Command;

use base64::Engine;
use prost::Message;
use tonic::Code;

use clearinghouse::pb;

use crate::{
    support::{self, TestServer, need, reason, violations},
    web::{Web, ensure_npm_tools},
};

const CREATE_NEED: &str = "/clearinghouse.v1.NeedService/CreateNeed";
const GET_NEED: &str = "/clearinghouse.v1.NeedService/GetNeed";

/// Runs `curl` and returns the HTTP status and the body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.trim().parse().expect("status"), body.to_owned())
}

/// The `details` entry of `type` in a Connect error, decoded from its base64 `value`.
fn detail<M: Message + Default>(error: &serde_json::Value, type_name: &str) -> M {
    let d = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["type"] == type_name)
        .unwrap_or_else(|| panic!("no {type_name} in {error}"));
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(d["value"].as_str().expect("value").trim_end_matches('='))
        .expect("base64");
    M::decode(raw.as_slice()).expect("protobuf")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_creates_and_reads_a_need_in_the_proto3_json_mapping() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let base = format!("http://{}", server.addr);
    let auth = format!("Authorization: Bearer {key}");
    // snake_case and lowerCamel names both accepted, int64 as a string, enums by name.
    let body = r#"{"need": {"title": "Control list translation",
        "description": "Translate the national control list into French",
        "area": "THEMATIC_AREA_EXPORT_TRANSSHIPMENT", "sub_areas": ["SUB_AREA_CONTROL_LISTS"],
        "assistanceKinds": ["ASSISTANCE_KIND_TRANSLATION_DOCUMENTATION"],
        "accepted_funding_modes": ["FUNDING_MODE_SINGLE_DONOR"],
        "estimatedBudget": {"currency_code": "USD", "minorUnits": "4000000"},
        "contact": {"name": "Desk officer", "email": "desk@example.org"}}}"#;
    let (status, out) = curl(&[
        "-X",
        "POST",
        &format!("{base}{CREATE_NEED}"),
        "-H",
        "Content-Type: application/json",
        "-H",
        &auth,
        "-d",
        body,
    ]);
    assert_eq!(status, 200, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let n = &v["need"];
    assert_eq!(n["requesterPartyId"], "state-KEN");
    assert_eq!(n["status"], "NEED_STATUS_DRAFT");
    assert_eq!(n["subAreas"][0], "SUB_AREA_CONTROL_LISTS");
    assert_eq!(
        n["estimatedBudget"]["minorUnits"], "4000000",
        "int64 as a string"
    );
    assert!(n.get("sub_areas").is_none(), "output names are lowerCamel");
    let id = n["id"].as_str().expect("id").to_owned();

    let (status, out) = curl(&[
        "-X",
        "POST",
        &format!("{base}{GET_NEED}"),
        "-H",
        "Content-Type: application/json",
        "-H",
        &auth,
        "-d",
        &format!(r#"{{"id": "{id}"}}"#),
    ]);
    assert_eq!(status, 200, "{out}");
    let got: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(got["need"], *n, "the same need as created");

    // Over gRPC, the very same record.
    let mut c = server.clients(Some(&key)).await;
    let g = c
        .needs
        .get_need(pb::GetNeedRequest { id: id.clone() })
        .await
        .expect("grpc")
        .into_inner()
        .need
        .expect("need");
    assert_eq!(g.estimated_budget.map(|m| m.minor_units), Some(4_000_000));
}

#[tokio::test]
async fn connect_errors_carry_the_same_reason_and_field_violations_as_grpc() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let bad = pb::Need {
        title: String::new(),
        sub_areas: vec![pb::SubArea::InsiderThreat as i32],
        area: pb::ThematicArea::ExportTransshipment as i32,
        ..pb::Need::default()
    };
    let mut c = server.clients(Some(&key)).await;
    let status = c
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(bad.clone()),
            request_id: String::new(),
        })
        .await
        .expect_err("invalid over gRPC");
    let grpc_fields = violations(&status, Code::InvalidArgument);
    assert!(grpc_fields.len() >= 3, "{grpc_fields:?}");

    let mut web = Web::new(server.addr);
    let json = clearinghouse::json::to_string(
        &pb::CreateNeedRequest {
            need: Some(bad),
            request_id: String::new(),
        },
        false,
    )
    .expect("json");
    let a = web.post_json(CREATE_NEED, Some(&key), &json).await;
    assert_eq!(a.status, 400, "{}", a.text());
    let e = a.json();
    assert_eq!(e["code"], "invalid_argument");
    assert_eq!(e["message"].as_str(), Some(status.message()));
    let br: tonic_types::pb::BadRequest = detail(&e, "google.rpc.BadRequest");
    let connect_fields: Vec<String> = br.field_violations.into_iter().map(|f| f.field).collect();
    assert_eq!(
        connect_fields, grpc_fields,
        "the same violations, in the same order"
    );
    let info: tonic_types::pb::ErrorInfo = detail(&e, "google.rpc.ErrorInfo");
    assert_eq!(info.reason, reason(&status));
    assert_eq!(info.domain, "clearinghouse");
    assert!(info.metadata.contains_key("request_id"), "{info:?}");
    let debug = e["details"]
        .as_array()
        .expect("details")
        .iter()
        .find(|d| d["type"] == "google.rpc.BadRequest")
        .expect("BadRequest");
    assert_eq!(
        debug["debug"]["fieldViolations"].as_array().map(Vec::len),
        Some(connect_fields.len())
    );
}

#[tokio::test]
async fn connect_refuses_what_grpc_refuses() {
    let (server, _dir) = support::start().await;
    let ken = server.key(pb::Role::Requester, "state-KEN").await;
    let nga = server.key(pb::Role::Requester, "state-NGA").await;
    let analyst = server.key(pb::Role::Analyst, "").await;
    let mut web = Web::new(server.addr);
    let body = clearinghouse::json::to_string(
        &pb::CreateNeedRequest {
            need: Some(need("Radiation portal monitors")),
            request_id: String::new(),
        },
        false,
    )
    .expect("json");

    let a = web.post_json(CREATE_NEED, None, &body).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["code"].clone()),
        (401, "unauthenticated".into())
    );
    let a = web
        .post_json(CREATE_NEED, Some("chk_nobody_0000"), &body)
        .await;
    assert_eq!(a.status, 401);
    let a = web.post_json(CREATE_NEED, Some(&analyst), &body).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["code"].clone()),
        (403, "permission_denied".into())
    );

    let created = web.post_json(CREATE_NEED, Some(&ken), &body).await;
    assert_eq!(created.status, 200, "{}", created.text());
    let id = created.json()["need"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let get = format!(r#"{{"id": "{id}"}}"#);
    let other = web.post_json(GET_NEED, Some(&nga), &get).await;
    assert_eq!(
        other.status, 404,
        "another State's need does not exist for NGA"
    );
    assert_eq!(other.json()["code"], "not_found");
    let stale = web
        .post_json(
            "/clearinghouse.v1.NeedService/SubmitNeed",
            Some(&ken),
            &format!(r#"{{"id": "{id}", "etag": "99"}}"#),
        )
        .await;
    assert_eq!(
        (stale.status.as_u16(), stale.json()["code"].clone()),
        (409, "aborted".into())
    );
    let info: tonic_types::pb::ErrorInfo = detail(&stale.json(), "google.rpc.ErrorInfo");
    assert_eq!(info.reason, "STALE_ETAG");

    let unknown_field = web
        .post_json(GET_NEED, Some(&ken), r#"{"identifier": "x"}"#)
        .await;
    assert_eq!(unknown_field.status, 400);
    assert!(
        unknown_field.text().contains("identifier"),
        "{}",
        unknown_field.text()
    );
}

#[tokio::test]
async fn connect_carries_protobuf_bodies_too() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let req = pb::ListPartiesRequest {
        page_size: 3,
        ..Default::default()
    };
    let auth = format!("Bearer {key}");
    let a = web
        .send(
            http::Method::POST,
            "/clearinghouse.v1.PartyService/ListParties",
            &[
                ("content-type", "application/proto"),
                ("authorization", &auth),
            ],
            req.encode_to_vec(),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), "application/proto");
    let resp = pb::ListPartiesResponse::decode(a.body.as_ref()).expect("protobuf");
    assert_eq!(resp.parties.len(), 3);
    assert!(!resp.next_page_token.is_empty());
}

#[tokio::test]
async fn the_rate_limit_and_the_message_limit_apply_to_connect_calls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_configured(dir.path(), Default::default(), |c| {
        c.limits.rate_per_principal = 1;
        c.limits.burst_per_principal = 3;
        c.limits.max_message_bytes = 64 * 1024;
    })
    .await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let list = "/clearinghouse.v1.PartyService/ListParties";
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(web.post_json(list, Some(&key), "{}").await.status.as_u16());
    }
    assert!(codes.contains(&200), "{codes:?}");
    let limited = web.post_json(list, Some(&key), "{}").await;
    assert_eq!(limited.status, 429, "{codes:?}");
    let e = limited.json();
    assert_eq!(e["code"], "resource_exhausted");
    let info: tonic_types::pb::ErrorInfo = detail(&e, "google.rpc.ErrorInfo");
    assert_eq!(info.reason, "RATE_LIMITED");

    let other = server.key(pb::Role::Broker, "").await;
    let huge = format!(r#"{{"text": "{}"}}"#, "a".repeat(70 * 1024));
    let a = web
        .post_json(
            "/clearinghouse.v1.IntakeService/SuggestNeeds",
            Some(&other),
            &huge,
        )
        .await;
    assert_eq!(a.status, 429, "{}", a.text());
    assert_eq!(a.json()["code"], "resource_exhausted");
    // The same message over gRPC meets the same limit.
    let ch = server.channel().await;
    let mut intake = pb::intake_service_client::IntakeServiceClient::with_interceptor(
        ch,
        support::Bearer(Some(other.clone())),
    );
    let s = intake
        .suggest_needs(pb::SuggestNeedsRequest {
            text: "a".repeat(70 * 1024),
        })
        .await
        .expect_err("over the limit");
    assert_eq!(s.code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn streaming_methods_unknown_paths_and_other_bodies_are_refused_with_reasons() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let a = web
        .post_json(
            "/clearinghouse.v1.MatchService/WatchMatches",
            Some(&key),
            "{}",
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.json()["code"].clone()),
        (501, "unimplemented".into())
    );
    assert!(a.text().contains("gRPC-Web"), "{}", a.text());
    let a = web
        .post_json(
            "/clearinghouse.v1.NeedService/DropEverything",
            Some(&key),
            "{}",
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["code"], "unimplemented");
    let a = web
        .send(
            http::Method::POST,
            GET_NEED,
            &[("content-type", "text/plain")],
            "hi",
        )
        .await;
    assert_eq!(a.status, 415);
    assert!(a.header("accept-post").contains("application/json"));
    let a = web.get(GET_NEED).await;
    assert_eq!(a.status, 405);
    let a = web
        .send(
            http::Method::POST,
            GET_NEED,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            "{}",
        )
        .await;
    assert_eq!(a.status, 501);
    assert_eq!(a.header("accept-encoding"), "identity");
    let a = web.get("/favicon.ico").await;
    assert_eq!(a.status, 404);
}

/// A gRPC-Web request body: one uncompressed message frame.
fn grpc_web_frame(msg: &impl Message) -> Vec<u8> {
    let m = msg.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(m.len()).expect("len").to_be_bytes());
    out.extend_from_slice(&m);
    out
}

/// The message frames and the trailer text of a gRPC-Web response body.
fn grpc_web_parts(body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let (mut frames, mut trailers, mut rest) = (Vec::new(), String::new(), body);
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let (flag, payload) = (rest[0], &rest[5..5 + len]);
        if flag & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload));
        } else {
            frames.push(payload.to_vec());
        }
        rest = &rest[5 + len..];
    }
    (frames, trailers)
}

#[tokio::test]
async fn grpc_web_over_http1_reaches_the_services_through_the_auth_layer() {
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let mut web = Web::new(server.addr);
    let body = grpc_web_frame(&pb::ListPartiesRequest {
        page_size: 2,
        ..Default::default()
    });
    let auth = format!("Bearer {key}");
    let path = "/clearinghouse.v1.PartyService/ListParties";
    let ct = ("content-type", "application/grpc-web+proto");
    let a = web
        .send(
            http::Method::POST,
            path,
            &[ct, ("authorization", &auth)],
            body.clone(),
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").starts_with("application/grpc-web"));
    let (frames, trailers) = grpc_web_parts(&a.body);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    let resp = pb::ListPartiesResponse::decode(frames[0].as_slice()).expect("message");
    assert_eq!(resp.parties.len(), 2);

    let refused = web.send(http::Method::POST, path, &[ct], body).await;
    let status = refused.header("grpc-status").to_owned();
    let (_, trailers) = grpc_web_parts(&refused.body);
    assert!(
        status == "16" || trailers.contains("grpc-status:16"),
        "unauthenticated: {status} {trailers}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_speaks_connect_and_grpc_web_to_the_same_port() {
    let tools = ensure_npm_tools();
    let buf = tools.join("node_modules/.bin/buf");
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Broker, "").await;
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |protocol: &str, method: &str, body: &str| {
        Command::new(&buf)
            .current_dir(root)
            .args(["curl", "--protocol", protocol, "--schema", "proto"])
            .args(["-H", &format!("Authorization: Bearer {key}"), "-d", body])
            .arg(format!("http://{}/clearinghouse.v1.{method}", server.addr))
            .output()
            .expect("buf runs")
    };
    for protocol in ["connect", "grpcweb"] {
        let out = run(protocol, "PartyService/ListParties", r#"{"pageSize": 2}"#);
        assert!(
            out.status.success(),
            "{protocol}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            v["parties"].as_array().map(Vec::len),
            Some(2),
            "{protocol}: {v}"
        );
        let out = run(protocol, "NeedService/GetNeed", r#"{"id": "missing"}"#);
        assert!(
            !out.status.success(),
            "{protocol}: a missing need is an error"
        );
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        // buf prints the error as Connect JSON: the code, and the ErrorInfo detail (base64)
        // carrying the same reason as gRPC.
        let json = text
            .find('{')
            .and_then(|at| serde_json::from_str::<serde_json::Value>(&text[at..]).ok())
            .unwrap_or_else(|| panic!("{protocol}: no error JSON in {text}"));
        assert_eq!(json["code"], "not_found", "{protocol}: {text}");
        let info: tonic_types::pb::ErrorInfo = detail(&json, "google.rpc.ErrorInfo");
        assert_eq!(info.reason, "NOT_FOUND", "{protocol}: {text}");
    }
}

const NODE_CLIENT: &str = r#"
import { readFileSync } from "node:fs";
import { create, createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const [, , baseUrl, key, apiSet, rpcSet, needJson] = process.argv;
const files = new Map();
for (const p of [apiSet, rpcSet]) {
  for (const f of fromBinary(FileDescriptorSetSchema, readFileSync(p)).file) files.set(f.name, f);
}
const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files.values()] }));
const transport = createConnectTransport({
  baseUrl,
  httpVersion: "1.1",
  interceptors: [(next) => async (req) => { req.header.set("authorization", `Bearer ${key}`); return next(req); }],
});
const needs = createClient(registry.getService("clearinghouse.v1.NeedService"), transport);
const createReq = registry.getMessage("clearinghouse.v1.CreateNeedRequest");
const out = {};
const created = await needs.createNeed(fromJson(createReq, { need: JSON.parse(needJson) }, { registry }));
out.created = toJson(registry.getMessage("clearinghouse.v1.CreateNeedResponse"), created, { registry });
const got = await needs.getNeed({ id: created.need.id });
out.got = toJson(registry.getMessage("clearinghouse.v1.GetNeedResponse"), got, { registry });
try {
  await needs.createNeed(fromJson(createReq, { need: { title: "" } }, { registry }));
  out.error = "none";
} catch (e) {
  const err = ConnectError.from(e);
  out.error = {
    code: Code[err.code],
    fields: err.findDetails(registry.getMessage("google.rpc.BadRequest")).flatMap((b) => b.fieldViolations.map((v) => v.field)),
    reason: err.findDetails(registry.getMessage("google.rpc.ErrorInfo"))[0]?.reason,
  };
}
console.log(JSON.stringify(out));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_client_for_node_creates_and_reads_a_need_and_decodes_errors() {
    let tools = ensure_npm_tools();
    let (server, _dir) = support::start().await;
    let key = server.key(pb::Role::Requester, "state-KEN").await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let api = scratch.path().join("api.binpb");
    let rpc = scratch.path().join("rpc.binpb");
    std::fs::write(&api, pb::FILE_DESCRIPTOR_SET).expect("write");
    std::fs::write(&rpc, tonic_types::pb::FILE_DESCRIPTOR_SET).expect("write");
    // The script sits next to the installed packages so that Node resolves them.
    let script = tools.join(format!("connect-client-{}.mjs", std::process::id()));
    std::fs::write(&script, NODE_CLIENT).expect("write script");
    let need_json =
        clearinghouse::json::to_string(&need("Border detection equipment"), false).expect("json");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}", server.addr))
        .arg(&key)
        .arg(&api)
        .arg(&rpc)
        .arg(&need_json)
        .output()
        .expect("node runs");
    let _ = std::fs::remove_file(&script);
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["created"]["need"]["title"], "Border detection equipment");
    assert_eq!(v["created"]["need"]["requesterPartyId"], "state-KEN");
    assert_eq!(v["got"]["need"], v["created"]["need"]);

    let mut c = server.clients(Some(&key)).await;
    let grpc = c
        .needs
        .create_need(pb::CreateNeedRequest {
            need: Some(pb::Need {
                title: String::new(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(v["error"]["code"], "InvalidArgument");
    assert_eq!(v["error"]["reason"], reason(&grpc));
    let fields: Vec<String> = v["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(fields, violations(&grpc, Code::InvalidArgument));
}

/// The shell blocks of the README section under `heading`, up to the next section.
fn readme_section_script(heading: &str) -> String {
    let readme = include_str!("../../README.md");
    let start = readme.find(heading).expect("section");
    let rest = &readme[start + heading.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut script = String::new();
    for block in section.split("```sh\n").skip(1) {
        script.push_str(block.split("```").next().unwrap_or_default());
        script.push('\n');
    }
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_over_http_runs_as_written() {
    let (server, dir) = support::start().await;
    let script = readme_section_script("## Integrating over HTTP");
    assert!(script.contains("curl"), "{script}");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SERVER", format!("http://{}", server.addr))
        .env("DATA_DIR", dir.path())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "OFFER_STATUS_ACTIVE",
        "NEED_STATUS_SUBMITTED",
        "NEED_STATUS_CIRCULATED",
        "MATCH_STATUS_ACCEPTED_BY_REQUESTER",
        "MATCH_STATUS_AGREED",
        "\"need.sub_areas[0]\"",
        "INVALID_FIELDS",
    ] {
        assert!(stdout.contains(want), "{want} missing from:\n{stdout}");
    }
}
