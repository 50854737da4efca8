//! Polling clients: short polling, delta polling and long polling, each on kept-alive
//! connections (HTTP/1.1, or HTTP/2 whose polls are streams of one), reconnecting through
//! [`Reconnect`] (and counting it) when the server closes one. A poller's connect time runs
//! from the attempt to the first answer on it.
//!
//! Short and delta polls are paced as a page's script paces them (`--poll-mode`):
//! `interval` (`poll::interval`: `setInterval`, a poll at every scheduled time, overlapping slow
//! answers) or `timeout` (here: a `setTimeout` chain, the next poll due one interval after
//! each answer). Their latency counts from the scheduled time (see [`Schedule`]); a poll the
//! client stops waiting for (the step's end, or its time bound) is recorded as unanswered
//! with the time it had waited, never dropped. Long polls go back to back: a long poll's
//! duration is mostly waiting for the next event, so it has no request latency of its own;
//! its event delay says everything.
//! Delta and long pollers start from the snapshot (`/api/scores`), as a page would, and
//! follow the `next` cursor from there; a 410 restarts them from the snapshot it carries.

mod interval;

use std::time::Duration;

use bytes::Bytes;
use http::header;
use http_body_util::Empty;
use tokio::time::Instant;

use super::decode;
use super::http::{get, Answer, Conn};
use super::{Attempt, Opened, PollMode, Reconnect, StepCtx, Transport};
use crate::failure::{ErrorKind, Failure};
use crate::recorder::{ClientRecord, Request};
use crate::schedule::Schedule;
use http::HeaderMap;
use proto::encoding::Coding;
use proto::wire::{self, EventsPageHead, Gone, Head};

/// Longest a long poll asks to be held, seconds (the design's `wait=30`).
pub const LONG_POLL_WAIT_S: u64 = 30;

/// Bound on a short or delta poll: one not answered by then is unanswered.
pub const POLL_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(ctx: &StepCtx, i: usize, schedule: Schedule) -> ClientRecord {
    let p = Poller {
        ctx,
        rec: ClientRecord::new(i),
        conn: None,
        opened_at: None,
        reconnect: Reconnect::default(),
        cursor: None,
        coding: Coding::Identity,
    };
    let overlapping = ctx.transport.is_scheduled_poll() && ctx.poll_mode == PollMode::Interval;
    match schedule.at(0) {
        Some(first) if overlapping => interval::run(p, i, schedule, first).await,
        first => one_at_a_time(p, i, first).await,
    }
}

/// Polls one at a time on one connection: a `setTimeout` chain (the next poll due one
/// interval after each answer, or after a failure), long polls and back-to-back polls (due
/// at once). A poll the step's end cuts off is unanswered.
async fn one_at_a_time(mut p: Poller<'_>, i: usize, first: Option<Instant>) -> ClientRecord {
    let ctx = p.ctx;
    let limit = match ctx.transport {
        Transport::LongPoll => Duration::from_secs(LONG_POLL_WAIT_S + 10),
        _ => POLL_LIMIT,
    };
    let scheduled = ctx.transport.is_scheduled_poll();
    let mut due = if scheduled { first } else { None };
    while !ctx.done() {
        if let Some(t) = due {
            if !ctx.sleep_until(t).await {
                break;
            }
        }
        match p.connect(i).await {
            Attempt::Open(()) => {}
            Attempt::Retry => continue,
            Attempt::Stop => break,
        }
        let snapshot = p.asks_snapshot();
        let Some(c) = p.conn.as_mut() else { continue };
        let req = request(ctx, i, p.cursor, p.coding);
        let window = ctx.window_poll(due);
        let at = Instant::now();
        let answer = tokio::select! {
            _ = ctx.cancel.cancelled() => None,
            _ = tokio::time::sleep_until(ctx.stop_at) => None,
            a = c.fetch(req, limit) => Some(a),
        };
        let sent = Sent { due, at, answered: Instant::now(), snapshot };
        let Some(answer) = answer else {
            p.record(&sent, Outcome::Unanswered);
            break;
        };
        // A long poller reconnecting with a cursor resumes with a long poll, whose answer waits
        // for the next event: that hold is not connecting, so such a connect is not timed
        // (connections_opened still counts it).
        if let Some(t) = p.opened_at.take().filter(|_| !p.holds(&sent)) {
            p.rec.connects_us.push(sent.answered.saturating_duration_since(t).as_micros() as u32);
            p.rec.setup(p.conn.as_ref().map_or(0, Conn::bytes_so_far));
        }
        // A `setTimeout` chain sets its next timer when the answer (or the failure) arrives.
        let next = due.map(|_| sent.answered + ctx.poll_interval);
        match answer {
            Ok(a) => p.take_in(&a, &sent),
            Err(e) => {
                p.failed(&e, &sent);
                drop(window);
                p.conn = None;
                if !p.reconnect.lost(ctx, &mut p.rec, &e).await {
                    break;
                }
            }
        }
        due = next;
    }
    p.rec
}

