//! Telling protocols apart on one port from a connection's first bytes: a TLS ClientHello
//! (first byte 0x16, a handshake record), the HTTP/2 connection preface (h2c by prior
//! knowledge), or else HTTP/1.1.
//!
//! The TLS check peeks at the TCP socket, so nothing is consumed. The preface check must read
//! (under TLS there is nothing to peek at), through the metered stream so the bytes are counted
//! and the header timeout applies; what it read is handed back in front of the stream by
//! [`Prefixed`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The first byte of a TLS handshake record (RFC 8446 §5.1, `ContentType.handshake`); no
/// HTTP/1.1 method or HTTP/2 preface starts with it.
const TLS_HANDSHAKE: u8 = 0x16;

/// HTTP/2's connection preface (RFC 9113 §3.4).
pub const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the peer's first byte opens a TLS handshake; `None` if it closed without sending
/// one. Waits for that byte: the caller bounds the wait.
pub async fn starts_with_tls(tcp: &TcpStream) -> io::Result<Option<bool>> {
    let mut first = [0u8; 1];
    let n = tcp.peek(&mut first).await?;
    Ok((n == 1).then_some(first[0] == TLS_HANDSHAKE))
}

/// Reads until the bytes either are the HTTP/2 preface or cannot be; returns whether they are
/// and the bytes read (to be replayed with [`Prefixed`]). End of stream before either: not h2.
pub async fn read_preface<S: AsyncRead + Unpin>(io: &mut S) -> io::Result<(bool, Vec<u8>)> {
    let mut got = Vec::with_capacity(H2_PREFACE.len());
    let mut buf = [0u8; 24];
    while got.len() < H2_PREFACE.len() {
        let want = H2_PREFACE.len() - got.len();
        let n = io.read(&mut buf[..want]).await?;
        if n == 0 {
            return Ok((false, got));
        }
        got.extend_from_slice(&buf[..n]);
        if !H2_PREFACE.starts_with(&got) {
            return Ok((false, got));
        }
    }
    Ok((true, got))
}

/// A stream with some bytes already read off it put back in front.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed { prefix, at: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.prefix.len() {
            let rest = &this.prefix[this.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn sniff(wire: &[u8]) -> (bool, Vec<u8>) {
        let (mut ours, mut theirs) = tokio::io::duplex(64);
        theirs.write_all(wire).await.expect("write");
        drop(theirs);
        let (h2, got) = read_preface(&mut ours).await.expect("read");
        let mut replay = Vec::new();
        Prefixed::new(got.clone(), ours).read_to_end(&mut replay).await.expect("replay");
        assert_eq!(replay, wire, "everything read is replayed, in order");
        (h2, got)
    }

    #[tokio::test]
    async fn the_preface_is_told_from_http1_at_the_first_difference() {
        let mut h2 = H2_PREFACE.to_vec();
        h2.extend_from_slice(b"\0\0\0\x04");
        assert_eq!(sniff(&h2).await, (true, H2_PREFACE.to_vec()));
        assert!(!sniff(b"GET / HTTP/1.1\r\n\r\n").await.0);
        assert!(!sniff(b"PUT / HTTP/1.1\r\n\r\n").await.0);
        assert!(!sniff(b"PRI").await.0, "cut short");
    }
}
