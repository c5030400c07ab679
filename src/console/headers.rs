//! Security headers on every console response: a Content-Security-Policy that allows no
//! script at all and styles only from the console's own stylesheet, no framing, no
//! sniffing, no referrer, and no caching of pages that show data.

use http::{HeaderMap, HeaderValue, header};

/// The console's Content-Security-Policy: nothing but same-origin styles and images and
/// forms posting back to the console; no script of any kind, inline or not.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to a console response (keeping a `Cache-Control` it set).
pub fn protect(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_script_and_no_inline_style() {
        assert!(CSP.contains("default-src 'none'"));
        assert!(!CSP.contains("script-src"), "scripts fall back to 'none'");
        assert!(!CSP.contains("unsafe-inline"));
        let mut h = HeaderMap::new();
        protect(&mut h);
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
    }
}
