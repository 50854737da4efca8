//! The socket wrapper every accepted connection goes through: exact byte counts per
//! transport, and the connection's timeouts.
//!
//! Bytes are counted where they cross the socket, so HTTP headers, the upgrade handshake and
//! WebSocket framing are all in. A request's bytes count for that request's transport: bytes
//! read while no request is in flight belong to the next request head, which is not yet
//! routed, so they wait in `unattributed_in` until [`ConnMeter::begin_request`] names the
//! transport. The same bookkeeping drives the timeouts: a head that has started must finish
//! within the header timeout (slowloris), a connection with no request in flight is closed
//! after the idle timeout, and a peer that accepts no bytes for the send timeout is dropped
//! as a slow consumer. Timers are reset lazily, so a busy connection costs no timer work.
//! For the demo page, a response head can be copied as it is written
//! ([`ConnMeter::capture_response_head`]).
//!
//! Under TLS this wraps the TCP stream and TLS runs on top, so the counts are the encrypted
//! bytes, handshake included; bytes written before the first request is routed (a TLS
//! handshake, HTTP/2's SETTINGS) wait in `unattributed_out` like reads do. On an HTTP/2
//! connection ([`ConnMeter::set_multiplexed`]) streams run at once: while they are all of one
//! channel the count stays exact; once a second channel joins, the connection's bytes count
//! for [`Channel::Shared`] from then on, and frames between requests start no head timer.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use prometheus_client::metrics::counter::Counter;

use crate::metrics::{Metrics, TransportCounters};
use proto::Channel;

/// Extra byte tallies a request can ask for (the demo page's per-panel counters).
#[derive(Debug, Default)]
pub struct ByteTally {
    pub received: AtomicU64,
    pub sent: AtomicU64,
}

/// The per-connection state shared by the socket wrapper and the request handlers.
pub struct ConnMeter {
    metrics: Arc<Metrics>,
    /// The transport the bytes count for now ([`Transport::index`]): an atomic, because it is
    /// read on every socket read and write.
    transport: AtomicU8,
    /// The current request's extra tally; `tallied` says whether there is one, so untagged
    /// traffic never takes the lock.
    tally: Mutex<Option<Arc<ByteTally>>>,
    tallied: AtomicBool,
    /// The transport of the first request, for the connection gauges.
    conn_transport: Mutex<Option<Channel>>,
    unattributed_in: AtomicU64,
    /// Bytes written before the first request was routed (TLS handshake, HTTP/2 SETTINGS).
    unattributed_out: AtomicU64,
    /// An HTTP/2 connection: requests overlap, see the module doc.
    multiplexed: AtomicBool,
    in_flight: AtomicU32,
    /// Requests begun on this connection: a change tells the stream a head was routed.
    requests: AtomicU64,
    routed: AtomicBool,
    /// A response head being copied off the wire; `capturing` says whether there is one, so
    /// that other writes never take the lock.
    capture: Mutex<Option<HeadCapture>>,
    capturing: AtomicBool,
}

