//! Thin tonic services: convert in, call `app`, convert out, map the error. No business
//! rules here.

pub mod admin;
pub mod intake;
pub mod matching;
pub mod needs;
pub mod offers;
pub mod paging;
pub mod parties;
pub mod reports;

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

use clearinghouse_domain::Principal;
use clearinghouse_storage::IdempotencyKey;

use crate::{auth::Caller, error::ApiError};

/// The authenticated principal the auth layer attached to the request.
pub fn caller<T>(req: &Request<T>) -> Result<Principal, Status> {
    req.extensions()
        .get::<Caller>()
        .map(|c| c.0.clone())
        .ok_or_else(|| {
            Status::unauthenticated(
                "missing credentials; send metadata 'authorization: Bearer <api key>'",
            )
        })
}

/// The idempotency key of a create: the caller, its `request_id` (a UUID) and a hash of
/// the resource it sent.
pub fn idempotency<M: Message>(
    who: &Principal,
    request_id: &str,
    payload: &M,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    if !is_uuid(request_id) {
        return Err(ApiError::invalid(
            "request_id",
            format!("'{request_id}' is not a UUID; send e.g. 123e4567-e89b-12d3-a456-426614174000"),
        ));
    }
    Ok(Some(IdempotencyKey {
        scope: who.id.0.clone(),
        request_id: request_id.to_ascii_lowercase(),
        payload_hash: Sha256::digest(payload.encode_to_vec()).into(),
    }))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Converts a result of a use case to a gRPC response.
pub fn respond<T>(r: Result<T, ApiError>) -> Result<tonic::Response<T>, Status> {
    r.map(tonic::Response::new).map_err(ApiError::into_status)
}

/// Non-empty text as `Some`.
pub fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_shape() {
        assert!(super::is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!super::is_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!super::is_uuid("not-a-uuid"));
    }
}
