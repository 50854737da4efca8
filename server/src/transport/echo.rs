//! `GET /ws/echo`: sends back every text and binary message as it came, answers pings, and
//! completes the closing handshake. This is what the Autobahn suite and round-trip time
//! measurements talk to; it never touches the feed.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::upgrade::{self, Socket};
use crate::app::App;
use crate::http::response::Body;
use crate::net::metered::InFlight;
use proto::Channel;

pub fn handle<B>(app: &Arc<App>, req: Request<B>, in_flight: InFlight) -> Response<Body>
where
    B: hyper::body::Body + Send + 'static,
{
    upgrade::upgrade(app, req, in_flight, |app, mut ws| async move {
        run(app, &mut ws).await;
        upgrade::finish(&mut ws).await;
    })
}

async fn run(app: Arc<App>, ws: &mut Socket) {
    let counters = app.metrics.transport(Channel::WsEcho);
    loop {
        let msg = tokio::select! {
            _ = app.shutdown.cancelled() => {
                upgrade::close(ws, CloseCode::Away, "server shutting down").await;
                return;
            }
            m = ws.next() => m,
        };
        match msg {
            None => return,
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                if ws.send(m).await.is_err() {
                    return;
                }
                counters.messages_sent.inc();
            }
            // Pings are answered and close frames replied to by tungstenite as it reads.
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                upgrade::fail(ws, &e).await;
                return;
            }
        }
    }
}
