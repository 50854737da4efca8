//! `--poll-mode`: a `setInterval` poller overlaps polls a slow server has not answered (more
//! connections over HTTP/1.1, more streams over HTTP/2), a `setTimeout` chain never does, and
//! a poll still in flight when the client stops is recorded as unanswered, not dropped.
//!
//! The server here is a tiny hyper server on 127.0.0.1:0 that answers the first two
//! snapshot requests after 300 ms and holds every later one until the test ends, counting
//! connections and requests in flight. A client runs for 3 s against it with polls due every
//! 100 ms (13 s to see a poll's 10 s bound pass); nothing depends on the machine's speed
//! beyond the first three polls going out within the first 2 s.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use loadgen::client::conn::{Endpoint, Endpoints};
use loadgen::client::{poll, Live, StepCtx};
use loadgen::recorder::ClientRecord;
use loadgen::schedule::Schedule;
use proto::{PollMode, Protocol, Transport, Variant};

/// What the slow server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

const SNAPSHOT: &str = r#"{"type":"snapshot","epoch":7,"seq":0,"ts_us":0,"matches":[]}"#;

/// Answers the first two requests after 300 ms, holds the others (until `stop`).
async fn slow_server(stop: CancellationToken) -> (SocketAddr, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                _ = stop.cancelled() => return,
                a = listener.accept() => a.expect("accept"),
            };
            s.connections.fetch_add(1, SeqCst);
            let (s, stop) = (s.clone(), stop.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let (s, stop) = (s.clone(), stop.clone());
                    async move {
                        let n = s.requests.fetch_add(1, SeqCst);
                        let now = s.in_flight.fetch_add(1, SeqCst) + 1;
                        s.most_in_flight.fetch_max(now, SeqCst);
                        if n < 2 {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        } else {
                            stop.cancelled().await;
                        }
                        s.in_flight.fetch_sub(1, SeqCst);
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            SNAPSHOT.as_bytes(),
                        ))))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    (addr, seen)
}

/// One short-polling client of `mode` over `protocol`, polls due every 100 ms, for `secs`.
async fn poll_for(
    mode: PollMode,
    protocol: Protocol,
    secs: u64,
) -> (ClientRecord, Arc<Seen>, Schedule, Instant) {
    let stop = CancellationToken::new();
    let (addr, seen) = slow_server(stop.clone()).await;
    let endpoints = Endpoints { plain: Some(Endpoint { addr, host: addr.to_string() }), tls: None };
    let variant = Variant { protocol, ..Variant::default() };
    let t0 = Instant::now();
    let ctx = StepCtx {
        dialers: vec![endpoints.dialer(variant).expect("a cleartext dialer")],
        spread: loadgen::spread::Spread::ONE,
        transport: Transport::ShortPoll,
        variant,
        poll_interval: Duration::from_millis(100),
        poll_mode: mode,
        window_end: t0 + Duration::from_secs(secs),
        t0,
        stop_at: t0 + Duration::from_secs(secs),
        cancel: CancellationToken::new(),
        live: Live::new(1),
        sources: Vec::new(),
        clock_offset_us: 0,
    };
    let schedule = Schedule::new(t0, Duration::from_millis(10), ctx.poll_interval);
    let rec = tokio::time::timeout(Duration::from_secs(30), poll::run(&ctx, 0, schedule))
        .await
        .expect("the client stops by itself at its stop time");
    stop.cancel();
    (rec, seen, schedule, ctx.stop_at)
}

/// Polls due before `stop_at`.
fn due_before(schedule: &Schedule, stop_at: Instant) -> usize {
    (0..).take_while(|k| schedule.at(*k).is_some_and(|t| t < stop_at)).count()
}

fn answered_and_unanswered(rec: &ClientRecord) -> (usize, usize) {
    let unanswered = rec.requests.iter().filter(|q| q.unanswered).count();
    (rec.requests.len() - unanswered, unanswered)
}

