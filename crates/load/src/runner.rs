//! One run, start to end: server (external or in-process), connections, principals and
//! pools, the fsync probe, then the callers (and watchers) for warm-up plus measurement,
//! under a watchdog that ends the run when no call has succeeded for `--hang-timeout`.

use std::{sync::Arc, time::Duration};

use rand::{SeedableRng, rngs::StdRng};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    args::{Args, Workload},
    client,
    error::LoadError,
    mixed, probe,
    report::{Report, RunInfo, WatchReport},
    self_server::SelfServer,
    setup,
    stats::{self, Recorder, Shared, Window},
    storage, watch, workload,
};

/// Rounds of the fsync probe.
pub const PROBE_ROUNDS: u64 = 1000;

/// How often the watchdog looks.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// The admin key from `--api-key-file` or `CLEARINGHOUSE_API_KEY`.
pub fn admin_key(args: &Args) -> Result<String, LoadError> {
    if let Some(path) = &args.api_key_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::ApiKey(format!("cannot read {}: {e}", path.display())))?;
        return Ok(text.trim().to_owned());
    }
    match std::env::var("CLEARINGHOUSE_API_KEY") {
        Ok(k) if !k.trim().is_empty() => Ok(k.trim().to_owned()),
        _ => Err(LoadError::ApiKey(
            "pass --api-key-file FILE or set CLEARINGHOUSE_API_KEY (an admin key)".to_owned(),
        )),
    }
}

/// Runs the workload the options describe and returns its report.
pub async fn run(args: &Args) -> Result<Report, LoadError> {
    let problems = args.problems();
    if !problems.is_empty() {
        return Err(LoadError::Options(problems.join("; ")));
    }
    if args.workload == Workload::StorageCreate {
        return run_storage(args).await;
    }
    if matches!(
        args.workload,
        Workload::Bulk | Workload::Footprint | Workload::Ready
    ) {
        return Err(LoadError::Options(format!(
            "{} makes no report of calls; run it with bulk::run_args or ready::run",
            args.workload.name()
        )));
    }
    let server = if args.self_server {
        Some(SelfServer::start().await?)
    } else {
        None
    };
    let result = run_against(args, server.as_ref()).await;
    if let Some(s) = server {
        s.stop().await?;
    }
    result
}

/// The storage-only workload: the fsync probe, then the callers as threads over a store
/// of their own ([`storage`]).
async fn run_storage(args: &Args) -> Result<Report, LoadError> {
    let fsync_probe = match args.probe_dir.clone() {
        Some(dir) => Some(
            tokio::task::spawn_blocking(move || probe::run(&dir, PROBE_ROUNDS))
                .await
                .map_err(|e| LoadError::Task(e.to_string()))??,
        ),
        None => None,
    };
    let progress = Shared::new();
    let started = Instant::now();
    let (dir, engine, callers, warmup, duration, seed) = (
        args.probe_dir.clone(),
        args.engine,
        args.concurrency,
        args.warmup,
        args.duration,
        args.seed,
    );
    let p = Arc::clone(&progress);
    let recorders = tokio::task::spawn_blocking(move || {
        storage::run(dir.as_deref(), engine, callers, warmup, duration, seed, &p)
    })
    .await
    .map_err(|e| LoadError::Task(e.to_string()))??;
    let info = RunInfo {
        workload: args.workload.name().to_owned(),
        server: "none (storage only)".to_owned(),
        concurrency: args.concurrency,
        connections: 0,
        seed: args.seed,
        target_rate: None,
        warmup: args.warmup,
        measured: started
            .elapsed()
            .saturating_sub(args.warmup)
            .min(args.duration),
    };
    Ok(Report::build(
        info,
        &stats::merge(&recorders),
        None,
        fsync_probe,
        false,
    ))
}

