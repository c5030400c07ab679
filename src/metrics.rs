//! The service's Prometheus metrics: every name, its description, the process-wide
//! recorder, and the small functions the edge, the accept loop, the use cases and the
//! storage barrier call to record. Labels take bounded values only — method paths of the
//! API, gRPC code names, fixed reasons and kinds — never an id or a key.
//!
//! Recording goes through the `metrics` facade: until [`install`] runs (a server with
//! `[metrics] listen` set) every call here is a no-op. The recorder is per process, so
//! several servers in one process (tests) share it.

pub mod sample;

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tonic::Code;

use crate::auth::table;

/// Calls by method and gRPC code (counter).
pub const RPC_REQUESTS: &str = "clearinghouse_rpc_requests_total";
/// Call latency by method and gRPC code, from arrival to the end of the response
/// (histogram, seconds).
pub const RPC_DURATION: &str = "clearinghouse_rpc_duration_seconds";
/// Calls refused by the per-principal rate limit, by method (counter).
pub const RATE_LIMITED: &str = "clearinghouse_rate_limited_total";
/// Connections accepted (counter).
pub const CONNECTIONS_ACCEPTED: &str = "clearinghouse_connections_accepted_total";
/// Connections open now, handshaking ones included (gauge).
pub const CONNECTIONS_OPEN: &str = "clearinghouse_connections_open";
/// The configured connection limit (gauge).
pub const CONNECTIONS_MAX: &str = "clearinghouse_connections_max";
/// Times the accept loop reached the connection limit and stopped accepting (counter).
pub const CONNECTION_LIMIT_REACHED: &str = "clearinghouse_connection_limit_reached_total";
/// Connections the server closed, by reason (counter).
pub const CONNECTIONS_CLOSED: &str = "clearinghouse_connections_closed_by_server_total";
/// Writes made durable by one group-commit sync (histogram).
pub const SYNC_BATCH: &str = "clearinghouse_storage_sync_batch_writes";
/// Duration of one group-commit sync: flush and fsync (histogram, seconds).
pub const SYNC_DURATION: &str = "clearinghouse_storage_sync_duration_seconds";
/// Failed syncs (counter; any is fatal: the service stops).
pub const SYNC_FAILURES: &str = "clearinghouse_storage_sync_failures_total";
/// Whether the store accepts writes (gauge, 1 or 0; sampled).
pub const STORE_WRITABLE: &str = "clearinghouse_store_writable";
/// Bytes the store takes on disk (gauge; sampled).
pub const STORE_SIZE: &str = "clearinghouse_store_size_bytes";
/// Records by kind and status (gauge; sampled).
pub const RECORDS: &str = "clearinghouse_records";
/// Needs and offers held by the matching index, by kind (gauge; sampled).
pub const MATCHING_INDEX: &str = "clearinghouse_matching_index_entries";
/// Time the matching engine takes to rank candidates, by direction (histogram, seconds).
pub const CANDIDATE_QUERY: &str = "clearinghouse_matching_candidate_query_duration_seconds";
/// Always 1, labelled with the version (gauge).
pub const BUILD_INFO: &str = "clearinghouse_build_info";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const FAST_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The recorder could not be installed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

static HANDLE: OnceLock<Result<PrometheusHandle, MetricsError>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle), hooks
/// the storage barrier and describes every metric.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    HANDLE
        .get_or_init(|| {
            let recorder = builder()
                .map_err(|e| MetricsError(e.to_string()))?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|e| MetricsError(e.to_string()))?;
            describe();
            clearinghouse_storage::barrier::observe_syncs(Arc::new(SyncMetrics));
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Ok(handle)
        })
        .clone()
}

fn builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(RPC_DURATION.to_owned()), LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(SYNC_DURATION.to_owned()), FAST_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(CANDIDATE_QUERY.to_owned()), FAST_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(SYNC_BATCH.to_owned()), BATCH_BUCKETS)
}

