//! Routing: which handler answers a request, and which transport its bytes count for.
//!
//! The transport is named before anything else happens, so that even a refused request's
//! bytes land on the right counter.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::query::FeedQuery;
use super::response::{self, Body};
use crate::app::App;
use crate::metrics::Transport;
use crate::net::metered::ConnMeter;
use crate::transport::{echo, events, short_poll, sse, ws};

/// Which transport a path belongs to (`other` for everything that is not the feed).
pub fn transport_of(path: &str, query: Option<&str>) -> Transport {
    match path {
        "/api/scores" => Transport::ShortPoll,
        "/api/events" => {
            let long = query.is_some_and(|q| q.split('&').any(|p| p == "wait" || p.starts_with("wait=")));
            if long {
                Transport::LongPoll
            } else {
                Transport::DeltaPoll
            }
        }
        "/sse" => Transport::Sse,
        "/ws" => Transport::Ws,
        "/ws/echo" => Transport::WsEcho,
        _ => Transport::Other,
    }
}

/// The service hyper calls for every request on a connection.
pub async fn handle(
    app: Arc<App>,
    meter: Arc<ConnMeter>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let transport = transport_of(&path, req.uri().query());
    let query = FeedQuery::parse(req.uri().query());
    let page = query.as_ref().ok().and_then(|q| q.page.as_deref());
    let tally = page.and_then(|p| app.pages.tally(p, transport));
    let in_flight = meter.begin_request(transport, tally);
    // Demo page (issue 6): a tagged short poll or WebSocket handshake is kept, with the
    // response below, for the page's "How it works". Untagged requests copy nothing.
    let capture = crate::pages::Capture::request(page, transport, &req);

    let known =
        matches!(path.as_str(), "/" | "/healthz" | "/metrics" | "/api/time" | crate::demo::STATS_PATH)
            || transport != Transport::Other
            || crate::demo::is_asset(&path);
    if !known {
        return Ok(response::not_found(&path));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(response::method_not_allowed("GET, HEAD"));
    }
    let query = match query {
        Ok(q) => q,
        Err(e) => return Ok(response::error(http::StatusCode::BAD_REQUEST, e.to_string())),
    };
    let resp = match transport {
        Transport::ShortPoll => short_poll::handle(&app, &req),
        Transport::DeltaPoll | Transport::LongPoll => events::handle(&app, &query).await,
        Transport::Sse => sse::handle(&app, &req, &query, in_flight),
        Transport::Ws => ws::handle(&app, req, &query, in_flight),
        Transport::WsEcho => echo::handle(&app, req, in_flight),
        Transport::Other => match path.as_str() {
            "/healthz" => response::ok("text/plain; charset=utf-8", "ok\n"),
            // The server's clock, for clients on other hosts to estimate their offset.
            "/api/time" => {
                response::json(http::StatusCode::OK, format!("{{\"now_us\":{}}}", crate::feed::now_us()))
            }
            "/metrics" => response::ok(
                "text/plain; version=0.0.4; charset=utf-8",
                app.metrics.render(app.feed.latest_seq(), app.feed.epoch()),
            ),
            _ => crate::demo::handle(&app, &path, &query),
        },
    };
    if let Some(c) = capture {
        app.pages.record(c, &resp);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_transports() {
        assert_eq!(transport_of("/api/scores", None), Transport::ShortPoll);
        assert_eq!(transport_of("/api/events", Some("since=1")), Transport::DeltaPoll);
        assert_eq!(transport_of("/api/events", Some("since=1&wait=30")), Transport::LongPoll);
        assert_eq!(transport_of("/api/events", Some("waiting=1")), Transport::DeltaPoll);
        assert_eq!(transport_of("/sse", None), Transport::Sse);
        assert_eq!(transport_of("/ws", Some("since=4")), Transport::Ws);
        assert_eq!(transport_of("/ws/echo", None), Transport::WsEcho);
        assert_eq!(transport_of("/metrics", None), Transport::Other);
    }
}
