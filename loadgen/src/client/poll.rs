//! Polling clients: short polling, delta polling and long polling, each on one kept-alive
//! connection (HTTP/1.1, or HTTP/2 whose polls are streams of it), reconnecting through [`Reconnect`] (and counting it) when the server
//! closes it. A poller's connect time runs from the attempt to the first answer on it.
//!
//! Short and delta polls are sent on the client's fixed schedule and their latency counts
//! from the scheduled time (see [`Schedule`]). Long polls go back to back: a long poll's
//! duration is mostly waiting for the next event, so it has no request latency of its own;
//! its event delay says everything.
//! Delta and long pollers start from the snapshot (`/api/scores`), as a page would, and
//! follow the `next` cursor from there; a 410 restarts them from the snapshot it carries.

use std::time::Duration;

use bytes::Bytes;
use http::header;
use http_body_util::Empty;
use tokio::time::Instant;

use super::decode;
use super::http::{get, Answer, Conn};
use super::{Attempt, Opened, Reconnect, StepCtx, Transport};
use crate::failure::{ErrorKind, Failure};
use crate::recorder::{ClientRecord, Request};
use crate::schedule::Schedule;
use http::HeaderMap;
use proto::encoding::Coding;
use proto::wire::{self, EventsPageHead, Gone, Head};

/// Longest a long poll asks to be held, seconds (the design's `wait=30`).
pub const LONG_POLL_WAIT_S: u64 = 30;

/// Bound on a short or delta poll.
const POLL_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(ctx: &StepCtx, i: usize, schedule: Schedule) -> ClientRecord {
    let mut p = Poller {
        ctx,
        rec: ClientRecord::new(i),
        conn: None,
        opened_at: None,
        reconnect: Reconnect::default(),
        cursor: None,
        coding: Coding::Identity,
    };
    let limit = match ctx.transport {
        Transport::LongPoll => Duration::from_secs(LONG_POLL_WAIT_S + 10),
        _ => POLL_LIMIT,
    };
    let mut k = 0u64;
    while !ctx.done() {
        let due = if ctx.transport == Transport::LongPoll { None } else { schedule.at(k) };
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
        let Some(c) = p.conn.as_mut() else { continue };
        let req = request(ctx, i, p.cursor, p.coding);
        let sent = Instant::now();
        let answer = tokio::select! {
            _ = ctx.cancel.cancelled() => break,
            _ = tokio::time::sleep_until(ctx.stop_at) => break,
            a = c.fetch(req, limit) => a,
        };
        let done = Instant::now();
        if let Some(t) = p.opened_at.take() {
            p.rec.connects_us.push(done.saturating_duration_since(t).as_micros() as u32);
        }
        match answer {
            Ok(a) => p.take_in(&a, Sent { due, at: sent, answered: done }),
            Err(e) => {
                p.conn = None;
                if !p.reconnect.lost(ctx, &mut p.rec, &e).await {
                    break;
                }
                continue;
            }
        }
        k += 1;
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

/// When a poll was due, sent and answered.
struct Sent {
    /// The scheduled send time (none for long polls, which go back to back).
    due: Option<Instant>,
    at: Instant,
    answered: Instant,
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

    /// Takes in one answer and records the poll.
    fn take_in(&mut self, answer: &Answer, sent: Sent) {
        self.reconnect.answered();
        let kind = self.ctx.transport;
        let initial = kind != Transport::ShortPoll && self.cursor.is_none();
        if answer.status == http::StatusCode::OK {
            self.coding = decode::coding(&answer.headers).unwrap_or(Coding::Identity);
        }
        let empty = match handle(self.ctx, &mut self.rec, kind, &mut self.cursor, answer) {
            Ok(empty) => empty,
            Err(e) => {
                self.ctx.record_error(&mut self.rec, &e);
                false
            }
        };
        // The snapshot a delta or long poller starts from is setup, not a poll.
        if !initial {
            let latency = Schedule::latency(sent.due, sent.at, sent.answered);
            self.rec.requests.push(Request {
                at_ms: self.ctx.ms_since_start(sent.due.unwrap_or(sent.at)) as u32,
                latency_us: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX),
                empty,
                body_bytes: u32::try_from(answer.body.len()).unwrap_or(u32::MAX),
            });
        }
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
    if kind == Transport::ShortPoll || cursor.is_none() {
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
        }
        *cursor = Some(snap.seq);
        return Ok(!new);
    }
    let page: EventsPageHead = serde_json::from_slice(&a.body).map_err(Failure::protocol)?;
    rec.check_epoch(page.epoch);
    for e in &page.events {
        ctx.record_delivery(rec, e.seq, e.ts_us);
    }
    *cursor = Some(page.next);
    Ok(page.events.is_empty())
}
