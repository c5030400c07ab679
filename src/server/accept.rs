//! The accept loop: every TCP connection the server serves comes through here.
//!
//! - At most `max_connections` sockets are open at once (handshaking ones included); at
//!   the limit the loop stops accepting until one closes, so a flood waits in the
//!   kernel's backlog instead of taking file descriptors.
//! - Every accepted socket gets `TCP_NODELAY` (each gRPC response leaves as more than one
//!   write; with Nagle's algorithm the last one would wait for the client's delayed ACK,
//!   ~40 ms per call) and the configured TCP keepalive.
//! - A socket must finish its handshake within the handshake timeout — the TLS handshake
//!   when the listener speaks TLS, then the first bytes of HTTP: the 24-byte HTTP/2
//!   preface, or an HTTP/1.x request line (browsers, gRPC-Web, Connect and curl) — or it
//!   is closed; only then is it handed to the HTTP server (as a [`Connection`], which
//!   replays the bytes read and enforces the idle timeout). The TLS handshake runs in the
//!   socket's own task, so a slow client never holds up the loop.
//! - When `accept` itself fails for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM),
//!   the loop pauses, doubling from 5 ms up to the configured maximum, instead of
//!   spinning.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use socket2::{SockRef, TcpKeepalive};
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch},
};
use tokio_rustls::TlsAcceptor;
use tokio_stream::Stream;
use tracing::{debug, info, warn};

use super::{
    connection::{Connection, Head, IdleLimits, PREFACE},
    peer::{self, TlsPeer},
    transport::Transport,
};
use crate::{config::Connections, metrics};

/// A place under the connection limit, held by one socket from `accept` until it closes;
/// while held, the socket counts as open.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit) -> Slot {
        metrics::connection_opened();
        Slot { _permit: permit }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        metrics::connection_released();
    }
}

/// Why a socket was closed before it reached the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The handshake did not finish within the handshake timeout.
    Timeout,
    /// The TLS handshake failed (not TLS, untrusted or missing client certificate, ...).
    Tls,
    /// The verified client certificate could not be parsed for its principals.
    Certificate,
    /// The client closed before its first request.
    Closed,
    /// The socket failed before the first request.
    Socket,
    /// The first bytes are neither the HTTP/2 preface nor an HTTP/1 request line.
    NotHttp,
}

impl Refusal {
    /// The metric label.
    fn label(self) -> &'static str {
        match self {
            Refusal::Timeout => "handshake_timeout",
            Refusal::Tls => "tls_handshake_failed",
            Refusal::Certificate => "client_certificate_unreadable",
            Refusal::Closed => "closed_before_request",
            Refusal::Socket => "socket_error",
            Refusal::NotHttp => "not_http",
        }
    }

    /// The log line's reason.
    fn text(self) -> &'static str {
        match self {
            Refusal::Timeout => "no handshake within the handshake timeout",
            Refusal::Tls => "TLS handshake failed",
            Refusal::Certificate => "client certificate unreadable",
            Refusal::Closed => "closed before the first request",
            Refusal::Socket => "socket error before the first request",
            Refusal::NotHttp => "neither an HTTP/2 preface nor an HTTP/1 request",
        }
    }
}

/// Connections ready for the HTTP/2 server, in the order their preface completed.
#[derive(Debug)]
pub struct Incoming {
    rx: mpsc::Receiver<Connection>,
}

impl Stream for Incoming {
    type Item = Result<Connection, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|c| c.map(Ok))
    }
}

/// Socket options and timeouts applied to every accepted connection.
#[derive(Debug, Clone)]
struct Policy {
    handshake: Duration,
    idle: IdleLimits,
    keepalive: Option<TcpKeepalive>,
    backoff_max: Duration,
}

impl Policy {
    fn new(c: &Connections) -> Policy {
        let handshake = Duration::from_millis(c.handshake_timeout_ms);
        Policy {
            handshake,
            idle: IdleLimits {
                first_call: handshake,
                idle: Duration::from_millis(c.idle_timeout_ms),
            },
            keepalive: (c.tcp_keepalive_secs > 0).then(|| {
                TcpKeepalive::new()
                    .with_time(Duration::from_secs(c.tcp_keepalive_secs))
                    .with_interval(Duration::from_secs(c.tcp_keepalive_interval_secs))
                    .with_retries(c.tcp_keepalive_retries)
            }),
            backoff_max: Duration::from_millis(c.accept_backoff_max_ms),
        }
    }