#[tokio::test]
async fn set_interval_over_http1_overlaps_on_up_to_six_connections_and_counts_what_was_never_answered() {
    let (rec, seen, schedule, stop_at) = poll_for(PollMode::Interval, Protocol::H1, 3).await;
    let most = seen.most_in_flight.load(SeqCst);
    let connections = seen.connections.load(SeqCst);
    assert_eq!(most, PollMode::BROWSER_CONNECTIONS, "held polls fill a browser's six connections");
    assert_eq!(connections, PollMode::BROWSER_CONNECTIONS, "answered connections are reused");
    assert_eq!(rec.connects_us.len(), 2, "connect times of the connections that answered once");
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);
    let (answered, unanswered) = answered_and_unanswered(&rec);
    assert_eq!(answered, 2);
    // Every poll due before the stop is recorded: answered, in flight, or waiting for one of
    // the six connections.
    assert_eq!(answered + unanswered, due_before(&schedule, stop_at), "{:?}", rec.requests);
    assert!(unanswered >= 6, "{unanswered}");
    let first_held = rec.requests.iter().find(|q| q.unanswered).expect("an unanswered poll");
    assert!(first_held.latency_us >= 1_000_000, "it waited until the stop: {first_held:?}");
}

#[tokio::test]
async fn set_interval_over_http2_overlaps_as_streams_of_one_connection() {
    let (rec, seen, schedule, stop_at) = poll_for(PollMode::Interval, Protocol::H2, 3).await;
    assert_eq!(seen.connections.load(SeqCst), 1);
    let most = seen.most_in_flight.load(SeqCst);
    assert!(most > PollMode::BROWSER_CONNECTIONS, "streams are not bound by six connections: {most}");
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);
    let (answered, unanswered) = answered_and_unanswered(&rec);
    assert_eq!((answered, answered + unanswered), (2, due_before(&schedule, stop_at)));
}

#[tokio::test]
async fn a_set_timeout_chain_never_overlaps_and_its_poll_in_flight_at_the_stop_is_unanswered() {
    let (rec, seen, _, _) = poll_for(PollMode::Timeout, Protocol::H1, 3).await;
    assert_eq!(seen.most_in_flight.load(SeqCst), 1, "one poll at a time");
    assert_eq!((seen.connections.load(SeqCst), seen.requests.load(SeqCst)), (1, 3));
    assert!(rec.errors.is_empty(), "{:?}", rec.errors);
    let (answered, unanswered) = answered_and_unanswered(&rec);
    assert_eq!((answered, unanswered), (2, 1), "{:?}", rec.requests);
    let held = rec.requests.last().expect("three polls");
    assert!(held.unanswered && held.latency_us >= 1_000_000, "it waited until the stop: {held:?}");
    // The chain drifts: the second poll was due 100 ms after the first answer (300 ms), not
    // on the 100 ms grid.
    let gap = rec.requests[1].at_ms - rec.requests[0].at_ms;
    assert!(gap >= 400, "{:?}", rec.requests);
}

#[tokio::test]
async fn a_poll_out_of_time_is_unanswered_with_the_time_it_waited_and_a_timeout_error() {
    // The third poll is held past its 10 s bound; the fourth, on a new connection, until the stop.
    let (rec, _, _, _) = poll_for(PollMode::Timeout, Protocol::H1, 13).await;
    let limit = poll::POLL_LIMIT.as_micros() as u32;
    let timed_out: Vec<_> = rec.requests.iter().filter(|q| q.latency_us >= limit).collect();
    assert_eq!(timed_out.len(), 1, "{:?}", rec.requests);
    assert!(timed_out[0].unanswered);
    let timeout = rec.errors.get(&loadgen::failure::ErrorKind::Timeout);
    assert_eq!((timeout, rec.errors.len()), (Some(&1), 1), "{:?}", rec.errors);
    assert_eq!(answered_and_unanswered(&rec), (2, 2), "{:?}", rec.requests);
}

#[test]
fn a_bad_poll_mode_is_refused_with_the_valid_names() {
    let out = common::loadgen().args(["run", "--poll-mode", "x"]).output().expect("loadgen runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown --poll-mode `x`; use interval or timeout"), "{err}");
}
