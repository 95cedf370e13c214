//! Accepting TCP connections and serving HTTP/1.1 on them, within bounds: at most a fixed number of
//! connections at once (below the file-descriptor limit), and a deadline on every request head.
//!
//! `axum::serve` has neither: it sets no timer, so hyper's header timeout never runs and a socket that
//! never sends a byte is held forever, and it accepts until the process runs out of file descriptors
//! (1,100 silent sockets under `ulimit -n 1024` locked every user out). HTTP/2 is not offered: the
//! relay speaks plain TCP, where browsers only use HTTP/1.1, and WebSockets use HTTP/1.1 upgrades.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::relay::Relay;
use crate::storage::Storage;

/// File descriptors kept free beside the connections: the database and its journal, the listeners,
/// and some slack.
const RESERVED_FDS: usize = 64;

/// How to serve one listener.
pub(crate) struct HttpBounds {
    /// Most connections served at once (further ones are closed on accept).
    pub max_connections: usize,
    /// How long a connection may take to send a request head.
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then lets open requests finish. Connections
/// upgraded to WebSockets keep their slot until the socket closes.
pub(crate) async fn serve<S: Storage>(
    listener: TcpListener,
    router: Router,
    bounds: HttpBounds,
    relay: Arc<Relay<S>>,
    shutdown: CancellationToken,
) {
    let max = bounds
        .max_connections
        .min(fd_budget().unwrap_or(usize::MAX))
        .max(1);
    if max < bounds.max_connections {
        tracing::warn!(
            configured = bounds.max_connections,
            serving = max,
            "at most {max} TCP connections: the file-descriptor limit (ulimit -n) allows no more"
        );
    }
    let slots = Arc::new(Semaphore::new(max));
    let tasks = TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_timeout);
    let mut was_full = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors (or another transient failure): wait for some to close
                // rather than spinning.
                relay.metrics().refused("accept_error");
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            relay.metrics().refused("tcp_connections");
            if !was_full {
                tracing::warn!(
                    limit = max,
                    "closing new TCP connections: {max} are open (--max-tcp-connections)"
                );
            }
            was_full = true;
            drop(tcp);
            continue;
        };
        was_full = false;
        // Sync messages are small and latency-bound: send them at once rather than coalescing (Nagle).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let io = TokioIo::new(Slotted { tcp, _slot: slot });
        let connection = builder
            .serve_connection(io, TowerToHyperService::new(router.clone()))
            .with_upgrades();
        let (relay, shutdown) = (relay.clone(), shutdown.clone());
        let bounds_secs = bounds.header_timeout.as_secs_f64();
        tasks.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                if e.is_timeout() {
                    relay.metrics().refused("http_header_timeout");
                    tracing::info!(
                        limit_secs = bounds_secs,
                        "closed an HTTP connection that sent no request head in time"
                    );
                } else {
                    tracing::debug!(error = %e, "HTTP connection failed");
                }
            }
        });
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
}

/// A TCP stream holding one of the listener's connection slots until it is dropped — after the HTTP
/// connection, or after the WebSocket it was upgraded to.
struct Slotted {
    tcp: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Slotted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Slotted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Connections the file-descriptor limit leaves room for: the soft `Max open files` of
/// `/proc/self/limits`, less a reserve. `None` where that cannot be read (not Linux).
fn fd_budget() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft: usize = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(soft.saturating_sub(RESERVED_FDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_stays_below_the_file_descriptor_limit() {
        if let Some(budget) = fd_budget() {
            assert!(budget > 0);
        }
    }
}