impl ConnMeter {
    pub fn new(metrics: Arc<Metrics>) -> Arc<ConnMeter> {
        metrics.transport(Channel::Other).connections_open.inc();
        Arc::new(ConnMeter {
            metrics,
            transport: AtomicU8::new(Channel::Other.index() as u8),
            tally: Mutex::new(None),
            tallied: AtomicBool::new(false),
            conn_transport: Mutex::new(None),
            unattributed_in: AtomicU64::new(0),
            unattributed_out: AtomicU64::new(0),
            multiplexed: AtomicBool::new(false),
            in_flight: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            routed: AtomicBool::new(false),
            capture: Mutex::new(None),
            capturing: AtomicBool::new(false),
        })
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Names the transport of the request just read: its head's bytes, and every byte until
    /// the next request, count for `transport` (and for `tally`, if given). The returned
    /// guard marks the request in flight (no idle timeout) until dropped.
    pub fn begin_request(self: &Arc<Self>, transport: Channel, tally: Option<Arc<ByteTally>>) -> InFlight {
        let c = self.metrics.transport(transport);
        c.requests.inc();
        // The channel this connection's bytes count for from now on: the request's, unless
        // an HTTP/2 connection has already carried another (then shared, and no tally).
        let (counted, tally) = {
            let mut conn = self.conn_transport.lock().unwrap_or_else(|e| e.into_inner());
            match *conn {
                None => {
                    self.routed.store(true, Relaxed);
                    self.metrics.transport(Channel::Other).connections_open.dec();
                    c.connections_open.inc();
                    c.connections_opened.inc();
                    *conn = Some(transport);
                    let out = self.unattributed_out.swap(0, Relaxed);
                    c.bytes_sent.inc_by(out);
                    (transport, tally)
                }
                Some(first) if !self.multiplexed.load(Relaxed) || first == transport => (transport, tally),
                Some(Channel::Shared) => (Channel::Shared, None),
                Some(first) => {
                    let shared = self.metrics.transport(Channel::Shared);
                    self.metrics.transport(first).connections_open.dec();
                    shared.connections_open.inc();
                    shared.connections_opened.inc();
                    *conn = Some(Channel::Shared);
                    (Channel::Shared, None)
                }
            }
        };
        let pending = self.unattributed_in.swap(0, Relaxed);
        self.metrics.transport(counted).bytes_received.inc_by(pending);
        if let Some(t) = &tally {
            t.received.fetch_add(pending, Relaxed);
        }
        self.transport.store(counted.index() as u8, Relaxed);
        if tally.is_some() || self.tallied.load(Relaxed) {
            self.tallied.store(tally.is_some(), Relaxed);
            *self.tally.lock().unwrap_or_else(|e| e.into_inner()) = tally;
        }
        self.in_flight.fetch_add(1, Relaxed);
        self.requests.fetch_add(1, Relaxed);
        InFlight(self.clone())
    }

    /// Marks the connection as HTTP/2 (its requests overlap); see the module doc. Called
    /// before the connection's first request is routed.
    pub fn set_multiplexed(&self) {
        self.multiplexed.store(true, Relaxed);
    }

    /// Whether the connection speaks HTTP/2.
    pub fn is_multiplexed(&self) -> bool {
        self.multiplexed.load(Relaxed)
    }

    /// The transport the connection's bytes currently count for.
    pub fn transport(&self) -> Channel {
        Channel::from_index(self.transport.load(Relaxed) as usize)
    }

    /// Counts `n` bytes for the current transport and tally.
    fn count(&self, n: u64, field: fn(&TransportCounters) -> &Counter, tally: fn(&ByteTally) -> &AtomicU64) {
        field(self.metrics.transport(self.transport())).inc_by(n);
        if self.tallied.load(Relaxed) {
            if let Some(t) = &*self.tally.lock().unwrap_or_else(|e| e.into_inner()) {
                tally(t).fetch_add(n, Relaxed);
            }
        }
    }

    fn count_read(&self, n: u64) {
        if self.in_flight.load(Relaxed) == 0 {
            self.unattributed_in.fetch_add(n, Relaxed);
            return;
        }
        self.count(n, |c| &c.bytes_received, |t| &t.received);
    }

    fn count_write(&self, n: u64) {
        if !self.routed.load(Relaxed) {
            self.unattributed_out.fetch_add(n, Relaxed);
            return;
        }
        self.count(n, |c| &c.bytes_sent, |t| &t.sent);
    }

    /// Copies the next response head this connection writes, whole up to `limit` bytes (its
    /// true length is always counted), and hands it to `done` as soon as its blank line has
    /// been written, so before the client can have read it. A capture asked for while another
    /// is unfinished replaces it.
    pub fn capture_response_head(&self, limit: usize, done: impl FnOnce(&[u8], u64) + Send + 'static) {
        let capture = HeadCapture { head: Vec::new(), len: 0, limit, matched: 0, done: Box::new(done) };
        *self.capture.lock().unwrap_or_else(|e| e.into_inner()) = Some(capture);
        self.capturing.store(true, Relaxed);
    }

    /// Feeds the first `n` bytes of `bufs`, just written, to the capture in progress.
    fn capture_written(&self, bufs: &[io::IoSlice<'_>], mut n: usize) {
        let finished = {
            let mut slot = self.capture.lock().unwrap_or_else(|e| e.into_inner());
            let Some(c) = slot.as_mut() else { return };
            let mut complete = false;
            for b in bufs {
                let chunk = &b[..b.len().min(n)];
                n -= chunk.len();
                complete = c.feed(chunk);
                if complete || n == 0 {
                    break;
                }
            }
            if !complete {
                return;
            }
            self.capturing.store(false, Relaxed);
            slot.take()
        };
        // Outside the lock: `done` may take locks of its own.
        if let Some(c) = finished {
            (c.done)(&c.head, c.len);
        }
    }

    fn closed(&self) {
        let pending = self.unattributed_in.swap(0, Relaxed);
        self.count(pending, |c| &c.bytes_received, |t| &t.received);
        let out = self.unattributed_out.swap(0, Relaxed);
        self.count(out, |c| &c.bytes_sent, |t| &t.sent);
        let conn = *self.conn_transport.lock().unwrap_or_else(|e| e.into_inner());
        match conn {
            Some(t) => {
                self.metrics.transport(t).connections_open.dec();
            }
            None => {
                let other = self.metrics.transport(Channel::Other);
                other.connections_open.dec();
                other.connections_opened.inc();
            }
        }
    }
}

/// A response head being copied as it is written; see [`ConnMeter::capture_response_head`].
struct HeadCapture {
    head: Vec<u8>,
    /// Bytes of the head written so far, those beyond `limit` included.
    len: u64,
    limit: usize,
    /// How much of the blank line that ends a head (`\r\n\r\n`) the last bytes were.
    matched: u8,
    done: HeadSink,
}

/// Where a captured head goes: its first bytes and its true length.
type HeadSink = Box<dyn FnOnce(&[u8], u64) + Send>;

impl HeadCapture {
    /// Takes written bytes up to the end of the head; returns whether the head is complete.
    fn feed(&mut self, chunk: &[u8]) -> bool {
        for (i, &b) in chunk.iter().enumerate() {
            self.matched = match (self.matched, b) {
                (0 | 2, b'\r') => self.matched + 1,
                (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if self.matched == 4 {
                self.keep(&chunk[..=i]);
                return true;
            }
        }
        self.keep(chunk);
        false
    }

    fn keep(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        let room = self.limit.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A request (or a stream: SSE, WebSocket) in flight on a connection.
pub struct InFlight(Arc<ConnMeter>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// The connection's time limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request head (or from accept, for the first request) to its
    /// end.
    pub header: Duration,
    /// With no request in flight and no byte moving.
    pub idle: Duration,
    /// A write that makes no progress for this long drops the client.
    pub send: Duration,
}

/// Something dropped with the connection (the connection-limit slot).
pub type ConnGuard = Box<dyn Send + Sync>;

/// A stream that counts and times out; see the module doc.
pub struct MeteredStream<S> {
    inner: S,
    meter: Arc<ConnMeter>,
    timeouts: Timeouts,
    last_activity: Instant,
    head_started: Option<Instant>,
    seen_requests: u64,
    write_blocked_since: Option<Instant>,
    /// The send timeout has fired: the client is gone as far as writes go.
    timed_out: bool,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    _guard: Option<ConnGuard>,
}

impl<S> MeteredStream<S> {
    pub fn new(inner: S, meter: Arc<ConnMeter>, timeouts: Timeouts, guard: Option<ConnGuard>) -> Self {
        let now = Instant::now();
        MeteredStream {
            inner,
            meter,
            timeouts,
            last_activity: now,
            // Until the first request, the header timeout runs from accept.
            head_started: Some(now),
            seen_requests: 0,
            write_blocked_since: None,
            timed_out: false,
            read_timer: None,
            write_timer: None,
            _guard: guard,
        }
    }

    pub fn meter(&self) -> &Arc<ConnMeter> {
        &self.meter
    }

    /// The wrapped stream (to peek at it).
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Forgets the head in progress once a handler has routed it.
    fn sync_requests(&mut self) {
        let r = self.meter.requests.load(Relaxed);
        if r != self.seen_requests {
            self.seen_requests = r;
            self.head_started = None;
        }
    }

    /// When reading must have made progress by, and what it means if it has not.
    fn read_deadline(&mut self) -> Option<(Instant, ReadLimit)> {
        if self.meter.in_flight.load(Relaxed) > 0 {
            return None;
        }
        match self.head_started {
            Some(t) => Some((t + self.timeouts.header, ReadLimit::Header)),
            None => Some((self.last_activity + self.timeouts.idle, ReadLimit::Idle)),
        }
    }
}

#[derive(Clone, Copy)]
enum ReadLimit {
    Header,
    Idle,
}

/// Polls a lazily reset timer: true once `deadline` has really passed.
fn expired(timer: &mut Option<Pin<Box<Sleep>>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
    if Instant::now() >= deadline {
        return true;
    }
    let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if t.deadline() > deadline {
        t.as_mut().reset(deadline);
    }
    loop {
        if t.as_mut().poll(cx).is_pending() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        // Fired for an older, earlier deadline: wait for the current one.
        t.as_mut().reset(deadline);
    }
}

use std::future::Future as _;

impl<S: AsyncRead + Unpin> AsyncRead for MeteredStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.sync_requests();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = (buf.filled().len() - before) as u64;
                if n > 0 {
                    let now = Instant::now();
                    this.last_activity = now;
                    // On HTTP/2, bytes between requests are frames (WINDOW_UPDATE, PING,
                    // SETTINGS acks), not the start of a head: the idle timeout covers them.
                    let between = this.seen_requests > 0 && this.meter.multiplexed.load(Relaxed);
                    if this.meter.in_flight.load(Relaxed) == 0 && this.head_started.is_none() && !between {
                        this.head_started = Some(now);
                    }
                    this.meter.count_read(n);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some((deadline, limit)) = this.read_deadline() else { return Poll::Pending };
                if !expired(&mut this.read_timer, deadline, cx) {
                    return Poll::Pending;
                }
                let m = this.meter.metrics();
                match limit {
                    ReadLimit::Header => {
                        m.header_timeouts.inc();
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request head timed out")))
                    }
                    ReadLimit::Idle => {
                        m.idle_timeouts.inc();
                        // End of stream: an idle kept-alive connection closes cleanly.
                        Poll::Ready(Ok(()))
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> MeteredStream<S> {
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let since = *self.write_blocked_since.get_or_insert_with(Instant::now);
        if self.timed_out || expired(&mut self.write_timer, since + self.timeouts.send, cx) {
            // Counted once: a last flush or shutdown on the way out fails the same way.
            if !std::mem::replace(&mut self.timed_out, true) {
                self.meter.metrics().slow_consumers_dropped.inc();
            }
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")));
        }
        Poll::Pending
    }

    /// Books `n` bytes written from `bufs`.
    fn wrote(&mut self, bufs: &[io::IoSlice<'_>], n: usize) {
        self.write_blocked_since = None;
        self.last_activity = Instant::now();
        self.meter.count_write(n as u64);
        if self.meter.capturing.load(Relaxed) {
            self.meter.capture_written(bufs, n);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for MeteredStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.wrote(&[io::IoSlice::new(buf)], n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.stalled(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                this.wrote(bufs, n);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.stalled(cx),
        }
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

impl<S> Drop for MeteredStream<S> {
    fn drop(&mut self) {
        self.meter.closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(5),
        idle: Duration::from_secs(5),
        send: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_head_split_over_writes_is_captured_up_to_its_blank_line() {
        let meter = ConnMeter::new(Arc::new(Metrics::new()));
        let (ours, mut theirs) = tokio::io::duplex(4096);
        let mut s = MeteredStream::new(ours, meter.clone(), TIMEOUTS, None);
        let got = Arc::new(Mutex::new(None));
        let sink = got.clone();
        meter.capture_response_head(20, move |head, len| {
            *sink.lock().expect("lock") = Some((head.to_vec(), len));
        });
        let wire: &[u8] = b"HTTP/1.1 304 Not Modified\r\netag: \"7\"\r\n\r\nnext";
        for part in [&wire[..27], &wire[27..38], &wire[38..]] {
            s.write_all(part).await.expect("write");
        }
        let head_len = wire.len() - 4;
        assert_eq!(*got.lock().expect("lock"), Some((wire[..20].to_vec(), head_len as u64)));
        assert!(!meter.capturing.load(Relaxed), "one capture, one head");
        let mut echo = vec![0; wire.len()];
        theirs.read_exact(&mut echo).await.expect("read");
        assert_eq!(echo, wire);
        // Written before any request was routed: counted for `other` when the connection ends.
        drop(s);
        assert_eq!(meter.metrics().transport(Channel::Other).bytes_sent.get(), wire.len() as u64);
    }

    #[test]
    fn the_blank_line_is_found_across_false_starts() {
        let mut c =
            HeadCapture { head: Vec::new(), len: 0, limit: 64, matched: 0, done: Box::new(|_, _| {}) };
        assert!(!c.feed(b"a\r\r\n\r"));
        assert!(c.feed(b"\nrest"));
        assert_eq!(c.head, b"a\r\r\n\r\n");
    }
}
