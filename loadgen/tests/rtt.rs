//! `--rtt`: every client connection behaves as one across a network of that round trip. On a
//! kernel without netem (this project's CI) the delay line does it, and results.json says so.
//! Only lower bounds are asserted: a delay can make things slower on a busy machine, never
//! faster than the round trip.

mod common;

use std::process::Stdio;

use common::{loadgen, read_results, temp_dir};
use proto::results::DelayMethod;
use proto::Transport;

#[test]
fn a_round_trip_is_paid_by_every_request_and_half_of_it_by_every_push() {
    let dir = temp_dir("rtt");
    let out = loadgen()
        .args(["run", "--repeat", "1", "--rtt", "200ms", "--transports", "short-poll,ws", "--clients", "3"])
        .args(["--duration", "3s", "--warmup", "1s", "--rate", "10", "--baseline", "0s", "--quiet", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .output()
        .expect("loadgen runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = read_results(&dir);
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
