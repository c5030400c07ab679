//! Fuzz targets of Clearinghouse, as plain functions of a byte slice so that the same
//! code runs under the coverage-guided fuzzer (`fuzz/afl`, AFL++ through afl.rs) and in
//! `cargo test`, which replays the regression corpus in `fuzz/corpus/<target>/`.
//!
//! A target panics when it finds a problem; otherwise it returns. Targets:
//! [`request`] (API request decoding and validation), [`stored`] (stored-value
//! decoders) and [`matching`] (indexed engine against the all-pairs reference).

pub mod matching;
pub mod request;
pub mod stored;

/// A fuzz target: its corpus directory name and its entry point.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name, also the corpus directory under `fuzz/corpus/` and the AFL binary.
    pub name: &'static str,
    /// Runs the target on one input; panics on a finding.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "request",
        run: request::run,
    },
    Target {
        name: "stored_value",
        run: stored::run,
    },
    Target {
        name: "matching",
        run: matching::run,
    },
];
