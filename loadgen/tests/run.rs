//! `loadgen run` end to end, as a user runs it: the real binary, an embedded server process,
//! real sockets, and the results it writes.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{loadgen, read_results, serve, stderr_of, temp_dir, wait_bounded};
use proto::results::{Results, Step};
use proto::Transport;

fn step(r: &Results, transport: Transport) -> &Step {
    r.steps.iter().find(|s| s.transport == transport).unwrap_or_else(|| panic!("no {transport} step"))
}

#[test]
fn a_small_sweep_measures_every_transport_honestly() {
    let dir = temp_dir("sweep");
    let out = loadgen()
        .args([
            "run",
            "--repeat",
            "1",
            "--clients",
            "20",
            "--duration",
            "2s",
            "--warmup",
            "1s",
            "--rate",
            "20",
        ])
        .args(["--poll-interval", "500ms", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("prints the report path");
    assert!(Path::new(last).ends_with("index.html"), "last line is the report: {last}");
    assert!(Path::new(last).exists());

    let r = read_results(&dir);
    assert_eq!(r.schema, proto::results::SCHEMA);
    assert_eq!(r.steps.len(), 5);
    assert!(r.interrupted.is_none());
    for s in &r.steps {
        assert!(s.errors.is_empty(), "{}: errors {:?}", s.transport, s.errors);
        assert!(s.events_published > 0, "{}: the feed published", s.transport);
        assert!(s.event_delay_us.count > 0, "{}: delivery histogram empty", s.transport);
        assert!(s.connect_latency_us.count > 0, "{}: connect histogram empty", s.transport);
        assert!(s.wire_bytes.to_client > 0, "{}", s.transport);
        assert_eq!(s.deliveries_expected, s.events_published * 20);
        // Every data frame and every request leaves in a segment of its own or shares one
        // with at most one other (the server and the clients set TCP_NODELAY).
        let segments = s.tcp_segments.expect("a loopback server: the host's segments are counted");
        let least = s.messages.max(s.requests) / 2;
        // Poll bodies are part of what the server sent; push steps have none.
        match s.poll_body_bytes {
            Some(b) => {
                assert!(s.transport.is_poll() && b > 0 && b < s.wire_bytes.to_client, "{}: {b}", s.transport)
            }
            None => assert!(!s.transport.is_poll(), "{}: a poller counts its bodies", s.transport),
        }
        assert!(segments >= least, "{}: {segments} segments for {least}×2 frames or requests", s.transport);
        for f in [&s.files.delivery_hgrm, &s.files.connect_hgrm, &s.files.delivery_hlog] {
            let f = f.as_ref().expect("histogram file named");
            assert!(dir.join(f).metadata().expect("file exists").len() > 0);
        }
    }
    for t in [Transport::Ws, Transport::Sse, Transport::DeltaPoll, Transport::LongPoll] {
        let s = step(&r, t);
        assert_eq!(
            (s.coalesced, s.late, s.lost, s.duplicates),
            (0, 0, 0, 0),
            "{t} must deliver every event once"
        );
        assert_eq!(s.deliveries, s.deliveries_expected, "{t}");
    }
    for t in [Transport::ShortPoll, Transport::DeltaPoll] {
        let q = step(&r, t).request_latency_us.as_ref().expect("polls have a request latency");
        assert!(q.count > 0, "{t}: request histogram empty");
    }
    assert!(step(&r, Transport::Ws).request_latency_us.is_none());
    let short = step(&r, Transport::ShortPoll);
    let ws = step(&r, Transport::Ws);
    assert!(short.coalesced > 0, "20 events/s polled twice a second must coalesce events");
    assert_eq!((short.late, short.lost), (0, 0), "every event's effect reaches a snapshot poller");
    assert_eq!(short.deliveries + short.coalesced + short.late + short.lost, short.deliveries_expected);
    assert!(short.empty_polls < short.requests);
    assert!(
        ws.event_delay_us.p50 < short.event_delay_us.p50,
        "ws p50 {} vs short-poll p50 {}",
        ws.event_delay_us.p50,
        short.event_delay_us.p50
    );
    assert!(short.wire_bytes_per_delivery > ws.wire_bytes_per_delivery);
    // One frame per event, counted by the server too. The server counts frames between two
    // readings in time, the clients count events by seq: an event published just before a
    // reading may be framed just after it, so the two may differ by one event per client at
    // each edge of the window.
    let edge = 2 * u64::from(ws.clients);
    assert!(
        ws.messages.abs_diff(ws.deliveries) <= edge,
        "server frames {} vs deliveries {}",
        ws.messages,
        ws.deliveries
    );
}

#[test]
fn a_server_killed_mid_step_ends_the_run_with_errors_and_a_non_zero_exit() {
    // An external server: the same binary's server mode, which this test then kills.
    let (mut server, url) = serve("127.0.0.1:0", "20");

    let dir = temp_dir("killed");
    let mut run = loadgen()
        .args(["run", "--repeat", "1", "--target", &url, "--transports", "ws,short-poll", "--clients", "5"])
        .args(["--duration", "8s", "--warmup", "500ms", "--poll-interval", "500ms", "--quiet", "--out"])
        .arg(&dir)
        // No idle baseline: the kill below must fall inside the first step.
        .args(["--baseline", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen runs");
    std::thread::sleep(Duration::from_secs(3));
    server.kill().expect("kill the server");
    let _ = server.wait();

    let status = wait_bounded(&mut run, Duration::from_secs(60));
    let stderr = stderr_of(&mut run);
    assert!(!status.success(), "a dead server means a non-zero exit");
    assert!(stderr.contains("stopped answering"), "a one-line reason: {stderr}");
    let r = read_results(&dir);
    assert!(r.interrupted.is_some());
    assert_eq!(r.steps.len(), 1, "the run stops at the step that lost the server");
    let s = &r.steps[0];
    assert!(s.errors.get("server_gone").is_some_and(|n| *n > 0), "{:?}", s.errors);
    assert!(s.errors_total() > 1, "client errors are counted too: {:?}", s.errors);
    assert!(dir.join("index.html").exists(), "the report of what ran is drawn");
}

#[test]
fn a_warmup_shorter_than_the_poll_interval_is_refused_before_anything_runs() {
    let dir = temp_dir("short-warmup").join("never");
    let out = loadgen()
        .args([
            "run",
            "--repeat",
            "1",
            "--transports",
            "delta-poll,ws",
            "--clients",
            "1",
            "--poll-interval",
            "5s",
        ])
        .args(["--duration", "1s", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(stderr.contains("--warmup 1s is shorter than --poll-interval 5s"), "{stderr}");
    assert!(stderr.contains("give --warmup 5s or longer"), "the smallest valid value: {stderr}");
    assert!(!dir.exists(), "nothing ran, nothing was written");
}

#[test]
fn several_targets_must_be_nodes_of_one_feed_and_bad_ones_are_refused_before_anything_runs() {
    let (mut a, url_a) = serve("127.0.0.1:0", "10");
    let (mut b, url_b) = serve("127.0.0.1:0", "10");
    let dir = temp_dir("two-feeds").join("never");
    let run = |targets: &str| {
        loadgen()
            .args(["run", "--quiet", "--transports", "ws", "--clients", "2", "--duration", "1s"])
            .args(["--target", targets, "--out"])
            .arg(&dir)
            .output()
            .expect("loadgen runs")
    };
    // Two servers with feeds of their own: a client's events could not be judged by one window.
    let out = run(&format!("{url_a},{url_b}"));
    let _ = (a.kill(), b.kill(), a.wait(), b.wait());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(stderr.contains("do not serve one feed"), "{stderr}");
    let out = run(&format!("{url_a},{url_a}/"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("names one node twice"), "{stderr}");
    assert!(!dir.exists(), "nothing ran, nothing was written");
}

#[test]
fn the_clock_offset_to_a_server_on_one_host_is_zero_within_its_uncertainty() {
    let (mut server, url) = serve("127.0.0.1:0", "0");
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let clock = rt
        .block_on(loadgen::clock::measure(&loadgen::client::Dialer::plain_h1(addr, addr.to_string()), 20))
        .expect("measured");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(clock.samples, 20);
    assert!(!clock.same_host, "measured, not assumed");
    // One clock: the true offset is 0, and the estimate is off by at most half a round trip.
    assert!(
        clock.offset_us.unsigned_abs() <= clock.uncertainty_us,
        "offset {} µs outside ± {} µs",
        clock.offset_us,
        clock.uncertainty_us
    );
}

#[test]
fn without_a_terminal_each_step_says_when_it_starts_and_when_it_is_done() {
    let dir = temp_dir("lines");
    // Captured stderr is a pipe, not a terminal: no bars, plain lines.
    let out = loadgen()
        .args(["run", "--repeat", "1", "--transports", "ws,delta-poll", "--clients", "3", "--duration", "1s"])
        .args(["--warmup", "200ms", "--poll-interval", "200ms", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let lines: Vec<&str> = stderr.lines().collect();
    let only = |wanted: &dyn Fn(&str) -> bool| -> usize {
        let at: Vec<usize> = (0..lines.len()).filter(|&i| wanted(lines[i])).collect();
        assert_eq!(at.len(), 1, "exactly one such line in:\n{stderr}");
        at[0]
    };
    let mut order = Vec::new();
    for (i, label) in ["ws × 3", "delta-poll × 3"].into_iter().enumerate() {
        let started = format!("step {}/2 started: {label}", i + 1);
        let done = format!("step {}/2 done: {label} — delivered ", i + 1);
        order.push(only(&|l| l == started));
        let at = only(&|l| l.starts_with(&done));
        for part in [", p50 ", " ms, p99 ", " ms, errors "] {
            assert!(lines[at].contains(part), "{}", lines[at]);
        }
        order.push(at);
    }
    assert!(order.windows(2).all(|w| w[0] < w[1]), "each step starts, then is done: {order:?}");
}

#[test]
fn pin_puts_the_server_and_the_load_generator_on_separate_cpus_and_records_it() {
    let allowed = loadgen::pin::allowed_cpus().expect("this test's CPUs");
    let dir = temp_dir("pinned");
    let out = loadgen()
        .args(["run", "--repeat", "1", "--pin", "--transports", "ws", "--clients", "5", "--duration", "1s"])
        .args(["--baseline", "0s", "--quiet", "--out"])
        .arg(&dir)
        .output()
        .expect("loadgen runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if allowed.len() < 2 {
        assert!(!out.status.success() && stderr.contains("at least two CPUs"), "{stderr}");
        return;
    }
    assert!(out.status.success(), "{stderr}");
    let r = read_results(&dir);
    let p = r.config.pinning.clone().expect("the pinning is recorded");
    // The embedded server's CPUs were read back from the kernel when it started (a
    // mismatch fails the run), the load generator's after it pinned itself.
    assert_eq!(p.server_cpus, vec![allowed[0]]);
    assert_eq!(p.loadgen_cpus, allowed[1..].to_vec());
    let s = step(&r, Transport::Ws);
    assert!(s.deliveries > 0 && s.deliveries == s.deliveries_expected, "a pinned run still measures");
    // A server elsewhere cannot be pinned by the load generator: refused, nothing written.
    let never = temp_dir("pinned-target").join("never");
    let out = loadgen()
        .args(["run", "--pin", "--target", "http://127.0.0.1:9", "--out"])
        .arg(&never)
        .output()
        .expect("loadgen runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--pin places the embedded server"), "{stderr}");
    assert!(!never.exists());
}
