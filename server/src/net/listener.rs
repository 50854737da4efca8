//! The accept loop: the connection limit, a bounded kernel send buffer, and one hyper
//! connection per socket: HTTP/1.1 or HTTP/2, in the clear or under TLS, all on one port.
//!
//! At the limit a new connection is answered with a fixed 503 and closed without parsing
//! anything, so a flood costs a write, not a handler. The limit's slot is held by the metered
//! stream itself, so an upgraded WebSocket keeps its slot after hyper lets go of it.
//! With `--tls`, a connection whose first byte opens a TLS handshake gets TLS and the others
//! are served in the clear, so one server serves both sides of a `--tls off,on` sweep. Under
//! TLS, ALPN picks the protocol; in the clear, the HTTP/2 preface does (h2c by prior
//! knowledge). The metered stream sits under TLS: the handshake is counted and timed by it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metered::{ConnMeter, MeteredStream, Timeouts};
use super::sniff::{self, Prefixed};
use super::tls::Tls;
use crate::app::App;
use crate::http::{response, router};
use crate::shutdown::Shutdown;

/// Accepts until shutdown.
pub async fn accept_loop(listener: TcpListener, app: Arc<App>, tls: Option<Tls>) {
    let shutdown = app.shutdown.clone();
    // Failed accepts come in floods (one per queued connection, every 20 ms): each is
    // counted, and said at most once a second with how many came since.
    let mut said_at: Option<tokio::time::Instant> = None;
    let mut unsaid = 0u64;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (tcp, _peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                app.metrics.accept_errors.inc();
                unsaid += 1;
                if said_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!(error = %e, failed = unsaid, "accept failed (counted in pushpull_accept_errors_total)");
                    said_at = Some(tokio::time::Instant::now());
                    unsaid = 0;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        app.metrics.connections_accepted.inc();
        let open = app.open_connections.fetch_add(1, Relaxed);
        let slot = Slot(app.clone());
        if open >= app.config.max_connections {
            app.metrics.connections_refused.inc();
            shutdown.spawn(refuse(tcp, slot));
            continue;
        }
        let _ = tcp.set_nodelay(true);
        cap_send_buffer(&tcp);
        shutdown.spawn(serve(tcp, app.clone(), tls.clone(), slot));
    }
}

/// The kernel send buffer each connection may fill (Linux reserves twice this).
///
/// Left to autotuning, Linux grows a socket's send buffer up to `net.ipv4.tcp_wmem`'s
/// maximum (4 MiB by default) while the peer does not read (measured: 2.8 to 3.9 MiB queued
/// per stalled WebSocket reader): a thousand stalled readers then pin up to ~4 GiB of kernel
/// memory, the server spends its CPU copying events into buffers nobody reads, and the send
/// timeout only starts counting once those megabytes are queued. 128 KiB still covers the
/// bandwidth-delay product of a 100 Mbit/s path with 10 ms of round trip.
pub const SEND_BUFFER_BYTES: usize = 128 * 1024;

fn cap_send_buffer(tcp: &TcpStream) {
    if let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(SEND_BUFFER_BYTES) {
        tracing::debug!(error = %e, "SO_SNDBUF not set");
    }
}

/// Gives the connection-limit slot back when the connection ends.
struct Slot(Arc<App>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Relaxed);
    }
}

