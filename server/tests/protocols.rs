//! Every endpoint over every protocol the server speaks on its one port: HTTP/1.1 and HTTP/2
//! in the clear (h2c by prior knowledge) and under TLS (ALPN), with hyper's own clients and
//! tokio-rustls trusting the server's self-signed certificate.
//!
//! Also: WebSocket over an HTTP/2 extended CONNECT stream (RFC 8441) gap-free and closed
//! cleanly, counted as such; a TLS client that stalls in its handshake cut by the header
//! timeout; an h2 WebSocket reader that never reads cut by the send timeout; byte counts under
//! TLS at the socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use proto::metrics::{PerChannel, Single};
use proto::wire::{self, PushMessage};
use proto::{Channel, Transport};
use server::{Config, Running};
use test_support::probe::{metrics, value};
use test_support::wait::until;
use test_support::{bounded, start, within, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How a test client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire {
    H1,
    H2c,
    H1Tls,
    H2Tls,
}

const WIRES: [Wire; 4] = [Wire::H1, Wire::H2c, Wire::H1Tls, Wire::H2Tls];

impl Wire {
    fn h2(self) -> bool {
        matches!(self, Wire::H2c | Wire::H2Tls)
    }
    fn tls(self) -> bool {
        matches!(self, Wire::H1Tls | Wire::H2Tls)
    }
}

/// One connection's request sender, of either version.
enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

type Io = Box<dyn Io2>;
trait Io2: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io2 for T {}

/// A TLS client that trusts only `cert_pem`, offering `alpn`.
fn tls_client(cert_pem: &str, alpn: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("the server's PEM"))
        .expect("a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

async fn open(r: &Running, wire: Wire) -> Io {
    let tcp = within("connecting", TcpStream::connect(r.addr)).await;
    if !wire.tls() {
        return Box::new(tcp);
    }
    let tls = r.tls.as_ref().expect("a --tls server");
    let alpn: &[u8] = if wire.h2() { b"h2" } else { b"http/1.1" };
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
    let s = within("the TLS handshake", tls_client(&tls.cert_pem, alpn).connect(name, tcp)).await;
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(alpn), "ALPN picked what was offered");
    Box::new(s)
}

async fn connect(r: &Running, wire: Wire) -> Sender {
    let io = TokioIo::new(open(r, wire).await);
    if wire.h2() {
        let (send, conn) =
            within("the h2 handshake", hyper::client::conn::http2::handshake(TokioExecutor::new(), io)).await;
        tokio::spawn(conn);
        Sender::H2(send)
    } else {
        let (send, conn) = within("the h1 handshake", hyper::client::conn::http1::handshake(io)).await;
        tokio::spawn(conn.with_upgrades());
        Sender::H1(send)
    }
}

impl Sender {
    async fn send(&mut self, req: Request<Empty<Bytes>>) -> Response<Incoming> {
        match self {
            Sender::H1(s) => within("an h1 answer", s.send_request(req)).await,
            Sender::H2(s) => within("an h2 answer", s.send_request(req)).await,
        }
    }
}

fn request(addr: SocketAddr, method: Method, path: &str) -> http::request::Builder {
    Request::builder().method(method).uri(format!("http://{addr}{path}")).header("host", addr.to_string())
}

async fn exchange(s: &mut Sender, addr: SocketAddr, method: Method, path: &str) -> (Response<()>, Bytes) {
    let resp = s.send(request(addr, method, path).body(Empty::new()).expect("request")).await;
    let (parts, body) = resp.into_parts();
    let body = within("the body", body.collect()).await.to_bytes();
    (Response::from_parts(parts, ()), body)
}

async fn tls_server(cfg: Config) -> Running {
    start(Config { tls: true, ..cfg }).await
}

#[tokio::test]
async fn every_endpoint_answers_on_every_protocol() {
    let r = tls_server(Config { rate: 50.0, ..Config::ephemeral() }).await;
    for wire in WIRES {
        let mut s = connect(&r, wire).await;
        let version = if wire.h2() { Version::HTTP_2 } else { Version::HTTP_11 };
        let get = Method::GET;

        let (resp, body) = exchange(&mut s, r.addr, get.clone(), "/healthz").await;
        assert_eq!(
            (resp.status(), resp.version(), &body[..]),
            (StatusCode::OK, version, &b"ok\n"[..]),
            "{wire:?}"
        );

        let (resp, _) = exchange(&mut s, r.addr, get.clone(), "/api/scores").await;
        assert_eq!(resp.status(), StatusCode::OK, "{wire:?}");
        let etag = resp.headers()["etag"].to_str().expect("etag").to_owned();
        // Ask again with the ETag at once: 304 unless an event came in between.
        let req =
            request(r.addr, get.clone(), "/api/scores").header("if-none-match", &etag).body(Empty::new());
        let resp = s.send(req.expect("request")).await;
        assert!(matches!(resp.status(), StatusCode::NOT_MODIFIED | StatusCode::OK), "{wire:?}");

        let (resp, body) = exchange(&mut s, r.addr, get.clone(), "/api/events?since=0").await;
        assert_eq!(resp.status(), StatusCode::OK, "{wire:?}");
        let page: wire::EventsPage = serde_json::from_slice(&body).expect("an events page");

        // A long poll from the newest cursor is answered by the next event.
        let (resp, body) =
            exchange(&mut s, r.addr, get.clone(), &format!("/api/events?since={}&wait=10", page.next)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{wire:?}");
        let held: wire::EventsPage = serde_json::from_slice(&body).expect("an events page");
        assert!(
            held.events.first().is_some_and(|e| e.seq > page.next),
            "{wire:?}: the long poll got a later event"
        );

        // SSE: one response (one stream on h2) whose frames carry events.
        let resp = s.send(request(r.addr, get.clone(), "/sse").body(Empty::new()).expect("request")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{wire:?}");
        assert_eq!(resp.headers()["content-type"], "text/event-stream", "{wire:?}");
        let mut body = resp.into_body();
        let mut text = String::new();
        // The first block may be `retry:` alone; read to the end of the first `data:` block.
        while !text.find("data: ").is_some_and(|i| text[i..].contains("\n\n")) {
            let frame = bounded("an SSE frame", body.frame()).await.expect("open").expect("a frame");
            if let Ok(data) = frame.into_data() {
                text.push_str(std::str::from_utf8(&data).expect("UTF-8"));
            }
        }
        drop(body);
        if !wire.h2() {
            // An HTTP/1.1 connection dies with an unfinished response; h2 just resets the stream.
            s = connect(&r, wire).await;
        }

        for (method, path, status) in [
            (Method::GET, "/ws", StatusCode::UPGRADE_REQUIRED),
            (Method::POST, "/api/scores", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/nowhere", StatusCode::NOT_FOUND),
            (Method::GET, "/api/events?since=x", StatusCode::BAD_REQUEST),
        ] {
            // h1 would read a POST's body; none is sent.
            let (resp, _) = exchange(&mut s, r.addr, method.clone(), path).await;
            assert_eq!(resp.status(), status, "{wire:?} {method} {path}");
        }
        let (resp, body) = exchange(&mut s, r.addr, get.clone(), "/metrics").await;
        assert_eq!(resp.status(), StatusCode::OK, "{wire:?}");
        assert!(body.starts_with(b"# HELP"), "{wire:?}");
    }
    // One connection per wire carried several channels: on h2 that is counted as shared.
    let m = metrics(r.addr).await;
    let shared = m.channel(PerChannel::ConnectionsOpened, Channel::Shared).expect("shared");
    assert_eq!(shared, 2.0, "the two h2 connections, and only they, carried more than one channel");
    assert!(m.channel(PerChannel::BytesSent, Channel::Shared).expect("shared") > 0.0);
    r.shutdown().await;
}

/// Opens `/ws?since=0` (or another path) over HTTP/2 with an extended CONNECT.
async fn ws_h2(r: &Running, wire: Wire, path: &str) -> WebSocketStream<TokioIo<hyper::upgrade::Upgraded>> {
    let Sender::H2(mut send) = connect(r, wire).await else { panic!("{wire:?} is not h2") };
    let mut req = request(r.addr, Method::CONNECT, path)
        .header("sec-websocket-version", "13")
        .body(Empty::new())
        .expect("request");
    req.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"));
    let resp = within("the CONNECT answer", send.send_request(req)).await;
    assert_eq!(resp.status(), StatusCode::OK, "RFC 8441: 200 opens the stream");
    let upgraded = within("the upgraded stream", hyper::upgrade::on(resp)).await;
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await
}

#[tokio::test]
async fn websocket_over_h2_extended_connect_is_gap_free_and_closes_cleanly() {
    let r = tls_server(Config { rate: 200.0, ..Config::ephemeral() }).await;
    for wire in [Wire::H2c, Wire::H2Tls] {
        let mut ws = ws_h2(&r, wire, "/ws").await;
        let first = bounded("the snapshot", ws.next()).await.expect("open").expect("frame");
        let Message::Text(t) = first else { panic!("{first:?}") };
        let PushMessage::Snapshot(snap) = wire::parse_push(t.as_bytes()).expect("push") else {
            panic!("the first message is the snapshot")
        };
        let mut last = snap.seq;
        while last < snap.seq + 50 {
            match bounded("an event", ws.next()).await.expect("open").expect("frame") {
                Message::Text(t) => match wire::parse_push(t.as_bytes()).expect("push") {
                    PushMessage::Event(e) => {
                        assert_eq!(e.seq, last + 1, "{wire:?}: no gap, no repeat");
                        last = e.seq;
                    }
                    PushMessage::Snapshot(_) => panic!("{wire:?}: resynced, so it fell behind"),
                },
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("{wire:?}: unexpected {other:?}"),
            }
        }
        within("closing", ws.close(None)).await;
        // The server answers the close; the stream then ends.
        loop {
            match bounded("the close reply", ws.next()).await {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{wire:?}: not a clean close: {e}"),
            }
        }
    }
    // The echo socket too, over h2 in the clear.
    let mut echo = ws_h2(&r, Wire::H2c, "/ws/echo").await;
    within("sending", echo.send(Message::text("over h2"))).await;
    let back = bounded("the echo", echo.next()).await.expect("open").expect("frame");
    assert_eq!(back, Message::text("over h2"));
    drop(echo);

    let m = metrics(r.addr).await;
    assert_eq!((value(&m, Single::WsSessionsH2), value(&m, Single::WsSessionsH1)), (3.0, 0.0));
    assert_eq!(m.channel(PerChannel::Requests, Transport::Ws).expect("ws"), 2.0);
    r.shutdown().await;
}

#[tokio::test]
async fn websocket_over_http1_is_counted_as_h1() {
    let r = start(Config::ephemeral()).await;
    let url = test_support::probe::ws_url(r.addr, "/ws");
    let (mut ws, _) = within("the h1 upgrade", tokio_tungstenite::connect_async(url)).await;
    bounded("the snapshot", ws.next()).await.expect("open").expect("frame");
    within("closing", ws.close(None)).await;
    let m = metrics(r.addr).await;
    assert_eq!((value(&m, Single::WsSessionsH1), value(&m, Single::WsSessionsH2)), (1.0, 0.0));
    r.shutdown().await;
}

#[tokio::test]
async fn an_h2_extended_connect_is_checked_like_an_upgrade() {
    let r = start(Config::ephemeral()).await;
    let Sender::H2(mut send) = connect(&r, Wire::H2c).await else { unreachable!() };
    let cases = [
        (Some("websocket"), "13", None, StatusCode::OK),
        (Some("websocket"), "8", None, StatusCode::BAD_REQUEST),
        (Some("websocket"), "13", Some("http://evil.example"), StatusCode::FORBIDDEN),
        (Some("websocket"), "13", Some(&*format!("http://{}", r.addr)), StatusCode::OK),
    ];
    for (protocol, version, origin, status) in cases {
        let mut b = request(r.addr, Method::CONNECT, "/ws/echo").header("sec-websocket-version", version);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        let mut req = b.body(Empty::new()).expect("request");
        if let Some(p) = protocol {
            req.extensions_mut().insert(hyper::ext::Protocol::from_static(p));
        }
        let resp = within("an answer", send.send_request(req)).await;
        assert_eq!(resp.status(), status, "{protocol:?} {version} {origin:?}");
    }
    r.shutdown().await;
}

#[tokio::test]
async fn a_tls_handshake_that_stalls_is_cut_by_the_header_timeout() {
    let r = tls_server(Config { header_timeout: Duration::from_millis(300), ..Config::ephemeral() }).await;
    // The first bytes of a ClientHello record, and then nothing.
    let mut stalled = within("connecting", TcpStream::connect(r.addr)).await;
    within("writing", stalled.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])).await;
    // Connected but silent: not even the first byte that tells TLS from cleartext.
    let mut silent = within("connecting", TcpStream::connect(r.addr)).await;
    for (name, s) in [("stalled", &mut stalled), ("silent", &mut silent)] {
        let mut buf = [0u8; 64];
        // The server closes: end of stream (or a reset); nothing is answered.
        let n = tokio::time::timeout(LIMIT, s.read(&mut buf)).await.expect("cut in time").unwrap_or(0);
        assert_eq!(n, 0, "{name}: closed without an answer");
    }
    until("both timeouts are counted", LIMIT, || async {
        value(&metrics(r.addr).await, Single::HeaderTimeouts) == 2.0
    })
    .await;
    r.shutdown().await;
}

#[tokio::test]
async fn tls_bytes_are_counted_at_the_socket_handshake_included() {
    let r = tls_server(Config::ephemeral()).await;
    let mut plain = connect(&r, Wire::H2c).await;
    exchange(&mut plain, r.addr, Method::GET, "/api/scores").await;
    drop(plain);
    let m = metrics(r.addr).await;
    let clear = m.channel(PerChannel::BytesSent, Transport::ShortPoll).expect("counted");
    let mut tls = connect(&r, Wire::H2Tls).await;
    exchange(&mut tls, r.addr, Method::GET, "/api/scores").await;
    drop(tls);
    let m = metrics(r.addr).await;
    let with_tls = m.channel(PerChannel::BytesSent, Transport::ShortPoll).expect("counted") - clear;
    // The same answer under TLS also carries the server's handshake (its certificate alone
    // is several hundred bytes) and record overhead.
    assert!(with_tls > clear + 300.0, "TLS {with_tls} B against cleartext {clear} B");
    r.shutdown().await;
}

#[tokio::test]
async fn an_h2_websocket_reader_that_never_reads_is_cut_by_the_send_timeout() {
    let cfg = Config {
        rate: 400.0,
        payload_bytes: 2048,
        send_timeout: Duration::from_millis(500),
        ..Config::ephemeral()
    };
    let r = start(cfg).await;
    let ws = ws_h2(&r, Wire::H2c, "/ws").await;
    until("the stalled h2 stream is dropped", LIMIT, || async {
        value(&metrics(r.addr).await, Single::SlowConsumersDropped) >= 1.0
    })
    .await;
    drop(ws);
    r.shutdown().await;
}

#[tokio::test]
async fn shutdown_answers_h2_long_polls_and_closes_h2_websockets_with_1001() {
    let r = tls_server(Config { rate: 0.0, ..Config::ephemeral() }).await;
    let mut ws = ws_h2(&r, Wire::H2Tls, "/ws").await;
    bounded("the snapshot", ws.next()).await.expect("open").expect("frame");
    let mut s = connect(&r, Wire::H2c).await;
    let addr = r.addr;
    let held = tokio::spawn(async move {
        exchange(&mut s, addr, Method::GET, "/api/events?since=0&wait=30").await.0.status()
    });
    until("the long poll is held", LIMIT, || async {
        metrics(addr).await.channel(PerChannel::Requests, Transport::LongPoll) == Ok(1.0)
    })
    .await;

    let stopping = tokio::spawn(r.shutdown());
    let close = within("the close frame", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return Ok::<_, ()>(f.map(|f| f.code)),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(close, Some(CloseCode::Away));
    let status = within("the long poll's answer", held).await;
    assert_eq!(status, StatusCode::OK);
    assert!(within("the shutdown", stopping).await, "every task ended");
}

#[tokio::test]
async fn the_demo_page_is_told_which_protocol_each_panel_used() {
    let r = tls_server(Config::ephemeral()).await;
    // A browser over HTTPS: one h2 connection for the polls, the page's stats and the socket.
    let _ws = ws_h2(&r, Wire::H2Tls, "/ws?page=p1").await;
    let mut s = connect(&r, Wire::H2Tls).await;
    exchange(&mut s, r.addr, Method::GET, "/api/scores?page=p1").await;
    let _sse =
        s.send(request(r.addr, Method::GET, "/sse?page=p1").body(Empty::new()).expect("request")).await;
    // And an HTTP/1.1 page beside it.
    let mut h1 = connect(&r, Wire::H1).await;
    exchange(&mut h1, r.addr, Method::GET, "/api/scores?page=p2").await;

    // (`other`: the /api/page request itself, asked over HTTP/1.1 here.)
    let page = |id: &'static str| {
        let addr = r.addr;
        async move {
            let mut s = connect_plain(addr).await;
            let (_, body) = exchange(&mut s, addr, Method::GET, &format!("/api/page?page={id}")).await;
            serde_json::from_slice::<serde_json::Value>(&body).expect("JSON")
        }
    };
    let p1 = page("p1").await;
    assert_eq!(
        p1["protocols"],
        serde_json::json!({"other": "h1", "short_poll": "h2", "sse": "h2", "ws": "h2"}),
        "{p1}"
    );
    assert_eq!(p1["shared_connection"], true, "the poll and the SSE stream shared one h2 connection");
    let p2 = page("p2").await;
    assert_eq!(p2["protocols"], serde_json::json!({"other": "h1", "short_poll": "h1"}), "{p2}");
    assert_eq!(p2["shared_connection"], false);
    r.shutdown().await;
}

/// A fresh HTTP/1.1 connection in the clear.
async fn connect_plain(addr: SocketAddr) -> Sender {
    let tcp = within("connecting", TcpStream::connect(addr)).await;
    let (send, conn) =
        within("the h1 handshake", hyper::client::conn::http1::handshake(TokioIo::new(tcp))).await;
    tokio::spawn(conn);
    Sender::H1(send)
}
