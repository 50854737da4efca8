//! The send timeout for a stream that is not a socket: a WebSocket over an HTTP/2 stream.
//!
//! On HTTP/1.1 the metered socket drops a client that stops reading. On HTTP/2 a stream that
//! stops reading runs out of flow-control window while the socket stays writable (other
//! streams, PINGs), so the socket never stalls: the stream's own writes must be timed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::metrics::Metrics;

/// A stream whose writes fail once they have made no progress for `limit` (counted as a
/// dropped slow consumer); without a limit, the stream as it is.
pub struct SendTimeout<S> {
    inner: S,
    limit: Option<Duration>,
    metrics: Arc<Metrics>,
    timer: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl<S> SendTimeout<S> {
    pub fn new(inner: S, limit: Option<Duration>, metrics: Arc<Metrics>) -> Self {
        SendTimeout { inner, limit, metrics, timer: None, timed_out: false }
    }

    /// A write made progress: the next stall starts its own clock.
    fn progressed<T>(&mut self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        self.timer = None;
        r
    }

    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let Some(limit) = self.limit else { return Poll::Pending };
        let t = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + limit)));
        if t.as_mut().poll(cx).is_ready() {
            // Counted once: a last flush or shutdown on the way out fails the same way.
            if !std::mem::replace(&mut self.timed_out, true) {
                self.metrics.slow_consumers_dropped.inc();
            }
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")));
        }
        Poll::Pending
    }
}

use std::future::Future as _;

impl<S: AsyncRead + Unpin> AsyncRead for SendTimeout<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SendTimeout<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.stalled(cx),
            r => this.progressed(r),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.stalled(cx),
            r => this.progressed(r),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_peer_that_never_reads_is_cut_and_counted() {
        let metrics = Arc::new(Metrics::new());
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut s = SendTimeout::new(ours, Some(Duration::from_millis(100)), metrics.clone());
        let e = s.write_all(&[0; 64]).await.expect_err("the peer never reads");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(metrics.slow_consumers_dropped.get(), 1);
    }
}
