//! Page tokens: opaque to clients, bound to the filter they were issued for.
//! A token is `<fingerprint>.<cursor>`, the fingerprint being a hash of the method and the
//! request with its paging fields cleared.

use prost::Message;
use sha2::{Digest, Sha256};

use crate::{
    app::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest},
    error::ApiError,
};

/// The fingerprint of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

/// Reads `page_size` and `page_token` of a list request whose filter, with paging fields
/// cleared, is `filter`.
pub fn page_in<M: Message>(
    method: &str,
    filter: &M,
    page_size: i32,
    token: &str,
) -> Result<(PageRequest, Fingerprint), ApiError> {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(filter.encode_to_vec());
    let fp = Fingerprint(hex::encode(&h.finalize()[..8]));
    if page_size < 0 {
        return Err(ApiError::invalid(
            "page_size",
            "cannot be negative; send 0 for the default of 50",
        ));
    }
    let size = match usize::try_from(page_size).unwrap_or(0) {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    let after = if token.is_empty() {
        None
    } else {
        let bad = || {
            ApiError::invalid(
                "page_token",
                "is not a token this list issued; start again without a token",
            )
        };
        let (tfp, cursor) = token.split_once('.').ok_or_else(bad)?;
        if tfp != fp.0 {
            return Err(ApiError::invalid(
                "page_token",
                "was issued for a different filter; send the same filter as the first page or start again",
            ));
        }
        Some(cursor.parse::<u64>().map_err(|_| bad())?)
    };
    Ok((PageRequest { size, after }, fp))
}

/// The token of the next page (empty at the end).
pub fn token_out(fp: &Fingerprint, next: Option<u64>) -> String {
    next.map(|c| format!("{}.{c}", fp.0)).unwrap_or_default()
}
