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
use crate::net::metered::ConnMeter;
use crate::transport::{echo, events, short_poll, sse, ws};
use proto::{Channel, Transport};

/// Which transport a path belongs to (`other` for everything that is not the feed).
pub fn transport_of(path: &str, query: Option<&str>) -> Channel {
    match path {
        "/api/scores" => Channel::Feed(Transport::ShortPoll),
        "/api/events" => {
            let long = query.is_some_and(|q| q.split('&').any(|p| p == "wait" || p.starts_with("wait=")));
            if long {
                Channel::Feed(Transport::LongPoll)
            } else {
                Channel::Feed(Transport::DeltaPoll)
            }
        }
        "/sse" => Channel::Feed(Transport::Sse),
        "/ws" => Channel::Feed(Transport::Ws),
        "/ws/echo" => Channel::WsEcho,
        _ => Channel::Other,
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
            || transport != Channel::Other
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
        Channel::Feed(Transport::ShortPoll) => short_poll::handle(&app, &req),
        Channel::Feed(Transport::DeltaPoll) | Channel::Feed(Transport::LongPoll) => {
            events::handle(&app, &query).await
        }
        Channel::Feed(Transport::Sse) => sse::handle(&app, &req, &query, in_flight),
        Channel::Feed(Transport::Ws) => ws::handle(&app, req, &query, in_flight),
        Channel::WsEcho => echo::handle(&app, req, in_flight),
        Channel::Other => match path.as_str() {
            "/healthz" => response::ok("text/plain; charset=utf-8", "ok\n"),
            // The server's clock, for clients on other hosts to estimate their offset.
            "/api/time" => {
                response::json(http::StatusCode::OK, format!("{{\"now_us\":{}}}", proto::now_us()))
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
        assert_eq!(transport_of("/api/scores", None), Channel::Feed(Transport::ShortPoll));
        assert_eq!(transport_of("/api/events", Some("since=1")), Channel::Feed(Transport::DeltaPoll));
        assert_eq!(transport_of("/api/events", Some("since=1&wait=30")), Channel::Feed(Transport::LongPoll));
        assert_eq!(transport_of("/api/events", Some("waiting=1")), Channel::Feed(Transport::DeltaPoll));
        assert_eq!(transport_of("/sse", None), Channel::Feed(Transport::Sse));
        assert_eq!(transport_of("/ws", Some("since=4")), Channel::Feed(Transport::Ws));
        assert_eq!(transport_of("/ws/echo", None), Channel::WsEcho);
        assert_eq!(transport_of("/metrics", None), Channel::Other);
    }
}
