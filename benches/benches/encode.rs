//! `encode/event/<payload bytes>` and `encode/snapshot/<matches>`: the serialisation the
//! feed does once per event and once per snapshot, with the server's own functions.
//!
//! An event is encoded as `Feed::publish` does it: its JSON (padded to the payload size,
//! which takes a second pass when padding is needed) and its SSE frame; throughput is the
//! JSON's bytes. The snapshot carries no padding (`--payload-bytes` pads events only), so its
//! cost is set by the number of matches instead: 8 (the default), 100 and 1000 (the most the
//! server accepts).

use std::hint::black_box;
use std::time::Duration;

use benches::fixture;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use proto::now_us;
use proto::sse::frame as sse_frame;
use proto::wire::{Event, MessageType};
use server::feed::{encode_event, encode_snapshot, EventSource, Generator};

const PAYLOADS: [usize; 3] = [0, 256, 4096];
const MATCHES: [u32; 3] = [8, 100, 1000];

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    // Microseconds or less each: more samples, less time than the network benches.
    group.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(1));
    let epoch = now_us();

    let change = Generator::new(8, 0.0, 7).draw();
    let event = Event {
        kind_tag: MessageType::Event,
        seq: 12_345,
        ts_us: now_us(),
        epoch,
        match_id: change.state.id,
        kind: change.kind,
        team: change.team,
        state: change.state,
        pad: String::new(),
    };
    for payload in PAYLOADS {
        let json_len = encode_event(&mut event.clone(), payload).len();
        group.throughput(Throughput::Bytes(json_len as u64));
        group.bench_with_input(BenchmarkId::new("event", payload), &payload, |b, &payload| {
            // A fresh, unpadded event each time, as `publish` builds one; the clone is not timed.
            b.iter_batched(
                || event.clone(),
                |mut e| {
                    let json = encode_event(&mut e, payload);
                    let sse = sse_frame(Some(e.seq), "event", &json);
                    (json, sse)
                },
                BatchSize::SmallInput,
            );
        });
    }

    for matches in MATCHES {
        let states = Generator::new(matches, 0.0, 7).initial_matches();
        let len = encode_snapshot(epoch, 12_345, now_us(), &states).len();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(
            BenchmarkId::new("snapshot", format!("{matches}_matches")),
            &states,
            |b, states| {
                b.iter(|| encode_snapshot(epoch, 12_345, 1_700_000_000_000_000, black_box(states)));
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = fixture::criterion();
    targets = encode
}
criterion_main!(benches);
