//! `clearinghouse demo` runs to completion (a reduced size) and leaves its brief.

use std::process::Command;

#[test]
fn the_demo_runs_end_to_end_and_writes_its_brief() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("brief.html");
    let out = Command::new(env!("CARGO_BIN_EXE_clearinghouse"))
        .args([
            "demo",
            "--needs",
            "60",
            "--offers",
            "30",
            "--matches",
            "3",
            "--report",
        ])
        .arg(&report)
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("circulated needs"), "{stdout}");
    assert!(stdout.contains("agreed:"), "matches were agreed: {stdout}");
    assert!(stdout.contains("Coverage on "), "{stdout}");
    let html = std::fs::read_to_string(&report).expect("the brief is written");
    assert!(
        html.matches("<svg").count() >= 4,
        "the brief has its charts"
    );
}
