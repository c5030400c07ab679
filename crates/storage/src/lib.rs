//! Durable, typed storage for Clearinghouse.
//!
//! Entry point: [`Store::open`] (sled, the embedded default), [`Store::open_embedded`]
//! (sled or redb) or [`Store::with_engine`].
//! The typed layer ([`Store`], [`Txn`]) is written once over the byte-level
//! [`engine::Engine`] interface; the sled and redb engines are the only code that imports sled or redb.
//! Invariants: every change (record, its index entries, unique keys, counters,
//! idempotency record and audit entry) is one transaction; a write is acknowledged only
//! after the engine made it durable; a failed sync makes the store refuse every later
//! write; every stored value starts with a version byte ([`records`]) and is at most
//! 64 KiB; readers of the audit trail never pass the durable watermark.

pub mod audit_chain;
pub mod backup;
pub mod barrier;
pub mod check;
pub mod decision;
pub mod engine;
pub mod error;
pub mod index_file;
pub mod keys;
pub mod records;
pub mod resource;
pub mod store;
pub mod summary;
pub mod trees;
pub mod txn;
pub mod written;

pub use backup::{BackupError, BackupHeader, BackupSummary};
pub use barrier::{BarrierStats, DurabilityError, GroupCommit, Syncer};
pub use engine::{
    Engine,
    memory::MemoryEngine,
    postgres::{PostgresEngine, PostgresOptions},
};
pub use error::{Error, UpdateError};
pub use resource::{Resource, index};
pub use store::{
    AuditFilter, Created, Embedded, IdempotencyKey, ListQuery, Page, RestoreSummary,
    SCHEMA_VERSION, Store, StoreOptions, SyncFault, WriteMeta,
};
pub use txn::{TxError, Txn};
