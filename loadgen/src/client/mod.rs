//! Simulated clients: each behaves like one browser tab, with one connection of its own.
//!
//! - `poll`: short polling (`/api/scores` with `If-None-Match`), delta polling and long
//!   polling (`/api/events?since=`), on one kept-alive connection per client (a `setInterval`
//!   poller whose polls overlap: up to six over HTTP/1.1, as a browser per origin).
//! - `sse`: one `/sse` stream, resumed with `Last-Event-ID` after a drop.
//! - `ws`: one `/ws` WebSocket, resumed with `?since=` after a drop.
//! - `conn`: the step's protocol and TLS: every client connects through its [`Dialer`].
//! - `http`: TCP (with the source-address spread) and the HTTP/1.1 or HTTP/2 connection.
//! - `counted`: each connection's bytes, so that its setup bytes are known.
//!
//! Every client ends by itself at the step's stop time or when the step is cancelled, and
//! hands back its [`ClientRecord`]. All of them (re)connect through one [`Reconnect`]: bounded
//! by the step, backing off after each failure, every failure counted by kind and its cause
//! logged at debug level.

pub mod conn;
pub mod counted;
pub mod decode;
pub mod http;
pub mod poll;
pub mod sse;
pub mod ws;
pub mod ws_deflate;

use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::failure::Failure;
use crate::recorder::ClientRecord;
use crate::schedule::Schedule;
pub use conn::Dialer;
pub use proto::{PollMode, Transport, Variant};

/// Live counts for the progress bar, and how far each client got for the drain, shared by a
/// step's clients.
#[derive(Debug, Default)]
pub struct Live {
    pub connected: AtomicU64,
    pub deliveries: AtomicU64,
    pub errors: AtomicU64,
    /// One per client: the newest seq it received or held, in the newest epoch it saw.
    reached: Vec<Reached>,
    /// Short and delta polls due before the window's end not yet answered or given up on
    /// ([`WindowPoll`]): the drain waits for them too.
    window_polls: AtomicU64,
}

/// How far one client got. Only its client writes it; the drain reads it.
#[derive(Debug, Default)]
struct Reached {
    epoch: AtomicU64,
    /// The seq plus one: 0 until the client holds anything of `epoch`.
    seq_plus_one: AtomicU64,
}

impl Live {
    /// Counts for a step of `clients` clients.
    pub fn new(clients: usize) -> Live {
        Live { reached: (0..clients).map(|_| Reached::default()).collect(), ..Live::default() }
    }

    /// Client `client` now holds the feed of `epoch` up to `seq`.
    fn reach(&self, client: usize, epoch: u64, seq: u64) {
        let Some(r) = self.reached.get(client) else { return };
        if r.epoch.load(Relaxed) != epoch {
            // A new epoch starts from nothing; the reader that sees the new epoch (Acquire)
            // sees this reset too, never the old epoch's seq under the new epoch.
            r.seq_plus_one.store(0, Relaxed);
            r.epoch.store(epoch, Release);
        }
        r.seq_plus_one.fetch_max(seq.saturating_add(1), Relaxed);
    }

    /// Whether every short or delta poll due before the window's end has been answered or
    /// given up on.
    pub fn window_polls_settled(&self) -> bool {
        self.window_polls.load(Acquire) == 0
    }

    /// A poll the drain waits for if it `counts`, until the guard is dropped.
    fn window_poll(&self, counts: bool) -> WindowPoll<'_> {
        if counts {
            self.window_polls.fetch_add(1, Relaxed);
        }
        WindowPoll(counts.then_some(self))
    }

    /// Whether every client holds the feed of `epoch` up to `seq` at least.
    pub fn all_reached(&self, epoch: u64, seq: u64) -> bool {
        self.reached.iter().all(|r| r.epoch.load(Acquire) == epoch && r.seq_plus_one.load(Relaxed) > seq)
    }
}

/// What every client of a step shares.
pub struct StepCtx {
    /// Where and how the step's clients connect (address, `Host`, protocol, TLS), one per
    /// server node, in `--target` order.
    pub dialers: Vec<Dialer>,
    /// Which node each client connects to.
    pub spread: crate::spread::Spread,
    pub transport: Transport,
    /// Protocol, TLS and compression: how every client of the step connects.
    pub variant: Variant,
    pub poll_interval: Duration,
    /// How short and delta pollers pace their polls (`--poll-mode`).
    pub poll_mode: PollMode,
    /// The measured window closes here: polls due before it are waited for by the drain.
    pub window_end: Instant,
    /// When the step began: every `at_ms` counts from here.
    pub t0: Instant,
    /// Clients stop here (end of the measured window plus the drain).
    pub stop_at: Instant,
    pub cancel: CancellationToken,
    pub live: Live,
    /// Source addresses to spread connections over (empty: let the kernel choose).
    pub sources: Vec<IpAddr>,
    /// Server clock − local clock, µs (0 on one host); see [`crate::clock`].
    pub clock_offset_us: i64,
}

