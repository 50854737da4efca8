//! `loadgen run --workers`: the run split over worker processes of itself, as a user runs it
//! (the real binary, real sockets on 127.0.0.1), and merged into one results.json whose counts
//! are the sum of the workers' own.

mod common;

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{loadgen, read_results, serve, temp_dir, wait_bounded};
use proto::results::Results;

/// Runs `cmd` to its end (bounded), with its output.
fn output(mut cmd: Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("loadgen runs");
    let (mut out, mut err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let read_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).expect("stdout");
        s
    });
    let read_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).expect("stderr");
        s
    });
    let status = wait_bounded(&mut child, Duration::from_secs(240));
    Output { status, stdout: read_out.join().expect("stdout"), stderr: read_err.join().expect("stderr") }
}

/// The merged run in `dir` and its workers' own runs (`dir/workers/K`), checked to add up.
fn check_sum_of_parts(dir: &Path, clients: u32) -> (Results, Vec<Results>) {
    let merged = read_results(dir);
    let cluster = merged.cluster.as_ref().expect("a merged run names its load processes");
    let parts: Vec<Results> =
        (1..=cluster.parts).map(|k| read_results(&dir.join("workers").join(k.to_string()))).collect();
    assert!(parts.len() >= 2, "{} load processes", parts.len());
    assert!(merged.interrupted.is_none(), "{:?}", merged.interrupted);
    for (i, m) in merged.steps.iter().enumerate() {
        let name = m.transport.label();
        let sum = |f: fn(&proto::results::Step) -> u64| parts.iter().map(|p| f(&p.steps[i])).sum::<u64>();
        assert_eq!(m.clients, clients, "{name}: every client of the step");
        assert_eq!(u64::from(m.clients), sum(|s| u64::from(s.clients)), "{name}");
        assert!(parts.iter().all(|p| p.steps[i].clients > 0), "{name}: each worker had clients");
        assert_eq!(m.deliveries, sum(|s| s.deliveries), "{name}: deliveries");
        assert_eq!(m.deliveries_expected, sum(|s| s.deliveries_expected), "{name}");
        assert_eq!(m.requests, sum(|s| s.requests), "{name}: requests");
        assert_eq!(m.connections_opened, sum(|s| s.connections_opened), "{name}");
        assert_eq!(m.event_delay_us.count, sum(|s| s.event_delay_us.count), "{name}: delay samples");
        assert_eq!(m.connect_latency_us.count, sum(|s| s.connect_latency_us.count), "{name}");
        assert!(m.deliveries > 0 && m.event_delay_us.count > 0, "{name}: it delivered");
        assert_eq!(m.lost, 0, "{name}: nothing lost");
        assert!(m.errors.is_empty(), "{name}: {:?}", m.errors);
    }
    (merged, parts)
}

#[test]
fn two_workers_merge_into_one_run_that_is_the_sum_of_its_parts() {
    let dir = temp_dir("workers-two");
    let mut cmd = loadgen();
    cmd.args(["run", "--workers", "2", "--transports", "ws,short-poll", "--clients", "20", "--repeat", "1"])
        .args(["--duration", "2s", "--warmup", "1s", "--baseline", "0s", "--rate", "20", "--quiet", "--out"])
        .arg(&dir);
    let out = output(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().expect("prints the report path");
    assert!(Path::new(last).ends_with("index.html") && Path::new(last).exists(), "last line: {last}");
    assert!(last.starts_with(dir.to_str().expect("utf-8")), "the merged report, not a worker's: {last}");

    let (merged, parts) = check_sum_of_parts(&dir, 20);
    assert_eq!(merged.cluster.as_ref().map(|c| c.parts), Some(2), "2 load processes took part");
    assert_eq!(merged.steps.len(), 2);
    assert_eq!(merged.config.target, None, "the run's own embedded server");
    assert_eq!(merged.config.connect_rate, 2000.0, "the run's rate, not a worker's half");
    for p in &parts {
        assert!(p.steps.iter().all(|s| s.clients == 10), "each worker ran half");
        assert_eq!(p.config.connect_rate, 1000.0);
    }
    let server = parts[0].config.target.as_deref().expect("the workers were given the server");
    assert!(parts.iter().all(|p| p.config.target.as_deref() == Some(server)), "one server for both");
}

#[test]
fn auto_splits_when_the_open_files_limit_is_too_small_for_one_process() {
    // The server outside the limited process: it holds every connection.
    let (mut server, url) = serve("127.0.0.1:0", "20");
    let dir = temp_dir("workers-auto");
    let mut cmd = loadgen();
    cmd.args(["run", "--target", &url, "--transports", "ws", "--clients", "350", "--repeat", "1"])
        .args(["--duration", "2s", "--warmup", "1s", "--baseline", "0s", "--quiet", "--out"])
        .arg(&dir);
    // 350 clients and the reserve of 100 do not fit in 300 files; 175 + 100 do.
    // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| rlimit::setrlimit(rlimit::Resource::NOFILE, 300, 300));
    }
    let out = output(cmd);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "{:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (merged, parts) = check_sum_of_parts(&dir, 350);
    assert_eq!(merged.cluster.as_ref().map(|c| c.parts), Some(2), "the fewest processes that fit: 2");
    let ws = &merged.steps[0];
    assert_eq!(ws.deliveries, ws.deliveries_expected, "every client got every event");
    assert!(parts.iter().all(|p| p.steps[0].clients == 175));
}

#[test]
fn a_limit_too_small_for_the_embedded_server_is_refused_before_anything_runs() {
    let root = temp_dir("workers-refused");
    let dir = root.join("never");
    let mut cmd = loadgen();
    cmd.args(["run", "--transports", "ws", "--clients", "350", "--repeat", "1", "--quiet", "--out"])
        .arg(&dir);
    // SAFETY: as above.
    unsafe {
        cmd.pre_exec(|| rlimit::setrlimit(rlimit::Resource::NOFILE, 300, 300));
    }
    let out = output(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the embedded server would hold 350 connections")
            && stderr.contains("scripts/cluster.sh"),
        "{stderr}"
    );
    assert!(!dir.exists(), "nothing written");
}
