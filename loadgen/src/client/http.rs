//! Connecting over TCP, and one HTTP connection per client: hyper's HTTP/1.1 or HTTP/2
//! client connection, driven by a task that ends with the connection. Callers write every
//! request as for HTTP/1.1 (path and `Host`); an HTTP/2 connection turns it into `:scheme`,
//! `:authority` and `:path` as a browser sends them.
//!
//! Above [`CLIENTS_PER_SOURCE`](super::CLIENTS_PER_SOURCE) clients the connections spread
//! over several loopback source addresses (127.0.0.2, 127.0.0.3 …) so that ephemeral ports do
//! not run out. Every connect and request has a time bound, and every failure keeps its cause
//! (a [`Failure`]) beside the kind that is counted.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use super::counted::Counts;
use crate::failure::{ErrorKind, Failure};
use proto::Protocol;

/// Longest a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a TCP connection from `source` (if given) to `target`.
pub async fn connect_tcp(target: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, Failure> {
    let connect = async {
        let socket = if target.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(Failure::connect)?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| Failure::new(ErrorKind::Connect, format!("cannot bind to {ip}: {e}")))?;
        }
        let s = socket.connect(target).await.map_err(Failure::connect)?;
        let _ = s.set_nodelay(true);
        Ok(s)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| Failure::timeout("the TCP connect", CONNECT_TIMEOUT))?
}

/// One kept-alive HTTP/1.1 or HTTP/2 connection.
pub struct Conn {
    send: Sender,
    driver: JoinHandle<()>,
    /// The connection's bytes so far, when it was opened through a [`super::Dialer`].
    counts: Arc<Counts>,
}

enum Sender {
    H1(http1::SendRequest<Empty<Bytes>>),
    /// With the scheme and authority every HTTP/2 request carries.
    H2(http2::SendRequest<Empty<Bytes>>, String),
}

/// How long a dropped HTTP/2 connection's driver may go on, to flush what its streams sent
/// last (a WebSocket's close frame) and say GOAWAY; it usually ends by itself at once.
const H2_LINGER: Duration = Duration::from_secs(1);

impl Drop for Conn {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Handle::try_current();
        match (&self.send, runtime) {
            (Sender::H2(..), Ok(rt)) => {
                let driver = self.driver.abort_handle();
                rt.spawn(async move {
                    tokio::time::sleep(H2_LINGER).await;
                    driver.abort();
                });
            }
            _ => self.driver.abort(),
        }
    }
}

/// An answer with its whole body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Conn {
    /// The bytes this connection has carried so far, both ways (TCP payload, a TLS
    /// handshake's included): read when it is first answered, its setup bytes.
    pub fn bytes_so_far(&self) -> u64 {
        self.counts.total()
    }

    /// Its byte counts, to keep beside a stream it carries.
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }

    /// This connection, counted by `counts`.
    pub(super) fn counted_by(mut self, counts: Arc<Counts>) -> Conn {
        self.counts = counts;
        self
    }

    /// HTTP/1.1 over a fresh cleartext TCP connection.
    pub async fn open(target: SocketAddr, source: Option<IpAddr>) -> Result<Conn, Failure> {
        let tcp = connect_tcp(target, source).await?;
        Conn::handshake(tcp, Protocol::H1, "http", &target.to_string()).await
    }

    /// `protocol` over `io`, for requests to `scheme://host`: HTTP/2 starts with its
    /// preface and SETTINGS (prior knowledge in cleartext, after ALPN over TLS).
    pub async fn handshake<T>(io: T, protocol: Protocol, scheme: &str, host: &str) -> Result<Conn, Failure>
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let io = TokioIo::new(io);
        let bounded = |what: &'static str| move |_| Failure::timeout(what, CONNECT_TIMEOUT);
        let (send, driver) = match protocol {
            Protocol::H1 => {
                let (send, conn) = tokio::time::timeout(CONNECT_TIMEOUT, http1::handshake(io))
                    .await
                    .map_err(bounded("the HTTP/1.1 handshake"))?
                    .map_err(|e| Failure::new(ErrorKind::Connect, e))?;
                (Sender::H1(send), tokio::spawn(async move { drop(conn.await) }))
            }
            Protocol::H2 => {
                let handshake = http2::Builder::new(TokioExecutor::new()).handshake(io);
                let (send, conn) = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                    .await
                    .map_err(bounded("the HTTP/2 handshake"))?
                    .map_err(|e| Failure::new(ErrorKind::Connect, e))?;
                (
                    Sender::H2(send, format!("{scheme}://{host}")),
                    tokio::spawn(async move { drop(conn.await) }),
                )
            }
        };
        Ok(Conn { send, driver, counts: Arc::default() })
    }

    /// Whether the connection can take another request.
    pub fn is_open(&self) -> bool {
        match &self.send {
            Sender::H1(s) => !s.is_closed(),
            Sender::H2(s, _) => !s.is_closed(),
        }
    }

    /// Another sender on this connection's streams, for requests alongside the others; `None`
    /// over HTTP/1.1, whose connection carries one request at a time. It works while the
    /// connection lives (the [`Conn`] is kept).
    pub fn stream(&self) -> Option<Stream> {
        match &self.send {
            Sender::H1(_) => None,
            Sender::H2(s, origin) => Some(Stream(Sender::H2(s.clone(), origin.clone()))),
        }
    }

    /// Sends `req` and waits (bounded) for the answer's head.
    pub async fn send(
        &mut self,
        req: Request<Empty<Bytes>>,
        limit: Duration,
    ) -> Result<Response<Incoming>, Failure> {
        send_on(&mut self.send, req, limit).await
    }

    /// Sends `req` and reads the whole answer within `limit`.
    pub async fn fetch(&mut self, req: Request<Empty<Bytes>>, limit: Duration) -> Result<Answer, Failure> {
        fetch_on(&mut self.send, req, limit).await
    }
}