fn describe() {
    describe_counter!(RPC_REQUESTS, "Calls by method and gRPC status code.");
    describe_histogram!(
        RPC_DURATION,
        "Call latency in seconds, from arrival to the end of the response, by method and code."
    );
    describe_counter!(
        RATE_LIMITED,
        "Calls refused by the per-principal rate limit, by method."
    );
    describe_counter!(CONNECTIONS_ACCEPTED, "TCP connections accepted.");
    describe_gauge!(
        CONNECTIONS_OPEN,
        "Connections open now, handshaking ones included."
    );
    describe_gauge!(CONNECTIONS_MAX, "The configured connection limit.");
    describe_counter!(
        CONNECTION_LIMIT_REACHED,
        "Times the connection limit was reached and accepting paused."
    );
    describe_counter!(
        CONNECTIONS_CLOSED,
        "Connections the server closed, by reason (handshake failures, timeouts, idle)."
    );
    describe_histogram!(SYNC_BATCH, "Writes made durable by one group-commit sync.");
    describe_histogram!(
        SYNC_DURATION,
        "Duration in seconds of one group-commit sync (flush and fsync)."
    );
    describe_counter!(
        SYNC_FAILURES,
        "Failed storage syncs; any one stops the service."
    );
    describe_gauge!(STORE_WRITABLE, "1 while the store accepts writes, else 0.");
    describe_gauge!(STORE_SIZE, "Bytes the store takes on disk.");
    describe_gauge!(RECORDS, "Records by kind and status.");
    describe_gauge!(
        MATCHING_INDEX,
        "Open offers and rankable needs held by the matching index."
    );
    describe_histogram!(
        CANDIDATE_QUERY,
        "Seconds the matching engine takes to rank candidates, by direction."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version is a label.");
}

/// Public methods (no key needed) that are labelled by name.
const PUBLIC_METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The `method` label of a request path: the path of a known method, else `other` (so
/// a client sending made-up paths cannot grow the label set).
pub fn method_label(path: &str) -> &'static str {
    table::METHOD_ROLES
        .iter()
        .map(|(m, _)| *m)
        .chain(PUBLIC_METHODS.iter().copied())
        .find(|m| *m == path)
        .unwrap_or("other")
}

/// The canonical name of a gRPC code (`OK`, `NOT_FOUND`, ...).
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Records one finished call; `code` is `None` when the client left before a status.
pub fn call(path: &str, code: Option<Code>, reason: &str, took: Duration) {
    let method = method_label(path);
    let code = code.map_or("CANCELLED", code_label);
    counter!(RPC_REQUESTS, "method" => method, "code" => code).increment(1);
    histogram!(RPC_DURATION, "method" => method, "code" => code).record(took.as_secs_f64());
    if reason == "RATE_LIMITED" {
        counter!(RATE_LIMITED, "method" => method).increment(1);
    }
}

/// Records the configured connection limit.
pub fn connection_limit(max: usize) {
    gauge!(CONNECTIONS_MAX).set(max as f64);
}

/// A socket was accepted and holds a slot.
pub fn connection_opened() {
    counter!(CONNECTIONS_ACCEPTED).increment(1);
    gauge!(CONNECTIONS_OPEN).increment(1.0);
}

/// A socket gave its slot back.
pub fn connection_released() {
    gauge!(CONNECTIONS_OPEN).decrement(1.0);
}

/// The accept loop reached the connection limit.
pub fn connection_limit_reached() {
    counter!(CONNECTION_LIMIT_REACHED).increment(1);
}

/// The server closed a connection for `reason` (a fixed label).
pub fn connection_closed(reason: &'static str) {
    counter!(CONNECTIONS_CLOSED, "reason" => reason).increment(1);
}

/// The matching engine ranked candidates in `took`; `direction` is
/// `offers_for_need` or `needs_for_offer`.
pub fn candidate_query(direction: &'static str, took: Duration) {
    histogram!(CANDIDATE_QUERY, "direction" => direction).record(took.as_secs_f64());
}

/// Receives the figures of every group-commit sync.
#[derive(Debug)]
struct SyncMetrics;

impl clearinghouse_storage::barrier::SyncObserver for SyncMetrics {
    fn synced(&self, report: &clearinghouse_storage::barrier::SyncReport) {
        histogram!(SYNC_DURATION).record(report.took.as_secs_f64());
        if report.ok {
            histogram!(SYNC_BATCH).record(report.writes as f64);
        } else {
            counter!(SYNC_FAILURES).increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_are_known_paths_or_other() {
        assert_eq!(
            method_label("/clearinghouse.v1.NeedService/CreateNeed"),
            "/clearinghouse.v1.NeedService/CreateNeed"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(
            method_label("/clearinghouse.v1.NeedService/01JXYZ"),
            "other"
        );
        assert_eq!(method_label("/grpc.health.v1.Health/anything"), "other");
    }

    #[test]
    fn every_metric_name_follows_the_naming_rules() {
        let names = [
            RPC_REQUESTS,
            RPC_DURATION,
            RATE_LIMITED,
            CONNECTIONS_ACCEPTED,
            CONNECTIONS_OPEN,
            CONNECTIONS_MAX,
            CONNECTION_LIMIT_REACHED,
            CONNECTIONS_CLOSED,
            SYNC_BATCH,
            SYNC_DURATION,
            SYNC_FAILURES,
            STORE_WRITABLE,
            STORE_SIZE,
            RECORDS,
            MATCHING_INDEX,
            CANDIDATE_QUERY,
            BUILD_INFO,
        ];
        let counters = [
            RPC_REQUESTS,
            RATE_LIMITED,
            CONNECTIONS_ACCEPTED,
            CONNECTION_LIMIT_REACHED,
            CONNECTIONS_CLOSED,
            SYNC_FAILURES,
        ];
        for n in names {
            assert!(n.starts_with("clearinghouse_"), "{n}");
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{n}"
            );
            assert_eq!(n.ends_with("_total"), counters.contains(&n), "{n}");
            assert!(
                !n.contains("millis") && !n.contains("_ms"),
                "{n}: base units"
            );
        }
    }
}
