//! `delivery/<transport>/<clients>`: the time from publishing one event on an in-process
//! server (loopback) until every one of 1 or 100 clients has it, for each transport.
//!
//! Polling clients poll back to back, with no interval, so their figure is the cost of one
//! poll cycle under that load, not the wait a real poll interval adds (on average half the
//! interval; see the load generator's report for that). SSE and WebSocket clients hold one
//! connection each. Each benchmark gets a fresh server and fresh clients; their setup is not
//! timed. Throughput is in deliveries (one per client per event).

use std::time::Duration;

use benches::fixture;
use benches::follower::Followers;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loadgen::client::Transport;
use server::feed::Generator;
use server::Running;

const CLIENTS: [usize; 2] = [1, 100];

fn delivery(c: &mut Criterion) {
    let rt = fixture::runtime();
    let mut group = c.benchmark_group("delivery");
    for transport in Transport::ALL {
        // The ids use `_` where the load generator's names use `-`.
        let name = transport.name().replace('-', "_");
        for clients in CLIENTS {
            group.throughput(Throughput::Elements(clients as u64));
            // Set up on first use, so that a filter that skips this benchmark skips its
            // clients too.
            let mut setup: Option<(Running, Followers, Generator)> = None;
            group.bench_function(BenchmarkId::new(&name, clients), |b| {
                let (running, followers, generator) = setup.get_or_insert_with(|| {
                    rt.block_on(async {
                        let running = fixture::start_server().await;
                        let followers = Followers::start(transport, running.addr, clients).await;
                        let generator = Generator::new(running.app.config.matches, 0.0, 7);
                        (running, followers, generator)
                    })
                });
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += followers.round(&running.app.feed, generator.draw()).await;
                        }
                        total
                    })
                });
            });
            if let Some((running, followers, _)) = setup.take() {
                rt.block_on(async {
                    followers.stop().await;
                    fixture::stop_server(running).await;
                });
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = fixture::criterion();
    targets = delivery
}
criterion_main!(benches);
