//! Command-line options: which workload, against which server, with how many callers over
//! how many HTTP/2 connections, for how long, and how to report.

use std::{path::PathBuf, time::Duration};

use clearinghouse_storage::Embedded;

use clap::{Parser, ValueEnum};
use serde::Serialize;

/// What each caller does in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// `CreateNeed` with realistic payloads (durable writes).
    Create,
    /// `GetNeed` of ids created during setup.
    Get,
    /// `ListNeeds` pages, following `next_page_token`.
    List,
    /// `FindOffersForNeed` over needs and active offers created during setup.
    FindOffers,
    /// `grpc.health.v1.Health/Check`: the same transport and server with no work behind it.
    Health,
    /// A blend for soaking: creates, updates, reads, lists, matching queries, full match
    /// lifecycles and `WatchMatches` streams.
    Mixed,
    /// `create` while one more broker runs `PlanAllocation` back to back over the pools
    /// (`--pool-needs` circulated needs x `--pool-offers` active offers): what planning
    /// does to the writers' latency. The report has both methods.
    CreateDuringAllocation,
    /// No server: the same durable need create through `Store::create` in this process,
    /// in a store under `--probe-dir`: the ceiling `create` is compared with.
    StorageCreate,
    /// No server: fills the new data directory `--data-dir` with `--records` realistic
    /// needs and offers through the storage API (what the service writes, in batches of
    /// `--batch` per transaction), then prints the store's footprint.
    Bulk,
    /// No server: prints the footprint of the store in `--data-dir` (bytes on disk vs
    /// logical bytes per record).
    Footprint,
    /// Waits until the server answers SERVING (at most --hang-timeout), then asks
    /// `FindOffersForNeed` for one circulated need: a start's time to serve, matching
    /// index included.
    Ready,
}

impl Workload {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Get => "get",
            Workload::List => "list",
            Workload::FindOffers => "find-offers",
            Workload::Health => "health",
            Workload::Mixed => "mixed",
            Workload::StorageCreate => "storage-create",
            Workload::CreateDuringAllocation => "create-during-allocation",
            Workload::Bulk => "bulk",
            Workload::Footprint => "footprint",
            Workload::Ready => "ready",
        }
    }
}

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A human-readable summary.
    Text,
    /// One JSON document on stdout, for scripts.
    Json,
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}': {e} (e.g. 10s, 2m, 500ms)"))
}

