//! One small interface over the two WebSocket stacks: tokio-tungstenite for plain sessions,
//! yawc for permessage-deflate ones ([`super::deflate`]).
//!
//! The sessions (`ws`, `echo`) say what to send and read what arrives; which stack carries it
//! is decided once, at the handshake. Both stacks answer pings and close frames by themselves,
//! so only data, pongs and the end of the stream reach a session.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::compressed::Permit;
use super::deflate::DeflateSocket;
use super::upgrade::{self, Socket};

/// A session's socket, on one stack or the other.
pub enum WsConn {
    Plain(Box<Socket>),
    /// Holds its compressor permit for as long as it lives (none without takeover: the
    /// pooled compressors are not the connection's).
    Deflate(Box<DeflateSocket>, Option<Permit>),
}

/// What a session is handed.
pub enum Incoming {
    Text(Bytes),
    Binary(Bytes),
    Pong,
    /// Pings and close frames, already answered by the stack.
    Control,
}

/// The peer broke the protocol or the connection; the stack has said so on the wire where
/// it should.
#[derive(Debug)]
pub struct Broken;

impl WsConn {
    pub fn is_compressed(&self) -> bool {
        matches!(self, WsConn::Deflate(..))
    }

    /// Sends one text message (compressed on a deflate session).
    pub async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), Broken> {
        match self {
            WsConn::Plain(ws) => ws.send(Message::Text(text)).await.map_err(|_| Broken),
            WsConn::Deflate(ws, _) => {
                let b: Bytes = text.into();
                ws.send(yawc::Frame::text(b)).await.map_err(|_| Broken)
            }
        }
    }

    pub async fn send_binary(&mut self, data: Bytes) -> Result<(), Broken> {
        match self {
            WsConn::Plain(ws) => ws.send(Message::Binary(data)).await.map_err(|_| Broken),
            WsConn::Deflate(ws, _) => ws.send(yawc::Frame::binary(data)).await.map_err(|_| Broken),
        }
    }

    pub async fn send_ping(&mut self, payload: &'static [u8]) -> Result<(), Broken> {
        match self {
            WsConn::Plain(ws) => {
                ws.send(Message::Ping(Bytes::from_static(payload))).await.map_err(|_| Broken)
            }
            WsConn::Deflate(ws, _) => {
                ws.send(yawc::Frame::ping(Bytes::from_static(payload))).await.map_err(|_| Broken)
            }
        }
    }

    /// The next message; `None` once the stream has ended (closed by either side), `Err`
    /// when the peer broke the protocol (a plain session then closes with the code it calls
    /// for; yawc has already sent it).
    pub async fn recv(&mut self) -> Option<Result<Incoming, Broken>> {
        match self {
            WsConn::Plain(ws) => match ws.next().await? {
                Ok(Message::Text(t)) => Some(Ok(Incoming::Text(t.into()))),
                Ok(Message::Binary(b)) => Some(Ok(Incoming::Binary(b))),
                Ok(Message::Pong(_)) => Some(Ok(Incoming::Pong)),
                Ok(_) => Some(Ok(Incoming::Control)),
                Err(e) => {
                    upgrade::fail(ws, &e).await;
                    Some(Err(Broken))
                }
            },
            WsConn::Deflate(ws, _) => match ws.next_frame().await {
                Ok(f) => {
                    let (op, _, payload) = f.into_parts();
                    Some(Ok(match op {
                        yawc::frame::OpCode::Text => Incoming::Text(payload),
                        yawc::frame::OpCode::Binary => Incoming::Binary(payload),
                        yawc::frame::OpCode::Pong => Incoming::Pong,
                        _ => Incoming::Control,
                    }))
                }
                Err(e) if e.is_closed() => None,
                Err(_) => Some(Err(Broken)),
            },
        }
    }

    /// Closes with `code` and waits (bounded) for the peer's close.
    /// Ends our side once a session is over, so that what is still buffered (the reply to
    /// the client's close frame) goes out first: END_STREAM on HTTP/2, FIN on HTTP/1.1
    /// (see [`upgrade::finish`]).
    pub async fn finish(&mut self) {
        match self {
            WsConn::Plain(ws) => upgrade::finish(ws).await,
            // yawc exposes no way to end the byte stream below it without (possibly) another
            // close frame, so its buffered frames are only flushed; see docs/compression.md.
            WsConn::Deflate(ws, _) => {
                let _ = tokio::time::timeout(upgrade::CLOSE_WAIT, ws.flush()).await;
            }
        }
    }

    pub async fn close(&mut self, code: CloseCode, reason: &'static str) {
        match self {
            WsConn::Plain(ws) => upgrade::close(ws, code, reason).await,
            WsConn::Deflate(ws, _) => {
                let frame = yawc::Frame::close(yawc::close::CloseCode::from(u16::from(code)), reason);
                let handshake = async {
                    if ws.send(frame).await.is_err() {
                        return;
                    }
                    while ws.next_frame().await.is_ok() {}
                };
                let _ = tokio::time::timeout(upgrade::CLOSE_WAIT, handshake).await;
            }
        }
    }
}
