//! How a client reaches the server for a step's [`Variant`]: TCP (with the source-address
//! spread), then TLS when the step runs over HTTPS, then HTTP/1.1 or HTTP/2. The only place that
//! looks at the protocol and TLS; every client opens its connection through a [`Dialer`].
//!
//! Over TLS, ALPN asks for exactly the step's protocol and a server that picks another is an
//! error, not a silent HTTP/1.1 run. TLS session resumption is off: every connection pays a
//! full handshake, as a new visitor's browser does, so connect times are not flattered by a
//! ticket another simulated client earned.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Empty;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::DuplexStream;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::either::Either;

use super::counted::{Counted, Counts};
use super::http::{connect_tcp, Conn, CONNECT_TIMEOUT};
use crate::delay_line::DelayLine;
use crate::failure::{ErrorKind, Failure};
use proto::{Protocol, Security, Variant};

/// A TCP connection as the client sees it: the socket, or the socket behind a
/// [`DelayLine`] (`--rtt`), its payload counted.
pub type Tcp = Counted<Either<TcpStream, DuplexStream>>;

/// A connection's byte stream: TCP, or TLS over TCP.
pub type Io = Either<Tcp, TlsStream<Tcp>>;

/// Whose certificate the clients accept.
#[derive(Debug, Clone)]
pub enum Trust {
    /// These certificates (the embedded server's own, or `--ca`) as roots; the server's name
    /// is checked against the certificate.
    Roots(Vec<CertificateDer<'static>>),
    /// Any certificate (`--insecure`, loopback only): the handshake's signatures are still
    /// checked, the chain and name are not.
    Insecure,
}

impl Trust {
    /// The certificates of a PEM file.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Trust, String> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        Ok(Trust::Roots(certs))
    }

    /// The certificates of PEM text.
    pub fn from_pem(pem: &[u8]) -> Result<Trust, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the server's certificate: {e}"))?;
        if certs.is_empty() {
            return Err("the server's certificate holds no PEM certificate".into());
        }
        Ok(Trust::Roots(certs))
    }
}

/// The TLS client settings of a run, one per protocol (ALPN differs).
#[derive(Clone)]
pub struct Tls {
    h1: TlsConnector,
    h2: TlsConnector,
    /// The name the certificate must carry: the target's host.
    name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Tls {
    /// Clients that trust `trust` and expect the server to be called `host` (`HOST` or
    /// `HOST:PORT`; an IP address is checked against the certificate's IP names).
    pub fn new(trust: &Trust, host: &str) -> Result<Tls, String> {
        let bare = host_without_port(host);
        let name = ServerName::try_from(bare.to_string())
            .map_err(|e| format!("{bare} cannot be a TLS server name: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("the TLS settings are refused: {e}"))?;
        let base = match trust {
            Trust::Roots(certs) => {
                let mut roots = RootCertStore::empty();
                for c in certs {
                    roots.add(c.clone()).map_err(|e| format!("a certificate cannot be trusted: {e}"))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                    provider.signature_verification_algorithms,
                )))
                .with_no_client_auth(),
        };
        let connector = |p: Protocol| {
            let mut c = base.clone();
            c.alpn_protocols = vec![p.alpn().to_vec()];
            c.resumption = Resumption::disabled();
            TlsConnector::from(Arc::new(c))
        };
        Ok(Tls { h1: connector(Protocol::H1), h2: connector(Protocol::H2), name })
    }
}

/// `HOST:PORT`, `[V6]:PORT` or `HOST` → `HOST` (brackets dropped).
fn host_without_port(host: &str) -> &str {
    let h = match host.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']')) => h,
        _ => host,
    };
    h.trim_start_matches('[').trim_end_matches(']')
}

/// Where the server listens: a cleartext address, a TLS address, or both (the embedded server
/// with TLS), and the TLS settings for the latter.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub plain: Option<Endpoint>,
    pub tls: Option<(Endpoint, Tls)>,
}

