//! Connecting, and one HTTP/1.1 connection per client (hyper's client connection, driven by
//! a task that ends with the connection).
//!
//! Above [`CLIENTS_PER_SOURCE`](super::CLIENTS_PER_SOURCE) clients the connections spread
//! over several loopback source addresses (127.0.0.2, 127.0.0.3 …) so that ephemeral ports do
//! not run out. Every connect and request has a time bound, and every failure keeps its cause
//! (a [`Failure`]) beside the kind that is counted.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::failure::{ErrorKind, Failure};

/// Longest a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a TCP connection from `source` (if given) to `target`.
pub async fn connect_tcp(target: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, Failure> {
    let connect = async {
        let socket = if target.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(|e| Failure::new(ErrorKind::Connect, e))?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| Failure::new(ErrorKind::Connect, format!("cannot bind to {ip}: {e}")))?;
        }
        let s = socket.connect(target).await.map_err(|e| Failure::new(ErrorKind::Connect, e))?;
        let _ = s.set_nodelay(true);
        Ok(s)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| Failure::timeout("the TCP connect", CONNECT_TIMEOUT))?
}

/// One kept-alive HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Empty<Bytes>>,
    driver: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// An answer with its whole body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Conn {
    /// HTTP/1.1 over a fresh TCP connection.
    pub async fn open(target: SocketAddr, source: Option<IpAddr>) -> Result<Conn, Failure> {
        let tcp = connect_tcp(target, source).await?;
        let (send, conn) = tokio::time::timeout(CONNECT_TIMEOUT, http1::handshake(TokioIo::new(tcp)))
            .await
            .map_err(|_| Failure::timeout("the HTTP/1.1 handshake", CONNECT_TIMEOUT))?
            .map_err(|e| Failure::new(ErrorKind::Connect, e))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { send, driver })
    }

    /// Whether the connection can take another request.
    pub fn is_open(&self) -> bool {
        !self.send.is_closed()
    }

    /// Sends `req` and waits (bounded) for the answer's head.
    pub async fn send(
        &mut self,
        req: Request<Empty<Bytes>>,
        limit: Duration,
    ) -> Result<Response<Incoming>, Failure> {
        let go = async {
            self.send.ready().await.map_err(|e| Failure::new(ErrorKind::Reset, e))?;
            self.send.send_request(req).await.map_err(|e| {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Reset };
                Failure::new(kind, e)
            })
        };
        tokio::time::timeout(limit, go).await.map_err(|_| Failure::timeout("the answer's head", limit))?
    }

    /// Sends `req` and reads the whole answer within `limit`.
    pub async fn fetch(&mut self, req: Request<Empty<Bytes>>, limit: Duration) -> Result<Answer, Failure> {
        let deadline = tokio::time::Instant::now() + limit;
        let resp = self.send(req, limit).await?;
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout_at(deadline, body.collect())
            .await
            .map_err(|_| Failure::timeout("the whole answer", limit))?
            .map_err(|e| Failure::new(ErrorKind::Reset, e))?
            .to_bytes();
        Ok(Answer { status: parts.status, headers: parts.headers, body })
    }
}

/// A GET of `path` with the `Host` header set.
pub fn get(host: &str, path: &str) -> Request<Empty<Bytes>> {
    Request::get(path).header(http::header::HOST, host).body(Empty::new()).expect("a valid request")
}
