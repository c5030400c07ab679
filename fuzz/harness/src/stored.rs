//! Target `stored_value`: arbitrary bytes given to the decoder of every kind of stored
//! value, as if read back from a damaged or foreign database: the records behind
//! `Resource::decode` (party, need, offer, principal, matching settings, match), audit
//! entries and idempotency records. The version byte comes first, then postcard.
//!
//! The properties: decoding never panics and never allocates in proportion to a length
//! the bytes merely claim (the fuzzer runs under a memory limit); a value that decodes
//! re-encodes to bytes that decode to the same encoding (so a record read and written back
//! does not drift).

use clearinghouse_domain::{AuditEntry, Match, MatchingSettings, Need, Offer, Party, Principal};
use clearinghouse_storage::{
    Resource,
    records::{self, AuditRecordV1, IdempotencyRecordV1, V1},
};

fn resource<R: Resource>(data: &[u8]) {
    let Ok(value) = R::decode(data) else {
        return;
    };
    // A value may decode from bytes longer than the store accepts; only what it would
    // write back is checked.
    let Ok(bytes) = value.encode() else {
        return;
    };
    let again = R::decode(&bytes);
    assert!(
        again.is_ok(),
        "{}: a re-encoded value no longer decodes",
        R::KIND
    );
    if let Ok(again) = again {
        assert!(
            again.encode().ok().as_ref() == Some(&bytes),
            "{}: re-encoding is not stable",
            R::KIND
        );
    }
}

fn audit(data: &[u8]) {
    let Ok((_, rec)) = records::decode::<AuditRecordV1>("audit", data) else {
        return;
    };
    let entry = AuditEntry::from(rec.clone());
    let back = AuditRecordV1::from(&entry);
    assert_eq!(back, rec, "audit: the domain conversion loses data");
    if let Ok(bytes) = records::encode(V1, &back) {
        assert!(
            matches!(records::decode::<AuditRecordV1>("audit", &bytes), Ok((V1, ref r)) if *r == rec),
            "audit: re-encoding does not round-trip"
        );
    }
}

fn idempotency(data: &[u8]) {
    let Ok((_, rec)) = records::decode::<IdempotencyRecordV1>("idempotency", data) else {
        return;
    };
    if let Ok(bytes) = records::encode(V1, &rec) {
        assert!(
            matches!(records::decode::<IdempotencyRecordV1>("idempotency", &bytes), Ok((V1, ref r)) if *r == rec),
            "idempotency: re-encoding does not round-trip"
        );
    }
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    resource::<Party>(data);
    resource::<Need>(data);
    resource::<Offer>(data);
    resource::<Principal>(data);
    resource::<MatchingSettings>(data);
    resource::<Match>(data);
    audit(data);
    idempotency(data);
}
