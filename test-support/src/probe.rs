//! A client's view of a server under test: its URLs, a status code, `/metrics` read back as a
//! typed `proto::metrics::Sample`, and raw HTTP/1.1 exchanges over a `TcpStream` for bytes a
//! well-behaved client would never send. Every wait is bounded by [`crate::LIMIT`].

use std::net::{SocketAddr, TcpListener};

use proto::metrics::{Sample, Single};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait::{bounded, within};

pub fn http_url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// A loopback port free at the moment of asking (for a process that must be given one).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// `GET path` with reqwest; returns the status.
pub async fn get_status(addr: SocketAddr, path: &str) -> u16 {
    within(&format!("GET {path}"), reqwest::get(http_url(addr, path))).await.status().as_u16()
}

/// The server's `/metrics`, parsed.
pub async fn metrics(addr: SocketAddr) -> Sample {
    let body =
        within("GET /metrics", async { reqwest::get(http_url(addr, "/metrics")).await?.text().await }).await;
    Sample::parse(&body).expect("/metrics parses")
}

/// A metric without labels (every one is on the page).
pub fn value(s: &Sample, m: Single) -> f64 {
    s.get(m).expect("the metric is on the page")
}

/// Writes `request` on a fresh connection and reads until the server closes it (a read error
/// ends it too); returns what was read, lossily as text.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = within("connecting", TcpStream::connect(addr)).await;
    tcp.write_all(request).await.expect("write the request");
    let mut out = Vec::new();
    let _ = bounded("the server answering and closing", tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of a raw HTTP/1.1 answer.
pub fn status_of(response: &str) -> Option<u16> {
    let line = response.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "HTTP/1.1").then_some(())?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_reads_only_http_1_1_status_lines() {
        assert_eq!(status_of("HTTP/1.1 404 Not Found\r\n\r\n"), Some(404));
        assert_eq!(status_of("HTTP/1.0 200 OK\r\n"), None);
        assert_eq!(status_of(""), None);
    }

    #[tokio::test]
    async fn metrics_and_raw_exchanges_reach_a_real_server() {
        let running = crate::start(server::Config { rate: 0.0, ..server::Config::ephemeral() }).await;
        let sample = metrics(running.addr).await;
        assert!(sample.get(Single::ConnectionsAccepted).is_ok(), "a metric is read through its typed name");
        let answer =
            raw_exchange(running.addr, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status_of(&answer), Some(404), "{answer}");
        assert!(running.shutdown().await);
    }
}
