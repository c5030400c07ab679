//! Every composite key of the store, built in one place.
//!
//! Records are keyed by a per-kind creation sequence (big-endian, so iteration order is
//! creation order); an id tree maps ids to sequences; index keys are
//! `kind \0 index \0 value \0 seq`.

/// Big-endian bytes of a sequence number.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Reads a big-endian sequence number.
pub fn read_seq(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.get(bytes.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// Prefix of every entry of one index value.
pub fn index_prefix(kind: &str, index: &str, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(kind.len() + index.len() + value.len() + 3);
    k.extend_from_slice(kind.as_bytes());
    k.push(0);
    k.extend_from_slice(index.as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

/// One index entry.
pub fn index_key(kind: &str, index: &str, value: &str, seq: u64) -> Vec<u8> {
    let mut k = index_prefix(kind, index, value);
    k.extend_from_slice(&seq_key(seq));
    k
}

/// A unique-constraint key (e.g. external id per party).
pub fn unique_key(kind: &str, scoped_value: &str) -> Vec<u8> {
    let mut k = kind.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(scoped_value.as_bytes());
    k
}

/// An idempotency key: the caller's scope and its request id.
pub fn idempotency_key(scope: &str, request_id: &str) -> Vec<u8> {
    let mut k = scope.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(request_id.as_bytes());
    k
}

/// Meta key of a kind's creation sequence.
pub fn seq_counter(kind: &str) -> Vec<u8> {
    format!("seq/{kind}").into_bytes()
}

/// Meta key of the audit sequence.
pub const AUDIT_SEQ: &[u8] = b"seq/audit";

/// Meta key of the schema version.
pub const SCHEMA_VERSION: &[u8] = b"schema_version";

/// Meta key of the hash of the last audit entry written before the trail was chained:
/// that entry's sequence (8 bytes, big-endian) then the hash (32 bytes). Absent when the
/// store never held unchained entries.
pub const AUDIT_CHAIN_V1: &[u8] = b"audit/chain_v1";

/// Meta key present while a restore is loading entries; a store holding it refuses to
/// open (the restore did not finish).
pub const RESTORE_INCOMPLETE: &[u8] = b"restore/incomplete";