async fn run_against(args: &Args, server: Option<&SelfServer>) -> Result<Report, LoadError> {
    let (url, key) = match server {
        Some(s) => (s.url.clone(), s.admin_key.clone()),
        None => (
            args.server.clone(),
            if args.workload == Workload::Health {
                String::new()
            } else {
                admin_key(args)?
            },
        ),
    };
    let channels = client::connect(&url, args.connections).await?;
    let callers = setup::callers(args.workload, &channels, &key, args.concurrency).await?;
    let pool = match args.workload {
        Workload::Get | Workload::List => {
            setup::pool(&callers, args.seed, args.pool_needs, 0, false).await?
        }
        Workload::FindOffers | Workload::Mixed | Workload::CreateDuringAllocation => {
            setup::pool(&callers, args.seed, args.pool_needs, args.pool_offers, true).await?
        }
        Workload::Create
        | Workload::Health
        | Workload::StorageCreate
        | Workload::Bulk
        | Workload::Footprint
        | Workload::Ready => setup::Pool::default(),
    };
    let probe_dir = args
        .probe_dir
        .clone()
        .or_else(|| server.map(SelfServer::data_dir));
    let fsync_probe = match probe_dir {
        Some(dir) => Some(
            tokio::task::spawn_blocking(move || probe::run(&dir, PROBE_ROUNDS))
                .await
                .map_err(|e| LoadError::Task(e.to_string()))??,
        ),
        None => None,
    };

    let shared = Arc::new(workload::Shared {
        pool,
        taxonomy: crate::payload::Taxonomy::load(),
    });
    let progress = Shared::new();
    let start = Instant::now();
    let window = Window {
        from: (start + args.warmup).into_std(),
        until: (start + args.warmup + args.duration).into_std(),
    };
    let mut tasks: JoinSet<Recorder> = JoinSet::new();
    let mut watchers: JoinSet<WatchReport> = JoinSet::new();
    if args.workload == Workload::Mixed {
        for c in callers.iter().take(args.watchers) {
            if let Some(b) = c.broker.clone() {
                watchers.spawn(watch::watch(
                    b,
                    start + args.warmup + args.duration,
                    Arc::clone(&progress),
                ));
            }
        }
    }
    if args.workload == Workload::CreateDuringAllocation
        && let Some(b) = callers.first().and_then(|c| c.broker.clone())
    {
        let rec = Recorder::new(window, Arc::clone(&progress));
        tasks.spawn(workload::plan_allocations(b, rec));
    }
    for c in callers {
        let rng = StdRng::seed_from_u64(args.seed.wrapping_add(c.index as u64 * 7919));
        let rec = Recorder::new(window, Arc::clone(&progress));
        let shared = Arc::clone(&shared);
        if args.workload == Workload::Mixed {
            tasks.spawn(mixed::run(c, shared, rng, rec));
        } else {
            let pace = args
                .rate
                .map(|r| workload::Pace::of_caller(r, args.concurrency, c.index, start));
            tasks.spawn(workload::run(args.workload, c, shared, rng, rec, pace));
        }
    }

    let mut recorders = Vec::with_capacity(args.concurrency);
    let mut hang = false;
    let mut tick = tokio::time::interval(WATCHDOG_TICK);
    let mut next_progress = start + args.progress;
    let mut last_ok = 0u64;
    while !tasks.is_empty() {
        tokio::select! {
            done = tasks.join_next() => {
                if let Some(r) = done {
                    recorders.push(r.map_err(|e| LoadError::Task(e.to_string()))?);
                }
            }
            _ = tick.tick() => {
                if progress.since_last_ok() > args.hang_timeout {
                    hang = true;
                    tasks.abort_all();
                    watchers.abort_all();
                    break;
                }
                if !args.progress.is_zero() && Instant::now() >= next_progress {
                    let ok = progress.ok();
                    eprintln!(
                        "t={:.0}s ok={} ok/s={:.0} errors={}",
                        start.elapsed().as_secs_f64(),
                        ok,
                        (ok - last_ok) as f64 / args.progress.as_secs_f64(),
                        progress.errors()
                    );
                    last_ok = ok;
                    next_progress += args.progress;
                }
            }
        }
    }
    let measured = Instant::now()
        .into_std()
        .min(window.until)
        .saturating_duration_since(window.from);
    let mut watch_report = None;
    if args.workload == Workload::Mixed && !hang {
        let mut w = WatchReport::default();
        while let Some(r) = watchers.join_next().await {
            let r = r.map_err(|e| LoadError::Task(e.to_string()))?;
            w.streams += r.streams;
            w.events += r.events;
            w.reopened += r.reopened;
        }
        watch_report = Some(w);
    }
    let info = RunInfo {
        workload: args.workload.name().to_owned(),
        server: if server.is_some() {
            "self".to_owned()
        } else {
            url
        },
        concurrency: args.concurrency,
        connections: args.connections,
        seed: args.seed,
        target_rate: args.rate,
        warmup: args.warmup,
        measured,
    };
    Ok(Report::build(
        info,
        &stats::merge(&recorders),
        watch_report,
        fsync_probe,
        hang,
    ))
}
