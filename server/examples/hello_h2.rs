//! The reference for `/api/scores` over HTTP/2: the smallest hyper 1.x HTTP/2 server, one
//! fixed "Hello, World!" body (or, on `/sized`, a fixed body of BODY_BYTES, the size of
//! pushpull's snapshot, so that the 200 path can be compared with the same bytes), h2c (prior knowledge) on one port and h2 over TLS (rustls on
//! ring, a self-signed rcgen certificate, ALPN `h2`) on another, on the same runtime settings
//! as pushpull's server.
//!
//! `cargo run --release -p server --example hello_h2 -- 127.0.0.1:8082 127.0.0.1:8083 [BODY_BYTES]`; see
//! BENCHMARKS.md and scripts/bench-h2.sh.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

async fn serve<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: I, sized: Bytes) {
    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
        let body =
            if req.uri().path() == "/sized" { sized.clone() } else { Bytes::from_static(b"Hello, World!") };
        async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
    });
    let _ = http2::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(io), svc).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let h2c_addr = args.next().unwrap_or_else(|| "127.0.0.1:8082".into());
    let tls_addr = args.next().unwrap_or_else(|| "127.0.0.1:8083".into());
    let body_bytes: usize = args.next().map_or(Ok(1014), |n| n.parse())?;
    let sized = Bytes::from(vec![b'x'; body_bytes]);
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let mut cfg =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));

    let h2c = TcpListener::bind(&h2c_addr).await?;
    let tls = TcpListener::bind(&tls_addr).await?;
    println!("hello_h2 listening on http://{} and https://{}", h2c.local_addr()?, tls.local_addr()?);
    let tls_sized = sized.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = tls.accept().await {
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let sized = tls_sized.clone();
            tokio::spawn(async move {
                if let Ok(s) = acceptor.accept(tcp).await {
                    serve(s, sized).await;
                }
            });
        }
    });
    loop {
        let (tcp, _) = h2c.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(serve(tcp, sized.clone()));
    }
}
