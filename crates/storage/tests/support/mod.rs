//! What the storage test binaries share: fixtures and the engines the conformance suite
//! runs against (sled, redb, the concurrent in-memory engine, and PostgreSQL on a real server
//! started once per test binary).
#![allow(dead_code)]

pub mod fixtures;
pub mod pg_server;
pub mod power_loss;
pub mod sync_gate;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use clearinghouse_storage::{
    Embedded, Engine, MemoryEngine, PostgresEngine, PostgresOptions, Store, StoreOptions, WriteMeta,
};

use fixtures::{T0, actor};

/// An engine under test: opens a store, and reopens it (close, then open again on what
/// the engine kept).
pub trait Harness: Sized {
    /// Another harness of the same kind, on a fresh engine.
    fn fresh() -> Self;
    /// A store on a fresh engine.
    fn open(&mut self) -> Store;
    /// Closes `store` and opens it again.
    fn reopen(&mut self, store: Store) -> Store;
    /// Whether transactions may run concurrently (the body may run more than once).
    fn concurrent(&self) -> bool;
    /// How many transactions ran again after losing a race (0 for serial engines).
    fn conflicts(&self) -> u64 {
        0
    }
    /// The bare engine of a fresh harness, with no store opened on it yet (a restore's
    /// target). [`Harness::open`] opens the store on what it holds afterwards.
    fn bare_engine(&mut self) -> Arc<dyn Engine>;
}

/// An embedded engine's store in a temporary directory: [`Sled`] or [`Redb`].
pub struct OnDisk<K> {
    dir: tempfile::TempDir,
    kind: std::marker::PhantomData<K>,
}

/// Which embedded engine an [`OnDisk`] harness opens.
pub trait Kind {
    /// The engine.
    const ENGINE: Embedded;
}

/// sled's marker.
pub struct SledKind;
/// redb's marker.
pub struct RedbKind;

impl Kind for SledKind {
    const ENGINE: Embedded = Embedded::Sled;
}

impl Kind for RedbKind {
    const ENGINE: Embedded = Embedded::Redb;
}

/// sled in a temporary directory.
pub type Sled = OnDisk<SledKind>;
/// redb in a temporary directory.
pub type Redb = OnDisk<RedbKind>;

impl<K: Kind> OnDisk<K> {
    /// A fresh directory.
    pub fn new() -> Self {
        OnDisk {
            dir: tempfile::tempdir().expect("tempdir"),
            kind: std::marker::PhantomData,
        }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// Options of the test stores: a small cache.
fn small() -> StoreOptions {
    StoreOptions {
        cache_capacity_bytes: 16 * 1024 * 1024,
        sync_fault: None,
    }
}

/// Opens the sled store in `dir` with a small cache.
pub fn open_sled(dir: &std::path::Path) -> Store {
    Store::open_embedded(dir, Embedded::Sled, &small()).expect("open store")
}

/// Opens the redb store in `dir` with a small cache.
pub fn open_redb(dir: &std::path::Path) -> Store {
    Store::open_embedded(dir, Embedded::Redb, &small()).expect("open redb store")
}

impl<K: Kind> Harness for OnDisk<K> {
    fn fresh() -> Self {
        Self::new()
    }
    fn open(&mut self) -> Store {
        Store::open_embedded(self.dir.path(), K::ENGINE, &small()).expect("open store")
    }
    fn reopen(&mut self, store: Store) -> Store {
        store.close().expect("close");
        self.open()
    }
    fn concurrent(&self) -> bool {
        false
    }
    fn bare_engine(&mut self) -> Arc<dyn Engine> {
        K::ENGINE
            .open_engine(self.dir.path(), &small())
            .expect("open the engine")
    }
}

/// The in-memory engine with interleaving transactions.
pub struct Memory {
    engine: Arc<MemoryEngine>,
}

impl Memory {
    /// A fresh engine.
    pub fn new() -> Memory {
        Memory {
            engine: Arc::new(MemoryEngine::new(true)),
        }
    }
}

impl Harness for Memory {
    fn fresh() -> Self {
        Memory::new()
    }
    fn open(&mut self) -> Store {
        Store::with_engine(self.engine.clone()).expect("open memory store")
    }
    fn reopen(&mut self, store: Store) -> Store {
        store.close().expect("close");
        self.open()
    }
    fn concurrent(&self) -> bool {
        true
    }
    fn conflicts(&self) -> u64 {
        self.engine.conflicts()
    }
    fn bare_engine(&mut self) -> Arc<dyn Engine> {
        self.engine.clone()
    }
}

/// PostgreSQL: a schema of its own on the binary's shared server, so every harness starts
/// empty; reopening closes the store and opens a new engine (and pool) on the same schema.
pub struct Postgres {
    opts: PostgresOptions,
    engine: Option<Arc<PostgresEngine>>,
}

/// Options for a new, empty schema on the shared server.
pub fn fresh_pg_options() -> PostgresOptions {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let server = pg_server::PgServer::shared();
    PostgresOptions {
        schema: format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed)),
        max_connections: 12,
        // Ready before the suite's races start, so that their transactions overlap.
        min_idle_connections: 8,
        acquire_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(30),
        ..PostgresOptions::new(server.url("postgres"))
    }
}

impl Postgres {
    /// A fresh schema.
    pub fn new() -> Postgres {
        Postgres {
            opts: fresh_pg_options(),
            engine: None,
        }
    }
}

impl Harness for Postgres {
    fn fresh() -> Self {
        Postgres::new()
    }
    fn open(&mut self) -> Store {
        let engine = Arc::new(PostgresEngine::open(&self.opts).expect("open postgres engine"));
        self.engine = Some(Arc::clone(&engine));
        Store::with_engine(engine).expect("open postgres store")
    }
    fn reopen(&mut self, store: Store) -> Store {
        store.close().expect("close");
        self.engine = None;
        self.open()
    }
    fn concurrent(&self) -> bool {
        true
    }
    fn conflicts(&self) -> u64 {
        self.engine.as_ref().map_or(0, |e| e.conflicts())
    }
    fn bare_engine(&mut self) -> Arc<dyn Engine> {
        let engine = Arc::new(PostgresEngine::open(&self.opts).expect("open postgres engine"));
        self.engine = Some(Arc::clone(&engine));
        engine
    }
}

/// Audit metadata of a test change.
pub fn meta(action: &str) -> WriteMeta {
    WriteMeta {
        actor: actor(),
        action: action.into(),
        now: T0,
        idempotency: None,
    }
}

/// Instantiates each listed test (a `fn(&mut impl Harness)`) once per engine.
#[macro_export]
macro_rules! per_engine {
    ($($name:ident),* $(,)?) => {
        mod sled_engine {
            $(
                #[test]
                fn $name() {
                    super::$name(&mut $crate::support::Sled::new());
                }
            )*
        }
        mod redb_engine {
            $(
                #[test]
                fn $name() {
                    super::$name(&mut $crate::support::Redb::new());
                }
            )*
        }
        mod memory_engine {
            $(
                #[test]
                fn $name() {
                    super::$name(&mut $crate::support::Memory::new());
                }
            )*
        }
        mod postgres_engine {
            $(
                #[test]
                fn $name() {
                    super::$name(&mut $crate::support::Postgres::new());
                }
            )*
        }
    };
}
