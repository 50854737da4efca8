//! Delta polling and long polling: `GET /api/events?since=S[&wait=T]`.
//!
//! The answer is `{"epoch":E,"events":[…],"next":N}`, assembled from the events' stored JSON
//! without re-serialising them. A cursor the ring cannot serve (too old, or beyond the latest
//! seq as after a restart) gets 410 with a snapshot to restart from. With `wait`, the request
//! is held until an event after S exists, `wait` (capped by `--long-poll-max`) passes, or the
//! server shuts down, whichever comes first.

use std::sync::Arc;

use http::{Response, StatusCode};

use crate::app::App;
use crate::feed::Published;
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};
use proto::wire::Gone;
use proto::Transport;

pub async fn handle(app: &App, query: &FeedQuery) -> Response<Body> {
    let Some(since) = query.since else {
        return response::error(
            StatusCode::BAD_REQUEST,
            "`since` is required: the last seq you have, e.g. /api/events?since=0",
        );
    };
    let transport = if query.wait.is_some() { Transport::LongPoll } else { Transport::DeltaPoll };
    let mut events = match app.feed.since(since) {
        Ok(ev) => ev,
        Err(e) => return gone(app, e.to_string()),
    };
    if events.is_empty() {
        if let Some(wait) = query.wait.filter(|w| !w.is_zero()) {
            let wait = wait.min(app.config.long_poll_max);
            let mut latest = app.feed.watch_latest();
            let arrived = tokio::select! {
                r = tokio::time::timeout(wait, latest.wait_for(|s| *s > since)) => matches!(r, Ok(Ok(_))),
                _ = app.shutdown.cancelled() => false,
            };
            if arrived {
                events = match app.feed.since(since) {
                    Ok(ev) => ev,
                    Err(e) => return gone(app, e.to_string()),
                };
            }
        }
    }
    app.metrics.transport(transport).events_delivered.inc_by(events.len() as u64);
    response::json(StatusCode::OK, page(app.feed.epoch(), &events, since))
}

/// `{"epoch":E,"events":[e1,e2,…],"next":N}` from the events' stored JSON.
fn page(epoch: u64, events: &[Arc<Published>], since: u64) -> Vec<u8> {
    let next = events.last().map_or(since, |e| e.seq);
    let size: usize = events.iter().map(|e| e.json.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.extend_from_slice(format!("{{\"epoch\":{epoch},\"events\":[").as_bytes());
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e.json.as_bytes());
    }
    out.extend_from_slice(format!("],\"next\":{next}}}").as_bytes());
    out
}

fn gone(app: &App, why: String) -> Response<Body> {
    let body =
        Gone { error: format!("{why}; restart from this snapshot"), snapshot: app.feed.snapshot_value() };
    response::json(StatusCode::GONE, serde_json::to_vec(&body).unwrap_or_default())
}
