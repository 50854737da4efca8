//! What the server's socket tests share beyond `test_support`: the `server` binary as a
//! child process (for a clean memory figure), raw WebSocket frames over a `TcpStream` for
//! bytes no well-behaved client would send, byte-exact reads ([`byte_exact`]) for the
//! counter tests, and the "is the server still healthy" check the hostile tests end with.
//!
//! Every wait is bounded by [`LIMIT`]; nothing asserts on speed.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this module

mod byte_exact;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

pub use byte_exact::{content_length, read_head, read_response, read_text_frame};
// The shared pieces, under the names these tests use.
pub use test_support::probe::{get_status, http_url, metrics, raw_exchange, status_of, value, ws_url};
pub use test_support::wait::{settle, until};
pub use test_support::{start, LIMIT};

/// A `server` binary running as a child process: its RSS is the server's alone. Killed
/// when dropped.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
}

impl ServerProcess {
    /// Starts `target/…/server --addr 127.0.0.1:0 ARGS…` and reads its address from the
    /// "listening on" line it prints.
    pub async fn spawn(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn_limited(args, None).await
    }

    /// As [`spawn`](Self::spawn), with the open-files limit (soft and hard) lowered to
    /// `nofile` when given.
    pub async fn spawn_limited(args: &[&str], nofile: Option<u64>) -> ServerProcess {
        use std::os::unix::process::CommandExt as _;
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (child, addr) = tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
            cmd.args(["--addr", "127.0.0.1:0"]).args(args).env("RUST_LOG", "warn").stderr(Stdio::inherit());
            if let Some(n) = nofile {
                // SAFETY: setrlimit is async-signal-safe; it lowers only the child's limit.
                unsafe {
                    cmd.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, n, n));
                }
            }
            test_support::serve::spawn(&mut cmd)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        ServerProcess { addr, child }
    }

    /// Whether the process is still running (not crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `true` for an event message, with its seq, read from the head of the JSON without
/// parsing the (possibly large, padded) rest: `{"type":"event","seq":N,…`.
pub fn event_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(r#"{"type":"event","seq":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// The check every test ends with: `/healthz` answers 200 and a fresh WebSocket client on
/// `/ws` gets the snapshot and then an event (the feed must be running at a rate > 0).
pub async fn assert_healthy(addr: SocketAddr) {
    // Freed slots and sockets are given back asynchronously: allow a few tries.
    let healthz = move || async move {
        match timeout(Duration::from_secs(5), reqwest::get(http_url(addr, "/healthz"))).await {
            Ok(Ok(r)) => r.status().as_u16(),
            _ => 0,
        }
    };
    let status = settle(LIMIT, healthz, |status| *status == 200).await;
    assert_eq!(status, 200, "/healthz after the test");
    let (mut ws, _) = timeout(LIMIT, tokio_tungstenite::connect_async(ws_url(addr, "/ws")))
        .await
        .expect("ws connects in time")
        .expect("a fresh ws client connects");
    let got_event = timeout(LIMIT, async {
        let mut snapshot = false;
        while let Some(m) = ws.next().await {
            match m.expect("a frame") {
                Message::Text(t) if event_seq(t.as_str()).is_some() => return snapshot,
                Message::Text(t) => {
                    assert!(t.as_str().starts_with(r#"{"type":"snapshot""#), "first message is the snapshot");
                    snapshot = true;
                }
                _ => {}
            }
        }
        false
    })
    .await
    .expect("a fresh ws client gets an event in time");
    assert!(got_event, "a fresh ws client gets the snapshot, then an event");
}

/// A WebSocket client written by hand over a `TcpStream`, for frames tungstenite would
/// never send (unmasked, invalid UTF-8) and to see the TCP connection end.
pub struct RawWs {
    pub tcp: TcpStream,
    buf: Vec<u8>,
}

/// One frame as read: opcode and payload (fragmentation is not needed here).
#[derive(Debug)]
pub struct Frame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub const OP_TEXT: u8 = 0x1;
pub const OP_CLOSE: u8 = 0x8;

impl RawWs {
    /// Opens `path` with a valid handshake; panics unless the answer is 101.
    pub async fn connect(addr: SocketAddr, path: &str) -> RawWs {
        let (status, ws) = RawWs::try_connect(addr, path, "").await;
        assert_eq!(status, 101, "the upgrade is accepted");
        ws
    }

    /// Sends the handshake; returns the status and the stream (positioned after the head).
    pub async fn try_connect(addr: SocketAddr, path: &str, extra: &str) -> (u16, RawWs) {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        );
        tcp.write_all(req.as_bytes()).await.expect("write the handshake");
        let mut ws = RawWs { tcp, buf: Vec::new() };
        let head = timeout(LIMIT, async {
            loop {
                if let Some(end) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head: Vec<u8> = ws.buf.drain(..end + 4).collect();
                    return String::from_utf8_lossy(&head).into_owned();
                }
                assert!(ws.fill().await > 0, "connection closed during the handshake");
            }
        })
        .await
        .expect("the handshake is answered in time");
        (status_of(&head).expect("a status line"), ws)
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.tcp.read(&mut chunk).await.unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Sends one final frame; `masked` as a client must, or not, to break the rules.
    pub async fn send(&mut self, opcode: u8, payload: &[u8], masked: bool) {
        let mut f = vec![0x80 | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                f.push(mask_bit | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(mask_bit | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            let key = [0x37, 0xfa, 0x21, 0x3d];
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            f.extend_from_slice(payload);
        }
        self.tcp.write_all(&f).await.expect("write a frame");
    }

    /// Sends a masked close frame with this code.
    pub async fn send_close(&mut self, code: u16) {
        self.send(OP_CLOSE, &code.to_be_bytes(), true).await;
    }

    /// Reads the next frame (server frames are never masked); `None` once the TCP
    /// connection has ended.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        timeout(LIMIT, async {
            loop {
                if let Some((frame, used)) = parse_frame(&self.buf) {
                    self.buf.drain(..used);
                    return Some(frame);
                }
                if self.fill().await == 0 {
                    return None;
                }
            }
        })
        .await
        .expect("a frame or the end of the connection in time")
    }

    /// Skips data frames until a close frame; returns its status code (`None` if it had
    /// none), or panics if the connection ends first.
    pub async fn read_close(&mut self) -> Option<u16> {
        loop {
            let f = self.read_frame().await.expect("a close frame before the connection ends");
            if f.opcode == OP_CLOSE {
                return (f.payload.len() >= 2).then(|| u16::from_be_bytes([f.payload[0], f.payload[1]]));
            }
        }
    }

    /// Asserts that the server ends the TCP connection (EOF or reset) without sending more
    /// frames.
    pub async fn expect_tcp_end(&mut self) {
        let end = self.read_frame().await;
        assert!(end.is_none(), "the TCP connection ends after the close handshake, got {end:?}");
    }
}

fn parse_frame(b: &[u8]) -> Option<(Frame, usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    assert_eq!(b[1] & 0x80, 0, "server frames are not masked");
    let (len, mut at) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
        127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?) as usize, 10),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if b.len() < at + len {
        return None;
    }
    let payload = b[at..at + len].to_vec();
    at += len;
    Some((Frame { opcode, payload }, at))
}
