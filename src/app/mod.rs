//! Use cases, one file per resource. No tonic or prost types here: handlers convert the
//! wire format and call these functions, which apply roles, ownership and visibility
//! (inside the storage transaction for changes) and the domain rules.
//!
//! Entry point: [`App`]. Storage calls run on the blocking pool.

pub mod admin;
pub mod backup;
pub mod clock;
pub mod decisions;
pub mod expiry;
pub mod index_file;
pub mod intake;
pub mod matches;
pub mod matching;
pub mod needs;
pub mod offers;
pub mod parties;
pub mod planner;
#[cfg(test)]
mod races;
pub mod reports;
pub mod seed;
#[cfg(test)]
mod test_support;
pub mod tokens;
pub mod visibility;
pub mod watch;

use std::sync::Arc;

use clearinghouse_domain::{
    Principal, Role, Timestamp, ValidationError, Violations, transition::Actor,
};
use clearinghouse_storage::{IdempotencyKey, Store, WriteMeta};

use crate::error::ApiError;

/// Largest page a list returns.
pub const MAX_PAGE_SIZE: usize = 500;
/// Page size when the client sends none.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Records a list examines before returning a short page with a cursor.
pub const MAX_SCAN: usize = 20_000;

/// Shared state of the use cases.
#[derive(Debug, Clone)]
pub struct App {
    /// The store.
    pub store: Arc<Store>,
    /// The matching engine and its settings.
    pub matching: Arc<matching::Matching>,
    /// Wake-ups and shutdown for live streams.
    pub live: Arc<watch::Live>,
    /// The key of page tokens.
    pub tokens: Arc<tokens::TokenKey>,
    /// The low-priority thread that computes allocation plans.
    pub planner: Arc<planner::Planner>,
}

/// Which page to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size (already clamped).
    pub size: usize,
    /// Cursor from the previous page.
    pub after: Option<u64>,
}

/// One page of a list and the cursor of the next.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor, `None` at the end.
    pub next: Option<u64>,
}

impl App {
    /// Use cases over `store`, with the matching engine built from it.
    pub fn new(
        store: Arc<Store>,
        matching: Arc<matching::Matching>,
        live: Arc<watch::Live>,
    ) -> Result<App, ApiError> {
        let tokens = Arc::new(tokens::TokenKey::load(&store)?);
        Ok(App {
            store,
            matching,
            live,
            tokens,
            planner: Arc::new(planner::Planner::start()?),
        })
    }

    /// Runs a change `f` against the store on the blocking pool, then brings the
    /// matching index up to the store in the same blocking task: the task runs to the
    /// end even when the caller goes away (a cancelled call, a timeout), so the index can
    /// never be left behind a write.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let (store, matching) = (Arc::clone(&self.store), Arc::clone(&self.matching));
        // The call's span (request id) goes along, so lines logged here name the call.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let out = f(&store);
                if follow_needed(&store, &matching) {
                    matching.follow(&store);
                }
                out
            })
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Runs a short read `f` on the calling task: a few reads by key, or of one record's
    /// own entries (a need's feedback, its matches), never a listing. A sled read served from its cache or the page cache takes microseconds, less
    /// than the hand-off to the blocking pool and back that [`App::blocking`] costs, and
    /// the PostgreSQL engine the server opens moves each of its calls off the async worker
    /// itself (`server::engine::OffRuntime`). Lists, scans and writes use the blocking pool.
    pub fn point_read<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        f(&self.store)
    }

    /// Runs `f` against the store on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| f(&store)))
            .await
            .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    }
}

/// Whether the matching index may still miss a durable write. On an engine whose commits
/// need a sync, the durable audit watermark is an atomic read and includes the write just
/// made, so when the index has applied up to it (another writer's `follow` took this
/// write along), reading the audit trail again would find nothing: with many concurrent
/// writers this skips most of their scans, which run one at a time.
fn follow_needed(store: &Store, matching: &matching::Matching) -> bool {
    if store.engine().commits_are_durable() {
        return true;
    }
    match store.audit_watermark() {
        Ok(durable) => matching.applied() < durable,
        Err(_) => true,
    }
}

/// A fresh server-chosen id (ULID: sortable, 128 bits).
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// The lifecycle actor a principal's role plays.
pub fn actor_of(p: &Principal) -> Actor {
    match p.role {
        Role::Admin | Role::Broker => Actor::Broker,
        Role::Requester | Role::Analyst => Actor::Requester,
        Role::Provider => Actor::Provider,
    }
}

/// Audit and idempotency metadata of a change by `p`.
pub fn meta(
    p: &Principal,
    action: &str,
    now: Timestamp,
    idempotency: Option<IdempotencyKey>,
) -> WriteMeta {
    WriteMeta {
        actor: p.id.clone(),
        action: action.to_owned(),
        now,
        idempotency,
    }
}

/// The INVALID_ARGUMENT error for edge violations plus a later domain validation error.
pub fn rejected(edge: Violations, later: Option<ValidationError>) -> ApiError {
    match edge.merge(later) {
        Some(e) => ApiError::Invalid(e),
        None => ApiError::Internal("validation failed without naming a field".to_owned()),
    }
}

/// At most the first 40 characters of a value a client sent, for an error message
/// (never the whole of an arbitrarily long input).
pub fn short(value: &str) -> String {
    const MAX: usize = 40;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_owned(),
    }
}
