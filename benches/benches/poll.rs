//! `poll/304` against `poll/200`: one `GET /api/scores` on a kept-alive connection, answered
//! with a bodyless 304 (the client's `If-None-Match` names the current seq) or with the whole
//! snapshot (8 matches, the default), through the load generator's `Conn`.

use std::time::Instant;

use benches::fixture::{self, WAIT};
use criterion::{criterion_group, criterion_main, Criterion};
use http::{header, StatusCode};
use loadgen::client::http::{get, Conn};
use proto::wire;
use server::feed::Generator;

fn poll(c: &mut Criterion) {
    let rt = fixture::runtime();
    let running = rt.block_on(fixture::start_server());
    // One event, so the snapshot is a real one (seq 1, a match under way).
    running.app.feed.publish(Generator::new(running.app.config.matches, 0.0, 7).draw());
    let seq = running.app.feed.latest_seq();
    let host = running.addr.to_string();
    let mut conn = rt.block_on(Conn::open(running.addr, None)).unwrap_or_else(|e| panic!("connect: {e:?}"));
    let mut group = c.benchmark_group("poll");

    for (id, conditional, want) in [("304", true, StatusCode::NOT_MODIFIED), ("200", false, StatusCode::OK)] {
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        let mut req = get(&host, "/api/scores");
                        if conditional {
                            let tag = wire::etag(seq).parse().expect("a quoted number is a valid header");
                            req.headers_mut().insert(header::IF_NONE_MATCH, tag);
                        }
                        let answer =
                            conn.fetch(req, WAIT).await.unwrap_or_else(|e| panic!("GET /api/scores: {e:?}"));
                        assert_eq!(answer.status, want);
                    }
                    t.elapsed()
                })
            });
        });
    }

    group.finish();
    drop(conn);
    rt.block_on(fixture::stop_server(running));
}

criterion_group! {
    name = benches;
    config = fixture::criterion();
    targets = poll
}
criterion_main!(benches);
