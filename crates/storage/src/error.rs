//! Errors of the storage API. The server maps each variant to a gRPC status in one place.

use crate::barrier::DurabilityError;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed (I/O, corruption detected by sled).
    #[error("storage engine error: {0}")]
    Engine(String),
    /// A stored value could not be decoded.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// A value could not be encoded.
    #[error("could not encode value: {0}")]
    Encode(String),
    /// An encoded value is over the per-record cap.
    #[error("record is {bytes} bytes; the maximum is {max}")]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// Cap.
        max: usize,
    },
    /// The record to update does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Id.
        id: String,
    },
    /// A record with this id already exists.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// Kind.
        kind: &'static str,
        /// Id.
        id: String,
    },
    /// The unique key (e.g. an external id) is taken by another record.
    #[error("{kind} with {key} already exists: {existing_id}")]
    UniqueTaken {
        /// Kind.
        kind: &'static str,
        /// The key, human-readable.
        key: String,
        /// Id of the record holding it.
        existing_id: String,
    },
    /// The request id was used before with another payload.
    #[error("request_id {request_id} was already used for a different request")]
    IdempotencyConflict {
        /// The request id.
        request_id: String,
    },
    /// The caller's version is not the stored one.
    #[error("{kind} {id} is at version {actual}, not {expected}")]
    StaleVersion {
        /// Kind.
        kind: &'static str,
        /// Id.
        id: String,
        /// Version the caller sent.
        expected: u64,
        /// Stored version.
        actual: u64,
    },
    /// An update of a kind whose records are never changed once written (feedback,
    /// decisions): their stored form has no version to bump.
    #[error("{kind} records are append-only; {id} cannot be changed")]
    AppendOnly {
        /// Kind.
        kind: &'static str,
        /// Id.
        id: String,
    },
    /// A concurrent transaction changed what this one read; the engine runs it again.
    #[error("transaction conflict")]
    Conflict,
    /// The caller's change function refused (carried out of the engine; never returned
    /// by the store's public API).
    #[error("transaction rejected by the caller")]
    Rejected,
    /// Durability can no longer be promised.
    #[error(transparent)]
    Durability(#[from] DurabilityError),
    /// The database cannot be reached right now (a shared database engine); nothing was
    /// written, or a commit's outcome is unknown when the message says so. Calls may be
    /// retried once it is back; the engine recovers by itself.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Failure of an update: the storage's own, or the caller's change function's.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The change function refused.
    #[error("update refused")]
    Rejected(E),
}
