//! Measurements: each caller records its calls in its own per-method latency histograms
//! (no lock on the hot path) and error counts by gRPC code; shared atomics carry only what
//! the progress line and the hang watchdog need. Histograms merge at the end.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use tonic::Code;

/// Highest latency the histograms track exactly, in microseconds (larger values saturate).
const MAX_MICROS: u64 = 120_000_000;

/// An empty latency histogram in microseconds, three significant figures.
pub fn histogram() -> Histogram<u64> {
    // Constant, valid bounds: 1 <= low, high >= 2 * low, 3 significant figures.
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

/// The canonical name of a gRPC status code (`UNAVAILABLE`, ...).
pub fn code_name(code: Code) -> &'static str {
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

/// Counters shared by every caller: totals for the progress line and the time of the last
/// successful call for the watchdog.
#[derive(Debug)]
pub struct Shared {
    start: Instant,
    ok: AtomicU64,
    errors: AtomicU64,
    last_ok_ms: AtomicU64,
}

impl Shared {
    /// Counters starting now.
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            start: Instant::now(),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_ok_ms: AtomicU64::new(0),
        })
    }

    /// Notes a successful call (or a streamed event) now.
    pub fn note_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ok_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Notes a failed call.
    pub fn note_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Successful calls so far (warm-up included).
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Failed calls so far (warm-up included).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Time since the last successful call (or since the start, before the first one).
    pub fn since_last_ok(&self) -> Duration {
        let last = Duration::from_millis(self.last_ok_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// One method's measurements.
#[derive(Debug, Clone)]
pub struct MethodStats {
    /// Latency of successful calls, microseconds.
    pub latency: Histogram<u64>,
    /// Failed calls by gRPC code name.
    pub errors: BTreeMap<&'static str, u64>,
}

impl Default for MethodStats {
    fn default() -> Self {
        MethodStats {
            latency: histogram(),
            errors: BTreeMap::new(),
        }
    }
}

impl MethodStats {
    /// Adds another caller's measurements.
    pub fn merge(&mut self, other: &MethodStats) {
        for v in other.latency.iter_recorded() {
            self.latency
                .saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
        for (code, n) in &other.errors {
            *self.errors.entry(code).or_default() += n;
        }
    }
}

/// The measurement window: calls that start and end inside it are recorded.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Start of the measurement (end of the warm-up).
    pub from: Instant,
    /// End of the measurement.
    pub until: Instant,
}

/// One caller's measurements.
#[derive(Debug)]
pub struct Recorder {
    window: Window,
    shared: Arc<Shared>,
    /// Per method.
    pub methods: BTreeMap<&'static str, MethodStats>,
}

impl Recorder {
    /// A recorder for `window`, reporting progress to `shared`.
    pub fn new(window: Window, shared: Arc<Shared>) -> Recorder {
        Recorder {
            window,
            shared,
            methods: BTreeMap::new(),
        }
    }

    /// Whether the run is over for this caller.
    pub fn done(&self) -> bool {
        Instant::now() >= self.window.until
    }

    /// Records one call of `method` that started at `started`.
    pub fn record(&mut self, method: &'static str, started: Instant, outcome: Result<(), Code>) {
        let now = Instant::now();
        match outcome {
            Ok(()) => self.shared.note_ok(),
            Err(_) => self.shared.note_error(),
        }
        if started < self.window.from || now > self.window.until {
            return;
        }
        let stats = self.methods.entry(method).or_default();
        match outcome {
            Ok(()) => {
                let micros = u64::try_from(now.duration_since(started).as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                stats.latency.saturating_record(micros);
            }
            Err(code) => *stats.errors.entry(code_name(code)).or_default() += 1,
        }
    }

    /// Times `call` and records its outcome; returns its result.
    pub async fn time<T>(
        &mut self,
        method: &'static str,
        call: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        self.time_from(method, Instant::now(), call).await
    }

    /// Like [`Recorder::time`], with the latency counted from `started` (a paced caller's
    /// scheduled start, which may lie before the call really began).
    pub async fn time_from<T>(
        &mut self,
        method: &'static str,
        started: Instant,
        call: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        let result = call.await;
        self.record(
            method,
            started,
            result.as_ref().map(|_| ()).map_err(tonic::Status::code),
        );
        result
    }
}

/// Merges the callers' measurements per method.
pub fn merge(recorders: &[Recorder]) -> BTreeMap<&'static str, MethodStats> {
    let mut out: BTreeMap<&'static str, MethodStats> = BTreeMap::new();
    for r in recorders {
        for (m, s) in &r.methods {
            out.entry(m).or_default().merge(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_outside_the_window_count_for_progress_but_not_in_the_histograms() {
        let shared = Shared::new();
        let now = Instant::now();
        let window = Window {
            from: now + Duration::from_secs(3600),
            until: now + Duration::from_secs(7200),
        };
        let mut r = Recorder::new(window, Arc::clone(&shared));
        r.record("GetNeed", now, Ok(()));
        r.record("GetNeed", now, Err(Code::Unavailable));
        assert_eq!((shared.ok(), shared.errors()), (1, 1));
        assert!(r.methods.is_empty());
    }

    #[test]
    fn merged_stats_add_counts_and_errors_by_code() {
        let shared = Shared::new();
        let now = Instant::now();
        let window = Window {
            from: now,
            until: now + Duration::from_secs(3600),
        };
        let mut a = Recorder::new(window, Arc::clone(&shared));
        let mut b = Recorder::new(window, Arc::clone(&shared));
        a.record("CreateNeed", Instant::now(), Ok(()));
        b.record("CreateNeed", Instant::now(), Ok(()));
        b.record("CreateNeed", Instant::now(), Err(Code::Aborted));
        let merged = merge(&[a, b]);
        let s = &merged["CreateNeed"];
        assert_eq!(s.latency.len(), 2);
        assert_eq!(s.errors.get("ABORTED"), Some(&1));
    }
}
