//! The response body of one call, as the auth layer hands it back: it bounds and tags the
//! status in the trailers ([`super::reply::finish`]), keeps the call counted as in flight
//! on its connection until the body ends, and when it is dropped writes the call's one
//! log line (request id, method, principal id, code, reason, duration; never a key) and
//! records it in the metrics (method and code only).

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use http_body::{Body, Frame, SizeHint};
use prost::bytes::Bytes;
use tonic::{Code, Status};
use tracing::{info, warn};

use super::{
    reply::{self, Outcome},
    request_id::RequestId,
};
use crate::server::connection::CallGuard;

/// The log target of the per-call lines, so that they can be filtered on their own
/// (`RUST_LOG=info,clearinghouse::call=warn` keeps only failures).
pub const TARGET: &str = "clearinghouse::call";

/// Who made a call and what it was, for its log line.
#[derive(Debug)]
pub struct CallLog {
    /// The call's request id.
    pub request_id: RequestId,
    /// The gRPC method path.
    pub method: String,
    /// The authenticated principal, if the call got that far.
    pub principal: Option<String>,
    /// When the call arrived.
    pub started: Instant,
    /// How it ended, once known.
    pub outcome: Option<Outcome>,
}

impl CallLog {
    fn write(&self) {
        let took = self.started.elapsed();
        crate::metrics::call(
            &self.method,
            self.outcome.as_ref().map(|o| o.code),
            self.outcome.as_ref().map_or("", |o| o.reason.as_str()),
            took,
        );
        let ms = took.as_secs_f64() * 1000.0;
        let principal = self.principal.as_deref().unwrap_or("-");
        let (id, method) = (self.request_id.as_str(), self.method.as_str());
        match &self.outcome {
            Some(o) if o.code == Code::Ok => info!(
                target: TARGET, request_id = id, method, principal, code = "OK",
                duration_ms = ms, "call"
            ),
            Some(o) if matches!(o.code, Code::Internal | Code::Unknown | Code::DataLoss) => warn!(
                target: TARGET, request_id = id, method, principal,
                code = crate::metrics::code_label(o.code), reason = %o.reason,
                duration_ms = ms, "call failed"
            ),
            Some(o) => info!(
                target: TARGET, request_id = id, method, principal,
                code = crate::metrics::code_label(o.code), reason = %o.reason,
                duration_ms = ms, "call refused"
            ),
            None => info!(
                target: TARGET, request_id = id, method, principal, code = "CANCELLED",
                duration_ms = ms, "call ended without a status (client went away)"
            ),
        }
    }
}

/// The body of one call's response.
#[derive(Debug)]
pub struct CallBody {
    inner: tonic::body::Body,
    log: CallLog,
    _guard: Option<CallGuard>,
}

impl CallBody {
    /// Wraps `inner`; `guard` keeps the call in flight on its connection until the end.
    pub fn new(inner: tonic::body::Body, log: CallLog, guard: Option<CallGuard>) -> CallBody {
        CallBody {
            inner,
            log,
            _guard: guard,
        }
    }
}

impl Body for CallBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_trailers() {
                Ok(mut trailers) => {
                    if let Some(o) = reply::finish(&mut trailers, &this.log.request_id) {
                        this.log.outcome = Some(o);
                    }
                    Poll::Ready(Some(Ok(Frame::trailers(trailers))))
                }
                Err(data) => Poll::Ready(Some(Ok(data))),
            },
            Some(Err(status)) => {
                let bounded = reply::bound(&status, &this.log.request_id);
                this.log.outcome = Some(Outcome {
                    code: bounded.code(),
                    reason: String::new(),
                });
                Poll::Ready(Some(Err(bounded)))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CallBody {
    fn drop(&mut self) {
        self.log.write();
    }
}
