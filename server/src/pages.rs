//! Per-page byte tallies for the classroom demo: the page tags its requests with
//! `?page=ID`, and the bytes of those requests are counted for that page and transport too,
//! so the page can show true wire bytes rather than estimates. For the page's "How it
//! works", each page also keeps its latest WebSocket handshake and poll exchanges ([`Capture`]):
//! the request head as hyper parsed it (header names in lower case, as hyper keeps them) and
//! the response head copied off the socket as hyper wrote it, so nothing here re-creates
//! hyper's serialisation (`tests/demo_page.rs` checks both against the wire).
//!
//! Bounded: at most [`MAX_PAGES`] pages are tracked; a new page evicts the one seen least
//! recently, so a script inventing page ids cannot grow the server's memory; a page keeps
//! at most three exchanges of at most [`MAX_HEAD_BYTES`] each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http::{Method, Request, Response, StatusCode, Version};
use serde::Serialize;

use crate::net::metered::ByteTally;
use proto::variant::Protocol;
use proto::{Channel, Transport};

/// Pages tracked at most.
pub const MAX_PAGES: usize = 256;

/// Longest request or response head kept as text (its size is always the true one).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

#[derive(Default)]
struct Page {
    tallies: HashMap<Channel, Arc<ByteTally>>,
    /// The HTTP version each channel's latest tagged request came over (`h1`, `h2`).
    protocols: HashMap<Channel, Protocol>,
    /// Whether a tagged request came on an HTTP/2 connection already carrying another
    /// channel: its bytes count for `shared` on `/metrics`, no longer for a panel.
    shared: bool,
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
/// the request, then completed with the response ([`Capture::respond`]) and the response head
/// as the socket wrote it ([`Pages::record`]).
pub struct Capture {
    page: String,
    transport: Channel,
    request_head: Vec<u8>,
}

/// A capture waiting for its response head to cross the socket.
pub struct Pending {
    capture: Capture,
    status: StatusCode,
    body_len: u64,
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
        let version = if req.version() == Version::HTTP_10 { "HTTP/1.0" } else { "HTTP/1.1" };
        head.extend_from_slice(format!("{} {target} {version}\r\n", req.method()).as_bytes());
        for (name, value) in req.headers() {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        Some(Capture { page: page.to_string(), transport, request_head: head })
    }

