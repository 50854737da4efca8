//! Delta polling and long polling: `GET /api/events?since=S[&wait=T]`.
//!
//! The answer is `{"epoch":E,"events":[…],"next":N}`, assembled from the events' stored JSON
//! without re-serialising them. A cursor the ring cannot serve (too old, or beyond the latest
//! seq as after a restart) gets 410 with a snapshot to restart from. With `wait`, the request
//! is held until an event after S exists, `wait` (capped by `--long-poll-max`) passes, or the
//! server shuts down, whichever comes first. A compressed page (issue 13) is compressed once
//! per cursor, coding and latest seq: the long polls an event wakes share it.

use std::sync::Arc;

use http::{Request, Response, StatusCode};

use crate::app::App;
use crate::feed::Published;
use crate::http::encoding::{self, Coding};
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};
use proto::wire::Gone;
use proto::Transport;

pub async fn handle<B>(app: &App, req: &Request<B>, query: &FeedQuery) -> Response<Body> {
    let coding = encoding::chosen(req.headers());
    let mut resp = answer(app, query, coding).await;
    if resp.status() == StatusCode::OK || resp.status() == StatusCode::GONE {
        encoding::mark(resp.headers_mut(), coding);
    }
    resp
}

async fn answer(app: &App, query: &FeedQuery, coding: Coding) -> Response<Body> {
    let Some(since) = query.since else {
        return response::error(
            StatusCode::BAD_REQUEST,
            "`since` is required: the last seq you have, e.g. /api/events?since=0",
        );
    };
    let transport = if query.wait.is_some() { Transport::LongPoll } else { Transport::DeltaPoll };
    let mut events = match app.feed.since(since) {
        Ok(ev) => ev,
        Err(e) => return gone(app, e.to_string(), coding),
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
                    Err(e) => return gone(app, e.to_string(), coding),
                };
            }
        }
    }
    app.metrics.transport(transport).events_delivered.inc_by(events.len() as u64);
    let next = events.last().map_or(since, |e| e.seq);
    let body = app.encoded.page(since, next, coding, || page(app.feed.epoch(), &events, since).into());
    response::json(StatusCode::OK, body)
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

fn gone(app: &App, why: String, coding: Coding) -> Response<Body> {
    let body =
        Gone { error: format!("{why}; restart from this snapshot"), snapshot: app.feed.snapshot_value() };
    let json = serde_json::to_vec(&body).unwrap_or_default().into();
    response::json(StatusCode::GONE, encoding::compress(coding, &json))
}
