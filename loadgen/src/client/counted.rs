//! A connection's TCP payload bytes, counted at the client's side of the socket (below TLS,
//! so a handshake counts), so that the bytes a connection took to open can be told apart from
//! the bytes it carries afterwards (issue 16: setup bytes per connection, reported apart from
//! the steady state's bytes per event).
//!
//! The count lives in an [`Arc`] that the client keeps beside the connection: hyper and the
//! TLS stream own the stream itself, and their driver tasks poll it on other tasks.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes written and read on one connection so far.
#[derive(Debug, Default)]
pub struct Counts {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Counts {
    /// Both ways, so far.
    pub fn total(&self) -> u64 {
        self.sent.load(Relaxed) + self.received.load(Relaxed)
    }
}

/// A push client's connection until its first message: its setup bytes are what it had
/// carried when that message (a snapshot, or the first event after a resume) was read, as a
/// poller's are read at its first answer, so that every transport's setup holds the state
/// the client starts from.
pub struct Setup(Option<Arc<Counts>>);

impl Setup {
    pub fn new(counts: Arc<Counts>) -> Setup {
        Setup(Some(counts))
    }

    /// Records the setup bytes into `rec`, once.
    pub fn settle(&mut self, rec: &mut crate::recorder::ClientRecord) {
        if let Some(c) = self.0.take() {
            rec.setup(c.total());
        }
    }
}

/// A byte stream whose payload is counted into [`Counts`].
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S> Counted<S> {
    pub fn new(inner: S) -> Counted<S> {
        Counted { inner, counts: Arc::default() }
    }

    /// The counts, to keep beside the connection.
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.counts.received.fetch_add((buf.filled().len() - before) as u64, Relaxed);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            this.counts.sent.fetch_add(n as u64, Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            this.counts.sent.fetch_add(n as u64, Relaxed);
        }
        r
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn both_ways_are_counted() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut c = Counted::new(a);
        let counts = c.counts();
        c.write_all(b"hello").await.expect("write");
        b.write_all(b"abc").await.expect("write");
        let mut got = [0u8; 3];
        c.read_exact(&mut got).await.expect("read");
        assert_eq!((counts.sent.load(Relaxed), counts.received.load(Relaxed)), (5, 3));
        assert_eq!(counts.total(), 8);
    }
}
