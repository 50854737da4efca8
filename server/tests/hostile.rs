//! Hostile clients over real sockets: slowloris, a flood over the connection limit, a
//! thousand WebSocket clients that never read, garbage requests and ten thousand parked
//! long polls. Each test ends by checking that the server is still healthy (`/healthz` and a
//! fresh WebSocket client that gets an event).
//!
//! The tests take one lock each ([`serial`]) so that they never share the two cores or the
//! file-descriptor limit; counts are constants at the top. Nothing asserts on speed: every
//! wait is bounded by `common::LIMIT` and only outcomes are checked.

mod common;

use std::future::ready;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use common::{
    assert_healthy, event_seq, metrics, raw_exchange, status_of, until, value, ServerProcess, LIMIT,
};
use futures_util::StreamExt;
use proto::metrics::{PerChannel, Sample, Single};
use proto::Transport;
use server::feed::Generator;
use server::{Config, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

/// Connections that trickle a request head.
const SLOWLORIS: usize = 200;
/// WebSocket clients that never read.
const STALLED: usize = 1_000;
/// Long polls parked at once (fewer if the file-descriptor limit does not allow two
/// descriptors each: the server runs in this process).
const LONG_POLLS: usize = 10_000;
/// Bytes of each event while the stalled readers test runs.
const STALLED_PAYLOAD: usize = 8 * 1024;
/// The most a thousand stalled readers may add to the server's resident memory.
const STALLED_RSS_BUDGET: f64 = 50.0 * 1024.0 * 1024.0;

/// One hostile test at a time: they would otherwise compete for two cores and the
/// descriptor limit, and a starved normal client would prove nothing.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));
    LOCK.lock().await
}

async fn start(cfg: Config) -> Running {
    common::start(Config { rate: 20.0, ..cfg }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_off_at_the_header_timeout_while_others_are_served() {
    let _serial = serial().await;
    let header_timeout = Duration::from_secs(1);
    let r = start(Config { header_timeout, ..Config::ephemeral() }).await;
    let addr = r.addr;

    let mut trickles = JoinSet::new();
    for _ in 0..SLOWLORIS {
        trickles.spawn(async move {
            let began = Instant::now();
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            let (mut rd, mut wr) = tcp.split();
            // A head that starts, then never ends: one byte every 100 ms.
            let trickle = async {
                if wr.write_all(b"GET /api/scores HTTP/1.1\r\nHost: x\r\n").await.is_err() {
                    return;
                }
                for b in b"X-Slow: ".iter().chain(std::iter::repeat(&b'a')) {
                    if wr.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    sleep(Duration::from_millis(100)).await;
                }
            };
            let mut sink = [0u8; 1024];
            let closed = async {
                loop {
                    match rd.read(&mut sink).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            };
            timeout(LIMIT, async {
                tokio::select! {
                    _ = trickle => {}
                    _ = closed => {}
                }
            })
            .await
            .expect("the server closes a trickling connection in time");
            began.elapsed()
        });
    }

    // While they trickle, a normal client is served.
    sleep(Duration::from_millis(300)).await;
    assert_eq!(common::get_status(addr, "/api/scores").await, 200, "served during slowloris");
    assert_healthy(addr).await;

    let mut closed = 0;
    while let Some(elapsed) = trickles.join_next().await {
        let elapsed = elapsed.expect("trickle task");
        assert!(elapsed >= header_timeout, "closed after {elapsed:?}, before the header timeout");
        closed += 1;
    }
    assert_eq!(closed, SLOWLORIS);
    let m = metrics(addr).await;
    assert!(value(&m, Single::HeaderTimeouts) >= SLOWLORIS as f64, "counted: {m:?}");
    assert_healthy(addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_limit_extra_clients_get_503_and_others_keep_receiving() {
    let _serial = serial().await;
    const LIMIT_CONNS: usize = 8;
    const WS_CLIENTS: usize = 3;
    const EXTRA: usize = 20;
    // A long header timeout, so that idle connections hold their slots through the test.
    let r = start(Config {
        max_connections: LIMIT_CONNS,
        header_timeout: Duration::from_secs(60),
        rate: 50.0,
        ..Config::ephemeral()
    })
    .await;
    let addr = r.addr;

    // Three WebSocket clients that count what they receive.
    let received: Arc<Vec<AtomicU64>> = Arc::new((0..WS_CLIENTS).map(|_| AtomicU64::new(0)).collect());
    let mut readers = JoinSet::new();
    for i in 0..WS_CLIENTS {
        let (mut ws, _) = tokio_tungstenite::connect_async(common::ws_url(addr, "/ws")).await.expect("ws");
        let received = received.clone();
        readers.spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Text(ref t) if event_seq(t.as_str()).is_some()) {
                    received[i].fetch_add(1, Relaxed);
                }
            }
        });
    }
    // Idle connections fill the rest of the slots.
    let mut idle = Vec::new();
    for _ in WS_CLIENTS..LIMIT_CONNS {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let open = &r.app.open_connections;
    until("every slot taken", LIMIT, || ready(open.load(Relaxed) >= LIMIT_CONNS)).await;
    let before: Vec<u64> = received.iter().map(|c| c.load(Relaxed)).collect();

    // The flood: each extra connection gets the fixed 503, or at worst a close.
    let mut answers = JoinSet::new();
    for _ in 0..EXTRA {
        answers.spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            let mut out = Vec::new();
            let _ = timeout(LIMIT, tcp.read_to_end(&mut out)).await.expect("answered and closed in time");
            status_of(&String::from_utf8_lossy(&out))
        });
    }
    let mut got_503 = 0;
    while let Some(status) = answers.join_next().await {
        match status.expect("flood task") {
            Some(503) => got_503 += 1,
            None => {} // closed (or reset) before a status line could be read
            Some(other) => panic!("a connection over the limit got {other}"),
        }
    }
    assert!(got_503 > 0, "at least some extra connections read the 503");
    assert!(r.app.metrics.connections_refused.get() >= EXTRA as u64);

    // The WebSocket clients kept receiving through the flood.
    let all_got_more = || ready(received.iter().zip(&before).all(|(now, b)| now.load(Relaxed) > *b));
    until("every existing WebSocket client got new events after the flood", LIMIT, all_got_more).await;
    assert!(!readers.is_empty() && readers.try_join_next().is_none(), "no WebSocket client was cut off");

    drop(idle);
    assert_healthy(addr).await;
    assert!(r.shutdown().await);
}

