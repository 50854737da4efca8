//! Every transport over real sockets: the same events with the same seqs, cursors, resume,
//! long-poll timing, ETag/304, the error answers and graceful shutdown.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use proto::wire::{self, EventsPage, Gone, PushMessage};
use server::feed::Generator;
use server::{Config, Running};
use test_support::probe::ws_url;
use test_support::{start, LIMIT};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// A server whose feed publishes only when the test says so.
async fn manual() -> (Running, Generator) {
    (start(Config { rate: 0.0, ..Config::ephemeral() }).await, Generator::new(8, 0.0, 3))
}

/// Publishes `n` events drawn from `g`.
fn publish(r: &Running, g: &mut Generator, n: usize) {
    for _ in 0..n {
        r.app.feed.publish(g.draw());
    }
}

/// Seq → the event's JSON, as one client saw them.
type Seen = BTreeMap<u64, String>;

fn record(seen: &mut Seen, json: &str) -> Option<u64> {
    match wire::parse_push(json.as_bytes()).expect("valid push message") {
        PushMessage::Event(e) => {
            assert!(seen.insert(e.seq, json.to_string()).is_none(), "duplicate seq {}", e.seq);
            Some(e.seq)
        }
        PushMessage::Snapshot(_) => None,
    }
}

async fn ws_collect(r: &Running, until: u64) -> Seen {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ws_url(r.addr, "/ws?since=0")).await.expect("ws connects");
    let mut seen = Seen::new();
    while seen.keys().next_back().copied().unwrap_or(0) < until {
        match ws.next().await.expect("stream open").expect("frame") {
            Message::Text(t) => {
                record(&mut seen, t.as_str());
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    seen
}

/// Splits an SSE byte stream into `data:` payloads, keeping the unfinished tail.
fn sse_events(buf: &mut String) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    while let Some(end) = buf.find("\n\n") {
        let block: String = buf.drain(..end + 2).collect();
        let mut id = None;
        let mut data = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = Some(v.to_string());
            }
        }
        if let Some(d) = data {
            out.push((id, d));
        }
    }
    out
}

async fn sse_collect(r: &Running, query: &str, last_event_id: Option<u64>, until: u64) -> Seen {
    let mut req = reqwest::Client::new().get(format!("{}/sse{query}", r.url()));
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id.to_string());
    }
    let mut resp = req.send().await.expect("sse request");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut seen = Seen::new();
    let mut buf = String::new();
    while seen.keys().next_back().copied().unwrap_or(0) < until {
        let chunk = resp.chunk().await.expect("sse chunk").expect("stream open");
        buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        for (id, data) in sse_events(&mut buf) {
            if let Some(seq) = record(&mut seen, &data) {
                assert_eq!(id, Some(seq.to_string()), "id: is the seq");
            }
        }
    }
    seen
}