async fn refuse(mut tcp: TcpStream, _slot: Slot) {
    let write = async {
        tcp.write_all(response::SERVICE_UNAVAILABLE_RAW).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

async fn serve(tcp: TcpStream, app: Arc<App>, tls: Option<Tls>, slot: Slot) {
    let cfg = &app.config;
    let meter = ConnMeter::new(app.metrics.clone());
    let timeouts = Timeouts { header: cfg.header_timeout, idle: cfg.idle_timeout, send: cfg.send_timeout };
    let stream = MeteredStream::new(tcp, meter.clone(), timeouts, Some(Box::new(slot)));
    let Some(tls) = tls else { return sniff_and_serve(stream, app, meter).await };
    // The first byte decides; waiting for it is bounded like the head it starts.
    let first = tokio::select! {
        _ = app.shutdown.cancelled() => return,
        r = tokio::time::timeout(cfg.header_timeout, sniff::starts_with_tls(stream.get_ref())) => r,
    };
    match first {
        Err(_) => {
            app.metrics.header_timeouts.inc();
        }
        Ok(Ok(Some(false))) => sniff_and_serve(stream, app, meter).await,
        Ok(Ok(Some(true))) => {
            // A stalled handshake is cut by the metered stream's header timeout.
            let accepted = tokio::select! {
                _ = app.shutdown.cancelled() => return,
                r = tls.acceptor.accept(stream) => r,
            };
            let tls_stream = match accepted {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
            };
            match tls_stream.get_ref().1.alpn_protocol() {
                Some(b"h2") => serve_h2(Prefixed::new(Vec::new(), tls_stream), app, meter).await,
                Some(b"http/1.1") => serve_h1(Prefixed::new(Vec::new(), tls_stream), app, meter).await,
                _ => sniff_and_serve(tls_stream, app, meter).await,
            }
        }
        // Closed, or failed, before its first byte.
        Ok(_) => {}
    }
}

/// Serves HTTP/2 if the connection opens with its preface, else HTTP/1.1.
async fn sniff_and_serve<S>(mut io: S, app: Arc<App>, meter: Arc<ConnMeter>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (h2, read) = match sniff::read_preface(&mut io).await {
        Ok(x) => x,
        Err(e) => {
            tracing::debug!(error = %e, "connection ended before its first request");
            return;
        }
    };
    let io = Prefixed::new(read, io);
    if h2 {
        serve_h2(io, app, meter).await
    } else {
        serve_h1(io, app, meter).await
    }
}

/// Runs a hyper connection until it ends, or until shutdown and then gracefully within the
/// grace period.
macro_rules! drive {
    ($conn:expr, $app:expr) => {{
        let conn = $conn;
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = $app.shutdown.cancelled() => {}
        }
        conn.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout($app.config.shutdown_grace, conn).await;
    }};
}

async fn serve_h1<S>(io: Prefixed<S>, app: Arc<App>, meter: Arc<ConnMeter>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = {
        let app = app.clone();
        service_fn(move |req| router::handle(app.clone(), meter.clone(), req))
    };
    let mut builder = http1::Builder::new();
    // Our metered stream enforces the header and idle timeouts; hyper's own would need a
    // timer and, in hyper 1.x, also cuts kept-alive connections idle between requests.
    builder.header_read_timeout(None).max_header_size(app.config.max_header_bytes.max(1024));
    drive!(builder.serve_connection(TokioIo::new(io), svc).with_upgrades(), app)
}

async fn serve_h2<S>(io: Prefixed<S>, app: Arc<App>, meter: Arc<ConnMeter>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = &app.config;
    let svc = {
        let app = app.clone();
        service_fn(move |req| router::handle(app.clone(), meter.clone(), req))
    };
    let mut builder = http2::Builder::new(Tracked(app.shutdown.clone()));
    builder
        .timer(TokioTimer::new())
        // RFC 8441: WebSocket over an extended CONNECT stream.
        .enable_connect_protocol()
        // One connection may not hold more than this many requests at once (RST_STREAM
        // REFUSED beyond): the per-connection counterpart of --max-connections.
        .max_concurrent_streams(cfg.max_streams)
        .max_header_list_size(u32::try_from(cfg.max_header_bytes).unwrap_or(u32::MAX))
        // A peer that stops reading the socket altogether never stalls it here (flow control
        // stops us first), so it is found by an unanswered PING instead.
        .keep_alive_interval(cfg.ping_interval)
        .keep_alive_timeout(cfg.send_timeout);
    drive!(builder.serve_connection(TokioIo::new(io), svc), app)
}

/// Runs HTTP/2's per-stream tasks through the server's shutdown, so that shutdown waits for
/// them as for everything else.
#[derive(Clone)]
struct Tracked(Shutdown);

impl<F> hyper::rt::Executor<F> for Tracked
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn(fut);
    }
}
