//! The byte counters are exact: what a raw client writes and reads moves the counters of its
//! request's transport by exactly that much, headers, handshakes and framing included.

mod common;

use std::time::Duration;

use common::{read_head, read_response, read_text_frame, start, until, LIMIT};
use proto::metrics::{PerChannel, Sample};
use proto::Transport;
use server::feed::Generator;
use server::{Config, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long a counter may lag the bytes the client already read: the server counts a write
/// a moment after it, never seconds.
const SETTLE: Duration = Duration::from_secs(2);

async fn sample(r: &Running) -> Sample {
    // Read from the server's own counters, so the /metrics request itself (counted as
    // `other`) never touches the transports under test.
    Sample::parse(&r.app.metrics.render(0, 0)).expect("the server renders a page that parses")
}

fn delta(before: &Sample, after: &Sample, m: PerChannel, t: Transport) -> u64 {
    let read = |s: &Sample| s.channel(m, t).expect("every channel is rendered");
    (read(after) - read(before)) as u64
}

/// Waits until a counter reaches `want` (the server counts a write just after the client
/// may already have read it); returns the last reading.
async fn settle(r: &Running, m: PerChannel, t: Transport, base: &Sample, want: u64) -> u64 {
    let read = move || async move { delta(base, &sample(r).await, m, t) };
    common::settle(SETTLE, read, |got| *got >= want).await
}

#[tokio::test]
async fn http_bytes_count_exactly_for_each_requests_transport() {
    let r = start(Config { rate: 0.0, ..Config::ephemeral() }).await;
    let mut g = Generator::new(8, 0.0, 1);
    for _ in 0..3 {
        r.app.feed.publish(g.draw());
    }
    let before = sample(&r).await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    // Two transports on one kept-alive connection: each request's bytes go to its own.
    let poll = b"GET /api/scores HTTP/1.1\r\nHost: test\r\nUser-Agent: raw\r\n\r\n";
    s.write_all(poll).await.expect("write");
    let poll_resp = {
        let (head, body) = read_response(&mut s).await;
        [head, body].concat()
    };
    let delta_req = b"GET /api/events?since=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    s.write_all(delta_req).await.expect("write");
    let mut delta_resp = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut delta_resp)).await.expect("in time").expect("read");
    assert!(poll_resp.starts_with(b"HTTP/1.1 200"));
    assert!(delta_resp.starts_with(b"HTTP/1.1 200"));
    drop(s);

    let n = PerChannel::BytesSent;
    assert_eq!(
        settle(&r, n, Transport::ShortPoll, &before, poll_resp.len() as u64).await,
        poll_resp.len() as u64
    );
    assert_eq!(
        settle(&r, n, Transport::DeltaPoll, &before, delta_resp.len() as u64).await,
        delta_resp.len() as u64
    );
    let after = sample(&r).await;
    let n = PerChannel::BytesReceived;
    assert_eq!(delta(&before, &after, n, Transport::ShortPoll), poll.len() as u64);
    assert_eq!(delta(&before, &after, n, Transport::DeltaPoll), delta_req.len() as u64);
    assert_eq!(delta(&before, &after, PerChannel::Requests, Transport::ShortPoll), 1);
    assert_eq!(delta(&before, &after, PerChannel::Requests, Transport::DeltaPoll), 1);
    assert_eq!(delta(&before, &after, PerChannel::EventsDelivered, Transport::DeltaPoll), 2);
    assert_eq!(delta(&before, &after, PerChannel::ConnectionsOpened, Transport::ShortPoll), 1);
    assert_eq!(delta(&before, &after, PerChannel::ConnectionsOpened, Transport::DeltaPoll), 0);
    for t in [Transport::LongPoll, Transport::Sse, Transport::Ws] {
        assert_eq!(delta(&before, &after, PerChannel::BytesSent, t), 0);
    }
    assert!(r.shutdown().await);
}

#[tokio::test]
async fn websocket_bytes_include_the_handshake_and_framing() {
    let r = start(Config { rate: 0.0, ..Config::ephemeral() }).await;
    let mut g = Generator::new(8, 0.0, 1);
    let before = sample(&r).await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    let upgrade = b"GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    s.write_all(upgrade).await.expect("write");
    let mut read = read_head(&mut s).await;
    assert!(read.starts_with(b"HTTP/1.1 101"));
    let event = r.app.feed.publish(g.draw());

    // Snapshot frame, then the event frame: a 2-byte header (+2 for 126..65535 bytes).
    for frame in 0..2 {
        let (header, payload) = read_text_frame(&mut s).await;
        if frame == 1 {
            assert_eq!(payload, event.json.as_bytes(), "the event's stored bytes, unchanged");
        }
        read.extend_from_slice(&header);
        read.extend_from_slice(&payload);
    }
    // A masked close frame with code 1000, then the server's close reply and EOF.
    let close = [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2];
    s.write_all(&close).await.expect("write close");
    let mut tail = Vec::new();
    timeout(LIMIT, s.read_to_end(&mut tail)).await.expect("server ends the connection").expect("read");
    assert_eq!(&tail[..2], &[0x88, 0x02], "close reply with a code");
    read.extend_from_slice(&tail);

    let want_sent = read.len() as u64;
    let got_sent = settle(&r, PerChannel::BytesSent, Transport::Ws, &before, want_sent).await;
    assert_eq!(got_sent, want_sent);
    let after = sample(&r).await;
    let want_received = (upgrade.len() + close.len()) as u64;
    assert_eq!(delta(&before, &after, PerChannel::BytesReceived, Transport::Ws), want_received);
    assert_eq!(delta(&before, &after, PerChannel::MessagesSent, Transport::Ws), 2);
    assert_eq!(delta(&before, &after, PerChannel::EventsDelivered, Transport::Ws), 1);
    assert!(r.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_dropped() {
    // 500 events/s of 32 KiB: the kernel's socket buffers fill within a second or two.
    let cfg = Config {
        rate: 500.0,
        payload_bytes: 32 * 1024,
        send_timeout: Duration::from_millis(500),
        ..Config::ephemeral()
    };
    let r = start(cfg).await;
    let mut s = TcpStream::connect(r.addr).await.expect("connect");
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .expect("write");
    // Never read again: the kernel buffers fill, then the server must give up on us.
    let m = &r.app.metrics;
    let dropped =
        common::settle(LIMIT, move || async move { m.slow_consumers_dropped.get() }, |d| *d > 0).await;
    assert!(dropped > 0, "the stalled client is dropped in time");
    assert_eq!(dropped, 1);
    // The drop is counted as the write fails; the socket closes a moment later.
    let running = &r;
    until("the dropped connection is closed", LIMIT, move || async move {
        sample(running).await.channel(PerChannel::ConnectionsOpen, Transport::Ws) == Ok(0.0)
    })
    .await;
    // A fresh client still gets events.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(common::ws_url(r.addr, "/ws")).await.expect("fresh client");
    use futures_util::StreamExt;
    for _ in 0..3 {
        timeout(LIMIT, ws.next()).await.expect("in time").expect("open").expect("frame");
    }
    drop(s);
    assert!(r.shutdown().await);
}