async fn poll_collect(r: &Running, wait: Option<u32>, until: u64) -> Seen {
    let client = reqwest::Client::new();
    let mut seen = Seen::new();
    let mut since = 0;
    while since < until {
        let mut url = format!("{}/api/events?since={since}", r.url());
        if let Some(w) = wait {
            url.push_str(&format!("&wait={w}"));
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let body = client.get(url).send().await.expect("poll").bytes().await.expect("body");
        let page: EventsPage = serde_json::from_slice(&body).expect("events page");
        let raw: serde_json::Value = serde_json::from_slice(&body).expect("json");
        for (e, v) in page.events.iter().zip(raw["events"].as_array().expect("array")) {
            assert!(seen.insert(e.seq, v.to_string()).is_none(), "duplicate seq {}", e.seq);
        }
        since = page.next;
    }
    seen
}

fn assert_contiguous(name: &str, seen: &Seen, until: u64) {
    let seqs: Vec<u64> = seen.keys().copied().filter(|s| *s <= until).collect();
    assert_eq!(seqs, (1..=until).collect::<Vec<_>>(), "{name} saw a gap or missed the start");
}

fn same_json(a: &str, b: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(a).ok() == serde_json::from_str::<serde_json::Value>(b).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_sees_the_same_events_in_order() {
    let r = start(Config { rate: 200.0, ..Config::ephemeral() }).await;
    let until = 300;
    let all = timeout(
        LIMIT,
        futures_util::future::join4(
            ws_collect(&r, until),
            sse_collect(&r, "?since=0", None, until),
            poll_collect(&r, None, until),
            poll_collect(&r, Some(5), until),
        ),
    )
    .await
    .expect("every transport reaches seq 300 in time");
    let (ws, sse, delta, long) = all;
    for (name, seen) in [("ws", &ws), ("sse", &sse), ("delta", &delta), ("long", &long)] {
        assert_contiguous(name, seen, until);
        for seq in 1..=until {
            assert!(same_json(&ws[&seq], &seen[&seq]), "{name} seq {seq} differs from ws");
        }
    }
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn short_poll_etag_and_304() {
    let (r, mut g) = manual().await;
    r.app.feed.publish(g.draw());
    let c = reqwest::Client::new();
    let url = format!("{}/api/scores", r.url());
    let first = c.get(&url).send().await.expect("poll");
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().expect("ascii").to_string();
    assert_eq!(tag, "\"1\"");
    let snap: wire::Snapshot = first.json().await.expect("snapshot");
    assert_eq!((snap.seq, snap.matches.len()), (1, 8));

    let again = c.get(&url).header("If-None-Match", &tag).send().await.expect("poll");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tag.as_str());
    assert!(again.bytes().await.expect("body").is_empty(), "304 has no body");

    r.app.feed.publish(g.draw());
    let changed = c.get(&url).header("If-None-Match", &tag).send().await.expect("poll");
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["etag"], "\"2\"");
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn stale_or_future_cursors_get_410_with_a_snapshot() {
    let r = start(Config { rate: 0.0, ring: 16, ..Config::ephemeral() }).await;
    let mut g = Generator::new(8, 0.0, 3);
    publish(&r, &mut g, 40);
    let c = reqwest::Client::new();
    for since in [1, 23, 41, 1_000] {
        let resp = c.get(format!("{}/api/events?since={since}", r.url())).send().await.expect("poll");
        assert_eq!(resp.status(), 410, "since={since}");
        let gone: Gone = resp.json().await.expect("gone body");
        assert_eq!(gone.snapshot.seq, 40);
        assert!(!gone.error.is_empty());
    }
    let ok: EventsPage = c
        .get(format!("{}/api/events?since=24", r.url()))
        .send()
        .await
        .expect("poll")
        .json()
        .await
        .expect("page");
    assert_eq!(ok.events.iter().map(|e| e.seq).collect::<Vec<_>>(), (25..=40).collect::<Vec<_>>());
    assert_eq!(ok.next, 40);
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn bad_queries_get_400_with_a_json_reason() {
    let (r, _) = manual().await;
    let c = reqwest::Client::new();
    for q in ["since=abc", "since=0&wait=-1", "since=-3", "since=1&wait=soon", ""] {
        let resp = c.get(format!("{}/api/events?{q}", r.url())).send().await.expect("request");
        assert_eq!(resp.status(), 400, "{q}");
        let body: wire::ErrorBody = resp.json().await.expect("json error");
        assert!(!body.error.is_empty());
    }
    assert_eq!(r.app.feed.latest_seq(), 0, "nothing changed");
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn long_poll_is_answered_by_the_next_publish_or_at_its_timeout() {
    let (r, mut g) = manual().await;
    let url = format!("{}/api/events?since=0&wait=30", r.url());
    let held = tokio::spawn(async move {
        let t = Instant::now();
        let page: EventsPage = reqwest::get(url).await.expect("poll").json().await.expect("page");
        (t.elapsed(), page)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "held until an event exists");
    r.app.feed.publish(g.draw());
    let (took, page) = timeout(LIMIT, held).await.expect("answered").expect("task");
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.next, 1);
    assert!(took < Duration::from_secs(15), "answered by the publish, not the 30 s wait: {took:?}");

    let t = Instant::now();
    let page: EventsPage = reqwest::get(format!("{}/api/events?since=1&wait=0.5", r.url()))
        .await
        .expect("poll")
        .json()
        .await
        .expect("page");
    assert!(t.elapsed() >= Duration::from_millis(500), "held for its wait");
    assert!(page.events.is_empty());
    assert_eq!(page.next, 1);
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn websocket_resumes_after_reconnect_with_no_gap() {
    let (r, mut g) = manual().await;
    publish(&r, &mut g, 5);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(r.addr, "/ws")).await.expect("connect");
    let first = ws.next().await.expect("open").expect("frame");
    match wire::parse_push(first.into_data().as_ref()).expect("json") {
        PushMessage::Snapshot(s) => assert_eq!(s.seq, 5),
        other => panic!("first message must be the snapshot: {other:?}"),
    }
    r.app.feed.publish(g.draw());
    let ev = ws.next().await.expect("open").expect("frame");
    let last = match wire::parse_push(ev.into_data().as_ref()).expect("json") {
        PushMessage::Event(e) => e.seq,
        other => panic!("{other:?}"),
    };
    assert_eq!(last, 6);
    ws.close(None).await.expect("close");
    drop(ws);

    publish(&r, &mut g, 4);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(r.addr, &format!("/ws?since={last}")))
        .await
        .expect("reconnect");
    let mut seqs = Vec::new();
    while seqs.len() < 4 {
        let m = timeout(LIMIT, ws.next()).await.expect("in time").expect("open").expect("frame");
        if let PushMessage::Event(e) = wire::parse_push(m.into_data().as_ref()).expect("json") {
            seqs.push(e.seq);
        }
    }
    assert_eq!(seqs, vec![7, 8, 9, 10]);
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn sse_resumes_with_last_event_id() {
    let (r, mut g) = manual().await;
    publish(&r, &mut g, 10);
    // A browser reconnecting sends Last-Event-ID and keeps its original URL's `since`.
    let seen = timeout(LIMIT, sse_collect(&r, "?since=2", Some(6), 10)).await.expect("in time");
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), vec![7, 8, 9, 10]);
    let seen = timeout(LIMIT, sse_collect(&r, "?since=8", None, 10)).await.expect("in time");
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), vec![9, 10]);
    let bad = reqwest::Client::new()
        .get(format!("{}/sse", r.url()))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 400);
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn echo_round_trips_text_and_binary() {
    let (r, _) = manual().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(r.addr, "/ws/echo")).await.expect("connect");
    ws.send(Message::text("héllo")).await.expect("send");
    assert_eq!(ws.next().await.expect("open").expect("frame"), Message::text("héllo"));
    let blob: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    ws.send(Message::binary(blob.clone())).await.expect("send");
    assert_eq!(ws.next().await.expect("open").expect("frame"), Message::binary(blob));
    ws.close(None).await.expect("close");
    match timeout(LIMIT, ws.next()).await.expect("in time") {
        Some(Ok(Message::Close(_))) | None => {}
        other => panic!("expected the close reply, got {other:?}"),
    }
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn wrong_paths_methods_and_plain_gets_on_websocket_paths() {
    let (r, _) = manual().await;
    let c = reqwest::Client::new();
    let nf = c.get(format!("{}/nope", r.url())).send().await.expect("request");
    assert_eq!(nf.status(), 404);
    let post = c.post(format!("{}/api/scores", r.url())).body("x").send().await.expect("request");
    assert_eq!(post.status(), 405);
    assert!(post.headers()["allow"].to_str().expect("ascii").contains("GET"));
    for path in ["/ws", "/ws/echo"] {
        let plain = c.get(format!("{}{path}", r.url())).send().await.expect("request");
        assert_eq!(plain.status(), 426, "{path}");
        assert_eq!(plain.headers()["upgrade"], "websocket");
    }
    assert_eq!(c.get(format!("{}/healthz", r.url())).send().await.expect("request").status(), 200);
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn graceful_shutdown_closes_websockets_with_1001_and_answers_long_polls() {
    let (r, _) = manual().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(r.addr, "/ws")).await.expect("connect");
    let _snapshot = ws.next().await.expect("open").expect("frame");
    let url = format!("{}/api/events?since=0&wait=30", r.url());
    let held = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = tokio::spawn(r.shutdown());
    let close = timeout(LIMIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("close arrives");
    assert_eq!(close, Some(CloseCode::Away));
    let status = timeout(LIMIT, held).await.expect("long poll answered").expect("task").expect("response");
    assert_eq!(status, 200);
    assert!(timeout(LIMIT, stopping).await.expect("shutdown ends").expect("task"), "every task ended");
}