    fn configure(&self, stream: &TcpStream) -> io::Result<()> {
        stream.set_nodelay(true)?;
        if let Some(k) = &self.keepalive {
            SockRef::from(stream).set_tcp_keepalive(k)?;
        }
        Ok(())
    }
}

/// Starts accepting on `listener` with the limits of `settings`, speaking TLS through
/// `tls` when given; the loop ends when `stop` turns true or the returned stream is
/// dropped, and closes the listener then.
pub fn incoming(
    listener: TcpListener,
    settings: &Connections,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
) -> Incoming {
    let (tx, rx) = mpsc::channel(64);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    metrics::connection_limit(settings.max_connections);
    let policy = Policy::new(settings);
    tokio::spawn(accept_loop(listener, slots, policy, tls, tx, stop));
    Incoming { rx }
}

/// Errors of `accept` that concern only the connection being accepted.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn accept_loop(
    listener: TcpListener,
    slots: Arc<Semaphore>,
    policy: Policy,
    tls: Option<TlsAcceptor>,
    tx: mpsc::Sender<Connection>,
    mut stop: watch::Receiver<bool>,
) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let floor = Duration::from_millis(5);
    let mut backoff = floor;
    let mut at_limit = false;
    loop {
        if *stop.borrow() {
            break;
        }
        if slots.available_permits() == 0 && !at_limit {
            at_limit = true;
            metrics::connection_limit_reached();
            warn!("connection limit reached; not accepting until a connection closes");
        }
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            r = stop.changed() => if r.is_err() { break } else { continue },
            () = tx.closed() => break,
        };
        if at_limit {
            at_limit = false;
            info!("below the connection limit again; accepting");
        }
        let accepted = tokio::select! {
            a = listener.accept() => a,
            r = stop.changed() => if r.is_err() { break } else { continue },
            () = tx.closed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = floor;
                let slot = Slot::new(slot);
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = policy.configure(&stream) {
                    metrics::connection_closed(Refusal::Socket.label());
                    debug!(conn = id, %peer, error = %e, "cannot set socket options; closing");
                    continue;
                }
                let (policy, tx, tls) = (policy.clone(), tx.clone(), tls.clone());
                tokio::spawn(async move {
                    let shake = tokio::time::timeout(policy.handshake, handshake(stream, tls))
                        .await
                        .unwrap_or(Err((Refusal::Timeout, None)));
                    match shake {
                        Ok((stream, tls, head)) => {
                            let conn = Connection::new(stream, tls, id, policy.idle, slot, head);
                            let _ = tx.send(conn).await;
                        }
                        Err((why, detail)) => {
                            metrics::connection_closed(why.label());
                            info!(
                                conn = id,
                                %peer,
                                reason = why.text(),
                                detail = detail.as_deref(),
                                "closing connection"
                            );
                        }
                    }
                });
            }
            Err(e) if is_per_connection(&e) => {
                debug!(error = %e, "accept failed for one connection");
            }
            Err(e) => {
                warn!(error = %e, pause_ms = backoff.as_millis(), "accept failed; pausing");
                drop(slot);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(policy.backoff_max);
            }
        }
    }
    debug!("accept loop stopped");
}

/// The TLS handshake (when the listener speaks TLS), then the first bytes of HTTP; the
/// caller bounds the whole by the handshake timeout. `Ok` holds the bytes read (replayed
/// to the server); `Err` says why the socket is dropped.
async fn handshake(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
) -> Result<(Transport, Option<TlsPeer>, Head), (Refusal, Option<String>)> {
    match tls {
        None => {
            let mut stream = stream;
            let head = read_head(&mut stream).await?;
            Ok((Transport::Plain(stream), None, head))
        }
        Some(acceptor) => {
            let mut stream = acceptor
                .accept(stream)
                .await
                .map_err(|e| (Refusal::Tls, Some(e.to_string())))?;
            let peer = peer::from_handshake(stream.get_ref().1.peer_certificates())
                .map_err(|e| (Refusal::Certificate, Some(e.to_string())))?;
            let head = read_head(&mut stream).await?;
            Ok((Transport::Tls(Box::new(stream)), Some(peer), head))
        }
    }
}

