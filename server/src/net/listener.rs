//! The accept loop: the connection limit, a bounded kernel send buffer, and one hyper HTTP/1
//! connection per socket.
//!
//! At the limit a new connection is answered with a fixed 503 and closed without parsing
//! anything, so a flood costs a write, not a handler. The limit's slot is held by the metered
//! stream itself, so an upgraded WebSocket keeps its slot after hyper lets go of it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::metered::{ConnMeter, MeteredStream, Timeouts};
use crate::app::App;
use crate::http::{response, router};

/// Accepts until shutdown.
pub async fn accept_loop(listener: TcpListener, app: Arc<App>) {
    let shutdown = app.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (tcp, _peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
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
        shutdown.spawn(serve(tcp, app.clone(), slot));
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

async fn serve(tcp: TcpStream, app: Arc<App>, slot: Slot) {
    let cfg = &app.config;
    let meter = ConnMeter::new(app.metrics.clone());
    let timeouts = Timeouts { header: cfg.header_timeout, idle: cfg.idle_timeout, send: cfg.send_timeout };
    let io = TokioIo::new(MeteredStream::new(tcp, meter.clone(), timeouts, Some(Box::new(slot))));
    let svc = {
        let app = app.clone();
        service_fn(move |req| router::handle(app.clone(), meter.clone(), req))
    };
    let mut builder = http1::Builder::new();
    // Our metered stream enforces the header and idle timeouts; hyper's own would need a
    // timer and, in hyper 1.x, also cuts kept-alive connections idle between requests.
    builder.header_read_timeout(None).max_header_size(cfg.max_header_bytes.max(1024));
    let conn = builder.serve_connection(io, svc).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = app.shutdown.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(cfg.shutdown_grace, conn).await;
}
