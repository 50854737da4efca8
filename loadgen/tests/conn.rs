//! The clients' connection path ([`Dialer`]) over real loopback sockets, against a minimal
//! hyper server that speaks HTTP/1.1 and HTTP/2, in cleartext and over TLS (rustls, a
//! certificate made here by rcgen): what each variant negotiates, which certificates are
//! trusted, and a WebSocket over an HTTP/2 extended CONNECT stream. The whole pushpull server
//! is driven over the same variants by `tests/variants.rs`.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use loadgen::client::conn::{Dialer, Endpoint, Endpoints, Tls, Trust};
use loadgen::client::http::get;
use loadgen::client::ws::config;
use loadgen::failure::ErrorKind;
use proto::{Protocol, Security, Variant};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A self-signed certificate for 127.0.0.1 and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a certificate");
    let key = PrivatePkcs8KeyDer::from(c.signing_key.serialize_der());
    (c.cert.der().clone(), key.into())
}

/// Serves every connection accepted on a loopback port: over TLS offering `alpn` if a
/// certificate is given. Each answer's body names the HTTP version the request came in; an
/// extended CONNECT for `websocket` is answered 200 and its stream sends one text message.
async fn serve(tls: Option<(CertificateDer<'static>, PrivateKeyDer<'static>, Vec<Vec<u8>>)>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("an address");
    let acceptor = tls.map(|(cert, key, alpn)| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut c = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("the certificate");
        c.alpn_protocols = alpn;
        TlsAcceptor::from(Arc::new(c))
    });
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let svc = service_fn(answer);
                let _ = match acceptor {
                    None => builder.serve_connection_with_upgrades(TokioIo::new(tcp), svc).await,
                    Some(a) => match a.accept(tcp).await {
                        Ok(tls) => builder.serve_connection_with_upgrades(TokioIo::new(tls), svc).await,
                        Err(_) => return,
                    },
                };
            });
        }
    });
    addr
}

async fn answer(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let version = format!("{:?}", req.version());
    let is_ws = req.method() == Method::CONNECT
        && req.extensions().get::<hyper::ext::Protocol>().is_some_and(|p| p.as_str() == "websocket");
    if is_ws {
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            let _ = ws.send(Message::text(format!("hello over {version}"))).await;
            let _ = ws.close(None).await;
        });
        return Ok(Response::new(Full::default()));
    }
    if let Some(key) = req.headers().get(http::header::SEC_WEBSOCKET_KEY) {
        let accept = derive_accept_key(key.as_bytes());
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            let _ = ws.send(Message::text(format!("hello over {version}"))).await;
            let _ = ws.close(None).await;
        });
        let resp = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(http::header::CONNECTION, "upgrade")
            .header(http::header::UPGRADE, "websocket")
            .header(http::header::SEC_WEBSOCKET_ACCEPT, accept)
            .body(Full::default())
            .expect("a valid answer");
        return Ok(resp);
    }
    let host = req.headers().get(http::header::HOST).map(|h| h.to_str().unwrap_or("?").to_string());
    let authority = req.uri().authority().map(|a| a.to_string());
    let body = format!("{version} host={host:?} authority={authority:?}");
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn variant(protocol: Protocol, tls: Security) -> Variant {
    Variant { protocol, tls, ..Variant::default() }
}

fn dialer(addr: SocketAddr, trust: Option<&Trust>, v: Variant) -> Dialer {
    let endpoint = Endpoint { addr, host: addr.to_string() };
    let endpoints = match trust {
        None => Endpoints { plain: Some(endpoint), tls: None },
        Some(t) => {
            let tls = Tls::new(t, &endpoint.host).expect("TLS settings");
            Endpoints { plain: None, tls: Some((endpoint, tls)) }
        }
    };
    endpoints.dialer(v).expect("a dialer for the variant")
}

async fn body_of(d: &Dialer) -> String {
    let mut conn = d.http(None).await.unwrap_or_else(|e| panic!("connects: {e}"));
    let a = conn.fetch(get(&d.host, "/x"), std::time::Duration::from_secs(5)).await.expect("answered");
    assert_eq!(a.status, StatusCode::OK);
    String::from_utf8_lossy(&a.body).into_owned()
}

fn alpn_both() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

