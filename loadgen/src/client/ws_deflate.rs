//! The WebSocket client with compression on: it offers exactly what a browser offers
//! (`permessage-deflate; client_max_window_bits`) and speaks through yawc, since
//! tokio-tungstenite has no permessage-deflate. The handshake is hyper's, over our own TCP
//! connection, so the offer is byte for byte the browser's and the source address is ours.
//! Everything after the handshake is what [`super::ws`] does: record, resume with `?since=`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use yawc::frame::OpCode;
use yawc::{Options, Role, WebSocket};

use super::conn::counts_of;
use super::counted::{Counts, Setup};
use super::http::Conn;
use super::{Attempt, Reconnect, StepCtx};
use crate::failure::{ErrorKind, Failure};
use crate::recorder::ClientRecord;
use proto::encoding::BROWSER_WS_EXTENSIONS;
use proto::wire::{self, MessageType};
use proto::Protocol;

const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

type Socket = WebSocket<TokioIo<hyper::upgrade::Upgraded>>;

/// Opens `/ws` (resuming after `since`) with the browser's deflate offer, over the step's
/// protocol: an HTTP/1.1 Upgrade, or an HTTP/2 extended CONNECT (RFC 8441) whose connection
/// is handed back to be kept while the socket lives.
pub async fn open(
    ctx: &StepCtx,
    i: usize,
    since: Option<u64>,
) -> Result<(Socket, Option<Conn>, Arc<Counts>), Failure> {
    let path = match since {
        Some(s) => format!("/ws?since={s}"),
        None => "/ws".to_string(),
    };
    let dialer = ctx.dialer(i);
    let hs = async {
        let (upgraded, ext, conn, counts) = match dialer.protocol {
            Protocol::H1 => {
                let io = dialer.io(ctx.source(i)).await?;
                let counts = counts_of(&io);
                let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                    .await
                    .map_err(|e| Failure::new(ErrorKind::Connect, e))?;
                tokio::spawn(async move {
                    let _ = conn.with_upgrades().await;
                });
                let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
                let req = Request::get(path)
                    .header(header::HOST, &dialer.host)
                    .header(header::UPGRADE, "websocket")
                    .header(header::CONNECTION, "Upgrade")
                    .header(header::SEC_WEBSOCKET_VERSION, "13")
                    .header(header::SEC_WEBSOCKET_KEY, &key)
                    .header(header::SEC_WEBSOCKET_EXTENSIONS, BROWSER_WS_EXTENSIONS)
                    .body(Empty::<Bytes>::new())
                    .expect("a valid request");
                let mut resp = send.send_request(req).await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                expect_status(resp.status(), StatusCode::SWITCHING_PROTOCOLS)?;
                let ext = extensions(resp.headers());
                let upgraded =
                    hyper::upgrade::on(&mut resp).await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                (upgraded, ext, None, counts)
            }
            Protocol::H2 => {
                let mut conn = dialer.http(ctx.source(i)).await?;
                let mut req = Request::builder()
                    .method(Method::CONNECT)
                    .uri(path)
                    .header(header::HOST, &dialer.host)
                    .header(header::SEC_WEBSOCKET_VERSION, "13")
                    .header(header::SEC_WEBSOCKET_EXTENSIONS, BROWSER_WS_EXTENSIONS)
                    .body(Empty::<Bytes>::new())
                    .map_err(Failure::protocol)?;
                req.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"));
                let resp = conn.send(req, HANDSHAKE_LIMIT).await?;
                expect_status(resp.status(), StatusCode::OK)?;
                let ext = extensions(resp.headers());
                let upgraded =
                    hyper::upgrade::on(resp).await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                let counts = conn.counts();
                (upgraded, ext, Some(conn), counts)
            }
        };
        let opts =
            Options::default().with_utf8().with_read_buffer_capacity(4096).with_write_buffer_capacity(1024);
        let opts = if ext.is_some() { opts.with_low_latency_compression() } else { opts };
        let ws = WebSocket::from_stream_with_extensions(
            TokioIo::new(upgraded),
            Role::Client,
            ext.as_deref(),
            opts,
        )
        .map_err(Failure::protocol)?;
        Ok((ws, conn, counts))
    };
    tokio::time::timeout(HANDSHAKE_LIMIT, hs)
        .await
        .map_err(|_| Failure::timeout("the WebSocket handshake", HANDSHAKE_LIMIT))?
}

/// The handshake's answer must be `want` (101 on HTTP/1.1, 200 on HTTP/2).
fn expect_status(got: StatusCode, want: StatusCode) -> Result<(), Failure> {
    if got == want {
        return Ok(());
    }
    let status = got.as_u16();
    Err(Failure::status(status)
        .unwrap_or_else(|| Failure::protocol(format!("the upgrade was answered {status}"))))
}

/// The extensions the server agreed to.
fn extensions(h: &http::HeaderMap) -> Option<String> {
    h.get(header::SEC_WEBSOCKET_EXTENSIONS).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

pub async fn run(ctx: &StepCtx, i: usize) -> ClientRecord {
    let mut rec = ClientRecord::new(i);
    let mut last_seq: Option<u64> = None;
    let mut reconnect = Reconnect::default();
    while !ctx.done() {
        let (mut ws, conn, mut setup) = match reconnect.open(ctx, &mut rec, open(ctx, i, last_seq)).await {
            Attempt::Open((ws, conn, counts)) => (ws, conn, Setup::new(counts)),
            Attempt::Retry => continue,
            Attempt::Stop => break,
        };
        let ended = loop {
            let frame = tokio::select! {
                _ = ctx.cancel.cancelled() => None,
                _ = tokio::time::sleep_until(ctx.stop_at) => None,
                f = ws.next_frame() => Some(f),
            };
            let Some(frame) = frame else {
                let close = yawc::Frame::close(yawc::close::CloseCode::Normal, b"");
                let _ = tokio::time::timeout(
                    Duration::from_millis(500),
                    futures_util::SinkExt::send(&mut ws, close),
                )
                .await;
                return rec;
            };
            match frame {
                Ok(f) if f.opcode() == OpCode::Text => match wire::parse_head(f.payload()) {
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
                Ok(f) if f.opcode() == OpCode::Close => {
                    let code = f.close_code().map_or(0, u16::from);
                    break Failure::new(ErrorKind::Reset, format!("the server closed the socket ({code})"));
                }
                // Pings are answered by yawc as it reads.
                Ok(_) => {}
                Err(e) if e.is_closed() => break Failure::new(ErrorKind::Reset, "the socket ended"),
                Err(e) => {
                    let kind = e.as_io_error().map_or(ErrorKind::Protocol, ErrorKind::of_io);
                    break Failure::new(kind, e);
                }
            }
        };
        drop(ws);
        drop(conn);
        if !reconnect.lost(ctx, &mut rec, &ended).await {
            break;
        }
    }
    rec
}

/// Whether `v` (a `Sec-WebSocket-Extensions` answer) agreed to permessage-deflate.
pub fn agreed(v: Option<&HeaderValue>) -> bool {
    v.and_then(|v| v.to_str().ok())
        .is_some_and(|s| s.trim_start().starts_with(proto::encoding::PERMESSAGE_DEFLATE))
}