/// One listening address and the `Host` (`:authority`) clients send it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub host: String,
}

impl Endpoints {
    /// The dialer for steps of `variant`, or why the server cannot run them.
    pub fn dialer(&self, variant: Variant) -> Result<Dialer, String> {
        match variant.tls {
            Security::Plain => {
                let e =
                    self.plain.as_ref().ok_or("the server has no cleartext address (an https:// target)")?;
                Ok(Dialer {
                    addr: e.addr,
                    host: e.host.clone(),
                    protocol: variant.protocol,
                    tls: None,
                    delay: None,
                })
            }
            Security::Tls => {
                let (e, tls) =
                    self.tls.as_ref().ok_or("the server has no TLS address (an http:// target)")?;
                let tls = Some((variant_connector(tls, variant.protocol), tls.name.clone()));
                Ok(Dialer {
                    addr: e.addr,
                    host: e.host.clone(),
                    protocol: variant.protocol,
                    tls,
                    delay: None,
                })
            }
        }
    }

    /// Where to read `/metrics` and the feed's times: cleartext HTTP/1.1 if the server has it.
    pub fn home(&self) -> Dialer {
        let security = if self.plain.is_some() { Security::Plain } else { Security::Tls };
        let v = Variant { protocol: Protocol::H1, tls: security, ..Variant::default() };
        self.dialer(v).expect("the endpoint exists")
    }
}

fn variant_connector(tls: &Tls, p: Protocol) -> TlsConnector {
    match p {
        Protocol::H1 => tls.h1.clone(),
        Protocol::H2 => tls.h2.clone(),
    }
}

/// Opens connections of one protocol, in cleartext or over TLS, to one address.
#[derive(Clone)]
pub struct Dialer {
    pub addr: SocketAddr,
    /// `Host` header (HTTP/1.1) or `:authority` (HTTP/2).
    pub host: String,
    pub protocol: Protocol,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// Holds every connection's bytes back by half a round trip each way (`--rtt` without
    /// netem).
    delay: Option<DelayLine>,
}

impl Dialer {
    /// This dialer with every connection behind `delay` (or none).
    pub fn with_delay(self, delay: Option<DelayLine>) -> Dialer {
        Dialer { delay, ..self }
    }

    /// HTTP/1.1 in cleartext to `addr`, called `host`.
    pub fn plain_h1(addr: SocketAddr, host: String) -> Dialer {
        Dialer { addr, host, protocol: Protocol::H1, tls: None, delay: None }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// `ws` or `wss`.
    pub fn ws_scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "wss"
        } else {
            "ws"
        }
    }

    /// A byte stream to the server: TCP from `source` (if given), then the TLS handshake, each
    /// bounded by [`CONNECT_TIMEOUT`]. Over TLS the server must agree to the dialer's protocol.
    pub async fn io(&self, source: Option<IpAddr>) -> Result<Io, Failure> {
        let tcp = connect_tcp(self.addr, source).await?;
        let tcp = Counted::new(match self.delay {
            Some(line) => Either::Right(line.wrap(tcp).await),
            None => Either::Left(tcp),
        });
        let Some((connector, name)) = &self.tls else { return Ok(Either::Left(tcp)) };
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp))
            .await
            .map_err(|_| Failure::timeout("the TLS handshake", CONNECT_TIMEOUT))?
            .map_err(|e| Failure::new(ErrorKind::Connect, format!("TLS handshake: {e}")))?;
        let agreed = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        if agreed.as_deref() != Some(self.protocol.alpn()) {
            let got = agreed.map_or("nothing".into(), |a| String::from_utf8_lossy(&a).into_owned());
            return Err(Failure::protocol(format!(
                "asked for {} by ALPN, the server chose {got}",
                String::from_utf8_lossy(self.protocol.alpn())
            )));
        }
        Ok(Either::Right(tls))
    }

    /// An HTTP connection of the dialer's protocol (HTTP/2 in cleartext by prior knowledge).
    pub async fn http(&self, source: Option<IpAddr>) -> Result<Conn, Failure> {
        let io = self.io(source).await?;
        let counts = counts_of(&io);
        Ok(Conn::handshake(io, self.protocol, self.scheme(), &self.host).await?.counted_by(counts))
    }
}