/// One polling client between its polls.
struct Poller<'a> {
    ctx: &'a StepCtx,
    rec: ClientRecord,
    conn: Option<Conn>,
    /// When the open connection's attempt started: its connect time runs to its first answer.
    opened_at: Option<Instant>,
    reconnect: Reconnect,
    /// Short polling: the seq of the snapshot we hold. Delta/long: the `since` cursor.
    cursor: Option<u64>,
    /// The coding of the last 200: the representation whose ETag a short poll sends back.
    coding: Coding,
}

/// When a poll was due, sent and answered (or given up on), and what it asked for.
struct Sent {
    /// The scheduled send time (none for long polls and back-to-back polls).
    due: Option<Instant>,
    at: Instant,
    answered: Instant,
    /// It asked for the snapshot (`/api/scores`): a delta or long poller's starting point.
    snapshot: bool,
}

/// How a poll ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered {
        empty: bool,
        /// The answer's body as it came off the wire (before content decoding).
        body_bytes: u32,
    },
    /// In flight (or waiting for a connection) when the client stopped, or timed out.
    Unanswered,
}

impl Poller<'_> {
    /// Makes sure a connection can take the next poll: the open one, or a new one.
    async fn connect(&mut self, i: usize) -> Attempt<()> {
        if self.conn.as_ref().is_some_and(Conn::is_open) {
            return Attempt::Open(());
        }
        let ctx = self.ctx;
        match self.reconnect.connect(ctx, &mut self.rec, ctx.dialer(i).http(ctx.source(i))).await {
            Attempt::Open(Opened { conn, started }) => {
                self.conn = Some(conn);
                self.opened_at = Some(started);
                Attempt::Open(())
            }
            Attempt::Retry => Attempt::Retry,
            Attempt::Stop => Attempt::Stop,
        }
    }

    /// Whether the next poll asks for the snapshot: a short poll always does; a delta or long
    /// poller until it holds a cursor.
    /// The server held this poll until an event came (a long poll past the snapshot).
    fn holds(&self, sent: &Sent) -> bool {
        self.ctx.transport == Transport::LongPoll && !sent.snapshot
    }

    fn asks_snapshot(&self) -> bool {
        self.ctx.transport == Transport::ShortPoll || self.cursor.is_none()
    }

    /// Takes in one answer and records the poll.
    fn take_in(&mut self, answer: &Answer, sent: &Sent) {
        self.reconnect.answered();
        let kind = self.ctx.transport;
        if answer.status == http::StatusCode::OK {
            self.coding = decode::coding(&answer.headers).unwrap_or(Coding::Identity);
        }
        let empty = match handle(self.ctx, &mut self.rec, kind, &mut self.cursor, sent.snapshot, answer) {
            Ok(empty) => empty,
            Err(e) => {
                self.ctx.record_error(&mut self.rec, &e);
                false
            }
        };
        self.record(
            sent,
            Outcome::Answered { empty, body_bytes: u32::try_from(answer.body.len()).unwrap_or(u32::MAX) },
        );
    }

    /// A poll failed (counted by the caller's reconnect): one that ran out of time is also an
    /// unanswered poll, with the time it waited.
    fn failed(&mut self, e: &Failure, sent: &Sent) {
        if e.kind() == ErrorKind::Timeout {
            self.record(sent, Outcome::Unanswered);
        }
    }

    /// Records a poll. The snapshot a delta or long poller starts from is setup, not a poll;
    /// a long poll is never unanswered (the server holds it by design).
    fn record(&mut self, sent: &Sent, outcome: Outcome) {
        let kind = self.ctx.transport;
        let setup = kind != Transport::ShortPoll && sent.snapshot;
        if setup || (outcome == Outcome::Unanswered && !kind.is_scheduled_poll()) {
            return;
        }
        let latency = Schedule::latency(sent.due, sent.at, sent.answered);
        let (empty, body_bytes) = match outcome {
            Outcome::Answered { empty, body_bytes } => (empty, body_bytes),
            Outcome::Unanswered => (false, 0),
        };
        self.rec.requests.push(Request {
            at_ms: self.ctx.ms_since_start(sent.due.unwrap_or(sent.at)) as u32,
            latency_us: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX),
            empty,
            unanswered: outcome == Outcome::Unanswered,
            body_bytes,
        });
    }
}

