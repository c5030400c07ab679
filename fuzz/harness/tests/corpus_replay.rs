//! Replays every input kept in `fuzz/corpus/<target>/` (seeds, and every crash or
//! interesting input the fuzzer found) through its target, so a regression fails a plain
//! `cargo test` without the fuzzer installed.

use std::path::PathBuf;

use clearinghouse_fuzz::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target)
}

fn replay(target: &str) -> usize {
    let t = TARGETS
        .iter()
        .find(|t| t.name == target)
        .expect("a known target");
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let outcome = std::panic::catch_unwind(|| (t.run)(&data));
        assert!(outcome.is_ok(), "{target}: input {} fails", f.display());
    }
    files.len()
}

#[test]
fn every_kept_request_input_decodes_and_validates_without_panicking() {
    assert!(replay("request") > 0, "the request corpus is not empty");
}

#[test]
fn every_kept_stored_value_input_decodes_without_panicking_and_round_trips() {
    assert!(
        replay("stored_value") > 0,
        "the stored-value corpus is not empty"
    );
}

#[test]
fn every_kept_matching_input_gives_the_reference_top_k() {
    assert!(replay("matching") > 0, "the matching corpus is not empty");
}
