//! Server-Sent Events: `GET /sse`, one `text/event-stream` that never ends on its own.
//!
//! The stream opens with the snapshot (`event: snapshot`), or, when the client resumes with
//! `Last-Event-ID` (or `?since=S`), with every event it missed from the ring. Every event
//! frame carries `id: <seq>`, so a browser's `EventSource` resumes with no gap by itself.
//! Events are the feed's pre-built frames; a client that falls more than `--client-queue`
//! events behind is sent a fresh snapshot instead (a resync, counted), and one that stops
//! reading altogether is dropped by the socket's send timeout.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval};

use crate::app::App;
use crate::feed::Published;
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};
use crate::net::metered::InFlight;
use proto::Transport;

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

struct Stream {
    app: Arc<App>,
    pending: VecDeque<Bytes>,
    rx: broadcast::Receiver<Arc<Published>>,
    last_seq: u64,
    keep_alive: Interval,
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
    let since = last_event_id.or(query.since);

    let mut pending = VecDeque::new();
    pending.push_back(Bytes::from_static(b"retry: 1000\n\n"));
    let feed = &app.feed;
    let counters = app.metrics.transport(Transport::Sse);
    let resumed = since.and_then(|s| feed.subscribe_since(s).ok().map(|(backlog, rx)| (s, backlog, rx)));
    let (rx, last_seq) = match resumed {
        Some((s, backlog, rx)) => {
            let last = backlog.last().map_or(s, |p| p.seq);
            counters.events_delivered.fetch_add(backlog.len() as u64, Relaxed);
            counters.messages_sent.fetch_add(backlog.len() as u64, Relaxed);
            pending.extend(backlog.iter().map(|p| p.sse.clone()));
            (rx, last)
        }
        None => {
            // No cursor, or one the ring cannot serve: start from the snapshot.
            let (seq, snap, rx) = feed.subscribe_snapshot();
            pending.push_back(proto::sse::frame(Some(seq), "snapshot", &snap));
            counters.messages_sent.fetch_add(1, Relaxed);
            (rx, seq)
        }
    };
    let ka = app.config.sse_keepalive;
    let st = Stream {
        app: app.clone(),
        pending,
        rx,
        last_seq,
        keep_alive: tokio::time::interval_at(Instant::now() + ka, ka),
        _in_flight: in_flight,
    };
    let body = StreamBody::new(stream::unfold(st, next_frame)).boxed_unsync();
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

async fn next_frame(mut st: Stream) -> Option<(Result<Frame<Bytes>, Infallible>, Stream)> {
    if let Some(b) = st.pending.pop_front() {
        return Some((Ok(Frame::data(b)), st));
    }
    let counters = st.app.metrics.transport(Transport::Sse);
    loop {
        let frame = tokio::select! {
            _ = st.app.shutdown.cancelled() => return None,
            _ = st.keep_alive.tick() => Bytes::from_static(KEEP_ALIVE),
            r = st.rx.recv() => match r {
                Ok(ev) if ev.seq <= st.last_seq => continue,
                Ok(ev) => {
                    st.last_seq = ev.seq;
                    counters.events_delivered.fetch_add(1, Relaxed);
                    counters.messages_sent.fetch_add(1, Relaxed);
                    st.keep_alive.reset();
                    ev.sse.clone()
                }
                Err(RecvError::Lagged(_)) => {
                    let (seq, snap) = st.app.feed.snapshot();
                    st.last_seq = seq;
                    st.app.metrics.slow_consumer_resyncs.fetch_add(1, Relaxed);
                    counters.messages_sent.fetch_add(1, Relaxed);
                    proto::sse::frame(Some(seq), "snapshot", &snap)
                }
                Err(RecvError::Closed) => return None,
            },
        };
        return Some((Ok(Frame::data(frame)), st));
    }
}
