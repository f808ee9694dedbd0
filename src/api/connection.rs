//! One accepted connection: the TLS handshake (bounded by the header timeout), HTTP/1.1 through
//! hyper, and a watchdog that closes the connection when its client stalls.
//!
//! hyper's own `header_read_timeout` also runs between keep-alive requests, so it would close an
//! idle connection after the *header* timeout; the contract gives idle connections their own,
//! longer one. So the watchdog tracks what the connection is doing, from its bytes and its
//! requests:
//!
//! | state | entered when | closed after |
//! | --- | --- | --- |
//! | `Head` | accepted, or the first byte after a response | `header_timeout` (no complete request head by then) |
//! | `Handling` | hyper hands a request to the router | never by the watchdog (the router's 30 s timeout ends it) |
//! | `Writing` | the response head is ready | `idle_timeout` without a byte moving (a client that stopped reading) |
//! | `Idle` | the response body has been written | `idle_timeout` |
//!
//! It must never drop a connection while a request is being handled (that would cancel the
//! handler half way), and never let a client keep a connection (and so a file descriptor and a
//! `max_connections` slot) without sending or receiving.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tower::ServiceExt as _;

/// How a request reached the server, in every request's extensions: the web console needs it
/// for `Secure` and `__Host-` cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP (loopback, or `--allow-plain-http`).
    Plain,
    /// HTTPS.
    Tls,
}

/// The limits every connection runs under.
#[derive(Clone)]
pub(crate) struct Limits {
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

const HEAD: u8 = 0;
const HANDLING: u8 = 1;
const WRITING: u8 = 2;
const IDLE: u8 = 3;

/// What the connection is doing, shared by its I/O, its requests and its watchdog.
struct Activity {
    started: Instant,
    state: AtomicU8,
    /// Milliseconds since `started` when `state` was entered.
    since: AtomicU64,
    /// Milliseconds since `started` when a byte last moved either way.
    last_io: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            state: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            last_io: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn enter(&self, state: u8) {
        self.since.store(self.now_ms(), Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }

    fn moved(&self, read: bool) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if read
            && self
                .state
                .compare_exchange(IDLE, HEAD, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.since.store(now, Ordering::Relaxed);
        }
    }

    /// Whether the watchdog should close the connection now.
    fn expired(&self, limits: &Limits) -> bool {
        let now = self.now_ms();
        let since = self.since.load(Ordering::Relaxed);
        let over =
            |from: u64, limit: Duration| now.saturating_sub(from) >= limit.as_millis() as u64;
        match self.state.load(Ordering::Acquire) {
            HEAD => over(since, limits.header_timeout),
            IDLE => over(since, limits.idle_timeout),
            WRITING => over(
                since.max(self.last_io.load(Ordering::Relaxed)),
                limits.idle_timeout,
            ),
            _ => false,
        }
    }
}

/// Marks a request finished (the connection idle) when dropped: with the response body once it
/// is written, or with the handler's future if hyper drops it.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.enter(IDLE);
    }
}

/// The response body, carrying the request's `InFlight` until hyper has written it.
struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A stream that reports every byte it moves to the connection's `Activity`.
struct Tracked<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.moved(true);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved(false);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.moved(false);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serves one accepted TCP connection to its end; `_permit` is its `max_connections` slot.
pub(crate) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    match limits.tls.clone() {
        None => {
            let io = Tracked {
                io: tcp,
                activity: activity.clone(),
            };
            drive(io, peer, Transport::Plain, router, &limits, activity, stop).await;
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp));
            let tls = match handshake.await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let io = Tracked {
                io: tls,
                activity: activity.clone(),
            };
            drive(io, peer, Transport::Tls, router, &limits, activity, stop).await;
        }
    }
}

async fn drive<T>(
    io: Tracked<T>,
    peer: SocketAddr,
    transport: Transport,
    router: Router,
    limits: &Limits,
    activity: Arc<Activity>,
    mut stop: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let in_flight = InFlight(requests.clone());
        requests.enter(HANDLING);
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(transport);
        let router = router.clone();
        async move {
            let Ok(resp) = router.oneshot(req).await;
            in_flight.0.enter(WRITING);
            Ok::<_, Infallible>(resp.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // The watchdog times headers (see the module doc); hyper's own timer would also cut idle
    // keep-alive connections at the header timeout.
    http.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = http.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut draining = *stop.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(tick) => {
                if activity.expired(limits) {
                    tracing::debug!(%peer, "closing a stalled or idle connection");
                    return;
                }
            }
        }
    }
}