/// The payload counts of a connection's byte stream (below TLS).
pub fn counts_of(io: &Io) -> Arc<Counts> {
    match io {
        Either::Left(tcp) => tcp.counts(),
        Either::Right(tls) => tls.get_ref().0.counts(),
    }
}

/// A WebSocket's byte stream: the connection itself (HTTP/1.1 Upgrade) or one stream of an
/// HTTP/2 connection (extended CONNECT, RFC 8441).
pub type WsIo = Either<Io, TokioIo<Upgraded>>;

/// An open WebSocket, and the HTTP/2 connection its stream belongs to (kept while it lives).
pub struct WebSocket {
    pub ws: WebSocketStream<WsIo>,
    _conn: Option<Conn>,
    /// Its connection's bytes (on HTTP/2, the whole connection's: it carries this stream only).
    pub counts: Arc<Counts>,
}

impl Dialer {
    /// A WebSocket to `path_and_query` with `config`: an HTTP/1.1 Upgrade, or on HTTP/2 an
    /// extended CONNECT with `:protocol websocket` whose stream then carries the frames.
    pub async fn websocket(
        &self,
        source: Option<IpAddr>,
        path_and_query: &str,
        config: WebSocketConfig,
    ) -> Result<WebSocket, Failure> {
        match self.protocol {
            Protocol::H1 => {
                let io = self.io(source).await?;
                let counts = counts_of(&io);
                let io = Either::Left(io);
                let url = format!("{}://{}{path_and_query}", self.ws_scheme(), self.host);
                let (ws, _) = tokio_tungstenite::client_async_with_config(url.as_str(), io, Some(config))
                    .await
                    .map_err(super::ws::handshake_failure)?;
                Ok(WebSocket { ws, _conn: None, counts })
            }
            Protocol::H2 => {
                let io = self.io(source).await?;
                let counts = counts_of(&io);
                let mut conn = Conn::handshake(io, self.protocol, self.scheme(), &self.host).await?;
                let mut req = Request::builder()
                    .method(Method::CONNECT)
                    .uri(path_and_query)
                    .header(http::header::HOST, &self.host)
                    .header(http::header::SEC_WEBSOCKET_VERSION, "13")
                    .body(Empty::<Bytes>::new())
                    .map_err(Failure::protocol)?;
                req.extensions_mut().insert(hyper::ext::Protocol::from_static("websocket"));
                let resp = conn.send(req, CONNECT_TIMEOUT).await?;
                if resp.status() != StatusCode::OK {
                    let status = resp.status().as_u16();
                    return Err(Failure::status(status).unwrap_or_else(|| {
                        Failure::protocol(format!("the extended CONNECT was answered {status}"))
                    }));
                }
                let upgraded =
                    hyper::upgrade::on(resp).await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                let io = Either::Right(TokioIo::new(upgraded));
                let ws = WebSocketStream::from_raw_socket(io, Role::Client, Some(config)).await;
                Ok(WebSocket { ws, _conn: Some(conn), counts })
            }
        }
    }
}

/// Accepts any certificate chain; checks the handshake signatures with it all the same.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_is_the_host_without_its_port() {
        assert_eq!(host_without_port("127.0.0.1:8443"), "127.0.0.1");
        assert_eq!(host_without_port("localhost"), "localhost");
        assert_eq!(host_without_port("[::1]:8443"), "::1");
        assert_eq!(host_without_port("::1"), "::1");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        assert!(Trust::from_pem(b"not a certificate").is_err());
        assert!(Trust::from_pem_file(std::path::Path::new("/nonexistent/ca.pem")).is_err());
    }
}
