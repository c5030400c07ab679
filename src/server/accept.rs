//! The accept loop: every TCP connection the server serves comes through here.
//!
//! - At most `max_connections` sockets are open at once (handshaking ones included); at
//!   the limit the loop stops accepting until one closes, so a flood waits in the
//!   kernel's backlog instead of taking file descriptors.
//! - Every accepted socket gets `TCP_NODELAY` (each gRPC response leaves as more than one
//!   write; with Nagle's algorithm the last one would wait for the client's delayed ACK,
//!   ~40 ms per call) and the configured TCP keepalive.
//! - A socket must finish its handshake within the handshake timeout — the TLS handshake
//!   when the listener speaks TLS, then the 24-byte HTTP/2 preface — or it is closed; only
//!   then is it handed to the HTTP/2 server (as a [`Connection`], which replays the
//!   preface and enforces the idle timeout). The TLS handshake runs in the socket's own
//!   task, so a slow client never holds up the loop.
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
    connection::{Connection, IdleLimits, PREFACE},
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

/// Why a socket was closed before it reached the HTTP/2 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The handshake did not finish within the handshake timeout.
    Timeout,
    /// The TLS handshake failed (not TLS, untrusted or missing client certificate, ...).
    Tls,
    /// The verified client certificate could not be parsed for its principals.
    Certificate,
    /// The client closed before the preface.
    Closed,
    /// The socket failed before the preface.
    Socket,
    /// The first bytes are not the HTTP/2 preface.
    NotHttp2,
}

impl Refusal {
    /// The metric label.
    fn label(self) -> &'static str {
        match self {
            Refusal::Timeout => "handshake_timeout",
            Refusal::Tls => "tls_handshake_failed",
            Refusal::Certificate => "client_certificate_unreadable",
            Refusal::Closed => "closed_before_preface",
            Refusal::Socket => "socket_error",
            Refusal::NotHttp2 => "not_http2",
        }
    }

    /// The log line's reason.
    fn text(self) -> &'static str {
        match self {
            Refusal::Timeout => "no handshake within the handshake timeout",
            Refusal::Tls => "TLS handshake failed",
            Refusal::Certificate => "client certificate unreadable",
            Refusal::Closed => "closed before the HTTP/2 preface",
            Refusal::Socket => "socket error before the HTTP/2 preface",
            Refusal::NotHttp2 => "not an HTTP/2 client preface",
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
                        Ok((stream, tls)) => {
                            let conn = Connection::new(stream, tls, id, policy.idle, slot);
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

/// The TLS handshake (when the listener speaks TLS), then the HTTP/2 preface; the caller
/// bounds the whole by the handshake timeout. `Err` says why the socket is dropped.
async fn handshake(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
) -> Result<(Transport, Option<TlsPeer>), (Refusal, Option<String>)> {
    match tls {
        None => {
            let mut stream = stream;
            read_preface(&mut stream).await?;
            Ok((Transport::Plain(stream), None))
        }
        Some(acceptor) => {
            let mut stream = acceptor
                .accept(stream)
                .await
                .map_err(|e| (Refusal::Tls, Some(e.to_string())))?;
            let peer = peer::from_handshake(stream.get_ref().1.peer_certificates())
                .map_err(|e| (Refusal::Certificate, Some(e.to_string())))?;
            read_preface(&mut stream).await?;
            Ok((Transport::Tls(Box::new(stream)), Some(peer)))
        }
    }
}

/// Reads the 24-byte client preface, refusing at the first byte that differs.
async fn read_preface<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(), (Refusal, Option<String>)> {
    let mut buf = [0u8; PREFACE.len()];
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]).await {
            Ok(0) => return Err((Refusal::Closed, None)),
            Ok(n) => got += n,
            Err(e) => return Err((Refusal::Socket, Some(e.to_string()))),
        }
        if buf[..got] != PREFACE[..got] {
            return Err((Refusal::NotHttp2, None));
        }
    }
    Ok(())
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

    #[tokio::test]
    async fn a_socket_without_the_preface_is_never_handed_on() {
        let (mut inc, addr, _stop) = start(4).await;
        let bad = TcpStream::connect(addr).await.expect("connect");
        bad.try_write(b"GET / HTTP/1.1\r\n\r\n").expect("write");
        let good = TcpStream::connect(addr).await.expect("connect");
        good.try_write(PREFACE).expect("preface");
        let conn = next(&mut inc).await;
        assert_eq!(
            conn.socket().peer_addr().expect("peer"),
            good.local_addr().expect("local"),
            "only the HTTP/2 client comes through"
        );
        // The server closed the HTTP/1 socket: reading it ends.
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
