//! The service hyper calls for every request: name the channel, start counting, answer.
//!
//! Which channel, which methods and which handler all come from one table
//! ([`super::routes::ROUTES`]). The channel is named before anything else happens, so that
//! even a refused request's bytes land on the right counter.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::query::FeedQuery;
use super::response::{self, Body};
use super::routes::{self, Handler};
use crate::app::App;
use crate::demo;
use crate::net::metered::{ConnMeter, InFlight};
use crate::pages::{Capture, MAX_HEAD_BYTES};
use crate::transport::{echo, events, short_poll, sse, ws};
use proto::variant::Protocol;
use proto::Channel;

/// The service hyper calls for every request on a connection.
pub async fn handle(
    app: Arc<App>,
    meter: Arc<ConnMeter>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let route = routes::find(req.uri().path(), req.uri().query());
    let channel = route.map_or(Channel::Other, |r| r.channel);
    let query = FeedQuery::parse(req.uri().query());
    let page = query.as_ref().ok().and_then(|q| q.page.as_deref());
    let tally = page.and_then(|p| app.pages.tally(p, channel));
    let h2 = req.version() == http::Version::HTTP_2;
    if h2 {
        meter.set_multiplexed();
    }
    let in_flight = meter.begin_request(channel, tally);
    if let Some(p) = page {
        let protocol = if h2 { Protocol::H2 } else { Protocol::H1 };
        app.pages.note_protocol(p, channel, protocol, meter.transport() == Channel::Shared);
    }
    // Demo page (issue 6): a tagged short poll or WebSocket handshake is kept, with the
    // response head as the socket writes it, for the page's "How it works". Untagged
    // requests copy nothing.
    // An HTTP/2 head is HPACK-coded frames on the wire: there is no text head to copy.
    let capture = if h2 { None } else { Capture::request(page, channel, &req) };

    let Some(route) = route else {
        return Ok(response::not_found(req.uri().path()));
    };
    let extended_connect = h2 && req.method() == Method::CONNECT && route.takes_extended_connect();
    if !route.allows(req.method()) && !extended_connect {
        return Ok(response::method_not_allowed(&route.allow()));
    }
    let query = match query {
        Ok(q) => q,
        Err(e) => return Ok(response::error(StatusCode::BAD_REQUEST, e.to_string())),
    };
    let resp = dispatch(&app, route.handler, req, &query, in_flight).await;
    if let Some(pending) = capture.and_then(|c| c.respond(&resp)) {
        let app = app.clone();
        meter.capture_response_head(MAX_HEAD_BYTES, move |head, len| app.pages.record(pending, head, len));
    }
    Ok(resp)
}

async fn dispatch(
    app: &Arc<App>,
    handler: Handler,
    req: Request<Incoming>,
    query: &FeedQuery,
    in_flight: InFlight,
) -> Response<Body> {
    match handler {
        Handler::ShortPoll => short_poll::handle(app, &req),
        Handler::Events => events::handle(app, &req, query).await,
        Handler::Sse => sse::handle(app, &req, query, in_flight),
        Handler::Ws => ws::handle(app, req, query, in_flight),
        Handler::WsEcho => echo::handle(app, req, in_flight),
        Handler::Health => response::ok("text/plain; charset=utf-8", "ok\n"),
        Handler::Time => response::json(StatusCode::OK, format!("{{\"now_us\":{}}}", proto::now_us())),
        Handler::Metrics => response::ok(
            "text/plain; version=0.0.4; charset=utf-8",
            app.metrics.render(app.feed.latest_seq(), app.feed.epoch()),
        ),
        Handler::PageStats => demo::stats(app, query),
        Handler::DemoAsset => demo::asset(req.uri().path()),
    }
}
