//! The WebSocket opening handshake, checked before hyper switches protocols: over HTTP/1.1
//! an Upgrade (RFC 6455 §4.2, answered 101), over HTTP/2 an extended CONNECT with `:protocol
//! websocket` (RFC 8441, answered 200; the stream then carries the frames).
//!
//! A plain GET gets 426, a malformed upgrade 400, a foreign `Origin` 403. The allowed origins
//! are: none given (non-browser clients), the server's own (Origin's host equals `Host`, or
//! `:authority` on HTTP/2), and those listed with `--allow-origin` (`*` allows any). An HTTP/2
//! stream that stops reading never stalls the socket, so its writes get their own send
//! timeout ([`SendTimeout`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::compressed::Permit;
use super::deflate;
use super::wsconn::WsConn;
use crate::app::App;
use crate::config::Config;
use crate::http::headers::has_token;
use crate::http::response::{self, Body};
use crate::net::metered::InFlight;
use crate::net::stall::SendTimeout;

/// An upgraded connection (or HTTP/2 stream) as a WebSocket stack reads and writes it.
pub type Io = SendTimeout<TokioIo<hyper::upgrade::Upgraded>>;

/// The server side of an upgraded connection (or HTTP/2 stream), without compression.
pub type Socket = WebSocketStream<Io>;

/// How long a closing handshake may take before the connection is simply dropped.
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Checks the handshake and, if it is good, answers 101 and runs `session` on the upgraded
/// socket in a task the server's shutdown waits for.
pub fn upgrade<B, F, Fut>(
    app: &Arc<App>,
    mut req: Request<B>,
    in_flight: InFlight,
    session: F,
) -> Response<Body>
where
    B: hyper::body::Body + Send + 'static,
    F: FnOnce(Arc<App>, WsConn) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut resp = match accept(&app.config, &req) {
        Ok(r) => r,
        Err(r) => return r,
    };
    // permessage-deflate (issue 13): agreed here, carried by yawc; see `deflate`.
    let agreed = deflate::agree(&app.config, req.headers()).and_then(|a| {
        let permit = if a.no_takeover { None } else { Some(Permit::take(app)?) };
        let value = HeaderValue::from_str(&a.header).ok()?;
        resp.headers_mut().insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
        Some((a, permit))
    });
    let on_upgrade = hyper::upgrade::on(&mut req);
    let cfg = ws_config(&app.config);
    let h2 = req.version() == Version::HTTP_2;
    // On HTTP/1.1 the metered socket times sends out already.
    let send_timeout = h2.then_some(app.config.send_timeout);
    let app = app.clone();
    app.shutdown.clone().spawn(async move {
        let _in_flight = in_flight;
        match on_upgrade.await {
            Ok(upgraded) => {
                let m = &app.metrics;
                if h2 {
                    m.ws_sessions_h2.inc()
                } else {
                    m.ws_sessions_h1.inc()
                };
                let io = SendTimeout::new(TokioIo::new(upgraded), send_timeout, m.clone());
                let ws = match agreed {
                    Some((a, permit)) => match deflate::wrap(&app.config, io, &a) {
                        Ok(ws) => WsConn::Deflate(Box::new(ws), permit),
                        Err(e) => return tracing::warn!(error = %e, "deflate session"),
                    },
                    None => WsConn::Plain(Box::new(
                        WebSocketStream::from_raw_socket(io, Role::Server, Some(cfg)).await,
                    )),
                };
                session(app, ws).await;
            }
            Err(e) => tracing::debug!(error = %e, "upgrade failed"),
        }
    });
    resp
}

/// The close code a receive error calls for (RFC 6455 §7.4.1), if any is worth sending.
pub fn close_code_for(e: &WsError) -> Option<CloseCode> {
    match e {
        WsError::Capacity(_) => Some(CloseCode::Size),
        WsError::Utf8(_) => Some(CloseCode::Invalid),
        WsError::Protocol(_) => Some(CloseCode::Protocol),
        _ => None,
    }
}

/// Sends a close frame and waits (bounded) for the peer's reply before dropping the socket,
/// so that the closing handshake is clean.
pub async fn close(ws: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let handshake = async {
        if ws.send(tokio_tungstenite::tungstenite::Message::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(_)) = ws.next().await {}
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, handshake).await;
}

/// Ends our side of the socket once a session is over, so that what is still buffered (the
/// reply to the client's close frame) goes out first: on HTTP/2 that is END_STREAM, where
/// just dropping the stream would reset it and could discard the reply; on HTTP/1.1 a FIN.
/// The reply can still be queued in tungstenite: a send refused after the peer's close frame
/// (an event racing it) leaves it unwritten, so flush first.
pub async fn finish(ws: &mut Socket) {
    let end = async {
        let _ = ws.flush().await;
        let _ = ws.get_mut().shutdown().await;
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, end).await;
}

/// Handles a receive error: closes with the code it calls for, or just drops.
pub async fn fail(ws: &mut Socket, e: &WsError) {
    let reason = match close_code_for(e) {
        Some(CloseCode::Size) => "message too big",
        Some(CloseCode::Invalid) => "invalid UTF-8 in a text message",
        Some(_) => "protocol error",
        None => return,
    };
    if let Some(code) = close_code_for(e) {
        close(ws, code, reason).await;
    }
}

