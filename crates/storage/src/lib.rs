//! Durable, typed storage for Clearinghouse. The only crate that imports sled.
//!
//! Entry point: [`Store::open`]. Invariants: every change (record, its index entries,
//! unique keys, counters, idempotency record and audit entry) is one sled transaction; a
//! write is acknowledged only after the group-commit barrier ([`barrier`]) has flushed
//! sled and fsynced its `db` file; a failed sync makes the store refuse every later
//! write; every stored value starts with a version byte ([`records`]) and is at most
//! 64 KiB.

pub mod barrier;
pub mod error;
pub mod keys;
pub mod records;
pub mod resource;
pub mod store;

pub use barrier::{BarrierStats, DurabilityError, GroupCommit, Syncer};
pub use error::{Error, UpdateError};
pub use resource::{Resource, index};
pub use store::{
    AuditFilter, Created, IdempotencyKey, ListQuery, Page, Store, StoreOptions, SyncFault, TxError,
    Txn, WriteMeta,
};
