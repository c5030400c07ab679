//! Page tokens: opaque to clients (sealed with the deployment's token key, see
//! [`crate::app::tokens`]) and bound to the filter they were issued for. Inside a token:
//! the fingerprint of the method and the request with its paging fields cleared, a tag
//! saying what kind of cursor follows, and the cursor.

use prost::Message;
use sha2::{Digest, Sha256};

use clearinghouse_domain::Timestamp;
use clearinghouse_matching::rank::Ranked;

use crate::{
    app::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest, tokens::TokenKey},
    error::ApiError,
};

/// The fingerprint of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint([u8; 8]);

/// Cursor kinds.
const LIST: u8 = 1;
const RANKING: u8 = 2;

fn fingerprint<M: Message>(method: &str, filter: &M) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(filter.encode_to_vec());
    let mut fp = [0u8; 8];
    fp.copy_from_slice(&h.finalize()[..8]);
    Fingerprint(fp)
}

fn size_in(page_size: i32) -> Result<usize, ApiError> {
    if page_size < 0 {
        return Err(ApiError::invalid(
            "page_size",
            "cannot be negative; send 0 for the default of 50",
        ));
    }
    Ok(match usize::try_from(page_size).unwrap_or(0) {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    })
}

/// The cursor a token holds, checked against the filter and the cursor kind.
fn open(
    key: &TokenKey,
    fp: &Fingerprint,
    kind: u8,
    token: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || {
        ApiError::invalid(
            "page_token",
            "is not a token this list issued; start again without a token",
        )
    };
    let plain = key.open(token).ok_or_else(bad)?;
    if plain.len() < 9 || plain[..8] != fp.0 {
        return Err(ApiError::invalid(
            "page_token",
            "was issued for a different filter; send the same filter as the first page or start again",
        ));
    }
    if plain[8] != kind {
        return Err(bad());
    }
    Ok(Some(plain[9..].to_vec()))
}

fn seal(key: &TokenKey, fp: &Fingerprint, kind: u8, cursor: &[u8]) -> String {
    let mut plain = fp.0.to_vec();
    plain.push(kind);
    plain.extend_from_slice(cursor);
    key.seal(&plain)
}

/// Reads `page_size` and `page_token` of a list request whose filter, with paging fields
/// cleared, is `filter`.
pub fn page_in<M: Message>(
    key: &TokenKey,
    method: &str,
    filter: &M,
    page_size: i32,
    token: &str,
) -> Result<(PageRequest, Fingerprint), ApiError> {
    let fp = fingerprint(method, filter);
    let size = size_in(page_size)?;
    let after = match open(key, &fp, LIST, token)? {
        None => None,
        Some(c) => {
            let arr: [u8; 8] = c
                .as_slice()
                .try_into()
                .map_err(|_| ApiError::invalid("page_token", "is not a token this list issued"))?;
            Some(u64::from_be_bytes(arr))
        }
    };
    Ok((PageRequest { size, after }, fp))
}

/// The token of the next page (empty at the end).
pub fn token_out(key: &TokenKey, fp: &Fingerprint, next: Option<u64>) -> String {
    next.map(|c| seal(key, fp, LIST, &c.to_be_bytes()))
        .unwrap_or_default()
}

/// Reads the paging of a ranking: the candidate the previous page ended with.
pub fn ranking_in<M: Message>(
    key: &TokenKey,
    method: &str,
    filter: &M,
    token: &str,
) -> Result<(Option<Ranked>, Fingerprint), ApiError> {
    let fp = fingerprint(method, filter);
    let after = match open(key, &fp, RANKING, token)? {
        None => None,
        Some(c) => {
            let bad = || ApiError::invalid("page_token", "is not a token this list issued");
            if c.len() < 12 {
                return Err(bad());
            }
            let score = u32::from_be_bytes(c[..4].try_into().map_err(|_| bad())?);
            let created = i64::from_be_bytes(c[4..12].try_into().map_err(|_| bad())?);
            let id = String::from_utf8(c[12..].to_vec()).map_err(|_| bad())?;
            Some(Ranked {
                score_milli: score,
                created_at: Timestamp(created),
                id,
            })
        }
    };
    Ok((after, fp))
}

/// The token of a ranking's next page (empty at the end).
pub fn ranking_out(key: &TokenKey, fp: &Fingerprint, next: Option<&Ranked>) -> String {
    next.map(|r| {
        let mut c = r.score_milli.to_be_bytes().to_vec();
        c.extend_from_slice(&r.created_at.0.to_be_bytes());
        c.extend_from_slice(r.id.as_bytes());
        seal(key, fp, RANKING, &c)
    })
    .unwrap_or_default()
}
