//! Short polling: `GET /api/scores` answers the whole snapshot every time, unless the
//! client's `If-None-Match` names the current seq, in which case it gets a bodyless 304.
//! Compressed answers (issue 13) carry their coding in the ETag (`"42-gzip"`), so a 304 is
//! given only for the representation the client holds, and the body is compressed once per
//! coding and seq for all clients.

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};

use crate::app::App;
use crate::http::encoding;
use crate::http::headers;
use crate::http::response::{self, Body};
use proto::Transport;

pub fn handle<B>(app: &App, req: &Request<B>) -> Response<Body> {
    let (seq, snapshot) = app.feed.snapshot();
    let coding = encoding::chosen(req.headers());
    let tag = proto::encoding::etag(seq, coding);
    // Weak comparison (RFC 9110 §13.1.2): `W/` does not matter, the coding does.
    let not_modified = headers::tokens(req.headers(), header::IF_NONE_MATCH)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag);
    let mut resp = if not_modified {
        let mut r = Response::new(response::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        if seq > 0 {
            app.metrics.transport(Transport::ShortPoll).events_delivered.inc();
        }
        response::ok("application/json", app.encoded.snapshot(seq, &snapshot, coding))
    };
    let h = resp.headers_mut();
    encoding::mark(h, coding);
    h.insert(header::ETAG, HeaderValue::from_str(&tag).expect("a quoted number is a valid header"));
    // Revalidate every time: the browser must ask, never serve its cached copy silently.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