/// Checks the handshake; on success returns the answer to send: `101 Switching Protocols` on
/// HTTP/1.1, `200` to an HTTP/2 extended CONNECT.
// Both arms are whole responses, built once per upgrade attempt: boxing the error would cost
// an allocation for nothing.
#[allow(clippy::result_large_err)]
pub fn accept<B>(config: &Config, req: &Request<B>) -> Result<Response<Body>, Response<Body>> {
    if req.version() == Version::HTTP_2 {
        return accept_h2(config, req);
    }
    let h = req.headers();
    let wants_upgrade = has_token(h, header::UPGRADE, "websocket");
    if !wants_upgrade {
        return Err(response::upgrade_required());
    }
    if !has_token(h, header::CONNECTION, "upgrade") {
        return Err(response::error(StatusCode::BAD_REQUEST, "`Connection: Upgrade` is missing"));
    }
    if h.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        let mut r = response::error(StatusCode::BAD_REQUEST, "only `Sec-WebSocket-Version: 13` is spoken");
        r.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(r);
    }
    let Some(key) = h.get(header::SEC_WEBSOCKET_KEY).filter(|k| valid_key(k.as_bytes())) else {
        return Err(response::error(
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Key` is missing or not 16 bytes in base64",
        ));
    };
    if !origin_allowed(config, h, None) {
        return Err(response::error(StatusCode::FORBIDDEN, "this Origin may not open WebSockets here"));
    }
    let mut r = Response::new(response::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let rh = r.headers_mut();
    rh.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    rh.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept = derive_accept_key(key.as_bytes());
    rh.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header"),
    );
    Ok(r)
}

/// RFC 8441 §4–5: `CONNECT` with `:protocol websocket` and version 13; no key, no accept.
#[allow(clippy::result_large_err)]
fn accept_h2<B>(config: &Config, req: &Request<B>) -> Result<Response<Body>, Response<Body>> {
    let protocol = req.extensions().get::<hyper::ext::Protocol>().map(|p| p.as_str());
    if req.method() != Method::CONNECT || protocol != Some("websocket") {
        return Err(response::error(
            StatusCode::UPGRADE_REQUIRED,
            "this is a WebSocket endpoint: over HTTP/2 send an extended CONNECT with `:protocol websocket` (RFC 8441)",
        ));
    }
    let h = req.headers();
    if h.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
        let mut r = response::error(StatusCode::BAD_REQUEST, "only `Sec-WebSocket-Version: 13` is spoken");
        r.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(r);
    }
    if !origin_allowed(config, h, req.uri().authority().map(|a| a.as_str())) {
        return Err(response::error(StatusCode::FORBIDDEN, "this Origin may not open WebSockets here"));
    }
    Ok(Response::new(response::empty()))
}

/// The tungstenite settings every server-side socket uses.
pub fn ws_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        // Write each frame at once: a stalled reader then holds one frame here, not 128 KiB.
        .write_buffer_size(0)
        .max_write_buffer_size(config.max_message_bytes.max(4096) * 4 + (1 << 20))
        .read_buffer_size(4096)
        .max_message_size(Some(config.max_message_bytes))
        .max_frame_size(Some(config.max_message_bytes))
}

/// A key is 16 random bytes in base64: 24 characters ending in `==`.
fn valid_key(k: &[u8]) -> bool {
    k.len() == 24
        && k.ends_with(b"==")
        && k[..22].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// `authority`: HTTP/2's `:authority`, which stands for `Host` there.
fn origin_allowed(config: &Config, h: &HeaderMap, authority: Option<&str>) -> bool {
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if config.allow_origin.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).or(authority).unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest).trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::get("/ws");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request")
    }

    const GOOD: [(&str, &str); 5] = [
        ("host", "127.0.0.1:8080"),
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn accepts_a_good_handshake_with_the_rfc_accept_key() {
        let r = accept(&Config::default(), &req(&GOOD)).expect("accepted");
        assert_eq!(r.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(r.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refuses_what_it_should() {
        let cfg = Config::default();
        let status =
            |h: &[(&str, &str)]| accept(&cfg, &req(h)).map(|r| r.status()).unwrap_or_else(|r| r.status());
        assert_eq!(status(&GOOD[..1]), StatusCode::UPGRADE_REQUIRED);
        let mut bad_key = GOOD.to_vec();
        bad_key[4] = ("sec-websocket-key", "short");
        assert_eq!(status(&bad_key), StatusCode::BAD_REQUEST);
        let mut v8 = GOOD.to_vec();
        v8[3] = ("sec-websocket-version", "8");
        assert_eq!(status(&v8), StatusCode::BAD_REQUEST);
        let mut same = GOOD.to_vec();
        same.push(("origin", "http://127.0.0.1:8080"));
        assert_eq!(status(&same), StatusCode::SWITCHING_PROTOCOLS);
        let mut foreign = GOOD.to_vec();
        foreign.push(("origin", "http://evil.example"));
        assert_eq!(status(&foreign), StatusCode::FORBIDDEN);
        let listed = Config { allow_origin: vec!["http://evil.example".into()], ..Config::default() };
        assert!(accept(&listed, &req(&foreign)).is_ok());
    }
}
