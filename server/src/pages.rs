//! Per-page byte tallies for the classroom demo: the page tags its requests with
//! `?page=ID`, and the bytes of those requests are counted for that page and transport too,
//! so the page can show true wire bytes rather than estimates. For the page's "How it
//! works", each page also keeps its latest WebSocket handshake and poll exchanges ([`Capture`]),
//! rebuilt from the head hyper parsed and the head hyper will write (header names in lower
//! case, as hyper keeps them; `tests/demo_page.rs` checks them byte for byte against the wire).
//!
//! Bounded: at most [`MAX_PAGES`] pages are tracked; a new page evicts the one seen least
//! recently, so a script inventing page ids cannot grow the server's memory; a page keeps
//! at most three exchanges of at most [`MAX_HEAD_BYTES`] each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use http::header::{self, HeaderMap};
use http::{Method, Request, Response, StatusCode, Version};
use serde::Serialize;

use crate::http::headers::has_token;
use crate::net::metered::ByteTally;
use proto::{Channel, Transport};

/// Pages tracked at most.
pub const MAX_PAGES: usize = 256;

/// Longest request or response head kept as text (its size is always the true one).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

#[derive(Default)]
struct Page {
    tallies: HashMap<Channel, Arc<ByteTally>>,
    seen: Option<Instant>,
    exchanges: Exchanges,
}

/// One request and its response, as the server parsed the one and wrote the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The request head: request line, headers, blank line (`\r\n` line ends).
    pub request_head: String,
    /// Bytes of the request head on the wire.
    pub request_head_bytes: u64,
    /// The response head: status line, headers, blank line.
    pub response_head: String,
    /// Bytes of the response head on the wire.
    pub response_head_bytes: u64,
    /// Bytes of the response body (0 for `101` and `304`).
    pub response_body_bytes: u64,
    pub status: u16,
}

/// A page's latest exchanges of each kind the demo explains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exchanges {
    /// The WebSocket opening handshake (`GET /ws` and its `101`, or its refusal).
    pub ws_handshake: Option<Exchange>,
    /// A short poll that brought news (`200`).
    pub poll_new: Option<Exchange>,
    /// A short poll that brought nothing new (`304`).
    pub poll_not_modified: Option<Exchange>,
}

/// A tagged request whose exchange the page will show: taken before the handler consumes
/// the request, completed with the response by [`Pages::record`].
pub struct Capture {
    page: String,
    transport: Channel,
    version: Version,
    closes: bool,
    request_head: Vec<u8>,
}

impl Capture {
    /// Starts a capture for a short poll or a WebSocket handshake of `page`; `None` for every
    /// other request (nothing is copied for them).
    pub fn request<B>(page: Option<&str>, transport: Channel, req: &Request<B>) -> Option<Capture> {
        let page = page?;
        if !matches!(transport, Channel::Feed(Transport::ShortPoll) | Channel::Feed(Transport::Ws))
            || req.method() != Method::GET
        {
            return None;
        }
        let mut head = Vec::with_capacity(512);
        let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
        head.extend_from_slice(
            format!("{} {} {}\r\n", req.method(), target, version_str(req.version())).as_bytes(),
        );
        write_headers(&mut head, req.headers());
        head.extend_from_slice(b"\r\n");
        Some(Capture {
            page: page.to_string(),
            transport,
            version: req.version(),
            closes: has_token(req.headers(), header::CONNECTION, "close"),
            request_head: head,
        })
    }
}

