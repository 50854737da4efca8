//! `connect/http_get` against `connect/ws_upgrade`: a fresh TCP connection plus one
//! `GET /api/scores` (the whole snapshot), against a fresh TCP connection plus the WebSocket
//! handshake and its first message (the same snapshot), with the load generator's client code.
//!
//! Only the opening is timed; closing the connection is not. Every connection comes from a
//! new ephemeral port, so the measurement time is kept short.

use std::time::{Duration, Instant};

use benches::fixture::{self, bounded, WAIT};
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::StreamExt;
use http::StatusCode;
use loadgen::client::http::{connect_tcp, get, Conn};
use tokio_tungstenite::tungstenite::Message;

fn connect(c: &mut Criterion) {
    let rt = fixture::runtime();
    let running = rt.block_on(fixture::start_server());
    let addr = running.addr;
    let host = addr.to_string();
    let ws_url = format!("ws://{host}/ws");
    let mut group = c.benchmark_group("connect");

    group.bench_function("http_get", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let mut conn = Conn::open(addr, None).await.unwrap_or_else(|e| panic!("connect: {e:?}"));
                    let answer = conn
                        .fetch(get(&host, "/api/scores"), WAIT)
                        .await
                        .unwrap_or_else(|e| panic!("GET /api/scores: {e:?}"));
                    total += t.elapsed();
                    assert_eq!(answer.status, StatusCode::OK);
                }
                total
            })
        });
    });

    group.bench_function("ws_upgrade", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let tcp = connect_tcp(addr, None).await.unwrap_or_else(|e| panic!("connect: {e:?}"));
                    let handshake = tokio_tungstenite::client_async_with_config(
                        ws_url.as_str(),
                        tcp,
                        Some(loadgen::client::ws::config()),
                    );
                    let (mut ws, _) = bounded("ws handshake", handshake)
                        .await
                        .unwrap_or_else(|e| panic!("ws handshake: {e}"));
                    let first = bounded("the first ws message", ws.next()).await;
                    total += t.elapsed();
                    assert!(
                        matches!(first, Some(Ok(Message::Text(_)))),
                        "the first message is the snapshot: {first:?}"
                    );
                }
                total
            })
        });
    });

    group.finish();
    rt.block_on(fixture::stop_server(running));
}

criterion_group! {
    name = benches;
    config = fixture::criterion();
    targets = connect
}
criterion_main!(benches);