/// Clients per source address before the next one is used: far below the ~28,000 ephemeral
/// ports Linux offers per (source, destination) pair.
pub const CLIENTS_PER_SOURCE: usize = 20_000;

impl StepCtx {
    pub fn ms_since_start(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.t0).as_millis() as u64
    }

    /// Poll due at `due` counts for the drain until the returned guard is dropped (when it is
    /// answered or given up on), if it is a short or delta poll due before the window's end.
    pub fn window_poll(&self, due: Option<Instant>) -> WindowPoll<'_> {
        self.live.window_poll(self.transport.is_scheduled_poll() && due.is_some_and(|t| t < self.window_end))
    }

    /// Whether the client should stop now.
    pub fn done(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.stop_at
    }

    /// Sleeps until `t`; false if the step ended first.
    pub async fn sleep_until(&self, t: Instant) -> bool {
        if t >= self.stop_at {
            return false;
        }
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep_until(t) => true,
        }
    }

    /// Whether the clients offer compression as a browser does (`--compression on`).
    pub fn compressed(&self) -> bool {
        self.variant.compression == proto::Compression::On
    }

    /// `req` with the browser's `Accept-Encoding` when the step compresses (issue 13).
    pub fn offer_encodings<B>(&self, mut req: ::http::Request<B>) -> ::http::Request<B> {
        if self.compressed() {
            req.headers_mut().insert(
                ::http::header::ACCEPT_ENCODING,
                ::http::HeaderValue::from_static(proto::encoding::BROWSER_ACCEPT_ENCODING),
            );
        }
        req
    }

    /// How client `i` reaches its node.
    pub fn dialer(&self, i: usize) -> &Dialer {
        &self.dialers[self.spread.node(i) % self.dialers.len()]
    }

    /// The source address for client `i`.
    pub fn source(&self, i: usize) -> Option<IpAddr> {
        if self.sources.is_empty() {
            None
        } else {
            Some(self.sources[(i / CLIENTS_PER_SOURCE) % self.sources.len()])
        }
    }

    /// Counts `failure` by its kind; its cause goes to the debug log.
    pub fn record_error(&self, rec: &mut ClientRecord, failure: &Failure) {
        tracing::debug!(transport = %self.transport, error = %failure, "client request failed");
        rec.error(failure.kind());
        self.live.errors.fetch_add(1, Relaxed);
    }

    pub fn record_delivery(&self, rec: &mut ClientRecord, seq: u64, ts_us: u64) {
        let (now_us, at) = self.now();
        rec.deliver(seq, now_us.saturating_sub(ts_us), at);
        self.live.deliveries.fetch_add(1, Relaxed);
        self.live.reach(rec.client, rec.epoch(), seq);
    }

    /// Records that the client now holds a snapshot of the feed at `seq`: every event up to
    /// it that the client did not receive itself is coalesced (see [`crate::event_delay`]).
    pub fn record_held(&self, rec: &mut ClientRecord, seq: u64) {
        let (now_us, at) = self.now();
        rec.hold(seq, now_us, at);
        self.live.reach(rec.client, rec.epoch(), seq);
    }

    /// Now on the server's clock (so that it compares with `ts_us`), and in ms since the
    /// step began.
    fn now(&self) -> (u64, u64) {
        (proto::now_us().saturating_add_signed(self.clock_offset_us), self.ms_since_start(Instant::now()))
    }
}

/// A poll of the window on its way ([`StepCtx::window_poll`]); dropping it settles it.
pub struct WindowPoll<'a>(Option<&'a Live>);

impl Drop for WindowPoll<'_> {
    fn drop(&mut self) {
        if let Some(live) = self.0 {
            live.window_polls.fetch_sub(1, Release);
        }
    }
}

/// How one attempt to (re)connect went.
pub enum Attempt<T> {
    /// Connected.
    Open(T),
    /// Failed and backed off: try again.
    Retry,
    /// The step is over.
    Stop,
}

/// A connection, and when the attempt that opened it started.
pub struct Opened<T> {
    pub conn: T,
    pub started: Instant,
}