/// A sender of requests on one HTTP/2 connection's streams ([`Conn::stream`]).
pub struct Stream(Sender);

impl Stream {
    /// Sends `req` on a stream of its own and reads the whole answer within `limit`.
    pub async fn fetch(&mut self, req: Request<Empty<Bytes>>, limit: Duration) -> Result<Answer, Failure> {
        fetch_on(&mut self.0, req, limit).await
    }
}

/// Sends `req` and waits (bounded) for the answer's head.
async fn send_on(
    send: &mut Sender,
    req: Request<Empty<Bytes>>,
    limit: Duration,
) -> Result<Response<Incoming>, Failure> {
    let sent = |e: hyper::Error| {
        let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Reset };
        Failure::new(kind, e)
    };
    let go = async {
        match send {
            Sender::H1(s) => {
                s.ready().await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                s.send_request(req).await.map_err(sent)
            }
            Sender::H2(s, origin) => {
                let req = absolute(req, origin)?;
                s.ready().await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
                s.send_request(req).await.map_err(sent)
            }
        }
    };
    tokio::time::timeout(limit, go).await.map_err(|_| Failure::timeout("the answer's head", limit))?
}

/// Sends `req` and reads the whole answer within `limit`.
async fn fetch_on(send: &mut Sender, req: Request<Empty<Bytes>>, limit: Duration) -> Result<Answer, Failure> {
    let deadline = tokio::time::Instant::now() + limit;
    let resp = send_on(send, req, limit).await?;
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout_at(deadline, body.collect())
        .await
        .map_err(|_| Failure::timeout("the whole answer", limit))?
        .map_err(|e| Failure::new(ErrorKind::Reset, e))?
        .to_bytes();
    Ok(Answer { status: parts.status, headers: parts.headers, body })
}

/// An HTTP/1.1-style request (path, `Host`) as HTTP/2 sends it: the whole URL, whose
/// authority becomes `:authority`, and no `Host`.
fn absolute(mut req: Request<Empty<Bytes>>, origin: &str) -> Result<Request<Empty<Bytes>>, Failure> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    *req.uri_mut() = format!("{origin}{path}").parse().map_err(Failure::protocol)?;
    req.headers_mut().remove(http::header::HOST);
    Ok(req)
}

/// A GET of `path` with the `Host` header set.
pub fn get(host: &str, path: &str) -> Request<Empty<Bytes>> {
    Request::get(path).header(http::header::HOST, host).body(Empty::new()).expect("a valid request")
}
