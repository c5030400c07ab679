//! The Prometheus endpoint end to end: after real calls (successes, refusals, a made-up
//! method path naming a need id, rate-limited calls, a candidate query, a socket that is
//! no HTTP/2 client) a scrape holds every family, counts the calls by method and code,
//! and no label value is anything but a bounded name: no id, key or request id anywhere.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tonic::{Code, Request, metadata::MetadataValue};

use clearinghouse::{auth::table::METHOD_ROLES, metrics as m, pb, server::RunOptions};

use crate::support::{self, TestServer};

/// One sample of the text exposition format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `name{k="v",...} value` lines (comments skipped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').expect("a value");
            let (name, labels) = match head.split_once('{') {
                None => (head.to_owned(), Vec::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("closing brace");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once("=\"").expect("k=\"v\"");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            Sample {
                name,
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// GET `path` on the endpoint; returns the status line and the body.
async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("request");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("response");
    let (head, body) = out.split_once("\r\n\r\n").expect("head and body");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// Scrapes until `ready` holds on the samples (the gauges are sampled periodically), or
/// gives up after a minute.
async fn scrape_until(
    addr: SocketAddr,
    ready: impl Fn(&[Sample]) -> bool,
) -> (String, Vec<Sample>) {
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(addr, "/metrics").await;
        assert!(status.contains("200"), "{status}");
        let samples = parse(&body);
        if ready(&samples) || tokio::time::Instant::now() >= end {
            return (body, samples);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn a_scrape_after_real_calls_has_every_family_and_only_bounded_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics_addr = metrics_listener.local_addr().expect("addr");
    let server = TestServer::start_configured(
        dir.path(),
        RunOptions {
            metrics_listener: Some(metrics_listener),
            ..RunOptions::default()
        },
        |c| {
            c.metrics.sample_interval_secs = 1;
            c.limits.rate_per_principal = 1;
            c.limits.burst_per_principal = 20;
        },
    )
    .await;

    // A circulated need, an active offer and a candidate query.
    let requester_key = server.key(pb::Role::Requester, "state-GHA").await;
    let broker_key = server.key(pb::Role::Broker, "").await;
    let provider_key = server.key(pb::Role::Provider, "state-FRA").await;
    let mut requester = server.clients(Some(&requester_key)).await;
    let mut broker = server.clients(Some(&broker_key)).await;
    let mut provider = server.clients(Some(&provider_key)).await;
    let need_id =
        support::circulated_need(&mut requester, &mut broker, support::need("Licensing")).await;
    support::active_offer(&mut provider, support::offer("Outreach")).await;
    server
        .matcher(&broker_key)
        .await
        .find_offers_for_need(pb::FindOffersForNeedRequest {
            need_id: need_id.clone(),
            ..Default::default()
        })
        .await
        .expect("candidates");

    // A refusal, a call with a chosen request id, and a made-up path naming the need.
    let mut nobody = server.clients(Some("chk_nobody_secret")).await;
    let refused = nobody
        .parties
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .expect_err("bad key");
    assert_eq!(refused.code(), Code::Unauthenticated);
    let mut req = Request::new(pb::GetNeedRequest {
        id: "01JMISSINGNEED0000000000000".to_owned(),
    });
    req.metadata_mut().insert(
        "x-request-id",
        MetadataValue::from_static("metrics-test-request"),
    );
    let missing = broker.needs.get_need(req).await.expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let path: http::uri::PathAndQuery = format!("/clearinghouse.v1.NeedService/{need_id}")
        .parse()
        .expect("path");
    let mut made_up = Request::new(());
    made_up.metadata_mut().insert(
        "authorization",
        format!("Bearer {broker_key}").parse().expect("header"),
    );
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    grpc.unary(made_up, path, codec)
        .await
        .expect_err("no such method");

    // The requester goes over its rate limit.
    let mut limited = 0;
    for _ in 0..30 {
        if let Err(s) = requester
            .parties
            .list_parties(pb::ListPartiesRequest::default())
            .await
        {
            assert_eq!(s.code(), Code::ResourceExhausted);
            limited += 1;
        }
    }
    assert!(limited > 0, "the limit refused some calls");

    // A socket that speaks no HTTP (the start of a TLS ClientHello) is closed by the server.
    let mut junk = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    junk.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let _ = junk.read_to_end(&mut rest).await;

    let (text, samples) = scrape_until(metrics_addr, |s| {
        value(s, m::RECORDS, &[("kind", "need"), ("status", "CIRCULATED")]) >= 1.0
            && value(s, m::MATCHING_INDEX, &[("kind", "offer")]) >= 1.0
    })
    .await;

    let families: BTreeSet<&str> = samples
        .iter()
        .map(|s| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| s.name.strip_suffix(suffix))
                .unwrap_or(&s.name)
        })
        .collect();
    for family in [
        m::RPC_REQUESTS,
        m::RPC_DURATION,
        m::RATE_LIMITED,
        m::CONNECTIONS_ACCEPTED,
        m::CONNECTIONS_OPEN,
        m::CONNECTIONS_MAX,
        m::CONNECTIONS_CLOSED,
        m::SYNC_BATCH,
        m::SYNC_DURATION,
        m::STORE_WRITABLE,
        m::STORE_SIZE,
        m::RECORDS,
        m::MATCHING_INDEX,
        m::CANDIDATE_QUERY,
        m::BUILD_INFO,
    ] {
        assert!(families.contains(family), "{family} is exported:\n{text}");
    }
    for name in &families {
        assert!(name.starts_with("clearinghouse_"), "{name}");
    }

    // What the calls above must have counted (other tests of this process may add more).
    let list = "/clearinghouse.v1.PartyService/ListParties";
    assert!(
        value(
            &samples,
            m::RPC_REQUESTS,
            &[("method", list), ("code", "OK")]
        ) >= 1.0
    );
    assert!(
        value(
            &samples,
            m::RPC_REQUESTS,
            &[("method", list), ("code", "UNAUTHENTICATED")]
        ) >= 1.0
    );
    assert!(
        value(
            &samples,
            m::RPC_REQUESTS,
            &[("method", list), ("code", "RESOURCE_EXHAUSTED")]
        ) >= limited as f64
    );
    assert!(value(&samples, m::RATE_LIMITED, &[("method", list)]) >= limited as f64);
    assert!(
        value(
            &samples,
            m::RPC_REQUESTS,
            &[
                ("method", "/clearinghouse.v1.NeedService/GetNeed"),
                ("code", "NOT_FOUND")
            ]
        ) >= 1.0
    );
    assert!(value(&samples, m::RPC_REQUESTS, &[("method", "other")]) >= 1.0);
    assert!(
        value(
            &samples,
            &format!("{}_count", m::RPC_DURATION),
            &[("method", list), ("code", "OK")]
        ) >= 1.0
    );
    assert!(
        value(
            &samples,
            &format!("{}_count", m::CANDIDATE_QUERY),
            &[("direction", "offers_for_need")]
        ) >= 1.0
    );
    assert!(value(&samples, &format!("{}_count", m::SYNC_DURATION), &[]) >= 1.0);
    assert!(value(&samples, &format!("{}_sum", m::SYNC_BATCH), &[]) >= 1.0);
    assert!(value(&samples, m::CONNECTIONS_OPEN, &[]) >= 1.0);
    assert!(value(&samples, m::CONNECTIONS_CLOSED, &[("reason", "not_http")]) >= 1.0);
    assert!(value(&samples, m::STORE_SIZE, &[]) > 0.0);
    assert_eq!(value(&samples, m::STORE_WRITABLE, &[]), 1.0);
    assert!(
        value(
            &samples,
            m::RECORDS,
            &[("kind", "principal"), ("status", "ACTIVE")]
        ) >= 4.0
    );
    assert_eq!(
        value(
            &samples,
            m::BUILD_INFO,
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // Labels: known keys, bounded values; no id, key or request id anywhere.
    let methods: BTreeSet<&str> = METHOD_ROLES
        .iter()
        .map(|(p, _)| *p)
        .chain([
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            "other",
        ])
        .collect();
    let allowed_keys = [
        "method",
        "code",
        "reason",
        "kind",
        "status",
        "direction",
        "version",
        "le",
    ];
    for s in &samples {
        for (k, v) in &s.labels {
            assert!(
                allowed_keys.contains(&k.as_str()),
                "label {k} on {}",
                s.name
            );
            if k == "method" {
                assert!(methods.contains(v.as_str()), "method label {v}");
            }
            assert!(v.len() <= 80, "a short label value: {v}");
        }
    }
    for secret in [
        need_id.as_str(),
        requester_key.as_str(),
        broker_key.as_str(),
        server.admin_key.as_str(),
        "metrics-test-request",
        "chk_nobody",
        "01JMISSINGNEED",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the metrics");
    }
    for key in [&requester_key, &broker_key, &provider_key] {
        let principal = key
            .strip_prefix("chk_")
            .and_then(|r| r.rsplit_once('_'))
            .map(|(id, _)| id)
            .expect("key format");
        assert!(
            !text.contains(principal),
            "principal id {principal} in the metrics"
        );
    }

    // Only GET /metrics is served.
    let (status, _) = get(metrics_addr, "/").await;
    assert!(status.contains("404"), "{status}");
    server.stop().await;
}
