//! The tower layer: give the call a request id and a span, count it as in flight on its
//! connection, authenticate the bearer key, check the method table, apply the rate limit,
//! check the key against the principals a client certificate names (mutual TLS), then
//! hand the request on with its [`Caller`] and [`RequestId`] in the extensions. On
//! the way back every error status is bounded and tagged with the request id
//! ([`reply`]), and the call writes one log line ([`CallBody`]).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::HeaderMap;
use tower::{Layer, Service};
use tracing::Instrument;

use clearinghouse_domain::{Principal, Timestamp};
use clearinghouse_storage::Store;

use super::{
    Caller,
    call_body::{CallBody, CallLog},
    keys,
    principals::Principals,
    rate::RateLimiter,
    reply,
    request_id::RequestId,
    table,
};
use crate::{app::clock, error::ApiError, server::connection::ConnInfo};

/// Checks credentials and permissions for every call.
#[derive(Debug)]
pub struct Authenticator {
    principals: Principals,
    limiter: RateLimiter,
}

impl Authenticator {
    /// An authenticator over the principals of `store`.
    pub fn new(store: Arc<Store>, limiter: RateLimiter) -> Authenticator {
        Authenticator {
            principals: Principals::new(store),
            limiter,
        }
    }

    /// Authenticates the `authorization` header and checks that the principal may call
    /// `path` now. The store is read on the blocking pool, and only when no copy of the
    /// principal read since its last write is at hand ([`Principals`]).
    pub async fn check(&self, path: &str, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let principal = self.authenticate(headers, clock::now()).await?;
        self.admit(&principal, path)?;
        Ok(principal)
    }

    /// Checks that `principal` may call `path` (the method table) and takes a token from
    /// its rate limit. The console calls this for every action, with the RPC the action
    /// performs.
    pub fn admit(&self, principal: &Principal, path: &str) -> Result<(), ApiError> {
        if !table::is_allowed(path, principal.role) {
            let method = path.rsplit('/').next().unwrap_or(path);
            return Err(ApiError::PermissionDenied(format!(
                "role {} may not call {method}",
                principal.role
            )));
        }
        if !self.limiter.try_acquire(&principal.id.0, Instant::now()) {
            return Err(ApiError::ResourceExhausted(
                "too many requests for this API key; slow down and retry with backoff".to_owned(),
            ));
        }
        Ok(())
    }

    /// The active principal an API key (as the client sent it) belongs to.
    /// Reads the store on the blocking pool, and only when no copy of the principal read
    /// since its last write is at hand.
    pub async fn principal_of_key(&self, key: &str, now: Timestamp) -> Result<Principal, ApiError> {
        let invalid = || {
            ApiError::Unauthenticated(
                "the API key is not valid, has expired or was revoked".to_owned(),
            )
        };
        let (id, secret) = keys::parse(key.trim()).ok_or_else(invalid)?;
        let principal = self.principals.get(id).await?.ok_or_else(invalid)?;
        if !keys::verify(&principal.key_hash, secret) || !principal.is_active(now) {
            return Err(invalid());
        }
        Ok(principal)
    }

    async fn authenticate(
        &self,
        headers: &HeaderMap,
        now: Timestamp,
    ) -> Result<Principal, ApiError> {
        let raw = headers
            .get("authorization")
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "missing credentials; send metadata 'authorization: Bearer <api key>'"
                        .to_owned(),
                )
            })?
            .to_str()
            .map_err(|_| {
                ApiError::Unauthenticated("the authorization header is not text".to_owned())
            })?;
        let key = raw
            .strip_prefix("Bearer ")
            .or_else(|| raw.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "use the Bearer scheme: 'authorization: Bearer <api key>'".to_owned(),
                )
            })?;
        self.principal_of_key(key, now).await
    }
}

/// Tower layer applying [`Authenticator`] to every non-public path.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
}

impl AuthLayer {
    /// A layer around `auth`.
    pub fn new(auth: Arc<Authenticator>) -> AuthLayer {
        AuthLayer { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            auth: Arc::clone(&self.auth),
        }
    }
}

/// The service produced by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = Arc::clone(&self.auth);
        let started = Instant::now();
        let request_id = RequestId::from_headers(req.headers());
        let method = req.uri().path().to_owned();
        let conn = req.extensions().get::<ConnInfo>().cloned();
        let guard = conn.as_ref().map(|c| c.activity.begin());
        let tls_peer = conn.as_ref().and_then(|c| c.tls.clone());
        if let Some(c) = &conn {
            // `tonic::Request::remote_addr` looks for tonic's own TCP info.
            req.extensions_mut().insert(c.tcp.clone());
        }
        req.extensions_mut().insert(request_id.clone());
        let span = tracing::info_span!(
            "call",
            request_id = %request_id,
            method = %method,
            conn = conn.as_ref().map(|c| c.id)
        );
        Box::pin(
            async move {
                let mut log = CallLog {
                    request_id,
                    method,
                    principal: None,
                    started,
                    outcome: None,
                };
                let resp = if table::is_public(&log.method) {
                    inner.call(req).await?
                } else {
                    match auth.check(&log.method, req.headers()).await {
                        Ok(p) if tls_peer.as_ref().is_some_and(|t| !t.admits(&p.id.0)) => {
                            log.principal = Some(p.id.0.clone());
                            ApiError::Unauthenticated(
                                "the API key does not belong to a principal named by the client certificate"
                                    .to_owned(),
                            )
                            .into_status()
                            .into_http()
                        }
                        Ok(p) => {
                            log.principal = Some(p.id.0.clone());
                            req.extensions_mut().insert(Caller(p));
                            inner.call(req).await.map(transport_limit_as_exhausted)?
                        }
                        Err(e) => e.into_status().into_http(),
                    }
                };
                let (mut parts, body) = resp.into_parts();
                if let Some(o) = reply::finish(&mut parts.headers, &log.request_id) {
                    log.outcome = Some(o);
                }
                let body = tonic::body::Body::new(CallBody::new(body, log, guard));
                Ok(http::Response::from_parts(parts, body))
            }
            .instrument(span),
        )
    }
}

/// tonic reports a request over the message-size limit as OUT_OF_RANGE; the contract (and
/// gRPC's own convention) says RESOURCE_EXHAUSTED. The status of that error is sent in the
/// headers of a trailers-only response, so it is rewritten there.
///
/// This is matched on the message because tonic 0.14 gives nothing else to match:
/// its stream decoder builds the error as `Status::out_of_range(String)` (no source, no
/// metadata) before any codec of ours runs, and the handler only ever sees the status.
/// Checking the limit in our own codec instead would mean lifting tonic's limit, and
/// tonic would then buffer an oversized message whole before the codec could refuse it.
fn transport_limit_as_exhausted<B>(mut resp: http::Response<B>) -> http::Response<B> {
    let headers = resp.headers_mut();
    let is_limit = headers.get("grpc-status").is_some_and(|v| v == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| {
                m.contains("message%20length%20too%20large")
                    || m.contains("message length too large")
            });
    if is_limit {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    resp
}
