//! The run's report: throughput, latency percentiles and errors by gRPC code, overall and
//! per method, the WatchMatches stream counts and the same-run fsync probe; printed as text
//! or as one JSON document.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::{probe::ProbeReport, stats::MethodStats};

/// Latency percentiles of successful calls, microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Slowest call.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Latency {
    /// Percentiles of `h` (zeros when empty).
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency {
                p50_us: 0,
                p99_us: 0,
                p999_us: 0,
                max_us: 0,
                mean_us: 0.0,
            };
        }
        Latency {
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

/// One method's figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MethodReport {
    /// RPC name, e.g. `CreateNeed`.
    pub method: String,
    /// Successful calls in the measurement.
    pub ops: u64,
    /// Successful calls per second.
    pub ops_per_sec: f64,
    /// Failed calls.
    pub errors: u64,
    /// Failed calls by gRPC code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Latency of successful calls.
    pub latency: Latency,
}

/// WatchMatches streams (mixed workload).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WatchReport {
    /// Streams kept open.
    pub streams: u64,
    /// Match events received during the whole run.
    pub events: u64,
    /// Times a stream had to be reopened (it ended or failed).
    pub reopened: u64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Workload name.
    pub workload: String,
    /// Server address (or `self` for the in-process server).
    pub server: String,
    /// Concurrent callers.
    pub concurrency: usize,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Seed.
    pub seed: u64,
    /// Target calls per second over all callers (`--rate`), when the callers were paced.
    pub target_rate: Option<f64>,
    /// Warm-up, seconds.
    pub warmup_secs: f64,
    /// Measured time, seconds.
    pub duration_secs: f64,
    /// Successful calls in the measurement, every method.
    pub ops: u64,
    /// Successful calls per second.
    pub ops_per_sec: f64,
    /// Failed calls in the measurement.
    pub errors: u64,
    /// Failed calls by gRPC code, every method.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Latency of every successful call.
    pub latency: Latency,
    /// Per method, by name.
    pub methods: Vec<MethodReport>,
    /// WatchMatches streams, when the workload opens them.
    pub watch: Option<WatchReport>,
    /// The same-run fsync probe, when a probe directory was given.
    pub fsync_probe: Option<ProbeReport>,
    /// Whether the watchdog stopped the run: no call succeeded for `hang_timeout`.
    pub hang: bool,
}

/// What the report is built from besides the measurements.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Workload name.
    pub workload: String,
    /// Server address.
    pub server: String,
    /// Callers.
    pub concurrency: usize,
    /// Connections.
    pub connections: usize,
    /// Seed.
    pub seed: u64,
    /// Target calls per second (`--rate`), when paced.
    pub target_rate: Option<f64>,
    /// Warm-up.
    pub warmup: Duration,
    /// Measured time (shorter than asked when the watchdog stopped the run).
    pub measured: Duration,
}

impl Report {
    /// Builds the report from merged per-method measurements.
    pub fn build(
        info: RunInfo,
        methods: &BTreeMap<&'static str, MethodStats>,
        watch: Option<WatchReport>,
        fsync_probe: Option<ProbeReport>,
        hang: bool,
    ) -> Report {
        let secs = info.measured.as_secs_f64().max(f64::EPSILON);
        let mut all = crate::stats::histogram();
        let mut errors_by_code: BTreeMap<String, u64> = BTreeMap::new();
        let mut per = Vec::new();
        for (name, s) in methods {
            for v in s.latency.iter_recorded() {
                all.saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
            for (code, n) in &s.errors {
                *errors_by_code.entry((*code).to_owned()).or_default() += n;
            }
            let ops = s.latency.len();
            per.push(MethodReport {
                method: (*name).to_owned(),
                ops,
                ops_per_sec: ops as f64 / secs,
                errors: s.errors.values().sum(),
                errors_by_code: s
                    .errors
                    .iter()
                    .map(|(c, n)| ((*c).to_owned(), *n))
                    .collect(),
                latency: Latency::of(&s.latency),
            });
        }
        let ops = all.len();
        Report {
            workload: info.workload,
            server: info.server,
            concurrency: info.concurrency,
            connections: info.connections,
            seed: info.seed,
            target_rate: info.target_rate,
            warmup_secs: info.warmup.as_secs_f64(),
            duration_secs: info.measured.as_secs_f64(),
            ops,
            ops_per_sec: ops as f64 / secs,
            errors: errors_by_code.values().sum(),
            errors_by_code,
            latency: Latency::of(&all),
            methods: per,
            watch,
            fsync_probe,
            hang,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode the report: {e}\"}}"))
    }

    /// The report as text.
    pub fn to_text(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "workload {} against {}: {} callers over {} connections, {:.1} s measured after {:.1} s warm-up (seed {})",
            self.workload,
            self.server,
            self.concurrency,
            self.connections,
            self.duration_secs,
            self.warmup_secs,
            self.seed
        );
        if let Some(r) = self.target_rate {
            let _ = writeln!(
                s,
                "paced at {r:.0} calls/s over all callers (latency from each call's scheduled start)"
            );
        }
        let l = &self.latency;
        let _ = writeln!(
            s,
            "ops {}  ops/s {:.0}  p50 {:.2} ms  p99 {:.2} ms  p999 {:.2} ms  max {:.2} ms  errors {}",
            self.ops,
            self.ops_per_sec,
            ms(l.p50_us),
            ms(l.p99_us),
            ms(l.p999_us),
            ms(l.max_us),
            self.errors
        );
        for (code, n) in &self.errors_by_code {
            let _ = writeln!(s, "  error {code}: {n}");
        }
        if self.methods.len() > 1 {
            let _ = writeln!(
                s,
                "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
                "method", "ops", "ops/s", "p50 ms", "p99 ms", "p999 ms", "errors"
            );
            for m in &self.methods {
                let _ = writeln!(
                    s,
                    "{:<22} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
                    m.method,
                    m.ops,
                    m.ops_per_sec,
                    ms(m.latency.p50_us),
                    ms(m.latency.p99_us),
                    ms(m.latency.p999_us),
                    m.errors
                );
            }
        }
        if let Some(w) = &self.watch {
            let _ = writeln!(
                s,
                "WatchMatches: {} streams, {} events, reopened {} times",
                w.streams, w.events, w.reopened
            );
        }
        if let Some(p) = &self.fsync_probe {
            let _ = writeln!(
                s,
                "fsync probe ({} x 4 KiB append + fdatasync in {}): p50 {:.3} ms  p99 {:.3} ms",
                p.rounds,
                p.dir,
                ms(p.p50_us),
                ms(p.p99_us)
            );
            if l.p50_us > 0 && p.p50_us > 0 {
                let _ = writeln!(
                    s,
                    "call p50 / fsync p50 = {:.1}",
                    l.p50_us as f64 / p.p50_us as f64
                );
            }
        }
        if self.hang {
            let _ = writeln!(s, "HANG: no call succeeded within the hang timeout");
        }
        s
    }
}
