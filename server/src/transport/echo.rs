//! `GET /ws/echo`: sends back every text and binary message as it came, answers pings, and
//! completes the closing handshake. This is what the Autobahn suite and round-trip time
//! measurements talk to; it never touches the feed.

use std::sync::Arc;

use http::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::upgrade;
use super::wsconn::{Incoming, WsConn};
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
        ws.finish().await;
    })
}

async fn run(app: Arc<App>, ws: &mut WsConn) {
    let counters = app.metrics.transport(Channel::WsEcho);
    loop {
        let msg = tokio::select! {
            _ = app.shutdown.cancelled() => {
                ws.close(CloseCode::Away, "server shutting down").await;
                return;
            }
            m = ws.recv() => m,
        };
        let sent = match msg {
            None | Some(Err(_)) => return,
            // The stack checked it is UTF-8 before handing it over.
            Some(Ok(Incoming::Text(t))) => match Utf8Bytes::try_from(t) {
                Ok(t) => ws.send_text(t).await,
                Err(_) => return,
            },
            Some(Ok(Incoming::Binary(b))) => ws.send_binary(b).await,
            // Pings are answered and close frames replied to by the stack as it reads.
            Some(Ok(_)) => continue,
        };
        if sent.is_err() {
            return;
        }
        counters.messages_sent.inc();
    }
}
