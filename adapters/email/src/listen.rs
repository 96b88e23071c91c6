//! Accepting TLS connections without letting idle or hostile peers take the port down. Shared by every
//! listener of the hub (gRPC, dashboard, partner page):
//!
//! - each TLS handshake runs in its own task with a timeout, so a peer that connects and says nothing
//!   never delays anyone else and is closed when the timeout passes;
//! - at most `max_pending_handshakes` handshakes wait at once; a new connection beyond that closes the
//!   *oldest* waiting one, so a flood of silent connections cannot lock out a client that completes its
//!   handshake in milliseconds, and never holds more descriptors than the cap;
//! - established connections count against a connection cap shared by all listeners (a semaphore);
//!   beyond it a new connection is closed right after its handshake;
//! - accept errors (out of file descriptors) back off from 10 ms up to 1 s instead of spinning;
//! - accepted sockets get TCP keep-alive and `TCP_NODELAY`.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::AbortHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Handshakes that may wait at once on one listener, by default.
pub const MAX_PENDING_HANDSHAKES: usize = 128;

/// Limits of the listeners of one process.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A peer gets this long to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Handshakes in progress at once per listener.
    pub max_pending_handshakes: usize,
    /// Established connections of all listeners together.
    pub connections: Arc<Semaphore>,
    /// TCP keep-alive idle time of accepted sockets (dead peers are found by the kernel).
    pub tcp_keepalive: Duration,
}

impl Limits {
    /// Limits with room for `max_connections` established connections.
    pub fn new(max_connections: usize, handshake_timeout: Duration) -> Self {
        Self {
            handshake_timeout,
            max_pending_handshakes: MAX_PENDING_HANDSHAKES,
            connections: Arc::new(Semaphore::new(max_connections)),
            tcp_keepalive: Duration::from_secs(60),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(1_000, Duration::from_secs(10))
    }
}

/// An established TLS connection. It holds its place under the connection cap until it is dropped.
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    _permit: OwnedSemaphorePermit,
}

impl TlsConn {
    /// The TLS stream (peer certificates, ALPN, the TCP socket).
    pub fn get_ref(&self) -> &TlsStream<TcpStream> {
        &self.stream
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// A connection ready to be served, with its peer's address.
pub type Ready = (TlsConn, SocketAddr);

/// Size of the queue of finished handshakes waiting for the server to pick them up.
const READY_QUEUE: usize = 64;

/// Starts accepting on `listener` and returns the connections whose handshake finished. Accepting stops
/// when `stop` turns true or the receiver is dropped; `name` labels the log lines.
pub fn accept_tls(
    name: &'static str,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limits: Limits,
    stop: watch::Receiver<bool>,
) -> mpsc::Receiver<Ready> {
    let (ready_tx, ready_rx) = mpsc::channel(READY_QUEUE);
    tokio::spawn(accept_loop(name, listener, acceptor, limits, ready_tx, stop));
    ready_rx
}

/// Handshakes in progress, oldest first.
type Pending = Arc<Mutex<VecDeque<(u64, AbortHandle)>>>;

async fn accept_loop(
    name: &'static str,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    limits: Limits,
    ready: mpsc::Sender<Ready>,
    mut stop: watch::Receiver<bool>,
) {
    let pending: Pending = Arc::default();
    let mut next_id = 0u64;
    let mut backoff = Duration::from_millis(10);
    loop {
        if *stop.borrow() {
            return;
        }
        let (tcp, peer) = tokio::select! {
            _ = stop.changed() => continue,
            () = ready.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    backoff = Duration::from_millis(10);
                    conn
                }
                Err(e) => {
                    if !is_connection_error(&e) {
                        tracing::warn!(listener = name, error = %e, pause_ms = backoff.as_millis() as u64, "accept failed; pausing");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                    }
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(limits.tcp_keepalive);
        let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
        next_id += 1;
        let id = next_id;
        let (acceptor, ready, limits_task, pending_task) =
            (acceptor.clone(), ready.clone(), limits.clone(), pending.clone());
        // Held while spawning, so the task cannot remove itself before it is listed.
        let mut waiting = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while waiting.len() >= limits.max_pending_handshakes.max(1) {
            if let Some((_, oldest)) = waiting.pop_front() {
                tracing::debug!(listener = name, "too many TLS handshakes waiting; closing the oldest");
                oldest.abort();
            }
        }
        let task = tokio::spawn(async move {
            let handshake = tokio::time::timeout(limits_task.handshake_timeout, acceptor.accept(tcp)).await;
            pending_task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|(i, _)| *i != id);
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return tracing::debug!(listener = name, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(listener = name, "TLS handshake timed out; connection closed"),
            };
            let Ok(permit) = limits_task.connections.clone().try_acquire_owned() else {
                return tracing::warn!(listener = name, "connection limit reached; connection closed");
            };
            // If the server is gone (shutdown), the connection is simply dropped.
            drop(ready.send((TlsConn { stream, _permit: permit }, peer)).await);
        });
        waiting.push_back((id, task.abort_handle()));
    }
}

/// Errors of a single connection (reset before accept) are not worth a pause; others (out of file
/// descriptors) would spin the loop.
fn is_connection_error(e: &io::Error) -> bool {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `ok` holds within `secs` (polled, not slept: a loaded machine takes longer, a broken loop
    /// never gets there).
    async fn within(secs: u64, ok: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while !ok() {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    #[tokio::test]
    async fn silent_connections_beyond_the_cap_close_the_oldest_and_time_out() {
        let (cert, key) = crate::web::tls::tests::self_signed();
        let tls = crate::web::tls_config(&cert, &key).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            handshake_timeout: Duration::from_secs(3),
            max_pending_handshakes: 4,
            ..Limits::new(10, Duration::from_secs(3))
        };
        let (_stop_tx, stop) = watch::channel(false);
        let _ready = accept_tls("test", listener, TlsAcceptor::from(tls), limits, stop);
        let mut silent = Vec::new();
        for _ in 0..6 {
            silent.push(TcpStream::connect(addr).await.unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let closed = |s: &TcpStream| {
            let mut b = [0u8; 1];
            matches!(s.try_read(&mut b), Ok(0))
        };
        // The two oldest are closed to make room; the newest still waits for its handshake.
        assert!(within(2, || closed(&silent[0]) && closed(&silent[1])).await, "the oldest were closed");
        assert!(!closed(&silent[5]), "the newest one still waits for its handshake");
        // After the handshake timeout, all are closed.
        assert!(within(10, || silent.iter().all(closed)).await, "every silent connection closed after the timeout");
    }
}
