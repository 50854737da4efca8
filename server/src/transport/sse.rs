//! Server-Sent Events: `GET /sse`, one `text/event-stream` that never ends on its own.
//!
//! The stream opens with the snapshot (`event: snapshot`), or, when the client resumes with
//! `Last-Event-ID` (or `?since=S`), with every event it missed from the ring; after that,
//! [`Push`] decides what comes next. Every event frame carries `id: <seq>`, so a browser's
//! `EventSource` resumes with no gap by itself. Events are the feed's pre-built frames; a
//! client that stops reading altogether is dropped by the socket's send timeout.
//! A client that accepts a compressed coding (issue 13) gets the stream through its own
//! compressor, flushed after every frame ([`StreamEncoder`]), while a
//! `--max-stream-compressors` permit is free.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::time::{Instant, Interval};

use super::compressed::Permit;
use super::push::{Item, Push};
use crate::app::App;
use crate::http::encoding::{self, Coding, StreamEncoder};
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};
use crate::net::metered::InFlight;
use proto::Transport;

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

struct Stream {
    app: Arc<App>,
    /// Frames to send before waiting on the feed: the retry hint and the opening.
    pending: VecDeque<Bytes>,
    push: Push,
    keep_alive: Interval,
    /// This stream's compressor (issue 13), if it negotiated one.
    encoder: Option<(StreamEncoder, Permit)>,
    _in_flight: InFlight,
}

pub fn handle<B>(app: &Arc<App>, req: &Request<B>, query: &FeedQuery, in_flight: InFlight) -> Response<Body> {
    let last_event_id = match req.headers().get("last-event-id").map(|v| v.to_str().map(str::trim)) {
        None => None,
        Some(Ok(v)) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return response::error(
                    StatusCode::BAD_REQUEST,
                    "`Last-Event-ID` must be a seq (a whole number)",
                )
            }
        },
        Some(Err(_)) => return response::error(StatusCode::BAD_REQUEST, "`Last-Event-ID` is not text"),
    };
    // The header wins: a browser reconnecting keeps the page's original `?since`.
    let (opening, push) = Push::subscribe(app, Transport::Sse, last_event_id.or(query.since));
    let mut pending = VecDeque::with_capacity(opening.len() + 1);
    pending.push_back(Bytes::from_static(b"retry: 1000\n\n"));
    pending.extend(opening.into_iter().map(|item| frame(app, item)));
    let coding = encoding::chosen(req.headers());
    let encoder = if coding.is_identity() { None } else { Permit::take(app) }
        .and_then(|permit| StreamEncoder::new(coding).ok().flatten().map(|e| (e, permit)));
    let coding = if encoder.is_some() { coding } else { Coding::Identity };
    let ka = app.config.sse_keepalive;
    let st = Stream {
        app: app.clone(),
        pending,
        push,
        keep_alive: tokio::time::interval_at(Instant::now() + ka, ka),
        encoder,
        _in_flight: in_flight,
    };
    let body = StreamBody::new(stream::unfold(st, next_frame)).boxed_unsync();
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    encoding::mark(h, coding);
    r
}

/// An item's SSE frame, counted as a message sent.
fn frame(app: &App, item: Item) -> Bytes {
    app.metrics.transport(Transport::Sse).messages_sent.inc();
    match item {
        Item::Snapshot { seq, json } => proto::sse::frame(Some(seq), "snapshot", &json),
        Item::Event(ev) => ev.sse.clone(),
    }
}

async fn next_frame(mut st: Stream) -> Option<(Result<Frame<Bytes>, Infallible>, Stream)> {
    if let Some(b) = st.pending.pop_front() {
        let b = st.encode(b)?;
        return Some((Ok(Frame::data(b)), st));
    }
    let frame = tokio::select! {
        _ = st.app.shutdown.cancelled() => return None,
        _ = st.keep_alive.tick() => Bytes::from_static(KEEP_ALIVE),
        item = st.push.next() => {
            st.keep_alive.reset();
            frame(&st.app, item?)
        }
    };
    let frame = st.encode(frame)?;
    Some((Ok(Frame::data(frame)), st))
}

impl Stream {
    /// A frame as it goes on the wire: through the compressor, if any. A compressor error
    /// (none is expected: it writes to memory) ends the stream; the client resumes.
    fn encode(&mut self, frame: Bytes) -> Option<Bytes> {
        match &mut self.encoder {
            None => Some(frame),
            Some((e, _)) => e.frame(&frame).map_err(|e| tracing::warn!(error = %e, "SSE compressor")).ok(),
        }
    }
}
