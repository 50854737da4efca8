//! What one byte count costs on the socket's hot path, and what a `/metrics` render costs,
//! two ways in one sitting, alternated: the server's plain atomics ([`server::metrics`]) and
//! prometheus-client `Counter` handles resolved once per channel into an array (so that a
//! count is one array index and one atomic add there too).
//!
//! `cargo run --release -p server --example count_cost`; the figures are quoted in
//! `server/src/metrics.rs`'s module doc.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::Instant;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use proto::metrics::{Kind, PerChannel, Sample, Single};
use proto::Channel;
use server::metrics::Metrics;

const COUNTS: u64 = 10_000_000;
const RENDERS: u32 = 2_000;
const ROUNDS: usize = 5;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    transport: &'static str,
}

/// The same page through prometheus-client: a family per per-channel metric, its seven
/// handles resolved at start, and the unlabelled metrics (set just before a render).
struct Client {
    registry: Registry,
    bytes_sent: [Counter; 7],
    singles: Vec<(Single, Gauge<f64, AtomicU64>)>,
}

fn registered_name(name: &str, kind: Kind) -> &str {
    // prometheus-client appends `_total` to counters and `.` to help texts itself.
    match kind {
        Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
        Kind::Gauge => name,
    }
}

fn client() -> Client {
    let mut registry = Registry::default();
    let mut bytes_sent = None;
    for m in PerChannel::ALL {
        let (name, help) = (registered_name(m.name(), m.kind()), m.help().trim_end_matches('.'));
        let labels = Channel::ALL.map(|c| ChannelLabel { transport: c.label() });
        if m.kind() == Kind::Gauge {
            let f = Family::<ChannelLabel, Gauge>::default();
            labels.iter().for_each(|l| drop(f.get_or_create(l)));
            registry.register(name, help, f);
            continue;
        }
        let f = Family::<ChannelLabel, Counter>::default();
        let handles = labels.map(|l| f.get_or_create(&l).clone());
        if m == PerChannel::BytesSent {
            bytes_sent = Some(handles);
        }
        registry.register(name, help, f);
    }
    let mut singles = Vec::new();
    for s in Single::ALL {
        let g = Gauge::<f64, AtomicU64>::default();
        registry.register(registered_name(s.name(), Kind::Gauge), s.help().trim_end_matches('.'), g.clone());
        singles.push((s, g));
    }
    Client { registry, bytes_sent: bytes_sent.expect("bytes_sent is a per-channel counter"), singles }
}

/// As `ConnMeter::count` does: the connection's channel from an atomic, then one add.
fn count_atomics(m: &Metrics, channel: &AtomicU8) {
    for i in 0..COUNTS {
        let c = Channel::from_index(channel.load(Relaxed) as usize);
        m.transport(c).bytes_sent.fetch_add(black_box(i & 1023), Relaxed);
    }
}

fn count_client(handles: &[Counter; 7], channel: &AtomicU8) {
    for i in 0..COUNTS {
        let c = Channel::from_index(channel.load(Relaxed) as usize);
        handles[c.index()].inc_by(black_box(i & 1023));
    }
}

fn render_client(c: &Client) -> String {
    for (s, g) in &c.singles {
        let v = match s {
            Single::ProcessCpuSeconds => server::process::cpu_seconds(),
            Single::ProcessResidentMemory => server::process::resident_bytes() as f64,
            _ => 0.0,
        };
        g.set(v);
    }
    let mut out = String::with_capacity(4096);
    prometheus_text::encode(&mut out, &c.registry).expect("writing to a String cannot fail");
    out
}

fn ns_per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let metrics = Metrics::new();
    let client = client();
    let channel = AtomicU8::new(Channel::from(proto::Transport::Ws).index() as u8);
    // Both pages must read back complete, or the comparison is of different work.
    Sample::parse(&metrics.render(1, 1)).and_then(|s| s.check_complete()).expect("atomics page");
    Sample::parse(&render_client(&client)).and_then(|s| s.check_complete()).expect("client page");

    println!("{COUNTS} counts and {RENDERS} renders a way, {ROUNDS} rounds, alternated");
    println!("{:<6} {:>16} {:>16} {:>16} {:>16}", "round", "atomics ns/count", "client ns/count", "atomics us/render", "client us/render");
    for round in 1..=ROUNDS {
        let t = Instant::now();
        count_atomics(black_box(&metrics), &channel);
        let a = ns_per(t, COUNTS);
        let t = Instant::now();
        count_client(black_box(&client.bytes_sent), &channel);
        let b = ns_per(t, COUNTS);
        let t = Instant::now();
        for _ in 0..RENDERS {
            black_box(metrics.render(1, 1));
        }
        let ra = ns_per(t, RENDERS as u64) / 1e3;
        let t = Instant::now();
        for _ in 0..RENDERS {
            black_box(render_client(&client));
        }
        let rb = ns_per(t, RENDERS as u64) / 1e3;
        println!("{round:<6} {a:>16.2} {b:>16.2} {ra:>16.1} {rb:>16.1}");
    }
}
