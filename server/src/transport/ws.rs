//! `GET /ws`: the feed over WebSocket. The first message is the snapshot (or, with
//! `?since=S`, every event after S from the ring), then one text frame per event: the
//! feed's stored JSON, never re-serialised; [`Push`] decides what comes next.
//!
//! A client that stops reading is dropped by the socket's send timeout (counted). A ping
//! goes out every `--ping-interval`; a client that has not answered by the next one is
//! closed. On shutdown every client gets close 1001. A client that offered permessage-deflate
//! gets a compressed session ([`WsConn`]): each message goes through its own compressor.

use std::sync::Arc;

use http::{Request, Response};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::push::{Item, Push};
use super::upgrade;
use super::wsconn::{Incoming, WsConn};
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
        ws.finish().await;
    })
}

fn message(item: Item) -> Utf8Bytes {
    match item {
        Item::Snapshot { json, .. } => Utf8Bytes::try_from(json).expect("the feed writes UTF-8 JSON"),
        Item::Event(ev) => ev.json.clone(),
    }
}

async fn run(app: Arc<App>, ws: &mut WsConn, since: Option<u64>) {
    let counters = app.metrics.transport(Transport::Ws);
    let (opening, mut push) = Push::subscribe(&app, Transport::Ws, since);
    for item in opening {
        if ws.send_text(message(item)).await.is_err() {
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
                ws.close(CloseCode::Away, "server shutting down").await;
                return;
            }
            item = push.next() => match item {
                Some(item) => message(item),
                None => {
                    ws.close(CloseCode::Away, "feed ended").await;
                    return;
                }
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    app.metrics.ws_pings_missed.inc();
                    ws.close(CloseCode::Policy, "no pong").await;
                    return;
                }
                awaiting_pong = true;
                if ws.send_ping(b"pushpull").await.is_err() {
                    return;
                }
                continue;
            }
            m = ws.recv() => match m {
                None | Some(Err(_)) => return,
                Some(Ok(Incoming::Pong)) => { awaiting_pong = false; continue; }
                // Close frames are replied to by the stack; the stream then ends (None).
                Some(Ok(_)) => continue,
            },
        };
        if ws.send_text(out).await.is_err() {
            return;
        }
        counters.messages_sent.inc();
    }
}