/// A client's connection attempts: bounded by the step, backing off after each failure (50 ms
/// doubling up to 2 s), every failure and every connect time recorded.
#[derive(Default)]
pub struct Reconnect {
    attempt: u32,
    connected_once: bool,
}

impl Reconnect {
    /// One attempt: runs `open` (TCP connect plus handshake) until it succeeds, fails (counted,
    /// then backed off) or the step ends. On success the connect time is recorded and the
    /// backoff starts again from its shortest wait: for push clients, whose connection is
    /// ready when the handshake is done.
    pub async fn open<T>(
        &mut self,
        ctx: &StepCtx,
        rec: &mut ClientRecord,
        open: impl Future<Output = Result<T, Failure>>,
    ) -> Attempt<T> {
        match self.connect(ctx, rec, open).await {
            Attempt::Open(Opened { conn, started }) => {
                rec.connects_us.push(started.elapsed().as_micros() as u32);
                self.answered();
                Attempt::Open(conn)
            }
            Attempt::Retry => Attempt::Retry,
            Attempt::Stop => Attempt::Stop,
        }
    }

    /// Like [`open`](Self::open), but hands back when the attempt started instead of recording
    /// a connect time, and keeps backing off until [`answered`](Self::answered): for a poller,
    /// whose connection proves itself only with its first answer.
    pub async fn connect<T>(
        &mut self,
        ctx: &StepCtx,
        rec: &mut ClientRecord,
        open: impl Future<Output = Result<T, Failure>>,
    ) -> Attempt<Opened<T>> {
        let started = Instant::now();
        let r = tokio::select! {
            _ = ctx.cancel.cancelled() => return Attempt::Stop,
            _ = tokio::time::sleep_until(ctx.stop_at) => return Attempt::Stop,
            r = open => r,
        };
        match r {
            Ok(conn) => {
                if !self.connected_once {
                    self.connected_once = true;
                    ctx.live.connected.fetch_add(1, Relaxed);
                }
                Attempt::Open(Opened { conn, started })
            }
            Err(e) if self.lost(ctx, rec, &e).await => Attempt::Retry,
            Err(_) => Attempt::Stop,
        }
    }

    /// The server answered: the next failure backs off from the shortest wait again.
    pub fn answered(&mut self) {
        self.attempt = 0;
    }

    /// Counts why a connection failed or ended and backs off; false when the step is over.
    pub async fn lost(&mut self, ctx: &StepCtx, rec: &mut ClientRecord, why: &Failure) -> bool {
        ctx.record_error(rec, why);
        let wait = Duration::from_millis(50u64 << self.attempt.min(5)).min(Duration::from_secs(2));
        self.attempt += 1;
        ctx.sleep_until(Instant::now() + wait).await
    }
}

/// Runs client `i` until the step ends.
pub async fn run(ctx: std::sync::Arc<StepCtx>, i: usize, schedule: Schedule) -> ClientRecord {
    match ctx.transport {
        Transport::ShortPoll | Transport::DeltaPoll | Transport::LongPoll => {
            poll::run(&ctx, i, schedule).await
        }
        Transport::Sse => sse::run(&ctx, i).await,
        Transport::Ws => ws::run(&ctx, i).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drain_waits_for_every_client_in_the_newest_epoch() {
        let live = Live::new(2);
        assert!(!live.all_reached(7, 0), "a client that holds nothing has reached nothing");
        live.reach(0, 7, 12);
        live.reach(1, 7, 9);
        assert!(live.all_reached(7, 9) && !live.all_reached(7, 10));
        live.reach(1, 7, 8);
        assert!(live.all_reached(7, 9), "an older answer does not go back");
        live.reach(1, 8, 2);
        assert!(!live.all_reached(7, 9), "client 1 moved on to a restarted server");
        live.reach(0, 8, 1);
        assert!(live.all_reached(8, 1) && !live.all_reached(8, 2));
        assert!(Live::new(0).all_reached(7, 100), "no clients, nothing to wait for");
    }

    #[test]
    fn the_drain_waits_for_polls_due_in_the_window_until_each_is_settled() {
        let live = Live::new(1);
        let settled = || live.window_polls_settled();
        let a = live.window_poll(true);
        let b = live.window_poll(true);
        let late = live.window_poll(false);
        assert!(!settled());
        drop(a);
        assert!(!settled(), "one still on its way");
        drop(b);
        assert!(settled(), "a poll due after the window (or a long poll) is not waited for");
        drop(late);
        assert!(settled());
    }
}
