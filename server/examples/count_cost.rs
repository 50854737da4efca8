//! What one byte count costs on the socket's hot path, two ways in one sitting, alternated:
//! plain atomics laid out as `metrics.rs` kept them before it used prometheus-client (seven
//! `AtomicU64` per channel in one array), and the server's [`Metrics`] now (prometheus-client
//! `Counter` handles resolved once per channel into an array); then what a `/metrics` render
//! costs now.
//!
//! `cargo run --release -p server --example count_cost`; figures in `server/src/metrics.rs`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::Instant;

use proto::metrics::Sample;
use proto::{Channel, Transport};
use server::metrics::Metrics;

const COUNTS: u64 = 10_000_000;
const RENDERS: u64 = 2_000;
const ROUNDS: usize = 5;

/// One channel's counters as plain atomics (only `bytes_sent` moves here).
#[derive(Default)]
#[allow(dead_code)]
struct PlainCounters {
    connections_opened: AtomicU64,
    connections_open: AtomicU64,
    requests: AtomicU64,
    messages_sent: AtomicU64,
    events_delivered: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

/// As `ConnMeter::count` does it: the connection's channel from an atomic, then one add.
fn count_plain(m: &[PlainCounters; proto::Channel::ALL.len()], channel: &AtomicU8) {
    for i in 0..COUNTS {
        let c = Channel::from_index(channel.load(Relaxed) as usize);
        m[c.index()].bytes_sent.fetch_add(black_box(i & 1023), Relaxed);
    }
}

fn count_metrics(m: &Metrics, channel: &AtomicU8) {
    for i in 0..COUNTS {
        let c = Channel::from_index(channel.load(Relaxed) as usize);
        m.transport(c).bytes_sent.inc_by(black_box(i & 1023));
    }
}

fn ns_per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let plain: [PlainCounters; proto::Channel::ALL.len()] = Default::default();
    let metrics = Metrics::new();
    let channel = AtomicU8::new(Channel::from(Transport::Ws).index() as u8);
    Sample::parse(&metrics.render(1, 1)).and_then(|s| s.check_complete()).expect("a complete page");

    println!("{COUNTS} counts a way and {RENDERS} renders, {ROUNDS} rounds, alternated");
    println!("{:<6} {:>18} {:>18} {:>12}", "round", "atomics ns/count", "metrics ns/count", "us/render");
    for round in 1..=ROUNDS {
        let t = Instant::now();
        count_plain(black_box(&plain), &channel);
        let a = ns_per(t, COUNTS);
        let t = Instant::now();
        count_metrics(black_box(&metrics), &channel);
        let b = ns_per(t, COUNTS);
        let t = Instant::now();
        for _ in 0..RENDERS {
            black_box(metrics.render(1, 1));
        }
        let r = ns_per(t, RENDERS) / 1e3;
        println!("{round:<6} {a:>18.2} {b:>18.2} {r:>12.1}");
    }
}