/// The next poll: the snapshot (conditional for a short poller holding one), or the events
/// after the cursor (held by the server for a long poller).
fn request(ctx: &StepCtx, i: usize, cursor: Option<u64>, coding: Coding) -> http::Request<Empty<Bytes>> {
    let path = match (ctx.transport, cursor) {
        (Transport::ShortPoll, _) | (_, None) => "/api/scores".to_string(),
        (Transport::DeltaPoll, Some(s)) => format!("/api/events?since={s}"),
        (_, Some(s)) => format!("/api/events?since={s}&wait={LONG_POLL_WAIT_S}"),
    };
    let mut req = ctx.offer_encodings(get(&ctx.dialer(i).host, &path));
    if let (Transport::ShortPoll, Some(seq)) = (ctx.transport, cursor) {
        // The tag of the representation held, as a browser's cache sends it back.
        let tag = proto::encoding::etag(seq, coding).parse().expect("a quoted number is a valid header");
        req.headers_mut().insert(header::IF_NONE_MATCH, tag);
    }
    req
}

/// Takes in one answer; returns whether it carried nothing new.
fn handle(
    ctx: &StepCtx,
    rec: &mut ClientRecord,
    kind: Transport,
    cursor: &mut Option<u64>,
    snapshot: bool,
    a: &Answer,
) -> Result<bool, Failure> {
    if a.status == http::StatusCode::NOT_MODIFIED {
        return Ok(true);
    }
    let body = decode::body(&a.headers, a.body.clone())?;
    let a = &Answer { status: a.status, headers: HeaderMap::new(), body };
    if a.status == http::StatusCode::GONE {
        let gone: Gone = serde_json::from_slice(&a.body).map_err(Failure::protocol)?;
        rec.check_epoch(gone.snapshot.epoch);
        ctx.record_held(rec, gone.snapshot.seq);
        *cursor = Some(gone.snapshot.seq);
        return Err(Failure::new(ErrorKind::Gone, "the cursor had left the server's ring (410)"));
    }
    if let Some(e) = Failure::status(a.status.as_u16()) {
        return Err(e);
    }
    if snapshot {
        let snap: Head = wire::parse_head(&a.body).map_err(Failure::protocol)?;
        let restarted = !rec.check_epoch(snap.epoch);
        let new = restarted || cursor.is_none_or(|c| snap.seq > c);
        // A short poller's changed snapshot delivers its newest event and coalesces the ones
        // before it; a delta or long poller's initial snapshot is only its starting point. Either
        // way the client now holds that state.
        if kind == Transport::ShortPoll && new && snap.seq > 0 {
            ctx.record_delivery(rec, snap.seq, snap.ts_us);
        }
        if new {
            ctx.record_held(rec, snap.seq);
            // An older snapshot answered late (polls overlap) leaves the newer one held.
            *cursor = Some(snap.seq);
        }
        return Ok(!new);
    }
    let page: EventsPageHead = serde_json::from_slice(&a.body).map_err(Failure::protocol)?;
    let same_server = rec.check_epoch(page.epoch);
    for e in &page.events {
        ctx.record_delivery(rec, e.seq, e.ts_us);
    }
    // Overlapping polls can answer out of order: the cursor never goes back on one server.
    *cursor = Some(match *cursor {
        Some(c) if same_server => c.max(page.next),
        _ => page.next,
    });
    Ok(page.events.is_empty())
}
