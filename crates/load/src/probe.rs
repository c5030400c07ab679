//! The fsync probe: appends 4 KiB and calls `fdatasync`, `rounds` times, in a temporary file
//! on the filesystem under test, so that the RPC figures of the same run can be read as
//! ratios of what the disk itself takes (the storage bench uses the same probe).

use std::{io::Write, path::Path, time::Instant};

use serde::Serialize;

use crate::{error::LoadError, stats};

/// Latency of one 4 KiB append + `fdatasync`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeReport {
    /// Directory the file was written in.
    pub dir: String,
    /// Rounds run.
    pub rounds: u64,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// Mean, microseconds.
    pub mean_us: f64,
    /// Slowest round, microseconds.
    pub max_us: u64,
}

/// Runs the probe in a temporary file under `dir` (removed afterwards).
pub fn run(dir: &Path, rounds: u64) -> Result<ProbeReport, LoadError> {
    let err = |source| LoadError::Probe {
        dir: dir.to_owned(),
        source,
    };
    let mut file = tempfile::Builder::new()
        .prefix(".fsync-probe-")
        .tempfile_in(dir)
        .map_err(err)?;
    let block = [0x5au8; 4096];
    let mut hist = stats::histogram();
    for _ in 0..rounds {
        let t = Instant::now();
        file.write_all(&block).map_err(err)?;
        file.as_file().sync_data().map_err(err)?;
        let micros = u64::try_from(t.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        hist.saturating_record(micros);
    }
    Ok(ProbeReport {
        dir: dir.display().to_string(),
        rounds,
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
        mean_us: hist.mean(),
        max_us: hist.max(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_probe_times_every_round_and_leaves_no_file_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = super::run(dir.path(), 20).expect("probe");
        assert_eq!(r.rounds, 20);
        assert!(r.p50_us >= 1 && r.p50_us <= r.max_us);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
