//! The accept loop in place of `axum::serve`: at most `max_connections` connections at once
//! (past it the loop stops accepting, so new clients wait in the kernel's backlog), a back-off
//! when `accept` itself fails (out of file descriptors: `EMFILE`/`ENFILE`), TLS when configured,
//! and graceful shutdown (stop accepting, let every connection finish its request, then return).
//!
//! It exists because `axum::serve` has no connection cap, no header or idle timeout and no TLS,
//! and 1,100 idle sockets were enough to starve `/healthz` and the payroll export of file
//! descriptors. It must never exit or panic because of what a client does or because `accept`
//! fails, never spin on a failing `accept`, and never log more than one line per burst of
//! failures. Per-connection work (handshake, timeouts) is in `connection`.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::connection::{self, Limits};
use crate::config::ServerSettings;

/// How `serve_with` serves: TLS or not, and the connection limits of `[server]`.
#[derive(Clone)]
pub struct ServeOptions {
    tls: Option<Arc<rustls::ServerConfig>>,
    max_connections: usize,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("tls", &self.tls.is_some())
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl ServeOptions {
    /// Plain HTTP with the limits of `server`.
    pub fn new(server: &ServerSettings) -> Self {
        Self {
            tls: None,
            max_connections: server.max_connections as usize,
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
        }
    }

    /// Serve HTTPS only, with this configuration (see `crate::tls::server_config`).
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Whether connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Waits after a failed `accept`: 10 ms, doubling to 1 s; one log line per burst.
struct Backoff {
    next: Duration,
    burst: Option<(Instant, u64)>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Self {
            next: Self::FIRST,
            burst: None,
        }
    }

    fn failed(&mut self, e: &io::Error) -> Duration {
        match &mut self.burst {
            None => {
                tracing::warn!(error = %e, "accept failed (out of file descriptors?); slowing down: new connections wait until some close");
                self.burst = Some((Instant::now(), 1));
            }
            Some((_, n)) => *n += 1,
        }
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    fn succeeded(&mut self) {
        if let Some((since, failures)) = self.burst.take() {
            tracing::info!(
                failures,
                after_ms = since.elapsed().as_millis() as u64,
                "accepting connections again"
            );
        }
        self.next = Self::FIRST;
    }
}

/// Errors that concern only the connection being accepted (it died in the backlog): accept the
/// next one at once.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(libc::EPROTO | libc::EPERM))
}

/// Serves `router` on `listener` with `opts` until `shutdown` completes, then waits for every
/// connection to finish.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = Limits {
        tls: opts.tls.clone().map(tokio_rustls::TlsAcceptor::from),
        header_timeout: opts.header_timeout,
        idle_timeout: opts.idle_timeout,
    };
    let slots = Arc::new(Semaphore::new(opts.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Backoff::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the connection semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => {
                backoff.succeeded();
                a
            }
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                let wait = backoff.failed(&e);
                drop(permit);
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        // Responses are written whole; don't let Nagle hold back their last segment.
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection::serve(
            tcp,
            peer,
            router.clone(),
            limits.clone(),
            stop_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    stop_tx.send_replace(true);
    // Every connection holds a slot until it ends: holding all of them means all have ended.
    let all = u32::try_from(opts.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}
