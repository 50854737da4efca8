//! Event delay by one definition, end to end: at 10 events/s and polls every second, a
//! snapshot poller learns of an event about half a poll interval after it happened (the
//! event waits for the next poll), exactly as a delta poller does; push transports tell
//! clients within milliseconds; long polling sits in between. And snapshot polling loses
//! nothing: every event it does not receive itself is coalesced into a later snapshot.
//!
//! The bounds have margins for a loaded two-core machine; the run takes about a minute.

mod common;

use std::path::Path;

use common::{loadgen, read_results, temp_dir};
use proto::results::{Results, Step};
use proto::Transport;

const MS: u64 = 1000;

fn step(r: &Results, t: Transport) -> &Step {
    r.steps.iter().find(|s| s.transport == t).unwrap_or_else(|| panic!("no {t} step"))
}

fn run(dir: &Path) -> Results {
    let out = loadgen()
        .args([
            "run",
            "--repeat",
            "1",
            "--clients",
            "100",
            "--duration",
            "6s",
            "--warmup",
            "2s",
            "--rate",
            "10",
        ])
        .args(["--poll-interval", "1s", "--quiet", "--out"])
        .arg(dir)
        .output()
        .expect("loadgen runs");
    assert!(out.status.success(), "exit {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    read_results(dir)
}

#[test]
fn polling_waits_half_an_interval_push_does_not_and_snapshot_polling_loses_nothing() {
    let dir = temp_dir("event-delay");
    let r = run(&dir);
    let describe = |s: &Step| {
        format!(
            "{}: p50 {} µs, p99 {} µs, {} samples, delivered {}, coalesced {}, late {}, lost {}, errors {:?}",
            s.transport,
            s.event_delay_us.p50,
            s.event_delay_us.p99,
            s.event_delay_us.count,
            s.deliveries,
            s.coalesced,
            s.late,
            s.lost,
            s.errors
        )
    };
    for s in &r.steps {
        println!("{}", describe(s));
        assert!(s.errors.is_empty(), "{}", describe(s));
    }

    for t in [Transport::ShortPoll, Transport::DeltaPoll] {
        let d = &step(&r, t).event_delay_us;
        assert!((400 * MS..=600 * MS).contains(&d.p50), "{}", describe(step(&r, t)));
        assert!(d.p99 >= 900 * MS, "{}", describe(step(&r, t)));
    }
    for t in [Transport::Sse, Transport::Ws] {
        let d = &step(&r, t).event_delay_us;
        assert!(d.p50 < 50 * MS && d.p99 < 500 * MS, "milliseconds: {}", describe(step(&r, t)));
    }
    let long = step(&r, Transport::LongPoll);
    let short = step(&r, Transport::ShortPoll);
    assert!(
        long.event_delay_us.p50 < short.event_delay_us.p50 / 2
            && long.event_delay_us.p99 < short.event_delay_us.p99,
        "long polling is far quicker than polling on a clock: {} against {}",
        describe(long),
        describe(short)
    );

    // Every event a snapshot poller did not receive itself is in a later snapshot it holds.
    assert_eq!((short.late, short.lost), (0, 0), "{}", describe(short));
    assert!(short.coalesced > short.deliveries, "10 events a second, one poll a second: {}", describe(short));
    assert_eq!(
        short.deliveries + short.coalesced + short.late + short.lost,
        short.deliveries_expected,
        "{}",
        describe(short)
    );
    assert_eq!(short.coalesced_without_delay, 0, "every coalesced event has its own delay");
    assert_eq!(
        short.event_delay_us.count,
        short.deliveries + short.coalesced,
        "one delay per event the clients learned of"
    );
    for t in [Transport::DeltaPoll, Transport::LongPoll, Transport::Sse, Transport::Ws] {
        let s = step(&r, t);
        assert_eq!((s.coalesced, s.late, s.lost), (0, 0, 0), "{}", describe(s));
    }
}
