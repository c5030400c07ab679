//! Principals (API keys) and the audit trail.

use clearinghouse_domain::{
    AuditEntry, Party, Principal, PrincipalId, TransitionError, principal::NewPrincipal,
};
use clearinghouse_storage::{AuditFilter, Created, IdempotencyKey, ListQuery};

use super::{App, Listed, MAX_SCAN, PageRequest, clock, meta, new_id};
use crate::{
    auth::keys::{self, ApiKey},
    error::ApiError,
};

impl App {
    /// Creates a principal and returns it with its key (shown once).
    /// With an idempotency key, the key's secret is derived from the deployment's key
    /// seed, the principal id and the request id, so a retry that is replayed returns the
    /// same key instead of minting a second principal.
    pub async fn create_principal(
        &self,
        who: &Principal,
        input: NewPrincipal,
        idem: Option<IdempotencyKey>,
    ) -> Result<(Principal, ApiKey), ApiError> {
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let role = input.validate(now)?;
            if let Some(p) = &input.party
                && store.get::<Party>(&p.0)?.is_none()
            {
                return Err(ApiError::invalid(
                    "principal.party_id",
                    format!("no party '{}'; see ListParties", super::short(&p.0)),
                ));
            }
            let id = new_id();
            let seed = match &idem {
                Some(_) => Some(keys::seed(store)?),
                None => None,
            };
            let mint = |id: &str| match (&seed, &idem) {
                (Some(seed), Some(k)) => keys::derive(id, seed, &k.request_id),
                _ => keys::generate(id),
            };
            let (key, key_hash) = mint(&id);
            let principal = Principal {
                id: PrincipalId(id),
                version: 1,
                display_name: input.display_name,
                role,
                party: input.party,
                key_hash,
                expires_at: input.expires_at,
                revoked_at: None,
                created_at: now,
                created_by: who.id.clone(),
            };
            match store.create(
                principal,
                &meta(&who, "principal.create", now, idem.clone()),
            )? {
                Created::New(p) => {
                    tracing::info!(principal_id = %p.id, role = %p.role, "principal created");
                    Ok((p, key))
                }
                Created::Replayed(p) => {
                    let (key, hash) = mint(&p.id.0);
                    if hash != p.key_hash {
                        return Err(ApiError::Internal(
                            "a replayed principal's key does not derive again".to_owned(),
                        ));
                    }
                    Ok((p, key))
                }
            }
        })
        .await
    }

    /// Lists principals in creation order.
    pub async fn list_principals(&self, page: PageRequest) -> Result<Listed<Principal>, ApiError> {
        self.blocking(move |store| {
            let q = ListQuery {
                index: None,
                after: page.after,
                limit: page.size,
                max_scan: MAX_SCAN,
            };
            let p = store.list::<Principal>(&q, &|_| true)?;
            Ok(Listed {
                items: p.items,
                next: p.next,
            })
        })
        .await
    }

    /// Revokes a principal; its key stops working at once. An admin cannot revoke its own
    /// key (that could lock every admin out).
    pub async fn revoke_principal(
        &self,
        who: &Principal,
        id: String,
    ) -> Result<Principal, ApiError> {
        if who.id.0 == id {
            return Err(ApiError::Transition(TransitionError::Rule {
                reason: "SELF_REVOCATION",
                message: "an admin cannot revoke its own key; use another admin key".to_owned(),
            }));
        }
        let who = who.clone();
        self.write(move |store| {
            let now = clock::now();
            let r = store.update_unchecked::<Principal, ApiError>(
                &id,
                None,
                &meta(&who, "principal.revoke", now, None),
                |cur| {
                    if cur.revoked_at.is_some() {
                        return Err(ApiError::Transition(TransitionError::Rule {
                            reason: "ALREADY_REVOKED",
                            message: format!("principal {} is already revoked", cur.id),
                        }));
                    }
                    let mut next = cur.clone();
                    next.revoked_at = Some(now);
                    Ok(next)
                },
            );
            match r {
                Err(clearinghouse_storage::UpdateError::Store(
                    clearinghouse_storage::Error::NotFound { .. },
                )) => Err(ApiError::not_found("principal", &id)),
                other => {
                    let p = other?;
                    tracing::info!(principal_id = %p.id, "principal revoked");
                    Ok(p)
                }
            }
        })
        .await
    }

    /// Lists audit entries oldest first.
    pub async fn list_audit(
        &self,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Listed<AuditEntry>, ApiError> {
        self.blocking(move |store| {
            let p = store.list_audit(&filter, page.after, page.size)?;
            Ok(Listed {
                items: p.items,
                next: p.next,
            })
        })
        .await
    }
}
