//! Opens the storage engine `[storage]` names: the embedded store in `data_dir` (sled by
//! default, or redb), or the shared PostgreSQL engine when a database URL is set. Everything
//! above (`Store`, `app`) is the same for both.
//!
//! The PostgreSQL client is synchronous and runs a small runtime of its own, which must
//! not be started on a thread that drives async tasks. Use cases call storage on the
//! blocking pool, but a few reads happen on async workers (the key lookup of the auth
//! layer), so the server wraps the engine in [`OffRuntime`], which moves each call off
//! such a thread (`block_in_place` on a multi-threaded runtime, a scoped thread on a
//! current-thread one) and runs it directly everywhere else.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use tokio::runtime::{Handle, RuntimeFlavor};
use tracing::info;

use clearinghouse_storage::{
    BarrierStats, Engine, Error, PostgresEngine, Store, StoreOptions, SyncFault,
    engine::{Body, Entry, TreeName, Visit},
};

use crate::config::{Config, redact_url};

/// The store the server opened, and the PostgreSQL engine under it when it is shared.
#[derive(Debug)]
pub struct Opened {
    /// The store.
    pub store: Arc<Store>,
    /// The shared engine (change feed, health), when the store is on PostgreSQL.
    pub postgres: Option<Arc<PostgresEngine>>,
}

/// Opens the engine `config` names (on the blocking pool) and the store over it.
pub async fn open(
    config: &Config,
    sync_fault: Option<Arc<dyn SyncFault>>,
) -> anyhow::Result<Opened> {
    match config.storage.postgres_options() {
        None => {
            let data_dir = config.data_dir.clone();
            let embedded = config.storage.embedded();
            info!(data_dir = %data_dir.display(), engine = embedded.name(), "opening storage");
            let opts = StoreOptions {
                cache_capacity_bytes: config.cache_capacity_mib * 1024 * 1024,
                sync_fault,
            };
            let dir = data_dir.clone();
            let store =
                tokio::task::spawn_blocking(move || Store::open_embedded(&dir, embedded, &opts))
                    .await
                    .context("storage open task failed")?
                    .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
            Ok(Opened {
                store: Arc::new(store),
                postgres: None,
            })
        }
        Some(opts) => {
            let target = redact_url(&opts.url);
            info!(database = %target, schema = %opts.schema, engine = "postgres", "opening storage");
            let (store, engine) = tokio::task::spawn_blocking(move || open_postgres(&opts))
                .await
                .context("storage open task failed")?
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot open the store in PostgreSQL ({target}): {}",
                        redact_url(&e.to_string())
                    )
                })?;
            Ok(Opened {
                store: Arc::new(store),
                postgres: Some(engine),
            })
        }
    }
}

/// Opens (and migrates) the PostgreSQL engine and the store over it.
pub fn open_postgres(
    opts: &clearinghouse_storage::PostgresOptions,
) -> Result<(Store, Arc<PostgresEngine>), Error> {
    let engine = Arc::new(PostgresEngine::open(opts)?);
    let wrapped: Arc<dyn Engine> = Arc::new(OffRuntime(Arc::clone(&engine)));
    let store = Store::with_engine(wrapped)?;
    Ok((store, engine))
}

/// Runs `f` where a synchronous client may block: off an async worker thread.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(t) => t,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}

/// [`off_runtime`] for calls whose arguments cannot move to another thread
/// (transaction bodies, snapshot visitors). Those run on the blocking pool by contract,
/// so on a current-thread runtime they run where they are.
fn off_workers<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// An engine whose every call runs off async worker threads (see the module docs).
#[derive(Debug)]
pub struct OffRuntime(pub Arc<PostgresEngine>);

impl Engine for OffRuntime {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error> {
        off_workers(|| self.0.transact(body))
    }
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        off_runtime(|| self.0.get(tree, key))
    }
    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        off_runtime(|| self.0.scan(tree, prefix, from, limit))
    }
    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error> {
        off_workers(|| self.0.snapshot(trees, visit))
    }
    fn sync(&self) -> Result<(), Error> {
        self.0.sync()
    }
    fn commits_are_durable(&self) -> bool {
        self.0.commits_are_durable()
    }
    fn exclusive(&self) -> bool {
        self.0.exclusive()
    }
    fn check_writable(&self) -> Result<(), Error> {
        // Probes on a thread of its own already.
        self.0.check_writable()
    }
    fn stats(&self) -> BarrierStats {
        self.0.stats()
    }
    fn size_on_disk(&self) -> Result<u64, Error> {
        off_runtime(|| self.0.size_on_disk())
    }
    fn path(&self) -> Option<&Path> {
        self.0.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the synchronous PostgreSQL client does on every call: drive a runtime of its
    /// own, which panics on a thread that already drives async tasks.
    fn own_runtime_call() -> u32 {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(async { 7 })
    }

    #[test]
    fn a_blocking_client_runs_from_a_current_thread_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert_eq!(rt.block_on(async { off_runtime(own_runtime_call) }), 7);
    }

    #[test]
    fn a_blocking_client_runs_from_a_multi_thread_runtime_worker() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let on_worker = rt.spawn(async { off_runtime(own_runtime_call) });
        assert_eq!(rt.block_on(on_worker).expect("task"), 7);
        assert_eq!(off_runtime(own_runtime_call), 7, "outside any runtime");
    }
}
