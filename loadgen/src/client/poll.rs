//! Polling clients: short polling, delta polling and long polling, each on one kept-alive
//! HTTP/1.1 connection, reconnecting (and counting it) when the server closes it.
//!
//! Short and delta polls are sent on the client's fixed schedule and their latency counts
//! from the scheduled time (see [`Schedule`]). Long polls go back to back: a long poll's
//! duration is mostly waiting for the next event, so it has no request latency of its own;
//! its delivery latency says everything.
//! Delta and long pollers start from the snapshot (`/api/scores`), as a page would, and
//! follow the `next` cursor from there; a 410 restarts them from the snapshot it carries.

use std::time::Duration;

use http::header;
use tokio::time::Instant;

use super::http::{get, Answer, Conn};
use super::{backoff, StepCtx, Transport};
use crate::recorder::{ClientRecord, ErrorKind, Request};
use crate::schedule::Schedule;
use proto::wire::{self, EventsPageHead, Gone, Head};

/// Longest a long poll asks to be held, seconds (the design's `wait=30`).
pub const LONG_POLL_WAIT_S: u64 = 30;

/// Bound on a short or delta poll.
const POLL_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(ctx: &StepCtx, i: usize, schedule: Schedule) -> ClientRecord {
    let mut rec = ClientRecord::default();
    let mut conn: Option<Conn> = None;
    let mut opened_at: Option<Instant> = None;
    let mut attempt = 0;
    let mut connected_once = false;
    // Short polling: the seq of the snapshot we hold. Delta/long: the `since` cursor.
    let mut cursor: Option<u64> = None;
    let mut k = 0u64;
    let kind = ctx.transport;
    let limit = match kind {
        Transport::LongPoll => Duration::from_secs(LONG_POLL_WAIT_S + 10),
        _ => POLL_LIMIT,
    };

    while !ctx.done() {
        let due = if kind == Transport::LongPoll { None } else { schedule.at(k) };
        if let Some(t) = due {
            if !ctx.sleep_until(t).await {
                break;
            }
        }
        if conn.as_ref().is_none_or(|c| !c.is_open()) {
            let t = Instant::now();
            match Conn::open(ctx.target, ctx.source(i)).await {
                Ok(c) => {
                    conn = Some(c);
                    opened_at = Some(t);
                    if !connected_once {
                        connected_once = true;
                        ctx.live.connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    ctx.record_error(&mut rec, e);
                    if !backoff(ctx, &mut attempt).await {
                        break;
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };

        let path = match (kind, cursor) {
            (Transport::ShortPoll, _) | (_, None) => "/api/scores".to_string(),
            (Transport::DeltaPoll, Some(s)) => format!("/api/events?since={s}"),
            (_, Some(s)) => format!("/api/events?since={s}&wait={LONG_POLL_WAIT_S}"),
        };
        let mut req = get(&ctx.host, &path);
        if let (Transport::ShortPoll, Some(seq)) = (kind, cursor) {
            let tag = wire::etag(seq).parse().expect("a quoted number is a valid header");
            req.headers_mut().insert(header::IF_NONE_MATCH, tag);
        }
        let sent = Instant::now();
        let answer = tokio::select! {
            _ = ctx.cancel.cancelled() => break,
            _ = tokio::time::sleep_until(ctx.stop_at) => break,
            a = c.fetch(req, limit) => a,
        };
        let done = Instant::now();
        if let Some(t) = opened_at.take() {
            rec.connects_us.push(done.saturating_duration_since(t).as_micros() as u32);
        }
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                ctx.record_error(&mut rec, e);
                conn = None;
                if !backoff(ctx, &mut attempt).await {
                    break;
                }
                continue;
            }
        };
        attempt = 0;
        let initial = kind != Transport::ShortPoll && cursor.is_none();
        let empty = match handle(ctx, &mut rec, kind, &mut cursor, &answer) {
            Ok(empty) => empty,
            Err(e) => {
                ctx.record_error(&mut rec, e);
                false
            }
        };
        // The snapshot a delta or long poller starts from is setup, not a poll.
        if !initial {
            let latency = Schedule::latency(due, sent, done);
            rec.requests.push(Request {
                at_ms: ctx.ms_since_start(due.unwrap_or(sent)) as u32,
                latency_us: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX),
                empty,
            });
        }
        k += 1;
    }
    rec
}

/// Takes in one answer; returns whether it carried nothing new.
fn handle(
    ctx: &StepCtx,
    rec: &mut ClientRecord,
    kind: Transport,
    cursor: &mut Option<u64>,
    a: &Answer,
) -> Result<bool, ErrorKind> {
    if a.status == http::StatusCode::NOT_MODIFIED {
        return Ok(true);
    }
    if a.status == http::StatusCode::GONE {
        let gone: Gone = serde_json::from_slice(&a.body).map_err(|_| ErrorKind::Protocol)?;
        rec.check_epoch(gone.snapshot.epoch);
        *cursor = Some(gone.snapshot.seq);
        return Err(ErrorKind::Gone);
    }
    if let Some(e) = ErrorKind::of_status(a.status.as_u16()) {
        return Err(e);
    }
    if kind == Transport::ShortPoll || cursor.is_none() {
        let snap: Head = wire::parse_head(&a.body).map_err(|_| ErrorKind::Protocol)?;
        let restarted = !rec.check_epoch(snap.epoch);
        let new = restarted || cursor.is_none_or(|c| snap.seq > c);
        // A short poller receives the latest event with each changed snapshot; the initial
        // snapshot of a delta or long poller is only its starting point.
        if kind == Transport::ShortPoll && new && snap.seq > 0 {
            ctx.record_delivery(rec, snap.seq, snap.ts_us);
        }
        *cursor = Some(snap.seq);
        return Ok(!new);
    }
    let page: EventsPageHead = serde_json::from_slice(&a.body).map_err(|_| ErrorKind::Protocol)?;
    rec.check_epoch(page.epoch);
    for e in &page.events {
        ctx.record_delivery(rec, e.seq, e.ts_us);
    }
    *cursor = Some(page.next);
    Ok(page.events.is_empty())
}