/// Options of `clearinghouse-load`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "clearinghouse-load",
    version,
    about = "Drives a Clearinghouse server with a gRPC workload and reports throughput, latency \
             percentiles, errors by status code and the disk's fsync latency"
)]
pub struct Args {
    /// Workload to run.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Server address (ignored with --self-server).
    #[arg(
        long,
        default_value = "http://127.0.0.1:50051",
        env = "CLEARINGHOUSE_SERVER"
    )]
    pub server: String,
    /// File holding an admin API key (e.g. <data-dir>/bootstrap-admin.key); otherwise the
    /// CLEARINGHOUSE_API_KEY environment variable. The tool creates its own principals with it.
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
    /// Start the real server in this process on a temporary directory instead of using --server.
    #[arg(long)]
    pub self_server: bool,
    /// Concurrent callers, each with its own principals.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// HTTP/2 connections; caller i uses connection i mod this.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Measured time (e.g. 10s, 10m).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
    /// Unmeasured time before the measurement, same workload.
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub warmup: Duration,
    /// Seed of every random choice (payloads, ids picked, the mixed blend).
    #[arg(long, default_value_t = 1540)]
    pub seed: u64,
    /// Needs created during setup for get, list, find-offers and mixed.
    #[arg(long, default_value_t = 1000)]
    pub pool_needs: usize,
    /// Active offers created during setup for find-offers and mixed.
    #[arg(long, default_value_t = 200)]
    pub pool_offers: usize,
    /// Long-lived WatchMatches streams (mixed only).
    #[arg(long, default_value_t = 4)]
    pub watchers: usize,
    /// Directory on the data directory's filesystem for the fsync probe (1,000 x write
    /// 4 KiB + fdatasync); with --self-server its data directory is used when this is absent.
    #[arg(long)]
    pub probe_dir: Option<PathBuf>,
    /// Target calls per second over all callers (create, get, list, find-offers, health):
    /// each caller starts its calls on a fixed schedule and a call's latency counts from
    /// its scheduled start, so time spent queued behind a slow server is measured, not
    /// skipped. Without it every caller calls back to back (a closed loop, the peak rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Fail the run (exit 2) when no call has succeeded for this long.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub hang_timeout: Duration,
    /// Print a progress line to stderr this often (0s: never).
    #[arg(long, default_value = "0s", value_parser = duration)]
    pub progress: Duration,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Data directory of `bulk` (absent or empty) and `footprint`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Records (needs plus offers) `bulk` creates.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Records per transaction in `bulk`.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Share of offers among the records `bulk` creates, in percent.
    #[arg(long, default_value_t = 20)]
    pub offers_pct: u64,
    /// After `bulk` has loaded, change the contact of every record once and measure again.
    #[arg(long)]
    pub update_pass: bool,
    /// Create the `bulk` store with sled log segments of this many KiB instead of the
    /// store's own format (8192): 512 is sled's default, the format of stores created
    /// before; for comparing footprints. Existing stores keep the format they have.
    #[arg(long)]
    pub segment_kib: Option<usize>,
    /// Embedded engine of the stores `storage-create` and `bulk` create (`sled`, the
    /// service's default, or `redb`); `footprint` opens whichever the directory holds.
    #[arg(long, default_value = "sled", env = "CLEARINGHOUSE_STORAGE_ENGINE")]
    pub engine: Embedded,
}

impl Args {
    /// Problems with the options, all at once.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.concurrency == 0 {
            p.push("--concurrency must be at least 1".to_owned());
        }
        if self.connections == 0 {
            p.push("--connections must be at least 1".to_owned());
        }
        if self.duration.is_zero() {
            p.push("--duration must be positive".to_owned());
        }
        if self.hang_timeout.is_zero() {
            p.push("--hang-timeout must be positive".to_owned());
        }
        if matches!(self.workload, Workload::Bulk | Workload::Footprint) && self.data_dir.is_none()
        {
            p.push(format!(
                "--data-dir is required for {}",
                self.workload.name()
            ));
        }
        if self.workload == Workload::Bulk {
            if self.records == 0 || self.batch == 0 {
                p.push("--records and --batch must be at least 1".to_owned());
            }
            if self.offers_pct > 100 {
                p.push("--offers-pct must be at most 100".to_owned());
            }
        }
        if self.segment_kib.is_some() && self.engine != Embedded::Sled {
            p.push("--segment-kib applies to sled stores only".to_owned());
        }
        if let Some(k) = self.segment_kib
            && !(k.is_power_of_two() && k <= 16 * 1024)
        {
            p.push("--segment-kib must be a power of two up to 16384 (sled's limits)".to_owned());
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0) {
                p.push("--rate must be a positive number of calls per second".to_owned());
            }
            if !matches!(
                self.workload,
                Workload::Create
                    | Workload::Get
                    | Workload::List
                    | Workload::FindOffers
                    | Workload::Health
            ) {
                p.push(format!(
                    "--rate applies to create, get, list, find-offers and health, not {}",
                    self.workload.name()
                ));
            }
        }
        let needs_pool = matches!(
            self.workload,
            Workload::Get
                | Workload::List
                | Workload::FindOffers
                | Workload::Mixed
                | Workload::CreateDuringAllocation
        );
        if needs_pool && self.pool_needs == 0 {
            p.push(format!(
                "--pool-needs must be at least 1 for {}",
                self.workload.name()
            ));
        }
        if matches!(
            self.workload,
            Workload::FindOffers | Workload::CreateDuringAllocation
        ) && self.pool_offers == 0
        {
            p.push(format!(
                "--pool-offers must be at least 1 for {}",
                self.workload.name()
            ));
        }
        p
    }
}
