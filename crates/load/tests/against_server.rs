//! The load tool as a separate process against the real server started in this test
//! process (`clearinghouse::run` on 127.0.0.1:0 and a temp dir): its JSON report parses,
//! counts successful calls and no failed ones.

use std::process::Command;

use serde_json::Value;

use clearinghouse_load::self_server::SelfServer;

/// Runs the tool with `args` against `server` and parses its JSON report.
async fn run_tool(server: &SelfServer, args: &[&str]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clearinghouse-load"));
    cmd.args(args)
        .args(["--server", &server.url, "--output", "json"])
        .env("CLEARINGHOUSE_API_KEY", &server.admin_key);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run the load tool");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "load tool failed: {stderr}");
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

fn method<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["method"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_second_mixed_run_reports_calls_of_many_methods_and_no_errors() {
    let server = SelfServer::start().await.expect("server");
    let probe_dir = server.data_dir();
    let report = run_tool(
        &server,
        &[
            "mixed",
            "--concurrency",
            "4",
            "--connections",
            "2",
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--pool-needs",
            "16",
            "--pool-offers",
            "8",
            "--watchers",
            "1",
            "--probe-dir",
            probe_dir.to_str().expect("utf-8 path"),
        ],
    )
    .await;
    assert_eq!(report["workload"], "mixed");
    assert!(report["ops"].as_u64().expect("ops") > 0, "{report:#}");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report:#}");
    assert_eq!(report["hang"], false);
    let create = method(&report, "CreateNeed").expect("CreateNeed was called");
    assert!(create["ops"].as_u64().expect("ops") > 0);
    assert!(create["latency"]["p50_us"].as_u64().expect("p50") > 0);
    assert!(
        report["methods"].as_array().expect("methods").len() > 3,
        "the blend calls several methods: {report:#}"
    );
    assert_eq!(report["watch"]["streams"].as_u64(), Some(1));
    assert_eq!(report["fsync_probe"]["rounds"].as_u64(), Some(1000));
    server.stop().await.expect("clean stop");
}

/// A paced run never starts more calls than its schedule holds, whatever the machine's
/// speed: `--rate 40` for one second is at most 40 slots (plus one per caller at the
/// window's edge).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_create_run_keeps_to_its_schedule() {
    let server = SelfServer::start().await.expect("server");
    let report = run_tool(
        &server,
        &[
            "create",
            "--concurrency",
            "4",
            "--connections",
            "1",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--rate",
            "40",
        ],
    )
    .await;
    assert_eq!(report["target_rate"].as_f64(), Some(40.0), "{report:#}");
    let ops = report["ops"].as_u64().expect("ops");
    assert!(
        ops > 0 && ops <= 44,
        "{ops} creates in a 1 s window at 40/s"
    );
    assert_eq!(report["errors"].as_u64(), Some(0), "{report:#}");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_run_reads_the_needs_its_setup_created() {
    let server = SelfServer::start().await.expect("server");
    let report = run_tool(
        &server,
        &[
            "get",
            "--concurrency",
            "2",
            "--connections",
            "1",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--pool-needs",
            "8",
        ],
    )
    .await;
    let get = method(&report, "GetNeed").expect("GetNeed was called");
    assert!(get["ops"].as_u64().expect("ops") > 0);
    assert_eq!(report["errors"].as_u64(), Some(0), "{report:#}");
    assert!(
        report["fsync_probe"].is_null(),
        "no probe without a probe dir"
    );
    assert_eq!(report["methods"].as_array().expect("methods").len(), 1);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_during_allocation_run_reports_creates_and_plans_without_errors() {
    let server = SelfServer::start().await.expect("server");
    let report = run_tool(
        &server,
        &[
            "create-during-allocation",
            "--concurrency",
            "4",
            "--connections",
            "2",
            "--duration",
            "2s",
            "--warmup",
            "0s",
            "--pool-needs",
            "12",
            "--pool-offers",
            "12",
        ],
    )
    .await;
    assert_eq!(report["workload"], "create-during-allocation");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report:#}");
    for name in ["CreateNeed", "PlanAllocation"] {
        let m = method(&report, name).unwrap_or_else(|| panic!("{name} missing: {report:#}"));
        assert!(m["ops"].as_u64().expect("ops") > 0, "{report:#}");
    }
    server.stop().await.expect("clean stop");
}

#[test]
fn a_storage_create_run_writes_durably_without_a_server_and_prints_its_footprint() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_clearinghouse-load"))
        .args([
            "storage-create",
            "--concurrency",
            "4",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--output",
            "json",
            "--probe-dir",
        ])
        .arg(dir.path())
        // Nothing listens here: the workload must not need a server.
        .args(["--server", "http://127.0.0.1:9"])
        .output()
        .expect("run the load tool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["workload"], "storage-create");
    assert_eq!(report["errors"].as_u64(), Some(0), "{report:#}");
    let m = method(&report, "Store::create(need)").expect("writes recorded");
    assert!(m["ops"].as_u64().expect("ops") > 0, "{report:#}");
    assert_eq!(report["fsync_probe"]["rounds"].as_u64(), Some(1000));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bytes on disk per need") || stderr.contains("bytes on disk and"),
        "the store's footprint is printed: {stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    assert!(
        left.is_empty(),
        "the store directory is removed after the run"
    );
}