/// Longest HTTP/1 method token accepted before the first space (`PROPFIND` is 8).
const MAX_METHOD: usize = 8;

/// What the first bytes of a connection say it speaks, once they decide it.
fn classify(head: &[u8]) -> Option<Result<(), Refusal>> {
    if PREFACE.starts_with(head) {
        return (head.len() == PREFACE.len()).then_some(Ok(()));
    }
    // An HTTP/1.x request line starts with an upper-case method token and a space.
    match head.iter().position(|b| *b == b' ') {
        Some(0) => Some(Err(Refusal::NotHttp)),
        Some(n) if n <= MAX_METHOD && head[..n].iter().all(u8::is_ascii_uppercase) => Some(Ok(())),
        None if head.len() <= MAX_METHOD && head.iter().all(u8::is_ascii_uppercase) => None,
        _ => Some(Err(Refusal::NotHttp)),
    }
}

/// Reads the start of the connection: the HTTP/2 client preface, or an HTTP/1.x method
/// and its space, refusing as soon as the bytes read decide against both.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Head, (Refusal, Option<String>)> {
    let mut head = Head::default();
    loop {
        match stream.read(head.unfilled()).await {
            Ok(0) => return Err((Refusal::Closed, None)),
            Ok(n) => head.filled(n),
            Err(e) => return Err((Refusal::Socket, Some(e.to_string()))),
        }
        if let Some(verdict) = classify(head.bytes()) {
            return verdict.map(|()| head).map_err(|why| (why, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max: usize) -> Connections {
        Connections {
            max_connections: max,
            handshake_timeout_ms: 5_000,
            ..Connections::default()
        }
    }

    async fn start(max: usize) -> (Incoming, std::net::SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, stop_rx) = watch::channel(false);
        (
            incoming(listener, &settings(max), None, stop_rx),
            addr,
            stop_tx,
        )
    }

    async fn next(inc: &mut Incoming) -> Connection {
        use tokio_stream::StreamExt;
        inc.next().await.expect("a connection").expect("no error")
    }

    #[tokio::test]
    async fn accepted_sockets_have_nodelay_and_keepalive() {
        let (mut inc, addr, _stop) = start(4).await;
        let client = TcpStream::connect(addr).await.expect("connect");
        client.try_write(PREFACE).expect("preface");
        let conn = next(&mut inc).await;
        assert!(
            conn.socket().nodelay().expect("nodelay"),
            "TCP_NODELAY is set"
        );
        assert!(
            SockRef::from(conn.socket()).keepalive().expect("keepalive"),
            "SO_KEEPALIVE is set"
        );
    }

    #[test]
    fn the_first_bytes_decide_between_http2_http1_and_neither() {
        assert_eq!(
            classify(b"PRI * HTTP/2.0"),
            None,
            "a preface still arriving"
        );
        assert_eq!(classify(PREFACE), Some(Ok(())));
        assert_eq!(classify(b"POST /x HTTP/1.1"), Some(Ok(())));
        assert_eq!(classify(b"GET "), Some(Ok(())));
        assert_eq!(classify(b"OPTIO"), None, "a method still arriving");
        for bad in [
            &b"\x16\x03\x01\x02"[..],
            b" GET",
            b"get / HTTP/1.1",
            b"LONGMETHOD x",
        ] {
            assert!(matches!(classify(bad), Some(Err(_))), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_socket_that_speaks_no_http_is_never_handed_on() {
        let (mut inc, addr, _stop) = start(4).await;
        let bad = TcpStream::connect(addr).await.expect("connect");
        bad.try_write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            .expect("write");
        let good = TcpStream::connect(addr).await.expect("connect");
        good.try_write(PREFACE).expect("preface");
        let conn = next(&mut inc).await;
        assert_eq!(
            conn.socket().peer_addr().expect("peer"),
            good.local_addr().expect("local"),
            "only the HTTP/2 client comes through"
        );
        // The server closed the other socket: reading it ends.
        let mut buf = [0u8; 8];
        loop {
            bad.readable().await.expect("readable");
            match bad.try_read(&mut buf) {
                Ok(n) => {
                    assert_eq!(n, 0, "nothing is sent back");
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
                    break;
                }
            }
        }
    }
}
