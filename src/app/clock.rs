//! The one place the service reads the wall clock; everything below gets `now` passed in.

use std::time::{SystemTime, UNIX_EPOCH};

use clearinghouse_domain::Timestamp;

/// Now, in milliseconds since the Unix epoch.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp(ms)
}
