//! `loadgen capacity` end to end with tiny bounds: the real binary, an embedded server, real
//! probes; and a probe the machine's open-files limit cannot hold, refused by name.

mod common;

use std::os::unix::process::CommandExt as _;
use std::process::Stdio;
use std::time::Duration;

use common::{loadgen, temp_dir, wait_bounded};
use proto::capacity::{Capacity, Stop};
use proto::Transport;

/// Everything `child` wrote to its piped stdout.
fn stdout_of(child: &mut std::process::Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut s).expect("stdout");
    s
}

/// Runs `cmd` with an open-files limit (soft and hard) of `limit`, `taken` of them already
/// open when it starts.
fn open_files(cmd: &mut std::process::Command, limit: u64, taken: usize) {
    // SAFETY: setrlimit and dup are async-signal-safe; they run in the child before exec and
    // change only the child.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            for _ in 0..taken {
                if libc::dup(2) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

fn read_capacity(dir: &std::path::Path) -> Capacity {
    let text = std::fs::read_to_string(dir.join("capacity.json")).expect("capacity.json written");
    Capacity::from_json(&text).expect("capacity.json parses")
}

#[test]
fn a_tiny_capacity_run_probes_each_transport_and_writes_its_report() {
    let dir = temp_dir("capacity");
    let mut child = loadgen()
        .args(["capacity", "--transports", "ws,delta-poll", "--start", "10", "--max-clients", "40"])
        .args(["--duration", "1s", "--warmup", "1s", "--out"])
        .arg(&*dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts");
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    let stdout = stdout_of(&mut child);
    let stderr = common::stderr_of(&mut child);
    assert!(status.success(), "exit {status:?}\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("capacity.html"), "the last line is the report: {stdout}");
    assert!(stderr.contains("ws × 10:"), "progress is printed: {stderr}");

    let c = read_capacity(&dir);
    assert_eq!(
        c.transports.iter().map(|t| t.transport).collect::<Vec<_>>(),
        [Transport::Ws, Transport::DeltaPoll]
    );
    assert!(c.interrupted.is_none());
    for t in &c.transports {
        assert_eq!(t.probes[0].clients, 10, "{}: the search starts at --start", t.transport);
        for p in &t.probes {
            let s = p.step.as_ref().expect("every probe ran as a step");
            assert_eq!((s.transport, s.clients), (t.transport, p.clients));
            assert!(s.events_published > 0, "{}: the feed published", t.transport);
            assert_eq!(p.met, p.reasons.is_empty(), "a missed probe says why");
        }
        // Whatever this shared machine's timing, the answer is consistent with the probes.
        let largest_met = t.probes.iter().filter(|p| p.met).map(|p| p.clients).max();
        assert_eq!(t.held, largest_met, "{}", t.transport);
        match &t.stop {
            Stop::UpperBound { clients } => assert_eq!((*clients, t.held), (40, Some(40))),
            Stop::Missed { clients, reason } => {
                assert!(!reason.is_empty() && t.probes.iter().any(|p| p.clients == *clients && !p.met))
            }
            other => panic!("{}: unexpected stop {other:?}", t.transport),
        }
    }
    let page = std::fs::read_to_string(dir.join("capacity.html")).expect("report written");
    assert!(page.contains("Clients held at the service level") && page.contains("<svg"), "chart inline");
    assert!(page.contains("WebSocket") && page.contains("delta polling"));
    assert!(dir.join("capacity.svg").exists());
}

#[test]
fn a_probe_over_the_open_files_limit_is_refused_as_a_machine_limit() {
    let dir = temp_dir("capacity-limit");
    let mut cmd = loadgen();
    cmd.args(["capacity", "--transports", "ws", "--start", "2000", "--max-clients", "2000"])
        .args(["--duration", "1s", "--warmup", "1s", "--quiet", "--out"])
        .arg(&*dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    open_files(&mut cmd, 1024, 0);
    let mut child = cmd.spawn().expect("loadgen starts");
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let stderr = common::stderr_of(&mut child);
    assert!(status.success(), "a machine limit is an answer, not a crash: {stderr}");
    let c = read_capacity(&dir);
    let t = &c.transports[0];
    assert_eq!(t.held, None);
    assert_eq!(t.probes.len(), 1);
    assert!(t.probes[0].step.is_none(), "no connection was opened");
    let Stop::MachineLimit { clients: 2000, reason } = &t.stop else { panic!("{:?}", t.stop) };
    assert!(reason.starts_with("machine limit: open files:"), "{reason}");
    assert!(reason.contains("RLIMIT_NOFILE allows 1024"), "{reason}");
}

#[test]
fn a_probe_whose_load_generator_runs_out_of_files_is_a_machine_limit_and_the_search_goes_on() {
    // The server outside the limited process, so that only the load generator runs short.
    let (mut server, url) = common::serve("127.0.0.1:0", "20");
    let dir = temp_dir("capacity-out-of-files");
    let mut cmd = loadgen();
    cmd.args(["capacity", "--target", &url, "--transports", "ws", "--start", "40", "--max-clients", "160"])
        .args(["--duration", "1s", "--warmup", "1s", "--quiet", "--out"])
        .arg(&*dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // A limit of 400 lets the check pass 160 clients (160 + a reserve of 100), but 250 of
    // those files are taken before it starts (inherited descriptors, as a shell or a parent
    // could leave), so the probe itself finds none left: the case the check cannot foresee.
    open_files(&mut cmd, 400, 250);
    let mut child = cmd.spawn().expect("loadgen starts");
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    let stderr = common::stderr_of(&mut child);
    let _ = server.kill();
    let _ = server.wait();
    assert!(status.success(), "a machine limit is an answer, not a crash: {stderr}");
    let c = read_capacity(&dir);
    assert_eq!(c.interrupted, None, "the server was well: the run was not cut short");
    let t = &c.transports[0];
    assert_eq!(t.probes[0].clients, 40);
    assert!(t.probes[0].met, "40 clients fit in what is left: {:?}", t.probes[0].reasons);
    let limited: Vec<_> = t.probes.iter().filter(|p| !p.met).collect();
    assert!(!limited.is_empty(), "{:?}", t.probes);
    for p in &limited {
        assert!(p.step.is_some(), "the probe ran, and met the limit while it ran");
        assert!(
            p.reasons[0].starts_with("machine limit: open files in the load generator"),
            "{:?}",
            p.reasons
        );
    }
    assert!(t.probes.len() >= 3, "it bisected below the first limited probe: {:?}", t.probes);
    let Stop::MachineLimit { reason, .. } = &t.stop else { panic!("{:?}", t.stop) };
    assert!(reason.contains("RLIMIT_NOFILE 400"), "{reason}");
}
