//! Short polling: `GET /api/scores` answers the whole snapshot every time, unless the
//! client's `If-None-Match` names the current seq, in which case it gets a bodyless 304.

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};

use crate::app::App;
use crate::http::headers;
use crate::http::response::{self, Body};
use proto::wire;
use proto::Transport;

pub fn handle<B>(app: &App, req: &Request<B>) -> Response<Body> {
    let (seq, snapshot) = app.feed.snapshot();
    let tag = wire::etag(seq);
    let not_modified = headers::tokens(req.headers(), header::IF_NONE_MATCH)
        .any(|t| t == "*" || wire::parse_etag(t) == Some(seq));
    let mut resp = if not_modified {
        let mut r = Response::new(response::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        if seq > 0 {
            app.metrics.transport(Transport::ShortPoll).events_delivered.inc();
        }
        response::ok("application/json", snapshot)
    };
    let h = resp.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&tag).expect("a quoted number is a valid header"));
    // Revalidate every time: the browser must ask, never serve its cached copy silently.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
