//! One accepted connection as the HTTP server sees it: the transport (plain TCP or TLS),
//! the first bytes already read from it (the HTTP/2 preface or the start of an HTTP/1
//! request, replayed first), the slot it holds under the connection limit, the client's
//! certificate identity under TLS, and the idle timeout.
//!
//! The idle clock runs whenever the connection has no call in flight. [`Activity`] counts
//! calls: the auth layer takes a [`CallGuard`] for every request (found through the
//! request's [`ConnInfo`]) and holds it until the response body ends, so a long stream is
//! never idle. A connection that has not started its first call within the handshake
//! timeout, or that has had no call in flight for the idle timeout, fails its next read,
//! which makes the HTTP/2 server drop it and close the socket.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::Sleep,
};
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::info;

use super::{accept::Slot, peer::TlsPeer, transport::Transport};

/// The client connection preface every HTTP/2 connection starts with (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The first bytes of a connection, read to tell HTTP/2 from HTTP/1 and replayed to the
/// server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Head {
    buf: [u8; PREFACE.len()],
    len: usize,
}

impl Head {
    /// The bytes read so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Room for more bytes (empty once full).
    pub fn unfilled(&mut self) -> &mut [u8] {
        &mut self.buf[self.len..]
    }

    /// Counts `n` more bytes read into [`Head::unfilled`].
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }
}

/// How long a connection may wait for its first call, and then between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleLimits {
    /// Time after the preface to start the first call.
    pub first_call: Duration,
    /// Time with no call in flight before the connection is closed.
    pub idle: Duration,
}

/// Calls in flight on one connection and when that number last changed.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    started: AtomicBool,
    last_change: Mutex<Instant>,
}

impl Activity {
    fn new(now: Instant) -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            last_change: Mutex::new(now),
        }
    }

    fn touch(&self) {
        // Only an `Instant` is stored, so a poisoned lock still holds a usable value.
        let mut last = self
            .last_change
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Instant::now();
    }

    /// Counts a call as in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> CallGuard {
        self.started.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        CallGuard(Arc::clone(self))
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// When the connection becomes idle for good if nothing else happens; `None` while a
    /// call is in flight.
    fn deadline(&self, limits: IdleLimits) -> Option<Instant> {
        if self.in_flight() > 0 {
            return None;
        }
        let last = *self
            .last_change
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = if self.started.load(Ordering::Relaxed) {
            limits.idle
        } else {
            limits.first_call
        };
        // Settings are at most a day, so this cannot overflow; if it did: a day on.
        Some(
            last.checked_add(wait)
                .unwrap_or_else(|| last + Duration::from_secs(86_400)),
        )
    }
}

/// A call in flight; dropping it ends the call for the idle clock.
#[derive(Debug)]
pub struct CallGuard(Arc<Activity>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

/// What a request learns about its connection (through its extensions).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Connection number, for logs.
    pub id: u64,
    /// Local and peer addresses, as tonic reports them for plain TCP.
    pub tcp: TcpConnectInfo,
    /// Calls in flight on the connection.
    pub activity: Arc<Activity>,
    /// The client's certificate identity, on a TLS connection.
    pub tls: Option<TlsPeer>,
}

/// An accepted connection whose first bytes said it speaks HTTP.
#[derive(Debug)]
pub struct Connection {
    stream: Transport,
    tls: Option<TlsPeer>,
    id: u64,
    peer: Option<SocketAddr>,
    head: Head,
    replayed: usize,
    activity: Arc<Activity>,
    limits: IdleLimits,
    idle: Pin<Box<Sleep>>,
    timed_out: bool,
    _slot: Slot,
}

impl Connection {
    /// Wraps `stream`, whose first bytes (`head`) were read already; `slot` is held until
    /// the connection closes; `tls` is the client's identity on a TLS connection.
    pub fn new(
        stream: Transport,
        tls: Option<TlsPeer>,
        id: u64,
        limits: IdleLimits,
        slot: Slot,
        head: Head,
    ) -> Connection {
        let now = Instant::now();
        Connection {
            peer: stream.socket().peer_addr().ok(),
            stream,
            tls,
            id,
            head,
            replayed: 0,
            activity: Arc::new(Activity::new(now)),
            limits,
            idle: Box::pin(tokio::time::sleep(limits.first_call)),
            timed_out: false,
            _slot: slot,
        }
    }

    /// The socket (to inspect its options).
    pub fn socket(&self) -> &TcpStream {
        self.stream.socket()
    }

    /// `Ready(error)` once the connection has been idle past its limit.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.idle.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            match self.activity.deadline(self.limits) {
                // Calls in flight: look again one idle period from now.
                None => {
                    let next = tokio::time::Instant::now() + self.limits.idle;
                    self.idle.as_mut().reset(next);
                }
                Some(d) if d <= now => {
                    if !self.timed_out {
                        self.timed_out = true;
                        let first = !self.activity.started.load(Ordering::Relaxed);
                        crate::metrics::connection_closed(if first {
                            "no_call_after_handshake"
                        } else {
                            "idle"
                        });
                        info!(
                            conn = self.id,
                            peer = ?self.peer,
                            reason = if first { "no call after the handshake" } else { "idle" },
                            "closing connection"
                        );
                    }
                    return Poll::Ready(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle past its limit",
                    ));
                }
                Some(d) => self.idle.as_mut().reset(d.into()),
            }
        }
    }
}

impl Connected for Connection {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo {
            id: self.id,
            tcp: self.stream.socket().connect_info(),
            activity: Arc::clone(&self.activity),
            tls: self.tls.clone(),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(e) = this.poll_idle(cx) {
            return Poll::Ready(Err(e));
        }
        if this.replayed < this.head.len {
            let rest = &this.head.bytes()[this.replayed..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.replayed += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
