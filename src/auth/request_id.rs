//! The request id of a call: the client's `x-request-id` when it is a short token, a new
//! ULID otherwise. It names the call in its span and log line and travels back in the
//! `ErrorInfo` metadata (`request_id`) of every error.

use std::fmt;

use http::HeaderMap;

/// Header a client may send to choose the request id (echoed only when it is safe).
pub const HEADER: &str = "x-request-id";

/// Longest client-chosen request id kept; a longer or odd one is replaced.
pub const MAX_LEN: usize = 64;

/// A call's request id, safe to log and to send back (ASCII letters, digits, `-`, `_`, `.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The client's id from `headers` if it is a short token, else a fresh one.
    pub fn from_headers(headers: &HeaderMap) -> RequestId {
        headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_token(v))
            .map_or_else(RequestId::generate, |v| RequestId(v.to_owned()))
    }

    /// A fresh id (a ULID).
    pub fn generate() -> RequestId {
        RequestId(ulid::Ulid::new().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_token(v: &str) -> bool {
    (1..=MAX_LEN).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_client_token_is_kept_anything_else_is_replaced() {
        let mut h = HeaderMap::new();
        h.insert(HEADER, http::HeaderValue::from_static("abc-123_x.y"));
        assert_eq!(RequestId::from_headers(&h).as_str(), "abc-123_x.y");
        for bad in ["has space", "semi;colon", &"x".repeat(MAX_LEN + 1)] {
            h.insert(HEADER, http::HeaderValue::from_str(bad).expect("header"));
            let id = RequestId::from_headers(&h);
            assert_ne!(id.as_str(), bad);
            assert_eq!(id.as_str().len(), 26, "a ULID replaces {bad:?}");
        }
        assert_ne!(
            RequestId::from_headers(&HeaderMap::new()),
            RequestId::from_headers(&HeaderMap::new()),
            "generated ids differ"
        );
    }
}