/// What the one reading client on the feed saw while the others stalled.
#[derive(Debug, Default)]
struct Delivery {
    events: u64,
    first_seq: u64,
    last_seq: u64,
    gaps: u64,
    resyncs: u64,
    /// When each gap or resync was seen, from the start of reading.
    trouble_at: Vec<Duration>,
}

/// Reads `/ws` until it has seen seq `until` (or 5 s pass with no message), checking that
/// every event follows the one before.
async fn read_everything(addr: std::net::SocketAddr, until: Arc<AtomicU64>) -> Delivery {
    let (mut ws, _) = tokio_tungstenite::connect_async(common::ws_url(addr, "/ws")).await.expect("ws");
    let mut d = Delivery::default();
    let mut snapshots = 0;
    let began = Instant::now();
    while d.last_seq < until.load(Relaxed) {
        let Ok(Some(m)) = timeout(Duration::from_secs(5), ws.next()).await else { break };
        let Message::Text(t) = m.expect("a frame") else { continue };
        match event_seq(t.as_str()) {
            Some(seq) => {
                if seq != d.last_seq + 1 {
                    d.gaps += 1;
                    d.trouble_at.push(began.elapsed());
                }
                if d.events == 0 {
                    d.first_seq = seq;
                }
                d.events += 1;
                d.last_seq = seq;
            }
            None => {
                // A snapshot: the first message, or a resync after falling behind.
                snapshots += 1;
                if snapshots > 1 {
                    d.resyncs += 1;
                    d.trouble_at.push(began.elapsed());
                }
                let snap: serde_json::Value = serde_json::from_str(t.as_str()).expect("snapshot JSON");
                d.last_seq = snap["seq"].as_u64().expect("snapshot seq");
            }
        }
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_stalled_readers_are_dropped_without_growing_the_server() {
    let _serial = serial().await;
    proto::process::raise_fd_limit();
    // A child process, so that its resident memory is the server's alone: 250 events/s of
    // STALLED_PAYLOAD bytes each, a 3 s send timeout, and a ring and client queue of 1024
    // events: the reading client may fall 4 s behind (a busy shared machine) before it would
    // be resynced, and the queue holds the same events as the ring, filled before the
    // baseline is taken.
    let payload = std::env::var("HOSTILE_PAYLOAD").unwrap_or_else(|_| STALLED_PAYLOAD.to_string());
    let mut srv = ServerProcess::spawn(&[
        "--rate",
        "250",
        "--payload-bytes",
        &payload,
        "--ring",
        "1024",
        "--client-queue",
        "1024",
        "--send-timeout",
        "3s",
    ])
    .await;
    let addr = srv.addr;

    // The normal client reads on a thread and runtime of its own, as another process would.
    let until = Arc::new(AtomicU64::new(u64::MAX));
    let normal = {
        let until = until.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(read_everything(addr, until))
        })
    };

    sleep(Duration::from_secs(5)).await;
    let m0 = metrics(addr).await;
    let base = value(&m0, Single::ProcessResidentMemory);
    let seq0 = value(&m0, Single::FeedSeq) as u64;
    let (dropped0, resyncs0) =
        (value(&m0, Single::SlowConsumersDropped), value(&m0, Single::SlowConsumerResyncs));

    // A thousand clients that finish the handshake and never read again; small receive
    // buffers so that the kernel holds little for them and the server stalls quickly.
    let gate = Arc::new(Semaphore::new(64));
    let mut connecting = JoinSet::new();
    for _ in 0..STALLED {
        let gate = gate.clone();
        connecting.spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let sock = TcpSocket::new_v4().expect("socket");
            sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
            let tcp = timeout(LIMIT, sock.connect(addr)).await.expect("connect in time").expect("connect");
            let (ws, _) = timeout(LIMIT, tokio_tungstenite::client_async(common::ws_url(addr, "/ws"), tcp))
                .await
                .expect("handshake in time")
                .expect("handshake");
            ws
        });
    }
    let mut stalled = Vec::with_capacity(STALLED);
    let mut peak = base;
    while let Some(ws) = connecting.join_next().await {
        stalled.push(ws.expect("connect task"));
    }

    // Until every stalled client has been dropped (or resynced) and counted.
    let handled = timeout(LIMIT, async {
        loop {
            let m = metrics(addr).await;
            peak = peak.max(value(&m, Single::ProcessResidentMemory));
            let dropped = value(&m, Single::SlowConsumersDropped) - dropped0;
            let resyncs = value(&m, Single::SlowConsumerResyncs) - resyncs0;
            let open = m.channel(PerChannel::ConnectionsOpen, Transport::Ws).unwrap_or(f64::MAX);
            if dropped + resyncs >= STALLED as f64 && open <= 1.0 {
                return (dropped, resyncs);
            }
            sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    let m1 = metrics(addr).await;
    peak = peak.max(value(&m1, Single::ProcessResidentMemory));
    // The normal client reads on until the event published when the last stall was handled.
    let seq1 = value(&m1, Single::FeedSeq) as u64;
    until.store(seq1, Relaxed);
    let delivery = normal.join().expect("normal client");
    let mib = |b: f64| b / (1024.0 * 1024.0);
    let ws_sent = |m: &Sample| m.channel(PerChannel::BytesSent, Transport::Ws).expect("rendered");
    eprintln!(
        "stalled readers ({STALLED}, payload {payload} B): server RSS {:.1} MiB before, peak {:.1} MiB \
         (+{:.1} MiB); dropped, resynced: {handled:?}; server CPU {:.1} s, ws bytes sent {:.1} MiB; \
         normal client {delivery:?}, feed seq {seq0} → {seq1}",
        mib(base),
        mib(peak),
        mib(peak - base),
        value(&m1, Single::ProcessCpuSeconds) - value(&m0, Single::ProcessCpuSeconds),
        mib(ws_sent(&m1) - ws_sent(&m0)),
    );
    let (dropped, resyncs) = handled.expect("every stalled client dropped or resynced, and counted, in time");
    assert!(dropped + resyncs >= STALLED as f64);
    assert!(peak - base < STALLED_RSS_BUDGET, "RSS grew by {:.1} MiB", mib(peak - base));
    assert_eq!((delivery.gaps, delivery.resyncs), (0, 0), "the reading client missed nothing: {delivery:?}");
    assert!(
        delivery.first_seq <= seq0 && delivery.last_seq >= seq1,
        "the reading client got every event from before the stall to after it: {delivery:?}, \
         feed seq {seq0} → {seq1}"
    );

    drop(stalled);
    assert!(srv.is_running(), "the server process is still running");
    assert_healthy(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_get_clear_answers() {
    let _serial = serial().await;
    let r = start(Config::ephemeral()).await;
    let addr = r.addr;

    for (request, want) in [
        (&b"GARBAGE\r\n\r\n"[..], 400),
        (b"GET\r\n\r\n", 400),
        (b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
        (b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ] {
        let answer = raw_exchange(addr, request).await;
        assert_eq!(status_of(&answer), Some(want), "{:?} → {answer:?}", String::from_utf8_lossy(request));
    }

    let big = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(32 * 1024));
    assert_eq!(status_of(&raw_exchange(addr, big.as_bytes()).await), Some(431), "oversized head");

    for query in [
        "/api/events?since=abc",
        "/api/events?since=-1",
        "/api/events?since=1e3",
        "/api/events?since=99999999999999999999999",
        "/api/events?since=0&wait=abc",
        "/api/events?since=0&wait=-1",
        "/api/events?since=0&wait=NaN",
        "/api/events?since=0&wait=1e9",
        "/api/events?since=1&since=2",
        "/sse?since=x",
        "/ws?since=%00",
    ] {
        let answer = raw_exchange(
            addr,
            format!("GET {query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(status_of(&answer), Some(400), "{query} → {answer}");
        assert!(answer.contains(r#"{"error":"#), "{query}: a JSON error body: {answer}");
    }

    for path in ["/ws", "/ws/echo"] {
        let (status, _) = common::RawWs::try_connect(addr, path, "Origin: http://evil.example\r\n").await;
        assert_eq!(status, 403, "{path} with a foreign Origin");
        let (status, _) = common::RawWs::try_connect(addr, path, &format!("Origin: http://{addr}\r\n")).await;
        assert_eq!(status, 101, "{path} with the server's own Origin");
    }

    assert_healthy(addr).await;
    assert!(r.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_parked_long_polls_are_all_answered() {
    let _serial = serial().await;
    // The server runs in this process (so that the test can publish the one event that
    // releases the polls): every poll costs two descriptors here.
    let fds = proto::process::raise_fd_limit() as usize;
    let n = LONG_POLLS.min(fds.saturating_sub(500) / 2);
    assert!(n >= 1_000, "the open-files limit ({fds}) leaves room for only {n} long polls");
    let r =
        common::start(Config { rate: 0.0, long_poll_max: Duration::from_secs(120), ..Config::ephemeral() })
            .await;
    let addr = r.addr;
    let mut gen = Generator::new(8, 0.0, 11);
    r.app.feed.publish(gen.draw());

    let answered = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(256));
    let mut polls = JoinSet::new();
    for _ in 0..n {
        let (gate, answered) = (gate.clone(), answered.clone());
        polls.spawn(async move {
            let mut tcp = {
                // Only the connect is gated, so the accept backlog never overflows.
                let _permit = gate.acquire().await.expect("semaphore");
                timeout(LIMIT, TcpStream::connect(addr)).await.expect("connect in time").ok()?
            };
            let req = b"GET /api/events?since=1&wait=120 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            tcp.write_all(req).await.ok()?;
            let mut out = Vec::new();
            let _ = timeout(LIMIT * 4, tcp.read_to_end(&mut out)).await;
            answered.fetch_add(1, Relaxed);
            let text = String::from_utf8_lossy(&out).into_owned();
            Some((status_of(&text), text.contains(r#""seq":2,"#)))
        });
    }

    // All parked at once: every request routed, none answered.
    let long_polls = r.app.metrics.transport(Transport::LongPoll);
    let parked_or_answered = || ready(long_polls.requests.get() >= n as u64 || answered.load(Relaxed) > 0);
    until("every long poll reaches the server", LIMIT * 2, parked_or_answered).await;
    assert_eq!(answered.load(Relaxed), 0, "no poll was answered before the event");
    assert_eq!(long_polls.requests.get(), n as u64, "all {n} polls parked at once");

    // One event releases them all.
    r.app.feed.publish(gen.draw());
    let (mut ok, mut refused, mut other) = (0, 0, Vec::new());
    while let Some(res) = polls.join_next().await {
        match res.expect("poll task") {
            Some((Some(200), true)) => ok += 1,
            Some((Some(503), _)) => refused += 1,
            outcome => other.push(outcome),
        }
    }
    eprintln!(
        "long polls: {n} parked (fd limit {fds}); {ok} answered 200 with the event, {refused} refused 503"
    );
    assert!(other.is_empty(), "{} polls neither served nor refused, e.g. {:?}", other.len(), other.first());
    assert_eq!(ok + refused, n);

    // The health check's fresh client needs events: publish some while it waits.
    let feed = r.app.feed.clone();
    let publisher = tokio::spawn(async move {
        loop {
            sleep(Duration::from_millis(50)).await;
            feed.publish(gen.draw());
        }
    });
    assert_healthy(addr).await;
    publisher.abort();
    assert!(r.shutdown().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_out_of_file_descriptors_counts_its_failed_accepts_and_recovers() {
    let _serial = serial().await;
    // 64 files: the runtime and listener take some, so 100 connections cannot all be accepted;
    // the kernel completes them all (the listen queue) and the server's accepts fail.
    let server = ServerProcess::spawn_limited(&["--rate", "20"], Some(64)).await;
    let addr = server.addr;
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(timeout(LIMIT, TcpStream::connect(addr)).await.expect("in time").expect("queued"));
    }
    // Long enough for the accept loop to meet the limit a few times (it backs off 20 ms).
    sleep(Duration::from_millis(500)).await;
    drop(held);
    let failed = common::settle(
        LIMIT,
        || async move { value(&metrics(addr).await, Single::AcceptErrors) },
        |n| *n > 0.0,
    )
    .await;
    assert!(failed > 0.0, "failed accepts are counted: {failed}");
    assert_healthy(addr).await;
}