/// The response head hyper 1.x writes for `resp`: its status line, the handler's headers in
/// order, then what hyper adds itself (`content-length` when the body has a known length and
/// the status allows one, `connection: close` when the client asked to close, and `date`).
/// Header names are lower case, as hyper writes them.
pub fn response_head<B>(
    resp: &Response<B>,
    body_len: Option<u64>,
    version: Version,
    closes: bool,
) -> Vec<u8> {
    let status = resp.status();
    let mut head = Vec::with_capacity(256);
    let reason = status.canonical_reason().unwrap_or("<none>");
    head.extend_from_slice(format!("{} {} {reason}\r\n", version_str(version), status.as_str()).as_bytes());
    write_headers(&mut head, resp.headers());
    let h = resp.headers();
    if version == Version::HTTP_11 && closes && !has_token(h, header::CONNECTION, "close") {
        head.extend_from_slice(b"connection: close\r\n");
    }
    let may_have_length =
        !status.is_informational() && status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED;
    if may_have_length
        && !h.contains_key(header::CONTENT_LENGTH)
        && !h.contains_key(header::TRANSFER_ENCODING)
    {
        match body_len {
            Some(n) => head.extend_from_slice(format!("content-length: {n}\r\n").as_bytes()),
            None => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
    }
    if !h.contains_key(header::DATE) {
        let date = httpdate::fmt_http_date(SystemTime::now());
        head.extend_from_slice(format!("date: {date}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn version_str(v: Version) -> &'static str {
    if v == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
}

fn write_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Text of a head for display, cut at [`MAX_HEAD_BYTES`].
fn head_text(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_HEAD_BYTES)]).into_owned();
    if bytes.len() > MAX_HEAD_BYTES {
        s.push_str("…(cut)");
    }
    s
}

/// The registry; see the module doc.
#[derive(Default)]
pub struct Pages {
    pages: Mutex<HashMap<String, Page>>,
}

impl Pages {
    /// The tally of `page`'s requests of `transport`, created on first use.
    pub fn tally(&self, page: &str, transport: Channel) -> Option<Arc<ByteTally>> {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if !pages.contains_key(page) && pages.len() >= MAX_PAGES {
            let oldest = pages.iter().min_by_key(|(_, p)| p.seen).map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                pages.remove(&k);
            }
        }
        let p = pages.entry(page.to_string()).or_default();
        p.seen = Some(Instant::now());
        Some(p.tallies.entry(transport).or_default().clone())
    }

    /// `(transport, bytes received, bytes sent)` of every transport `page` has used.
    pub fn report(&self, page: &str) -> Vec<(Channel, u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = pages
            .get(page)
            .map(|p| {
                p.tallies.iter().map(|(t, b)| (*t, b.received.load(Relaxed), b.sent.load(Relaxed))).collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Completes `capture` with the response about to be sent and keeps it as `page`'s latest
    /// exchange of its kind. A page that is no longer tracked is not brought back.
    pub fn record<B: hyper::body::Body>(&self, capture: Capture, resp: &Response<B>) {
        let status = resp.status();
        let body_len = if status == StatusCode::NOT_MODIFIED || status.is_informational() {
            Some(0)
        } else {
            resp.body().size_hint().exact()
        };
        let response = response_head(resp, body_len, capture.version, capture.closes);
        let exchange = Exchange {
            request_head: head_text(&capture.request_head),
            request_head_bytes: capture.request_head.len() as u64,
            response_head: head_text(&response),
            response_head_bytes: response.len() as u64,
            response_body_bytes: body_len.unwrap_or(0),
            status: status.as_u16(),
        };
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pages.get_mut(&capture.page) else { return };
        let slot = match (capture.transport, status) {
            (Channel::Feed(Transport::Ws), _) => &mut p.exchanges.ws_handshake,
            (_, StatusCode::OK) => &mut p.exchanges.poll_new,
            (_, StatusCode::NOT_MODIFIED) => &mut p.exchanges.poll_not_modified,
            _ => return,
        };
        *slot = Some(exchange);
    }

    /// `page`'s latest exchanges (all `None` for a page never seen).
    pub fn exchanges(&self, page: &str) -> Exchanges {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.get(page).map(|p| p.exchanges.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn tallies_are_per_page_and_transport_and_bounded() {
        let p = Pages::default();
        let a = p.tally("a", Channel::Feed(Transport::Ws)).expect("tally");
        a.sent.fetch_add(10, Relaxed);
        p.tally("a", Channel::Feed(Transport::Ws)).expect("same").sent.fetch_add(5, Relaxed);
        assert_eq!(p.report("a"), vec![(Channel::Feed(Transport::Ws), 0, 15)]);
        assert!(p.report("b").is_empty());
        for i in 0..MAX_PAGES + 10 {
            p.tally(&format!("x{i}"), Channel::Feed(Transport::Sse));
        }
        assert_eq!(p.pages.lock().expect("lock").len(), MAX_PAGES);
    }

    #[test]
    fn a_poll_exchange_is_kept_per_page_and_status() {
        let p = Pages::default();
        p.tally("a", Channel::Feed(Transport::ShortPoll));
        let req = Request::get("/api/scores?page=a")
            .header("host", "127.0.0.1:8080")
            .header("if-none-match", "\"7\"")
            .body(())
            .expect("request");
        let c = Capture::request(Some("a"), Channel::Feed(Transport::ShortPoll), &req).expect("captured");
        let mut resp = Response::new(http_body_util::Empty::<bytes::Bytes>::new());
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp.headers_mut().insert("etag", "\"7\"".parse().expect("value"));
        p.record(c, &resp);
        let ex = p.exchanges("a").poll_not_modified.expect("kept");
        let want = "GET /api/scores?page=a HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nif-none-match: \"7\"\r\n\r\n";
        assert_eq!(ex.request_head, want);
        assert_eq!(ex.request_head_bytes, want.len() as u64);
        assert!(
            ex.response_head.starts_with("HTTP/1.1 304 Not Modified\r\netag: \"7\"\r\ndate: "),
            "{}",
            ex.response_head
        );
        assert!(!ex.response_head.contains("content-length"));
        assert_eq!(ex.response_head_bytes, ex.response_head.len() as u64);
        assert!(p.exchanges("a").poll_new.is_none());
        assert_eq!(p.exchanges("b"), Exchanges::default());
        assert!(Capture::request(None, Channel::Feed(Transport::ShortPoll), &req).is_none());
        assert!(Capture::request(Some("a"), Channel::Feed(Transport::Sse), &req).is_none());
    }

    #[test]
    fn content_length_and_close_are_added_as_hyper_adds_them() {
        let resp = Response::new(());
        let h = String::from_utf8(response_head(&resp, Some(12), Version::HTTP_11, true)).expect("text");
        assert!(h.starts_with("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 12\r\ndate: "), "{h}");
        assert!(h.ends_with(" GMT\r\n\r\n"), "{h}");
    }
}
