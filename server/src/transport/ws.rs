//! `GET /ws`: the feed over WebSocket. The first message is the snapshot (or, with
//! `?since=S`, every event after S from the ring), then one text frame per event: the
//! feed's stored JSON, never re-serialised.
//!
//! A client more than `--client-queue` events behind gets a fresh snapshot (a resync,
//! counted); one that stops reading is dropped by the socket's send timeout (counted). A ping
//! goes out every `--ping-interval`; a client that has not answered by the next one is
//! closed. On shutdown every client gets close 1001.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::upgrade::{self, Socket};
use crate::app::App;
use crate::http::query::FeedQuery;
use crate::http::response::Body;
use crate::net::metered::InFlight;
use proto::Transport;

pub fn handle<B>(app: &Arc<App>, req: Request<B>, query: &FeedQuery, in_flight: InFlight) -> Response<Body>
where
    B: hyper::body::Body + Send + 'static,
{
    let since = query.since;
    upgrade::upgrade(app, req, in_flight, move |app, ws| run(app, ws, since))
}

fn text(bytes: Bytes) -> Message {
    Message::Text(Utf8Bytes::try_from(bytes).expect("the feed writes UTF-8 JSON"))
}

async fn run(app: Arc<App>, mut ws: Socket, since: Option<u64>) {
    let counters = app.metrics.transport(Transport::Ws);
    let feed = &app.feed;
    let resumed = since.and_then(|s| feed.subscribe_since(s).ok().map(|(backlog, rx)| (s, backlog, rx)));
    let (mut rx, mut last_seq) = match resumed {
        Some((s, backlog, rx)) => {
            let last = backlog.last().map_or(s, |p| p.seq);
            for p in backlog {
                if ws.send(Message::Text(p.json.clone())).await.is_err() {
                    return;
                }
                counters.messages_sent.fetch_add(1, Relaxed);
                counters.events_delivered.fetch_add(1, Relaxed);
            }
            (rx, last)
        }
        None => {
            let (seq, snap, rx) = feed.subscribe_snapshot();
            if ws.send(text(snap)).await.is_err() {
                return;
            }
            counters.messages_sent.fetch_add(1, Relaxed);
            (rx, seq)
        }
    };

    let every = app.config.ping_interval;
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    let mut awaiting_pong = false;
    loop {
        let out = tokio::select! {
            _ = app.shutdown.cancelled() => {
                upgrade::close(&mut ws, CloseCode::Away, "server shutting down").await;
                return;
            }
            r = rx.recv() => match r {
                Ok(ev) if ev.seq <= last_seq => continue,
                Ok(ev) => {
                    last_seq = ev.seq;
                    counters.events_delivered.fetch_add(1, Relaxed);
                    Message::Text(ev.json.clone())
                }
                Err(RecvError::Lagged(_)) => {
                    let (seq, snap) = feed.snapshot();
                    last_seq = seq;
                    app.metrics.slow_consumer_resyncs.fetch_add(1, Relaxed);
                    text(snap)
                }
                Err(RecvError::Closed) => {
                    upgrade::close(&mut ws, CloseCode::Away, "feed ended").await;
                    return;
                }
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    app.metrics.ws_pings_missed.fetch_add(1, Relaxed);
                    upgrade::close(&mut ws, CloseCode::Policy, "no pong").await;
                    return;
                }
                awaiting_pong = true;
                if ws.send(Message::Ping(Bytes::from_static(b"pushpull"))).await.is_err() {
                    return;
                }
                continue;
            }
            m = ws.next() => match m {
                None => return,
                Some(Ok(Message::Pong(_))) => { awaiting_pong = false; continue; }
                // Close frames are replied to by tungstenite; the stream then ends (None).
                Some(Ok(_)) => continue,
                Some(Err(e)) => { upgrade::fail(&mut ws, &e).await; return; }
            },
        };
        if ws.send(out).await.is_err() {
            return;
        }
        counters.messages_sent.fetch_add(1, Relaxed);
    }
}
