//! WebSocket closing handshakes over real sockets: a client's close is answered and the TCP
//! connection ends; an oversized message closes with 1009, invalid UTF-8 with 1007, an
//! unmasked client frame with 1002 (RFC 6455 §5.1, §7.4.1). Frames a real client would never
//! send are written by hand on a raw `TcpStream` ([`common::RawWs`]).

mod common;

use common::{assert_healthy, RawWs, LIMIT, OP_TEXT};
use futures_util::{SinkExt, StreamExt};
use server::{Config, Running};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// A feed at a modest rate, so the health check's fresh client sees an event, and a small
/// inbound limit so that "oversized" is cheap to send.
async fn server() -> Running {
    common::start(Config { rate: 20.0, max_message_bytes: 1024, ..Config::ephemeral() }).await
}

#[tokio::test]
async fn feed_socket_answers_a_close_and_ends_the_tcp_connection() {
    let r = server().await;
    let mut ws = RawWs::connect(r.addr, "/ws").await;
    let first = ws.read_frame().await.expect("the snapshot");
    assert_eq!(first.opcode, OP_TEXT);
    ws.send_close(1000).await;
    assert_eq!(ws.read_close().await, Some(1000), "the server echoes the close code");
    ws.expect_tcp_end().await;
    assert_healthy(r.addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn feed_socket_closes_cleanly_with_a_real_client() {
    let r = server().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(common::ws_url(r.addr, "/ws")).await.expect("connect");
    let frame = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    timeout(LIMIT, ws.close(Some(frame))).await.expect("close sent in time").expect("close sent");
    let reply = timeout(LIMIT, async {
        while let Some(m) = ws.next().await {
            if let Message::Close(c) = m.expect("a frame") {
                return c;
            }
        }
        panic!("the stream ended without the server's close frame");
    })
    .await
    .expect("the server's close in time");
    assert_eq!(reply.map(|c| c.code), Some(CloseCode::Normal));
    let end = timeout(LIMIT, ws.next()).await.expect("the stream ends in time");
    assert!(end.is_none(), "nothing after the closing handshake: {end:?}");
    assert_healthy(r.addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn echo_socket_echoes_then_closes_cleanly() {
    let r = server().await;
    let mut ws = RawWs::connect(r.addr, "/ws/echo").await;
    ws.send(OP_TEXT, b"hello", true).await;
    let echo = ws.read_frame().await.expect("the echo");
    assert_eq!((echo.opcode, echo.payload.as_slice()), (OP_TEXT, &b"hello"[..]));
    ws.send_close(1000).await;
    assert_eq!(ws.read_close().await, Some(1000));
    ws.expect_tcp_end().await;
    assert_healthy(r.addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn oversized_message_closes_1009() {
    let r = server().await;
    // A real client on the echo socket: 2 KiB against a 1 KiB limit.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(common::ws_url(r.addr, "/ws/echo")).await.expect("connect");
    ws.send(Message::text("x".repeat(2048))).await.expect("send");
    let code = timeout(LIMIT, async {
        while let Some(m) = ws.next().await {
            if let Ok(Message::Close(c)) = m {
                return c.map(|c| c.code);
            }
        }
        None
    })
    .await
    .expect("a close in time");
    assert_eq!(code, Some(CloseCode::Size));

    // The feed socket too, and its closing handshake completes.
    let mut raw = RawWs::connect(r.addr, "/ws").await;
    raw.send(OP_TEXT, &[b'y'; 2048], true).await;
    assert_eq!(raw.read_close().await, Some(1009));
    raw.send_close(1009).await;
    raw.expect_tcp_end().await;
    assert_healthy(r.addr).await;
    assert!(r.shutdown().await);
}

/// Sends one bad text frame on each WebSocket path and expects the server's close with
/// `code`, then the end of the TCP connection (after answering the close, if `reply`).
async fn bad_text_closes(payload: &[u8], masked: bool, code: u16, reply: bool) {
    let r = server().await;
    for path in ["/ws/echo", "/ws"] {
        let mut ws = RawWs::connect(r.addr, path).await;
        ws.send(OP_TEXT, payload, masked).await;
        assert_eq!(ws.read_close().await, Some(code), "{path}");
        if reply {
            ws.send_close(code).await;
        }
        ws.expect_tcp_end().await;
    }
    assert_healthy(r.addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn invalid_utf8_text_closes_1007() {
    // "κόσμε" followed by an encoded surrogate (ED A0 80), which UTF-8 forbids.
    let bad = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80];
    bad_text_closes(&bad, true, 1007, true).await;
}

#[tokio::test]
async fn unmasked_client_frame_closes_1002() {
    bad_text_closes(b"not masked", false, 1002, false).await;
}