    /// Adds the response's status and body size; `None` when the page shows no exchange of
    /// this kind (a short poll answered neither 200 nor 304).
    pub fn respond<B: hyper::body::Body>(self, resp: &Response<B>) -> Option<Pending> {
        let status = resp.status();
        let shown = self.transport == Channel::Feed(Transport::Ws)
            || matches!(status, StatusCode::OK | StatusCode::NOT_MODIFIED);
        let body_len = if status == StatusCode::NOT_MODIFIED || status.is_informational() {
            0
        } else {
            resp.body().size_hint().exact().unwrap_or(0)
        };
        shown.then_some(Pending { capture: self, status, body_len })
    }
}

/// Text of a head for display, cut at [`MAX_HEAD_BYTES`]; `len` is the head's true length.
fn head_text(bytes: &[u8], len: u64) -> String {
    let kept = &bytes[..bytes.len().min(MAX_HEAD_BYTES)];
    let mut s = String::from_utf8_lossy(kept).into_owned();
    if len > kept.len() as u64 {
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

    /// Keeps `pending`'s exchange, completed with the response head as the socket wrote it
    /// (`head`, of `head_bytes` bytes in all), as its page's latest of its kind. A head that is
    /// not this response's is dropped: a client pipelining requests on a congested connection
    /// could have had the tail of the previous response still queued. A page that is no
    /// longer tracked is not brought back.
    pub fn record(&self, pending: Pending, head: &[u8], head_bytes: u64) {
        let Pending { capture, status, body_len } = pending;
        if !head.starts_with(b"HTTP/1.") || head.get(9..12) != Some(status.as_str().as_bytes()) {
            return;
        }
        let exchange = Exchange {
            request_head: head_text(&capture.request_head, capture.request_head.len() as u64),
            request_head_bytes: capture.request_head.len() as u64,
            response_head: head_text(head, head_bytes),
            response_head_bytes: head_bytes,
            response_body_bytes: body_len,
            status: status.as_u16(),
        };
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pages.get_mut(&capture.page) else { return };
        let slot = match (capture.transport, status) {
            (Channel::Feed(Transport::Ws), _) => &mut p.exchanges.ws_handshake,
            (_, StatusCode::OK) => &mut p.exchanges.poll_new,
            _ => &mut p.exchanges.poll_not_modified,
        };
        *slot = Some(exchange);
    }

    /// Notes the HTTP version of a tagged request of `page` (tracked pages only), and whether
    /// its connection's bytes are shared between channels.
    pub fn note_protocol(&self, page: &str, channel: Channel, protocol: Protocol, shared: bool) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pages.get_mut(page) {
            p.protocols.insert(channel, protocol);
            p.shared |= shared;
        }
    }

    /// The HTTP version of each channel `page` has used, and whether any of its bytes went
    /// to a shared HTTP/2 connection.
    pub fn protocols(&self, page: &str) -> (Vec<(Channel, Protocol)>, bool) {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages.get(page).map_or((Vec::new(), false), |p| {
            let mut v: Vec<_> = p.protocols.iter().map(|(c, v)| (*c, *v)).collect();
            v.sort();
            (v, p.shared)
        })
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
        let pending = c.respond(&resp).expect("a 304 is shown");
        let wire = "HTTP/1.1 304 Not Modified\r\netag: \"7\"\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n";
        p.record(pending, wire.as_bytes(), wire.len() as u64);
        let ex = p.exchanges("a").poll_not_modified.expect("kept");
        let want = "GET /api/scores?page=a HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nif-none-match: \"7\"\r\n\r\n";
        assert_eq!(ex.request_head, want);
        assert_eq!(ex.request_head_bytes, want.len() as u64);
        assert_eq!((ex.response_head.as_str(), ex.response_head_bytes), (wire, wire.len() as u64));
        assert_eq!((ex.status, ex.response_body_bytes), (304, 0));
        assert!(p.exchanges("a").poll_new.is_none());
        assert_eq!(p.exchanges("b"), Exchanges::default());
        assert!(Capture::request(None, Channel::Feed(Transport::ShortPoll), &req).is_none());
        assert!(Capture::request(Some("a"), Channel::Feed(Transport::Sse), &req).is_none());
    }

    #[test]
    fn only_the_responses_own_head_is_kept_and_long_heads_are_cut() {
        let p = Pages::default();
        p.tally("a", Channel::Feed(Transport::ShortPoll));
        let req = Request::get("/api/scores?page=a").body(()).expect("request");
        let capture =
            || Capture::request(Some("a"), Channel::Feed(Transport::ShortPoll), &req).expect("captured");
        let ok = Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")));
        // The tail of an earlier response is not this one's head.
        p.record(capture().respond(&ok).expect("a 200 is shown"), b"}\r\n\r\n", 5);
        assert!(p.exchanges("a").poll_new.is_none());
        let head = b"HTTP/1.1 200 OK\r\n";
        p.record(capture().respond(&ok).expect("a 200 is shown"), head, MAX_HEAD_BYTES as u64 + 1);
        let ex = p.exchanges("a").poll_new.expect("kept");
        assert!(ex.response_head.ends_with("…(cut)"));
        assert_eq!((ex.response_head_bytes, ex.response_body_bytes), (MAX_HEAD_BYTES as u64 + 1, 2));
        let mut bad = Response::new(http_body_util::Empty::<bytes::Bytes>::new());
        *bad.status_mut() = StatusCode::BAD_REQUEST;
        assert!(capture().respond(&bad).is_none(), "a 400 poll is not an exchange the page shows");
    }
}
