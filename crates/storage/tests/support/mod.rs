//! What the storage test binaries share: fixtures and the engines the conformance suite
//! runs against.
#![allow(dead_code)]

pub mod fixtures;

use std::sync::Arc;

use clearinghouse_storage::{
    Engine, MemoryEngine, Store, StoreOptions, WriteMeta,
    engine::sled::{SledEngine, SledOptions},
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

/// sled in a temporary directory.
pub struct Sled {
    dir: tempfile::TempDir,
}

impl Sled {
    /// A fresh directory.
    pub fn new() -> Sled {
        Sled {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// Opens the sled store in `dir` with a small cache.
pub fn open_sled(dir: &std::path::Path) -> Store {
    Store::open(
        dir,
        &StoreOptions {
            cache_capacity_bytes: 16 * 1024 * 1024,
            sync_fault: None,
        },
    )
    .expect("open store")
}

impl Harness for Sled {
    fn fresh() -> Self {
        Sled::new()
    }
    fn open(&mut self) -> Store {
        open_sled(self.dir.path())
    }
    fn reopen(&mut self, store: Store) -> Store {
        store.close().expect("close");
        open_sled(self.dir.path())
    }
    fn concurrent(&self) -> bool {
        false
    }
    fn bare_engine(&mut self) -> Arc<dyn Engine> {
        Arc::new(
            SledEngine::open(
                self.dir.path(),
                &SledOptions {
                    cache_capacity_bytes: 16 * 1024 * 1024,
                    sync_fault: None,
                },
            )
            .expect("open sled engine"),
        )
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
        mod memory_engine {
            $(
                #[test]
                fn $name() {
                    super::$name(&mut $crate::support::Memory::new());
                }
            )*
        }
    };
}