#[tokio::test]
async fn each_variant_speaks_its_protocol_in_cleartext_and_over_tls() {
    let plain = serve(None).await;
    let h1 = body_of(&dialer(plain, None, variant(Protocol::H1, Security::Plain))).await;
    assert!(h1.starts_with("HTTP/1.1 host=Some(\"127.0.0.1:"), "{h1}");
    let h2 = body_of(&dialer(plain, None, variant(Protocol::H2, Security::Plain))).await;
    assert!(h2.starts_with("HTTP/2.0 host=None authority=Some(\"127.0.0.1:"), "h2c by prior knowledge: {h2}");

    let (cert, key) = certificate();
    let tls = serve(Some((cert.clone(), key, alpn_both()))).await;
    let trust = Trust::Roots(vec![cert]);
    let h1 = body_of(&dialer(tls, Some(&trust), variant(Protocol::H1, Security::Tls))).await;
    assert!(h1.starts_with("HTTP/1.1"), "ALPN http/1.1: {h1}");
    let h2 = body_of(&dialer(tls, Some(&trust), variant(Protocol::H2, Security::Tls))).await;
    assert!(h2.starts_with("HTTP/2.0 host=None authority=Some(\"127.0.0.1:"), "ALPN h2: {h2}");
}

#[tokio::test]
async fn a_server_that_does_not_agree_to_h2_is_an_error_not_a_silent_http1_run() {
    let (cert, key) = certificate();
    let trust = Trust::Roots(vec![cert.clone()]);
    // A server without ALPN completes the handshake; the client notices it chose nothing.
    let addr = serve(Some((cert.clone(), key.clone_key(), vec![]))).await;
    let e = dialer(addr, Some(&trust), variant(Protocol::H2, Security::Tls))
        .http(None)
        .await
        .err()
        .expect("refused");
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("asked for h2 by ALPN, the server chose nothing"), "{e}");
    // A server with ALPN but not h2 refuses the handshake itself (no_application_protocol).
    let addr = serve(Some((cert, key, vec![b"http/1.1".to_vec()]))).await;
    let e = dialer(addr, Some(&trust), variant(Protocol::H2, Security::Tls))
        .http(None)
        .await
        .err()
        .expect("refused");
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(e.to_string().contains("TLS handshake"), "{e}");
}

#[tokio::test]
async fn only_the_trusted_certificate_is_accepted_unless_insecure() {
    let (cert, key) = certificate();
    let addr = serve(Some((cert, key, alpn_both()))).await;
    let (other, _) = certificate();
    let d = dialer(addr, Some(&Trust::Roots(vec![other])), variant(Protocol::H2, Security::Tls));
    let e = d.http(None).await.err().expect("an unknown certificate is refused");
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(e.to_string().contains("TLS handshake"), "{e}");
    let h2 = body_of(&dialer(addr, Some(&Trust::Insecure), variant(Protocol::H2, Security::Tls))).await;
    assert!(h2.starts_with("HTTP/2.0"), "{h2}");
}

#[tokio::test]
async fn a_websocket_runs_over_an_h2_extended_connect_stream_and_over_h1() {
    let (cert, key) = certificate();
    let plain = serve(None).await;
    let tls = serve(Some((cert.clone(), key, alpn_both()))).await;
    let trust = Trust::Roots(vec![cert]);
    for (addr, trust, v, expect) in [
        (plain, None, variant(Protocol::H2, Security::Plain), "hello over HTTP/2.0"),
        (tls, Some(&trust), variant(Protocol::H2, Security::Tls), "hello over HTTP/2.0"),
        (tls, Some(&trust), variant(Protocol::H1, Security::Tls), "hello over HTTP/1.1"),
        (plain, None, variant(Protocol::H1, Security::Plain), "hello over HTTP/1.1"),
    ] {
        let d = dialer(addr, trust, v);
        let mut socket = d.websocket(None, "/ws", config()).await.unwrap_or_else(|e| panic!("{v}: {e}"));
        let first = tokio::time::timeout(std::time::Duration::from_secs(5), socket.ws.next()).await;
        match first {
            Ok(Some(Ok(Message::Text(t)))) => assert_eq!(t.as_str(), expect, "{v}"),
            other => panic!("{v}: expected a text message, got {other:?}"),
        }
    }
}
