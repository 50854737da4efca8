//! The classroom demo: the page at `/` (its files are embedded in the binary, so a class needs
//! nothing but the server) and `GET /api/page?page=ID`, which tells the page the true wire
//! bytes of its own connections and its latest captured exchanges (see [`crate::pages`]).
//!
//! The page tags every feed request with its id; the stats request itself should carry no
//! tag or be counted as `other`, so fetching the numbers never changes a panel's numbers.

use std::collections::BTreeMap;

use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::app::App;
use crate::http::query::FeedQuery;
use crate::http::response::{self, Body};
use crate::pages::Exchanges;
use proto::Transport;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../assets/demo/index.html"),
    },
    Asset {
        path: "/demo/demo.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/demo/demo.css"),
    },
    Asset {
        path: "/demo/demo.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/demo/demo.js"),
    },
];

/// Nothing but this server: scripts, styles and connections stay on this origin.
const CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Whether `path` is one of the demo's embedded assets.
pub fn is_asset(path: &str) -> bool {
    ASSETS.iter().any(|a| a.path == path)
}

/// Serves one of the page's embedded files.
pub fn asset(path: &str) -> Response<Body> {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return response::not_found(path);
    };
    let mut r = response::ok(asset.content_type, asset.body);
    let h = r.headers_mut();
    // Always revalidate, so a rebuilt server never shows last lesson's page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    r
}

/// Bytes of one transport's requests of a page, from the page's point of view.
#[derive(Debug, Default, Serialize)]
struct PageBytes {
    /// Bytes the server wrote to the page (response heads, bodies, frames).
    to_page: u64,
    /// Bytes the server read from the page (request heads, frames).
    from_page: u64,
}

/// `GET /api/page?page=ID`.
#[derive(Debug, Serialize)]
struct PageStats {
    page: String,
    /// The server's clock, microseconds since the Unix epoch: the page estimates its clock
    /// offset from this and the round trip, so delays stay true when the browser runs on
    /// another machine.
    server_time_us: u64,
    epoch: u64,
    latest_seq: u64,
    /// By transport label (`short_poll`, `long_poll`, `sse`, `ws`, and `other` if used).
    bytes: BTreeMap<&'static str, PageBytes>,
    /// By transport label: the HTTP version (`h1`, `h2`) the panel's latest request came
    /// over; for `ws`, whether the socket is an HTTP/1.1 Upgrade or an HTTP/2 stream.
    protocols: BTreeMap<&'static str, &'static str>,
    /// Whether some of this page's requests shared an HTTP/2 connection with another
    /// transport: from then on their bytes count on `/metrics` as `shared`, not for a panel.
    shared_connection: bool,
    exchanges: Exchanges,
}

/// `GET /api/page?page=ID`: the page's own byte counts and captured exchanges.
pub fn stats(app: &App, query: &FeedQuery) -> Response<Body> {
    let Some(page) = query.page.as_deref() else {
        return response::error(
            StatusCode::BAD_REQUEST,
            "`page` is required: the page id the demo tags its requests with, e.g. /api/page?page=abc123",
        );
    };
    let mut bytes: BTreeMap<&'static str, PageBytes> =
        [Transport::ShortPoll, Transport::LongPoll, Transport::Sse, Transport::Ws]
            .into_iter()
            .map(|t| (t.label(), PageBytes::default()))
            .collect();
    for (t, received, sent) in app.pages.report(page) {
        bytes.insert(t.label(), PageBytes { to_page: sent, from_page: received });
    }
    use proto::variant::Dimension as _;
    let (used, shared_connection) = app.pages.protocols(page);
    let protocols = used.into_iter().map(|(c, p)| (c.label(), p.name())).collect();
    let body = PageStats {
        page: page.to_string(),
        server_time_us: proto::now_us(),
        epoch: app.feed.epoch(),
        latest_seq: app.feed.latest_seq(),
        bytes,
        protocols,
        shared_connection,
        exchanges: app.pages.exchanges(page),
    };
    response::json(StatusCode::OK, serde_json::to_vec(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_page_references_is_embedded() {
        let html = std::str::from_utf8(ASSETS[0].body).expect("utf-8");
        for a in &ASSETS[1..] {
            assert!(html.contains(&format!("\"{}\"", a.path)), "the page does not reference {}", a.path);
        }
        assert!(is_asset("/") && is_asset("/demo/demo.js") && !is_asset("/demo/nope.js"));
    }
}
