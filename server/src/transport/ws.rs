//! `GET /ws`: the feed over WebSocket. The first message is the snapshot (or, with
//! `?since=S`, every event after S from the ring), then one text frame per event: the
//! feed's stored JSON, never re-serialised; [`Push`] decides what comes next.
//!
//! A client that stops reading is dropped by the socket's send timeout (counted). A ping
//! goes out every `--ping-interval`; a client that has not answered by the next one is
//! closed. On shutdown every client gets close 1001.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::push::{Item, Push};
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
    upgrade::upgrade(app, req, in_flight, move |app, mut ws| async move {
        run(app, &mut ws, since).await;
        upgrade::finish(&mut ws).await;
    })
}

fn message(item: Item) -> Message {
    match item {
        Item::Snapshot { json, .. } => {
            Message::Text(Utf8Bytes::try_from(json).expect("the feed writes UTF-8 JSON"))
        }
        Item::Event(ev) => Message::Text(ev.json.clone()),
    }
}

async fn run(app: Arc<App>, ws: &mut Socket, since: Option<u64>) {
    let counters = app.metrics.transport(Transport::Ws);
    let (opening, mut push) = Push::subscribe(&app, Transport::Ws, since);
    for item in opening {
        if ws.send(message(item)).await.is_err() {
            return;
        }
        counters.messages_sent.inc();
    }

    let every = app.config.ping_interval;
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    let mut awaiting_pong = false;
    loop {
        let out = tokio::select! {
            _ = app.shutdown.cancelled() => {
                upgrade::close(ws, CloseCode::Away, "server shutting down").await;
                return;
            }
            item = push.next() => match item {
                Some(item) => message(item),
                None => {
                    upgrade::close(ws, CloseCode::Away, "feed ended").await;
                    return;
                }
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    app.metrics.ws_pings_missed.inc();
                    upgrade::close(ws, CloseCode::Policy, "no pong").await;
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
                Some(Err(e)) => { upgrade::fail(ws, &e).await; return; }
            },
        };
        if ws.send(out).await.is_err() {
            return;
        }
        counters.messages_sent.inc();
    }
}
