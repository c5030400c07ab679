//! Figures for BENCHMARKS.md on the real binary as a child process (not a criterion
//! bench): what TLS, mutual TLS and the metrics endpoint cost, each measured against
//! plain text in the same run.
//!
//! For each variant (plain, TLS, mutual TLS, plain with `[metrics] listen`):
//! 1. connection setup: 200 new connections one after another, each connect (TCP, TLS
//!    handshake, HTTP/2 handshake) plus one health check;
//! 2. sequential calls: 2,000 `GetParty` over one connection (after 200 to warm up);
//! 3. concurrent calls: 64 callers over 4 connections, 300 `GetParty` each.
//!
//! `cargo bench --bench tls`; `CLEARINGHOUSE_TEST_BIN=<path>` measures another build.

use std::{
    path::Path,
    time::{Duration, Instant},
};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/support.rs"]
mod support;

use clearinghouse::pb;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use support::{Bearer, ChildLimits, ChildServer};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const CONNECTS: usize = 200;
const WARMUP: usize = 200;
const SEQUENTIAL: usize = 2_000;
const CALLERS: usize = 64;
const CHANNELS: usize = 4;
const PER_CALLER: usize = 300;

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
    client_ca: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("CA")
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    sans: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut p = CertificateParams::new(sans).expect("params");
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("key");
    let cert = p.signed_by(&key, issuer).expect("sign");
    (cert.pem(), key.serialize_pem())
}

fn pki() -> Pki {
    let server_ca = ca("bench server CA");
    let client_ca = ca("bench client CA");
    Pki {
        ca: server_ca.pem(),
        server: leaf(
            &server_ca,
            vec!["127.0.0.1".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(&client_ca, vec![], ExtendedKeyUsagePurpose::ClientAuth),
        client_ca: client_ca.pem(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Plain,
    Tls,
    MutualTls,
    PlainWithMetrics,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain text",
            Variant::Tls => "TLS",
            Variant::MutualTls => "mutual TLS",
            Variant::PlainWithMetrics => "plain text, metrics on",
        }
    }
}

fn config(v: Variant, dir: &Path, pki: &Pki) -> String {
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let mut c =
        "[limits]\nrate_per_principal = 1000000\nburst_per_principal = 1000000\n".to_owned();
    if matches!(v, Variant::Tls | Variant::MutualTls) {
        c.push_str(&format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            write("server.pem", &pki.server.0),
            write("server.key", &pki.server.1)
        ));
    }
    if v == Variant::MutualTls {
        c.push_str(&format!(
            "client_ca = \"{}\"\n",
            write("client-ca.pem", &pki.client_ca)
        ));
    }
    if v == Variant::PlainWithMetrics {
        c.push_str("[metrics]\nlisten = \"127.0.0.1:0\"\n");
    }
    c
}

async fn channel(v: Variant, server: &ChildServer, pki: &Pki) -> Channel {
    let e = match v {
        Variant::Plain | Variant::PlainWithMetrics => {
            Endpoint::from_shared(format!("http://{}", server.addr)).expect("uri")
        }
        Variant::Tls | Variant::MutualTls => {
            let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca));
            if v == Variant::MutualTls {
                tls = tls.identity(Identity::from_pem(&pki.client.0, &pki.client.1));
            }
            Endpoint::from_shared(format!("https://{}", server.addr))
                .expect("uri")
                .tls_config(tls)
                .expect("tls")
        }
    };
    e.tcp_nodelay(true).connect().await.expect("connect")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

type Parties = pb::party_service_client::PartyServiceClient<
    tonic::service::interceptor::InterceptedService<Channel, Bearer>,
>;

fn parties(ch: Channel, key: &str) -> Parties {
    pb::party_service_client::PartyServiceClient::with_interceptor(ch, Bearer(Some(key.to_owned())))
}

async fn get(c: &mut Parties) {
    c.get_party(pb::GetPartyRequest {
        id: "state-GHA".to_owned(),
    })
    .await
    .expect("get party");
}

struct Row {
    connect_p50: f64,
    connect_p99: f64,
    call_p50: f64,
    call_p99: f64,
    concurrent_per_sec: f64,
}

async fn measure(v: Variant, pki: &Pki) -> Row {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ChildServer::spawn(&config(v, dir.path(), pki), ChildLimits::default());

    let mut connects = Vec::with_capacity(CONNECTS);
    for _ in 0..CONNECTS {
        let t = Instant::now();
        let ch = channel(v, &server, pki).await;
        HealthClient::new(ch)
            .check(HealthCheckRequest::default())
            .await
            .expect("health");
        connects.push(t.elapsed());
    }
    connects.sort();

    let mut c = parties(channel(v, &server, pki).await, &server.admin_key);
    for _ in 0..WARMUP {
        get(&mut c).await;
    }
    let mut calls = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let t = Instant::now();
        get(&mut c).await;
        calls.push(t.elapsed());
    }
    calls.sort();

    let mut chans = Vec::new();
    for _ in 0..CHANNELS {
        chans.push(channel(v, &server, pki).await);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CALLERS {
        let mut c = parties(chans[i % CHANNELS].clone(), &server.admin_key);
        tasks.push(tokio::spawn(async move {
            for _ in 0..PER_CALLER {
                get(&mut c).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("caller");
    }
    let concurrent_per_sec = (CALLERS * PER_CALLER) as f64 / t.elapsed().as_secs_f64();
    Row {
        connect_p50: percentile(&connects, 0.5),
        connect_p99: percentile(&connects, 0.99),
        call_p50: percentile(&calls, 0.5),
        call_p99: percentile(&calls, 0.99),
        concurrent_per_sec,
    }
}

#[tokio::main]
async fn main() {
    let pki = pki();
    println!(
        "| variant | connect + health p50 (ms) | p99 (ms) | sequential GetParty p50 (ms) | p99 (ms) | {CALLERS} callers / {CHANNELS} connections (calls/s) |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for v in [
        Variant::Plain,
        Variant::Tls,
        Variant::MutualTls,
        Variant::PlainWithMetrics,
    ] {
        let r = measure(v, &pki).await;
        println!(
            "| {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.0} |",
            v.name(),
            r.connect_p50,
            r.connect_p99,
            r.call_p50,
            r.call_p99,
            r.concurrent_per_sec
        );
    }
}
