//! The audit trail's hash chain: every entry carries the hash of the one before it, so an
//! entry edited, removed or inserted behind the service's back breaks every later link.
//!
//! **The hash of an entry** is SHA-256 over this canonical encoding (all integers
//! big-endian, text as UTF-8):
//!
//! | bytes | field |
//! | --- | --- |
//! | 8 | the ASCII label `CHAUDIT1` |
//! | 8 | `sequence` (u64) |
//! | 8 | change time in milliseconds since the Unix epoch (i64) |
//! | 4 + n | actor principal id: length (u32), then the bytes |
//! | 4 + n | action, the same way |
//! | 4 + n | resource kind, the same way |
//! | 4 + n | resource id, the same way |
//! | 8 | `before_version` (u64) |
//! | 8 | `after_version` (u64) |
//! | 32 | the previous entry's hash |
//!
//! **Where the chain starts.** Entry 1 chains from [`GENESIS`] (32 zero bytes). Entries
//! written before the trail was chained (record version 1) carry no hashes, but their
//! hashes are defined all the same, by this encoding over their fields and the hash before
//! them; when a store is upgraded, the hash of its last such entry is computed once and
//! kept in the meta tree ([`crate::keys::AUDIT_CHAIN_V1`]), and the first chained entry
//! names it as its previous hash. A verifier therefore recomputes the chain from entry 1,
//! through unhashed and hashed entries alike, and checks every stored link.
//!
//! Every field is in `ListAuditEntries`' `AuditEntry` (the time as a timestamp of whole
//! milliseconds, the hashes in hex), so a client can verify the trail without trusting
//! the server's arithmetic.

use sha2::{Digest, Sha256};

use clearinghouse_domain::{AuditEntry, AuditLink};

/// The hash entry 1 chains from.
pub const GENESIS: [u8; 32] = [0; 32];

/// Label at the start of every entry's canonical encoding.
pub const LABEL: &[u8; 8] = b"CHAUDIT1";

/// The canonical encoding of `entry`'s fields followed by `previous` (see the module docs).
pub fn canonical_bytes(entry: &AuditEntry, previous: &[u8; 32]) -> Vec<u8> {
    let text = [
        entry.actor.0.as_str(),
        entry.action.as_str(),
        entry.resource_kind.as_str(),
        entry.resource_id.as_str(),
    ];
    let mut out = Vec::with_capacity(
        LABEL.len() + 8 * 4 + 32 + text.iter().map(|t| 4 + t.len()).sum::<usize>(),
    );
    out.extend_from_slice(LABEL);
    out.extend_from_slice(&entry.sequence.to_be_bytes());
    out.extend_from_slice(&entry.at.0.to_be_bytes());
    for t in text {
        // Text fields are bounded far below 4 GiB (a stored value is at most 64 KiB).
        let len = u32::try_from(t.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    out.extend_from_slice(&entry.before_version.to_be_bytes());
    out.extend_from_slice(&entry.after_version.to_be_bytes());
    out.extend_from_slice(previous);
    out
}

/// The hash of `entry` chained after `previous`.
pub fn entry_hash(entry: &AuditEntry, previous: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(canonical_bytes(entry, previous)).into()
}

/// The link of `entry` chained after `previous`.
pub fn link(entry: &AuditEntry, previous: [u8; 32]) -> AuditLink {
    AuditLink {
        previous_hash: previous,
        hash: entry_hash(entry, &previous),
    }
}

/// Why the chain does not hold at an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    /// A sequence number is missing or out of order.
    #[error(
        "expected audit entry {expected}, found {found}: the trail has a gap or is out of order"
    )]
    Gap {
        /// The sequence that should come next.
        expected: u64,
        /// The sequence found.
        found: u64,
    },
    /// The entry names another previous hash than the one computed before it.
    #[error(
        "audit entry {sequence} names previous hash {stored} but the entries before it hash to {computed}"
    )]
    Previous {
        /// The entry.
        sequence: u64,
        /// Its stored previous hash (hex).
        stored: String,
        /// The hash computed over the entries before it (hex).
        computed: String,
    },
    /// The entry's stored hash is not the hash of its fields.
    #[error(
        "audit entry {sequence} has hash {stored} but its fields hash to {computed}: it was changed after it was written"
    )]
    Hash {
        /// The entry.
        sequence: u64,
        /// Its stored hash (hex).
        stored: String,
        /// The hash of its fields (hex).
        computed: String,
    },
    /// An entry without hashes follows a chained one (every entry after the first chained
    /// entry is chained).
    #[error("audit entry {sequence} has no hashes but follows chained entries")]
    Unchained {
        /// The entry.
        sequence: u64,
    },
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Checks a trail entry by entry, oldest first, from entry 1.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    previous: [u8; 32],
    next: u64,
    chained: bool,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting entry 1.
    pub fn new() -> ChainVerifier {
        ChainVerifier {
            previous: GENESIS,
            next: 1,
            chained: false,
        }
    }

    /// How many entries were checked.
    pub fn verified(&self) -> u64 {
        self.next - 1
    }

    /// The hash of the last entry checked ([`GENESIS`] before any).
    pub fn head(&self) -> [u8; 32] {
        self.previous
    }

    /// Checks the next entry: its sequence follows, and (for a chained entry) it names the
    /// hash computed so far and its own hash is the hash of its fields.
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), BrokenLink> {
        if entry.sequence != self.next {
            return Err(BrokenLink::Gap {
                expected: self.next,
                found: entry.sequence,
            });
        }
        let computed = entry_hash(entry, &self.previous);
        match &entry.chain {
            Some(l) => {
                if l.previous_hash != self.previous {
                    return Err(BrokenLink::Previous {
                        sequence: entry.sequence,
                        stored: hex(&l.previous_hash),
                        computed: hex(&self.previous),
                    });
                }
                if l.hash != computed {
                    return Err(BrokenLink::Hash {
                        sequence: entry.sequence,
                        stored: hex(&l.hash),
                        computed: hex(&computed),
                    });
                }
                self.chained = true;
            }
            None if self.chained => {
                return Err(BrokenLink::Unchained {
                    sequence: entry.sequence,
                });
            }
            None => {}
        }
        self.previous = computed;
        self.next += 1;
        Ok(())
    }
}
