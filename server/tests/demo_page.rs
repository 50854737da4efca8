//! The classroom demo over real sockets: `/` is the page with every asset it references, and
//! `/api/page?page=ID` reports exactly the bytes that page's own requests moved, with the
//! request and response heads exactly as they crossed the wire.

mod common;

use std::time::Duration;

use common::{read_head, read_text_frame, start, LIMIT};
use serde_json::Value;
use server::{Config, Running};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long a page's counters may lag the bytes the client already read: the server counts
/// a write a moment after it, never seconds.
const SETTLE: Duration = Duration::from_secs(2);

/// A server whose feed publishes nothing by itself, so every byte is predictable.
async fn quiet() -> Running {
    start(Config { rate: 0.0, ..Config::ephemeral() }).await
}

async fn get(url: &str) -> reqwest::Response {
    timeout(LIMIT, reqwest::get(url)).await.expect("answered in time").expect("request")
}

/// Local paths the page references in `src="…"` and `href="…"`.
fn referenced_paths(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let value = &rest[..rest.find('"').expect("closing quote")];
            if value.starts_with('/') {
                out.push(value.to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_page_and_every_asset_it_references_are_served() {
    let r = quiet().await;
    let resp = get(&format!("{}/", r.url())).await;
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().expect("ascii").to_string();
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    let html = resp.text().await.expect("body");
    assert!(html.contains("data-transport") || html.contains("panel-template"), "not the demo page");

    let assets = referenced_paths(&html);
    assert!(assets.iter().any(|a| a.ends_with(".js")), "no script referenced: {assets:?}");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "no stylesheet referenced: {assets:?}");
    let mut texts = vec![html.clone()];
    for path in &assets {
        let resp = get(&format!("{}{path}", r.url())).await;
        assert_eq!(resp.status(), 200, "{path}");
        let ct = resp.headers()["content-type"].to_str().expect("ascii").to_string();
        let want = if path.ends_with(".js") { "text/javascript" } else { "text/css" };
        assert!(ct.starts_with(want), "{path}: content-type {ct}");
        texts.push(resp.text().await.expect("body"));
    }
    // Nothing from the internet: no absolute URL anywhere in the page or its assets.
    for t in &texts {
        assert!(!t.contains("://"), "an absolute URL in an asset");
    }
    // The hooks scripts and tests rely on.
    let all = texts.join("\n");
    for hook in [
        "short-poll",
        "long-poll",
        "'sse'",
        "ws:",
        "requests",
        "not-modified",
        "bytes-in",
        "bytes-out",
        "bytes-decoded",
        "events",
        "lost",
        "coalesced",
        "delay-last",
        "delay-median",
        "delay-worst",
        "\"seq\"",
    ] {
        assert!(all.contains(hook), "hook {hook} missing");
    }
    // The page learns every event's publication time from one long poll that carries no
    // page id, so that it is charged to no panel.
    assert!(all.contains("`/api/events?since=${cursor}&wait=30`"), "the untagged observer is missing");
    assert_eq!(get(&format!("{}/demo/missing.js", r.url())).await.status(), 404);
    assert!(r.shutdown().await);
}

/// Reads one whole response; returns (head, body length).
async fn read_response(s: &mut TcpStream) -> (String, usize) {
    let (head, body) = common::read_response(s).await;
    (String::from_utf8(head).expect("ascii head"), body.len())
}

/// The head with its `date` value blanked: the only part that depends on the second it was
/// written (its length does not).
fn undated(head: &str) -> String {
    head.lines()
        .map(|l| if l.starts_with("date: ") { "date: <date>" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The head with its header names in lower case, values untouched.
fn lower_names(head: &str) -> String {
    head.split("\r\n")
        .enumerate()
        .map(|(i, l)| match l.split_once(": ") {
            Some((name, value)) if i > 0 => format!("{}: {value}", name.to_ascii_lowercase()),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

async fn stats(r: &Running, page: &str) -> Value {
    let resp = get(&format!("{}/api/page?page={page}", r.url())).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

fn bytes(s: &Value, transport: &str) -> (u64, u64) {
    let b = &s["bytes"][transport];
    (b["from_page"].as_u64().expect("from_page"), b["to_page"].as_u64().expect("to_page"))
}

/// Polls the stats until `transport` shows `want` (the server counts a write just after
/// the client may already have read it); bounded.
async fn settle(r: &Running, page: &str, transport: &str, want: (u64, u64)) -> Value {
    let last = common::settle(SETTLE, move || stats(r, page), |s| bytes(s, transport) == want).await;
    let got = bytes(&last, transport);
    assert!(got == want, "{transport} bytes of page {page}: want {want:?}, got {got:?}");
    last
}

#[tokio::test]
async fn page_stats_count_exactly_the_bytes_of_the_pages_own_polls() {
    let r = quiet().await;
    let page = "class-1";
    let mut s = timeout(LIMIT, TcpStream::connect(r.addr)).await.expect("in time").expect("connect");

    let first = format!("GET /api/scores?page={page} HTTP/1.1\r\nhost: {}\r\naccept: */*\r\n\r\n", r.addr);
    s.write_all(first.as_bytes()).await.expect("write");
    let (head_200, body_200) = read_response(&mut s).await;
    assert!(head_200.starts_with("HTTP/1.1 200 OK\r\n"), "{head_200}");
    let second = format!(
        "GET /api/scores?page={page} HTTP/1.1\r\nhost: {}\r\naccept: */*\r\nif-none-match: \"0\"\r\n\r\n",
        r.addr
    );
    s.write_all(second.as_bytes()).await.expect("write");
    let (head_304, body_304) = read_response(&mut s).await;
    assert!(head_304.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head_304}");
    assert_eq!(body_304, 0);

    let from_page = (first.len() + second.len()) as u64;
    let to_page = (head_200.len() + body_200 + head_304.len()) as u64;
    let st = settle(&r, page, "short_poll", (from_page, to_page)).await;
    for t in ["long_poll", "sse", "ws"] {
        assert_eq!(bytes(&st, t), (0, 0), "{t} was never used by this page");
    }

    // The captured exchanges are the wire bytes (header names in lower case, as sent here).
    let new = &st["exchanges"]["poll_new"];
    assert_eq!(new["request_head"], first.as_str());
    assert_eq!(new["request_head_bytes"], first.len() as u64);
    assert_eq!(undated(new["response_head"].as_str().expect("text")), undated(&head_200));
    assert_eq!(new["response_head_bytes"], head_200.len() as u64);
    assert_eq!(new["response_body_bytes"], body_200 as u64);
    assert_eq!(new["status"], 200);
    let nm = &st["exchanges"]["poll_not_modified"];
    assert_eq!(nm["request_head"], second.as_str());
    assert_eq!(undated(nm["response_head"].as_str().expect("text")), undated(&head_304));
    assert_eq!(nm["response_head_bytes"], head_304.len() as u64);
    assert_eq!(nm["status"], 304);

    // Reading the stats is not counted for any panel, tagged (as `other`) or not.
    for _ in 0..3 {
        let tagged = get(&format!("{}/api/page?page={page}", r.url())).await;
        assert_eq!(tagged.status(), 200);
    }
    let again = stats(&r, page).await;
    assert_eq!(bytes(&again, "short_poll"), (from_page, to_page));
    assert!(again["bytes"]["other"]["from_page"].as_u64().expect("other") > 0);

    // Another page's counters are its own.
    assert_eq!(bytes(&stats(&r, "class-2").await, "short_poll"), (0, 0));
    assert!(stats(&r, "class-2").await["exchanges"]["poll_new"].is_null());
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn page_stats_show_the_pages_websocket_handshake_and_count_its_frames() {
    let r = quiet().await;
    let page = "class-ws";
    let mut s = timeout(LIMIT, TcpStream::connect(r.addr)).await.expect("in time").expect("connect");
    // Header names as a browser writes them; the server shows them in lower case.
    let req = format!(
        "GET /ws?page={page} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Origin: http://{}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        r.addr, r.addr
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let head = String::from_utf8(read_head(&mut s).await).expect("ascii");
    assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{head}");
    assert!(head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{head}");

    // The first frame is the snapshot: one unmasked text frame.
    let (header, payload) = read_text_frame(&mut s).await;
    assert!(payload.starts_with(b"{\"type\":\"snapshot\""));

    let want = (req.len() as u64, (head.len() + header.len() + payload.len()) as u64);
    let st = settle(&r, page, "ws", want).await;
    let ws = &st["exchanges"]["ws_handshake"];
    assert_eq!(ws["status"], 101);
    assert_eq!(ws["request_head"], lower_names(&req));
    assert_eq!(ws["request_head_bytes"], req.len() as u64);
    assert_eq!(undated(ws["response_head"].as_str().expect("text")), undated(&head));
    assert_eq!(ws["response_head_bytes"], head.len() as u64);
    assert_eq!(bytes(&st, "short_poll"), (0, 0));
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn page_stats_need_a_page_id() {
    let r = quiet().await;
    let resp = get(&format!("{}/api/page", r.url())).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(body["error"].as_str().expect("error text").contains("page"));
    assert_eq!(get(&format!("{}/api/page?page=no%20spaces", r.url())).await.status(), 400);
    assert!(r.shutdown().await);
}
