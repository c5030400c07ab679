//! Checks, during a long call, that the principal that opened it may still act: its key
//! still exists, is the same key, has not been revoked and has not expired. Streams call
//! it before every batch of events they deliver and when the key's expiry comes.

use clearinghouse_domain::{Principal, Timestamp};
use clearinghouse_storage::Store;

use crate::error::ApiError;

/// `Ok` if `who` is still a valid principal at `now`, `UNAUTHENTICATED` otherwise.
pub fn still_valid(store: &Store, who: &Principal, now: Timestamp) -> Result<(), ApiError> {
    let current: Option<Principal> = store.get(&who.id.0)?;
    match current {
        Some(p) if p.key_hash == who.key_hash && p.is_active(now) => Ok(()),
        _ => Err(ApiError::Unauthenticated(
            "the API key was revoked or has expired; the stream ends".to_owned(),
        )),
    }
}
