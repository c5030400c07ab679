//! Request bodies read whole under a size limit and a deadline, and small responses built
//! whole (text, bytes, redirects) for the HTTP edge and the console.

use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use prost::bytes::Bytes;
use tonic::body::Body;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// More bytes than the limit.
    #[error("the request body is over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    /// The connection failed while the body was read.
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

/// Reads the whole of `body`, refusing more than `limit` bytes or a body still arriving
/// after `deadline`.
pub async fn read_limited(
    body: Body,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError> {
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(deadline, collect).await {
        Err(_) => Err(BodyError::TimedOut(deadline)),
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge { limit })
        }
        Ok(Err(e)) => Err(BodyError::Broken(e.to_string())),
    }
}

/// A response of `bytes` with `content_type`.
pub fn bytes(status: StatusCode, content_type: &'static str, bytes: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::new(Full::new(bytes)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A plain-text response.
pub fn text(status: StatusCode, text: &str) -> Response<Body> {
    bytes(
        status,
        "text/plain; charset=utf-8",
        Bytes::copy_from_slice(text.as_bytes()),
    )
}

/// A `303 See Other` to `location` (a path of this server), the answer to a form POST and
/// to `/`.
pub fn redirect(location: &str) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    let value = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    r.headers_mut().insert(header::LOCATION, value);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_and_one_within_it_is_read() {
        let small = Body::new(Full::new(Bytes::from_static(b"0123456789")));
        let got = read_limited(small, 10, Duration::from_secs(5)).await;
        assert_eq!(got, Ok(Bytes::from_static(b"0123456789")));
        let big = Body::new(Full::new(Bytes::from_static(b"0123456789A")));
        let got = read_limited(big, 10, Duration::from_secs(5)).await;
        assert_eq!(got, Err(BodyError::TooLarge { limit: 10 }));
    }

    #[test]
    fn redirects_are_see_other_to_the_given_path() {
        let r = redirect("/console/worklist?area=X");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/console/worklist?area=X");
    }
}
