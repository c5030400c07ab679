//! Principals as the authenticator reads them: from a cache while the store says no
//! principal has been written since the copy was read ([`Store::principal_generation`]),
//! from the store on the blocking pool otherwise. A revocation, a key change or any other
//! write of a principal makes every cached copy stale at once, so the next call reads the
//! store again; on engines other processes may write, every call reads the store.
//!
//! Only principals that exist are cached (an unknown id costs a store read each time),
//! and the cache is emptied when it reaches [`MAX_CACHED`] entries.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use clearinghouse_domain::Principal;
use clearinghouse_storage::Store;

use crate::error::ApiError;

/// Most principals kept; past it the cache starts again from empty.
pub const MAX_CACHED: usize = 10_000;

/// A principal as read at one generation of the store's principals.
#[derive(Debug, Clone)]
struct Cached {
    generation: u64,
    principal: Principal,
}

/// Reads principals for authentication, cached while no principal is written.
#[derive(Debug)]
pub struct Principals {
    store: Arc<Store>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Principals {
    /// Principals of `store`.
    pub fn new(store: Arc<Store>) -> Principals {
        Principals {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The principal `id` as the store holds it now, or `None` when there is none. Never
    /// reads the store on the calling (async) thread.
    pub async fn get(&self, id: &str) -> Result<Option<Principal>, ApiError> {
        // Read before the store, so a write committed in between leaves the copy stale.
        let generation = self.store.principal_generation();
        if let Some(g) = generation
            && let Some(p) = self.cached(id, g)
        {
            return Ok(Some(p));
        }
        let store = Arc::clone(&self.store);
        let owned = id.to_owned();
        let read = tokio::task::spawn_blocking(move || store.get::<Principal>(&owned))
            .await
            .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))??;
        if let (Some(g), Some(p)) = (generation, &read) {
            self.remember(id, g, p);
        }
        Ok(read)
    }

    fn cached(&self, id: &str, generation: u64) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(id)
            .filter(|c| c.generation == generation)
            .map(|c| c.principal.clone())
    }

    fn remember(&self, id: &str, generation: u64, principal: &Principal) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED && !cache.contains_key(id) {
            cache.clear();
        }
        cache.insert(
            id.to_owned(),
            Cached {
                generation,
                principal: principal.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearinghouse_domain::{PrincipalId, Role, Timestamp};
    use clearinghouse_storage::{
        WriteMeta,
        engine::{Engine, memory::MemoryEngine},
    };

    fn store() -> Arc<Store> {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new(false));
        Arc::new(Store::with_engine(engine).expect("store"))
    }

    fn principal(id: &str, hash: u8) -> Principal {
        Principal {
            id: PrincipalId(id.to_owned()),
            version: 1,
            display_name: "p".to_owned(),
            role: Role::Broker,
            party: None,
            key_hash: [hash; 32],
            expires_at: None,
            revoked_at: None,
            created_at: Timestamp(1),
            created_by: PrincipalId::system(),
        }
    }

    fn meta(action: &str) -> WriteMeta {
        WriteMeta {
            actor: PrincipalId::system(),
            action: action.to_owned(),
            now: Timestamp(2),
            idempotency: None,
        }
    }

    #[tokio::test]
    async fn a_revocation_is_seen_by_the_next_read_after_a_cached_one() {
        let store = store();
        store
            .create(principal("p1", 1), &meta("principal.create"))
            .expect("create");
        let principals = Principals::new(Arc::clone(&store));
        for _ in 0..2 {
            let p = principals.get("p1").await.expect("read").expect("exists");
            assert_eq!(p.revoked_at, None);
        }
        store
            .update_unchecked::<Principal, ApiError>("p1", None, &meta("principal.revoke"), |c| {
                let mut n = c.clone();
                n.revoked_at = Some(Timestamp(3));
                Ok(n)
            })
            .expect("revoke");
        let p = principals.get("p1").await.expect("read").expect("exists");
        assert_eq!(p.revoked_at, Some(Timestamp(3)));
    }

    #[tokio::test]
    async fn a_changed_key_hash_is_seen_by_the_next_read() {
        let store = store();
        store
            .create(principal("p1", 1), &meta("principal.create"))
            .expect("create");
        let principals = Principals::new(Arc::clone(&store));
        let before = principals.get("p1").await.expect("read").expect("exists");
        assert_eq!(before.key_hash, [1; 32]);
        store
            .update_unchecked::<Principal, ApiError>("p1", None, &meta("principal.rekey"), |c| {
                let mut n = c.clone();
                n.key_hash = [2; 32];
                Ok(n)
            })
            .expect("rekey");
        let after = principals.get("p1").await.expect("read").expect("exists");
        assert_eq!(after.key_hash, [2; 32]);
    }

    #[tokio::test]
    async fn reads_leave_the_generation_and_principal_writes_change_it() {
        let store = store();
        let g0 = store
            .principal_generation()
            .expect("memory engine is local");
        store
            .create(principal("p1", 1), &meta("principal.create"))
            .expect("create");
        let g1 = store.principal_generation().expect("local");
        assert_ne!(g0, g1);
        let principals = Principals::new(Arc::clone(&store));
        assert!(principals.get("p1").await.expect("read").is_some());
        assert!(principals.get("nobody").await.expect("read").is_none());
        assert_eq!(
            store.principal_generation(),
            Some(g1),
            "reads change nothing"
        );
    }

    #[tokio::test]
    async fn a_principal_created_after_a_miss_is_found() {
        let store = store();
        let principals = Principals::new(Arc::clone(&store));
        assert!(principals.get("p2").await.expect("read").is_none());
        store
            .create(principal("p2", 1), &meta("principal.create"))
            .expect("create");
        assert!(principals.get("p2").await.expect("read").is_some());
    }
}
