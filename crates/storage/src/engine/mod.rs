//! The storage engine interface: ordered byte maps ("trees") with serializable
//! transactions. The typed layer ([`crate::Store`]) is written once on top of it; each
//! engine only stores bytes. This is the contract a new engine must meet (the conformance
//! suite in `crates/storage/tests/` runs against every engine):
//!
//! - **Isolation.** [`Engine::transact`] runs its body as one serializable transaction:
//!   the body sees committed state plus its own writes; on success every write applies
//!   or none does. An engine may run the body more than once (a conflict with a
//!   concurrent transaction); the body has no side effects besides its [`TxOps`] calls.
//! - **Order.** Counters kept in a tree and bumped inside transactions (creation
//!   sequences, the audit sequence) are therefore assigned in commit order: a
//!   transaction that commits later never holds a lower number.
//! - **Reads outside transactions** ([`Engine::get`], [`Engine::scan`]) see committed
//!   state only, never part of a transaction. A transaction's writes reach them at the
//!   latest when the next [`Engine::sync`] returns (sled and the in-memory engine show
//!   them as soon as `transact` returns; redb once the batch holding them is committed).
//!   An engine dropped without a sync still keeps what its transactions wrote, unless
//!   the process dies first.
//! - **Durability.** After [`Engine::sync`] returns `Ok`, every transaction committed
//!   before the call survives a crash or power loss. An engine whose commits are durable
//!   by themselves says so ([`Engine::commits_are_durable`]). A failed sync is permanent:
//!   the engine refuses every later transaction ([`Engine::check_writable`]).
//! - **Snapshots.** [`Engine::snapshot`] hands every entry of the trees it is given to a
//!   visitor, tree by tree in the order given, keys ascending, all as of one moment: the
//!   state after some commit and before the next, exactly as a transaction would have
//!   seen it. No commit may become partly visible to a snapshot. How an engine gets there
//!   is its own affair (sled: copy under the writer lock, then visit; the in-memory
//!   engine: copy under its lock; PostgreSQL: one REPEATABLE READ read-only
//!   transaction), but the visitor may block (a slow backup client): an engine must not
//!   hold back writers while it waits on the visitor.

pub mod memory;
pub mod postgres;
pub mod redb;
pub mod sled;
mod staged;

use std::{fmt, path::Path};

use crate::{barrier::BarrierStats, error::Error};

/// Name of a tree: an ordered map of byte keys to byte values.
pub type TreeName = &'static str;

/// One key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Reads and writes inside one transaction.
pub trait TxOps {
    /// The value of `key`, including this transaction's own writes.
    fn get(&mut self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    /// Sets `key` to `value`.
    fn put(&mut self, tree: TreeName, key: &[u8], value: &[u8]) -> Result<(), Error>;
    /// Removes `key` (no error when absent).
    fn remove(&mut self, tree: TreeName, key: &[u8]) -> Result<(), Error>;
    /// Up to `limit` entries whose keys start with `prefix` and are `>= from`, in key
    /// order, including this transaction's own writes.
    fn scan(
        &mut self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error>;
}

/// The body of a transaction: `Ok` commits, `Err` discards every write and is returned
/// (except [`Error::Conflict`], on which the engine runs the body again).
pub type Body<'a> = dyn FnMut(&mut dyn TxOps) -> Result<(), Error> + 'a;

/// Receives the entries of a snapshot: the tree, the key, the value. An error stops the
/// snapshot and is returned by [`Engine::snapshot`].
pub type Visit<'a> = dyn FnMut(TreeName, &[u8], &[u8]) -> Result<(), Error> + 'a;

/// A storage engine.
pub trait Engine: Send + Sync + fmt::Debug {
    /// Short name for logs (`sled`, `memory`, `postgres`).
    fn name(&self) -> &'static str;
    /// Runs `body` as one serializable transaction (see the module docs).
    fn transact(&self, body: &mut Body<'_>) -> Result<(), Error>;
    /// Reads committed state.
    fn get(&self, tree: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    /// Up to `limit` committed entries whose keys start with `prefix` and are `>= from`.
    fn scan(
        &self,
        tree: TreeName,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, Error>;
    /// Hands every committed entry of `trees` to `visit` as of one moment: tree by tree
    /// in the order of `trees`, keys ascending (see the module docs). Writers are held
    /// back at most while the engine fixes the moment, never while `visit` runs.
    fn snapshot(&self, trees: &[TreeName], visit: &mut Visit<'_>) -> Result<(), Error>;
    /// Blocks until every transaction committed before the call is durable.
    fn sync(&self) -> Result<(), Error>;
    /// Whether a commit is durable by itself (then [`Engine::sync`] is a no-op).
    fn commits_are_durable(&self) -> bool;
    /// Whether no other process can write the store while this engine has it open (the
    /// engine locks its files, or lives in this process): then what this process counts
    /// of its own writes is every write ([`crate::Store::principal_generation`]).
    fn exclusive(&self) -> bool;
    /// Fails once durability can no longer be promised.
    fn check_writable(&self) -> Result<(), Error>;
    /// Counters of the durability barrier.
    fn stats(&self) -> BarrierStats;
    /// Bytes on disk, as far as the engine knows.
    fn size_on_disk(&self) -> Result<u64, Error>;
    /// Directory of the engine's files, if it has one.
    fn path(&self) -> Option<&Path>;
}

/// Whether `key` lies in the scan window `prefix`/`from`.
pub(crate) fn in_window(key: &[u8], prefix: &[u8], from: &[u8]) -> bool {
    key.starts_with(prefix) && key >= from
}

/// The smallest key at or after both `prefix` and `from`.
pub(crate) fn window_start<'a>(prefix: &'a [u8], from: &'a [u8]) -> &'a [u8] {
    if from > prefix { from } else { prefix }
}
