//! The WebSocket client: one `/ws` socket (tokio-tungstenite over our own connection, so the
//! source address and the connect time are ours: an HTTP/1.1 Upgrade, or on HTTP/2 an extended
//! CONNECT stream, see [`Dialer::websocket`](super::Dialer::websocket)); after a drop it
//! reconnects with backoff and resumes with `?since=`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::counted::Setup;
use super::{Attempt, Reconnect, StepCtx};
use crate::failure::{ErrorKind, Failure};
use crate::recorder::ClientRecord;
use proto::wire::{self, MessageType};

const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// The WebSocket client's settings. Small buffers: thousands of these run in one process.
/// Public so the benches open their sockets with the same settings.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0)
}

pub async fn run(ctx: &StepCtx, i: usize) -> ClientRecord {
    // Compression on: the browser's deflate offer, through yawc (issue 13).
    if ctx.compressed() {
        return super::ws_deflate::run(ctx, i).await;
    }
    let mut rec = ClientRecord::new(i);
    let mut last_seq: Option<u64> = None;
    let mut reconnect = Reconnect::default();
    while !ctx.done() {
        let path = match last_seq {
            Some(s) => format!("/ws?since={s}"),
            None => "/ws".to_string(),
        };
        let opened = async {
            let open = ctx.dialer(i).websocket(ctx.source(i), &path, config());
            tokio::time::timeout(HANDSHAKE_LIMIT, open)
                .await
                .map_err(|_| Failure::timeout("the WebSocket handshake", HANDSHAKE_LIMIT))?
        };
        let mut socket = match reconnect.open(ctx, &mut rec, opened).await {
            Attempt::Open(socket) => socket,
            Attempt::Retry => continue,
            Attempt::Stop => break,
        };
        let mut setup = Setup::new(socket.counts.clone());
        let ws = &mut socket.ws;
        let ended = loop {
            let msg = tokio::select! {
                _ = ctx.cancel.cancelled() => None,
                _ = tokio::time::sleep_until(ctx.stop_at) => None,
                m = ws.next() => Some(m),
            };
            let Some(msg) = msg else {
                // The step is over: say goodbye properly, but never wait long for it.
                let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
                return rec;
            };
            match msg {
                Some(Ok(Message::Text(t))) => match wire::parse_head(t.as_bytes()) {
                    Ok(h) => {
                        setup.settle(&mut rec);
                        rec.check_epoch(h.epoch);
                        if h.kind == MessageType::Event {
                            ctx.record_delivery(&mut rec, h.seq, h.ts_us);
                        } else {
                            ctx.record_held(&mut rec, h.seq);
                        }
                        last_seq = Some(h.seq);
                    }
                    Err(e) => break Failure::protocol(e),
                },
                Some(Ok(Message::Close(frame))) => break closed(frame),
                None => break Failure::new(ErrorKind::Reset, "the socket ended without a close frame"),
                // Pings are answered by tungstenite as it reads.
                Some(Ok(_)) => {}
                Some(Err(e)) => break failure(e),
            }
        };
        let _ = ws.flush().await;
        drop(socket);
        if !reconnect.lost(ctx, &mut rec, &ended).await {
            break;
        }
    }
    rec
}

/// The server closed the socket (with 1001 when it shuts down).
fn closed(frame: Option<CloseFrame>) -> Failure {
    let why = match frame {
        Some(f) => format!("the server closed the socket ({} {})", u16::from(f.code), f.reason),
        None => "the server closed the socket".to_string(),
    };
    Failure::new(ErrorKind::Reset, why)
}

/// Why an HTTP/1.1 upgrade failed: the status it was answered with, or the error.
pub(super) fn handshake_failure(e: WsError) -> Failure {
    match e {
        WsError::Http(resp) => {
            let status = resp.status().as_u16();
            Failure::status(status)
                .unwrap_or_else(|| Failure::protocol(format!("the upgrade was answered {status}")))
        }
        e => failure(e),
    }
}

fn failure(e: WsError) -> Failure {
    let kind = match &e {
        WsError::Io(io) => ErrorKind::of_io(io),
        WsError::ConnectionClosed | WsError::AlreadyClosed => ErrorKind::Reset,
        // The TCP connection ended without a close frame: the server went away.
        WsError::Protocol(
            tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => ErrorKind::Reset,
        _ => ErrorKind::Protocol,
    };
    Failure::new(kind, e)
}
