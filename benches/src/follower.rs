//! Clients that follow the feed by one transport and count what reaches them, for the
//! `delivery/…` group: publish one event, then wait until every follower has counted it.
//!
//! Each follower is one simulated page on its own connection, built from the load
//! generator's pieces: `Conn`/`get`/`connect_tcp`, its SSE parser and its WebSocket settings.
//! Polling followers poll back to back, with no interval: their delivery time is the cost of
//! one poll cycle under that load, not the wait a real poll interval adds. Rounds never
//! overlap, so each follower counts each event exactly once; any error or surprise ends the
//! follower with a panic, and the waiting bench then fails after [`WAIT`](crate::fixture::WAIT).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use loadgen::client::http::{connect_tcp, get, Answer, Conn};
use loadgen::client::poll::LONG_POLL_WAIT_S;
use loadgen::client::sse::decode;
use loadgen::client::Transport;
use proto::sse::Decoder;
use proto::wire::{self, EventsPageHead, Head, MessageType, PushMessage};
use server::feed::{Change, Feed};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::fixture::{bounded, WAIT};

/// Arrivals in the current round; wakes the bench when the last follower has arrived.
struct Tally {
    clients: usize,
    arrived: AtomicUsize,
    all: Notify,
}

impl Tally {
    fn arrive(&self) {
        if self.arrived.fetch_add(1, SeqCst) + 1 == self.clients {
            self.all.notify_one();
        }
    }

    async fn wait_all(&self, what: &str) {
        bounded(what, self.all.notified()).await;
        self.arrived.store(0, SeqCst);
    }
}

/// `clients` followers of one transport; dropping them closes their connections.
pub struct Followers {
    tally: Arc<Tally>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Followers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Followers {
    /// Starts `clients` followers of `transport` against the server at `addr` and waits until
    /// each one holds the feed's current state (its first snapshot).
    pub async fn start(transport: Transport, addr: SocketAddr, clients: usize) -> Followers {
        let tally = Arc::new(Tally { clients, arrived: AtomicUsize::new(0), all: Notify::new() });
        let tasks = (0..clients).map(|_| tokio::spawn(follow(transport, addr, tally.clone()))).collect();
        let followers = Followers { tally, tasks };
        followers.tally.wait_all("followers connecting").await;
        followers
    }

    /// Closes every follower's connection, and waits until each has stopped, so that a server
    /// shut down next does not find them still reading (they would take its goodbye for a
    /// failure).
    pub async fn stop(mut self) {
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            let _ = bounded("a follower stopping", t).await;
        }
    }

    /// Publishes `change` and returns the time from publishing until every follower has it.
    pub async fn round(&self, feed: &Feed, change: Change) -> Duration {
        let t = Instant::now();
        feed.publish(change);
        self.tally.wait_all("one event reaching every follower").await;
        t.elapsed()
    }
}

async fn follow(transport: Transport, addr: SocketAddr, tally: Arc<Tally>) {
    let host = addr.to_string();
    match transport {
        Transport::ShortPoll | Transport::DeltaPoll | Transport::LongPoll => {
            poll(transport, addr, &host, &tally).await
        }
        Transport::Sse => sse(addr, &host, &tally).await,
        Transport::Ws => ws(addr, &host, &tally).await,
    }
}

