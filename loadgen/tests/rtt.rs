//! `--rtt`: every client connection behaves as one across a network of that round trip. On a
//! kernel without netem (this project's CI) the delay line does it, and results.json says so.
//! Only lower bounds are asserted: a delay can make things slower on a busy machine, never
//! faster than the round trip.

mod common;

use common::{run_ok, temp_dir};
use proto::results::DelayMethod;
use proto::Transport;

#[test]
fn a_round_trip_is_paid_by_every_request_and_half_of_it_by_every_push() {
    let args = [
        &["--repeat", "1", "--rtt", "200ms", "--transports", "short-poll,ws", "--clients", "3"][..],
        &["--duration", "3s", "--warmup", "1s", "--rate", "10", "--baseline", "0s"][..],
    ]
    .concat();
    let r = run_ok(&temp_dir("rtt"), &args);
    let net = r.config.network.as_ref().expect("the delay is recorded");
    assert_eq!(net.rtt_ms, 200.0);
    if net.method == DelayMethod::DelayLine {
        assert!(net.netem_unavailable.is_some(), "the reason netem was not used is recorded");
    }
    for s in &r.steps {
        assert_eq!((s.lost, s.errors_total()), (0, 0), "{:?}: {:?}", s.transport, s.errors);
        assert!(
            s.connect_latency_us.min >= 400_000,
            "TCP handshake and first answer: two round trips at least, {:?}",
            s.connect_latency_us
        );
    }
    let step = |t: Transport| r.steps.iter().find(|s| s.transport == t).expect("ran");
    let ws = step(Transport::Ws);
    assert!(
        ws.event_delay_us.min >= 100_000,
        "a pushed event crosses half a round trip: {:?}",
        ws.event_delay_us
    );
    let poll = step(Transport::ShortPoll).request_latency_us.clone().expect("polls have a request latency");
    assert!(poll.min >= 200_000, "a poll costs a round trip: {poll:?}");
}

#[test]
fn connect_times_are_comparable_across_transports_on_a_slow_network() {
    // One definition for all (TCP connect, TLS, to the first answer), one client code path:
    // on a 200 ms network every transport's connect is the same two round trips, and none
    // includes a long poll's hold or a body's transfer.
    let args = [
        &["--repeat", "1", "--rtt", "200ms", "--clients", "4", "--rate", "10"][..],
        &["--transports", "short-poll,delta-poll,long-poll,sse,ws"][..],
        &["--duration", "2s", "--warmup", "1s", "--baseline", "0s"][..],
    ]
    .concat();
    let r = run_ok(&temp_dir("rtt-connect"), &args);
    let p50s: Vec<(Transport, u64)> =
        r.steps.iter().map(|s| (s.transport, s.connect_latency_us.p50)).collect();
    assert_eq!(p50s.len(), 5);
    for s in &r.steps {
        let c = &s.connect_latency_us;
        assert!(c.count >= 4, "{:?}: every client's connect: {c:?}", s.transport);
        assert!(c.p50 >= 400_000, "{:?}: two round trips at least: {c:?}", s.transport);
        // A long poll's hold (25 s) or a repeated round trip would be far above this.
        assert!(c.max < 1_000_000, "{:?}: no hold or third round trip in a connect: {c:?}", s.transport);
    }
    let lo = p50s.iter().map(|p| p.1).min().expect("steps");
    let hi = p50s.iter().map(|p| p.1).max().expect("steps");
    assert!(hi - lo < 100_000, "connect p50s within 100 ms of each other: {p50s:?}");
}
