//! Figures for BENCHMARKS.md on the real binary as a child process (not a criterion bench):
//!
//! 1. idle flood: `IDLE` sockets that never complete the HTTP/2 handshake against the
//!    default configuration: open files of the server before / at most during / after,
//!    time until it closed them all, whether and when a real client was served meanwhile,
//!    the server's CPU share;
//! 2. descriptor exhaustion: the same with the server under `ulimit -n 256`, so `accept`
//!    fails with EMFILE: CPU share while it fails, and when a real client was served;
//! 3. memory: peak RSS (`VmHWM`) before and after 1, then 8 concurrent, error requests
//!    (`CreateNeed` with 100,000 unknown sub-area values, then with ~1 MiB of them).
//!
//! `cargo bench --bench connections [-- flood|emfile|memory]`;
//! `CLEARINGHOUSE_TEST_BIN=<path>` measures another build of the binary (it must accept
//! the default configuration).

use std::time::{Duration, Instant};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/support.rs"]
mod support;

use clearinghouse::pb;
use support::{Bearer, ChildLimits, ChildServer, need};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const IDLE: usize = 10_000;

async fn open_idle(addr: std::net::SocketAddr, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut tasks = Vec::new();
    for i in 0..n {
        tasks.push(tokio::spawn(async move {
            let s =
                tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
                    .await
                    .ok()?
                    .ok()?;
            if i % 2 == 1 {
                let _ = s.try_write(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..16]);
            }
            Some(s)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(Some(s)) = t.await {
            out.push(s);
        }
    }
    out
}

/// Seconds until a real client's health check and list call succeed (`None` past `limit`).
async fn time_to_serve(server: &ChildServer, limit: Duration) -> Option<f64> {
    let t = Instant::now();
    let call = async {
        let ch = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
            .ok()?
            .connect()
            .await
            .ok()?;
        HealthClient::new(ch.clone())
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()?;
        pb::party_service_client::PartyServiceClient::with_interceptor(
            ch,
            Bearer(Some(server.admin_key.clone())),
        )
        .list_parties(pb::ListPartiesRequest::default())
        .await
        .ok()
    };
    tokio::time::timeout(limit, call)
        .await
        .ok()
        .flatten()
        .map(|_| t.elapsed().as_secs_f64())
}

fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn cpu_share(server: &ChildServer, since: Instant, ticks0: u64) -> f64 {
    let used = (server.cpu_ticks() - ticks0) as f64 / ticks_per_second();
    used / since.elapsed().as_secs_f64()
}

async fn flood(label: &str, limits: ChildLimits, idle: usize) {
    let server = ChildServer::spawn("", limits);
    let baseline = server.open_files();
    let (t0, c0) = (Instant::now(), server.cpu_ticks());
    let sockets = open_idle(server.addr, idle).await;
    let opened = sockets.len();
    let mut most = server.open_files();
    let served = {
        let serve = time_to_serve(&server, Duration::from_secs(120));
        tokio::pin!(serve);
        loop {
            tokio::select! {
                s = &mut serve => break s,
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    most = most.max(server.open_files());
                }
            }
        }
    };
    let during_cpu = cpu_share(&server, t0, c0);
    // Wait (up to 3 minutes) for the server to close every idle socket.
    let mut closed_after = None;
    while t0.elapsed() < Duration::from_secs(180) {
        let n = server.open_files();
        most = most.max(n);
        if n <= baseline + 1 {
            closed_after = Some(t0.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{label}: {opened} idle sockets opened of {idle}; server open files: before {baseline}, at most {most}, after {}; all closed after {}; real client served after {}; server CPU {:.0}% of a core",
        server.open_files(),
        closed_after.map_or("never (180 s)".to_owned(), |s| format!("{s:.1} s")),
        served.map_or("never (120 s)".to_owned(), |s| format!("{s:.1} s")),
        during_cpu * 100.0
    );
    drop(sockets);
}

/// A `CreateNeed` whose sub-area list holds `entries` unknown values (one byte each);
/// `None` fills the message up to just under the 1 MiB limit.
fn worst_case(entries: Option<usize>) -> pb::CreateNeedRequest {
    use prost::Message;
    let mut req = pb::CreateNeedRequest {
        need: Some(need("Worst case")),
        request_id: String::new(),
    };
    let n = entries.unwrap_or(1024 * 1024 - 64 - req.encoded_len());
    if let Some(need) = req.need.as_mut() {
        need.sub_areas = vec![127; n];
    }
    req
}

async fn memory(entries: Option<usize>) {
    let mut server = ChildServer::spawn(
        "[limits]\nrequest_timeout_secs = 600\n",
        ChildLimits {
            // A runaway reply fails the child, not the machine.
            address_space_kib: Some(12 * 1024 * 1024),
            ..ChildLimits::default()
        },
    );
    let ch = server.channel().await;
    let key = pb::admin_service_client::AdminServiceClient::with_interceptor(
        ch,
        Bearer(Some(server.admin_key.clone())),
    )
    .create_principal(pb::CreatePrincipalRequest {
        principal: Some(pb::Principal {
            display_name: "Requester".into(),
            role: pb::Role::Requester as i32,
            party_id: "state-KEN".into(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner().api_key)
    .unwrap_or_default();
    let req = worst_case(entries);
    let size = {
        use prost::Message;
        req.encoded_len()
    };
    for concurrent in [1usize, 8] {
        if !server.running() {
            println!("memory: the server died (address space limit 12 GiB)");
            return;
        }
        let before = server.status_kib("VmHWM");
        let t = Instant::now();
        let mut calls = Vec::new();
        for _ in 0..concurrent {
            let (req, key) = (req.clone(), key.clone());
            let ch = server.channel().await;
            calls.push(tokio::spawn(async move {
                pb::need_service_client::NeedServiceClient::with_interceptor(ch, Bearer(Some(key)))
                    .max_decoding_message_size(64 * 1024 * 1024)
                    .create_need(req)
                    .await
                    .map_err(|e| e.code())
                    .err()
            }));
        }
        let mut codes = Vec::new();
        for c in calls {
            codes.push(c.await.ok().flatten());
        }
        let after = if server.running() {
            format!("{} MiB", server.status_kib("VmHWM") / 1024)
        } else {
            "died (address space limit 12 GiB)".to_owned()
        };
        println!(
            "memory: {concurrent} concurrent request(s) of {size} bytes: VmHWM {} MiB -> {after}, answered in {:.1} s with {:?}",
            before / 1024,
            t.elapsed().as_secs_f64(),
            codes
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks
    }
    // `cargo bench --bench connections -- memory` runs only the sections named.
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    if wanted("flood") {
        flood("idle flood", ChildLimits::default(), IDLE).await;
    }
    if wanted("emfile") {
        flood(
            "descriptor exhaustion (ulimit -n 256)",
            ChildLimits {
                open_files: Some(256),
                ..ChildLimits::default()
            },
            2_000,
        )
        .await;
    }
    if wanted("memory") {
        memory(Some(100_000)).await;
        memory(None).await;
    }
}