/// Short, delta or long polling on one kept-alive connection, back to back.
async fn poll(kind: Transport, addr: SocketAddr, host: &str, tally: &Tally) {
    let name = kind.name();
    let mut conn = Conn::open(addr, None).await.unwrap_or_else(|e| panic!("{name}: connect: {e:?}"));
    // A held long poll may last its whole `wait`; the bench's own bound fails first anyway.
    let limit = Duration::from_secs(LONG_POLL_WAIT_S) + WAIT;
    // Every follower starts from the snapshot, as the load generator's pollers do, and reads
    // only what they read: the heads (`seq`, `ts_us`, `epoch`), not the matches.
    let first = fetch(&mut conn, get(host, "/api/scores"), limit, name).await;
    let mut seen = parse::<Head>(&first, name).seq;
    tally.arrive();
    loop {
        let req = match kind {
            Transport::ShortPoll => {
                let mut req = get(host, "/api/scores");
                let tag = wire::etag(seen).parse().expect("a quoted number is a valid header");
                req.headers_mut().insert(header::IF_NONE_MATCH, tag);
                req
            }
            Transport::DeltaPoll => get(host, &format!("/api/events?since={seen}")),
            _ => get(host, &format!("/api/events?since={seen}&wait={LONG_POLL_WAIT_S}")),
        };
        let answer = fetch(&mut conn, req, limit, name).await;
        if answer.status == StatusCode::NOT_MODIFIED {
            continue;
        }
        if kind == Transport::ShortPoll {
            let snap = parse::<Head>(&answer, name);
            if snap.seq > seen {
                seen = snap.seq;
                tally.arrive();
            }
        } else {
            let page = parse::<EventsPageHead>(&answer, name);
            for _ in &page.events {
                tally.arrive();
            }
            seen = page.next;
        }
    }
}

async fn fetch(conn: &mut Conn, req: Request<Empty<Bytes>>, limit: Duration, name: &str) -> Answer {
    let answer = conn.fetch(req, limit).await.unwrap_or_else(|e| panic!("{name}: poll failed: {e:?}"));
    assert!(
        answer.status == StatusCode::OK || answer.status == StatusCode::NOT_MODIFIED,
        "{name}: unexpected answer {}",
        answer.status
    );
    answer
}

fn parse<T: serde::de::DeserializeOwned>(answer: &Answer, name: &str) -> T {
    serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{name}: bad body: {e}"))
}

/// One `/sse` stream, read with the load generator's SSE parser.
async fn sse(addr: SocketAddr, host: &str, tally: &Tally) {
    let mut conn = Conn::open(addr, None).await.unwrap_or_else(|e| panic!("sse: connect: {e:?}"));
    let resp = conn.send(get(host, "/sse"), WAIT).await.unwrap_or_else(|e| panic!("sse: no answer: {e:?}"));
    assert_eq!(resp.status(), StatusCode::OK, "sse: unexpected answer");
    let mut body = resp.into_body();
    let mut decoder = Decoder::new();
    let mut ready = false;
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => panic!("sse: stream failed: {e}"),
            None => panic!("sse: the server ended the stream"),
        };
        let Some(data) = frame.data_ref() else { continue };
        decode(&mut decoder, data, |msg| match msg {
            PushMessage::Snapshot(_) if !ready => {
                ready = true;
                tally.arrive();
            }
            PushMessage::Snapshot(_) => panic!("sse: resynced with a snapshot; the follower fell behind"),
            PushMessage::Event(_) => tally.arrive(),
        })
        .unwrap_or_else(|e| panic!("sse: unparseable stream: {e:?}"));
    }
}

/// One `/ws` socket, opened with the load generator's WebSocket settings.
async fn ws(addr: SocketAddr, host: &str, tally: &Tally) {
    let tcp = connect_tcp(addr, None).await.unwrap_or_else(|e| panic!("ws: connect: {e:?}"));
    let url = format!("ws://{host}/ws");
    let handshake =
        tokio_tungstenite::client_async_with_config(url.as_str(), tcp, Some(loadgen::client::ws::config()));
    let (mut ws, _) =
        bounded("ws: handshake", handshake).await.unwrap_or_else(|e| panic!("ws: handshake: {e}"));
    let mut ready = false;
    while let Some(msg) = ws.next().await {
        // Pings are answered by tungstenite as it reads.
        let Message::Text(text) = msg.unwrap_or_else(|e| panic!("ws: socket failed: {e}")) else { continue };
        // Only the head, as the load generator's WebSocket client reads it.
        match wire::parse_head(text.as_bytes()).map(|h| h.kind) {
            Ok(MessageType::Snapshot) if !ready => {
                ready = true;
                tally.arrive();
            }
            Ok(MessageType::Snapshot) => panic!("ws: resynced with a snapshot; the follower fell behind"),
            Ok(MessageType::Event) => tally.arrive(),
            Err(e) => panic!("ws: unparseable message: {e}"),
        }
    }
    panic!("ws: the server closed the socket");
}
