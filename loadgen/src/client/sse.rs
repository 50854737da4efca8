//! The SSE client: one `GET /sse` stream (on HTTP/2, one stream of the client's connection),
//! parsed as it arrives; after a drop it reconnects
//! with backoff and resumes with `Last-Event-ID`, as a browser's `EventSource` does.

use std::time::Duration;

use http_body_util::BodyExt;

use super::counted::Setup;
use super::decode;
use super::http::get;
use super::{Attempt, Reconnect, StepCtx};
use crate::failure::{ErrorKind, Failure};
use crate::recorder::ClientRecord;
use proto::sse::Decoder;
use proto::wire::{self, PushMessage};

/// A single SSE event larger than this is a protocol error (the feed's are a few KB).
const MAX_EVENT_BYTES: usize = 4 << 20;

pub async fn run(ctx: &StepCtx, i: usize) -> ClientRecord {
    let mut rec = ClientRecord::new(i);
    let mut last_seq: Option<u64> = None;
    let mut reconnect = Reconnect::default();
    while !ctx.done() {
        let opened = async {
            let mut conn = ctx.dialer(i).http(ctx.source(i)).await?;
            let mut req = ctx.offer_encodings(get(&ctx.dialer(i).host, "/sse"));
            if let Some(s) = last_seq {
                req.headers_mut().insert("last-event-id", s.to_string().parse().expect("digits"));
            }
            let resp = conn.send(req, Duration::from_secs(10)).await?;
            if let Some(e) = Failure::status(resp.status().as_u16()) {
                return Err(e);
            }
            Ok((conn, resp))
        };
        let (conn, resp) = match reconnect.open(ctx, &mut rec, opened).await {
            Attempt::Open(x) => x,
            Attempt::Retry => continue,
            Attempt::Stop => break,
        };
        // A compressed stream is decoded chunk by chunk as it arrives (issue 13).
        let mut unzip = match decode::coding(resp.headers()) {
            Ok(c) => decode::Decoder::new(c),
            Err(e) => {
                if !reconnect.lost(ctx, &mut rec, &e).await {
                    break;
                }
                continue;
            }
        };
        let mut setup = Setup::new(conn.counts());
        let mut body = resp.into_body();
        let mut decoder = Decoder::new();
        let ended = loop {
            let frame = tokio::select! {
                _ = ctx.cancel.cancelled() => return rec,
                _ = tokio::time::sleep_until(ctx.stop_at) => return rec,
                f = body.frame() => f,
            };
            let frame = match frame {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => break Failure::new(ErrorKind::Reset, e),
                None => break Failure::new(ErrorKind::Reset, "the server ended the stream"),
            };
            let Some(data) = frame.data_ref() else { continue };
            let plain;
            let data = match unzip.as_mut().map(|u| u.chunk(data)) {
                None => &data[..],
                Some(Ok(p)) => {
                    plain = p;
                    &plain[..]
                }
                Some(Err(e)) => break e,
            };
            let before = last_seq;
            if let Err(e) = drain_events(ctx, &mut rec, &mut decoder, data, &mut last_seq) {
                break e;
            }
            if last_seq != before {
                setup.settle(&mut rec);
            }
            if decoder.buffered() > MAX_EVENT_BYTES {
                break Failure::protocol(format!("an event longer than {MAX_EVENT_BYTES} bytes"));
            }
        };
        drop(conn);
        if !reconnect.lost(ctx, &mut rec, &ended).await {
            break;
        }
    }
    rec
}

/// Hands every event completed by `data` to the record.
fn drain_events(
    ctx: &StepCtx,
    rec: &mut ClientRecord,
    decoder: &mut Decoder,
    data: &[u8],
    last_seq: &mut Option<u64>,
) -> Result<(), Failure> {
    decode(decoder, data, |msg| match msg {
        PushMessage::Snapshot(s) => {
            rec.check_epoch(s.epoch);
            ctx.record_held(rec, s.seq);
            *last_seq = Some(s.seq);
        }
        PushMessage::Event(e) => {
            rec.check_epoch(e.epoch);
            ctx.record_delivery(rec, e.seq, e.ts_us);
            *last_seq = Some(e.seq);
        }
    })
}

/// Parses `data` as more of the stream and hands each complete message to `on`, in order. A
/// message that does not parse is a protocol error; those before it have been handed over.
/// Public so the benches read the stream exactly as the load generator does.
pub fn decode(decoder: &mut Decoder, data: &[u8], mut on: impl FnMut(PushMessage)) -> Result<(), Failure> {
    decoder.feed(data, |m| {
        on(wire::parse_push(&m.data).map_err(Failure::protocol)?);
        Ok(())
    })
}
