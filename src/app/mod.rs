//! Use cases, one file per resource. No tonic or prost types here: handlers convert the
//! wire format and call these functions, which apply roles, ownership and visibility
//! (inside the storage transaction for changes) and the domain rules.
//!
//! Entry point: [`App`]. Storage calls run on the blocking pool.

pub mod admin;
pub mod clock;
pub mod expiry;
pub mod matches;
pub mod matching;
pub mod needs;
pub mod offers;
pub mod parties;
pub mod seed;
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
    ) -> App {
        App {
            store,
            matching,
            live,
        }
    }

    /// Brings the matching index in step with a written need, then returns it.
    pub async fn reindex_need(
        &self,
        need: clearinghouse_domain::Need,
    ) -> Result<clearinghouse_domain::Need, ApiError> {
        let m = Arc::clone(&self.matching);
        self.blocking(move |_| {
            m.on_need(&need);
            Ok(need)
        })
        .await
    }

    /// Brings the matching index in step with a written offer, then returns it.
    pub async fn reindex_offer(
        &self,
        offer: clearinghouse_domain::Offer,
    ) -> Result<clearinghouse_domain::Offer, ApiError> {
        let m = Arc::clone(&self.matching);
        self.blocking(move |_| {
            m.on_offer(&offer);
            Ok(offer)
        })
        .await
    }

    /// Runs `f` against the store on the blocking pool.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
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
