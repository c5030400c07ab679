//! `clearinghouse-load`: drives a Clearinghouse server over gRPC with one of a few
//! workloads and reports throughput, latency percentiles (HdrHistogram), errors by gRPC
//! code and, in the same run, the disk's fsync latency, so figures read as ratios of the
//! machine they ran on.
//!
//! Flow ([`runner::run`]): connect `--connections` HTTP/2 connections; with the admin key,
//! create each caller's own principals ([`setup`]) and the pools of needs and offers;
//! run the fsync probe ([`probe`]); then every caller loops on its workload
//! ([`workload`], [`mixed`]) through a warm-up and the measurement, recording into its own
//! histograms ([`stats`]); the [`report`] merges them.
//!
//! `storage-create` runs no server: [`storage`] makes the same durable write through
//! `Store::create` in this process, the ceiling the RPC `create` is compared with.
//!
//! Rate limits: the server limits each principal (`limits.rate_per_principal`, default
//! 2,000/s). Each caller has its own principals, so the limit is spread over the callers;
//! to measure a single caller faster than that, start the server with a config raising
//! `rate_per_principal` and `burst_per_principal` (as `scripts/bench-rpc.sh` does).

pub mod args;
pub mod bulk;
pub mod client;
pub mod error;
pub mod mixed;
pub mod payload;
pub mod probe;
pub mod ready;
pub mod report;
pub mod runner;
pub mod self_server;
pub mod setup;
pub mod stats;
pub mod storage;
pub mod watch;
pub mod workload;

pub use args::{Args, Output, Workload};
pub use error::LoadError;
pub use report::Report;
