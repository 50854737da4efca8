//! Faults against a server the load generator did not start: a restart in the middle of a
//! step. WebSocket and SSE clients must reconnect with backoff and resume, and what the
//! restarted server (which kept no state) published before they were back must be counted
//! as missed, not hidden.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadgen::results::Results;

fn loadgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
}

/// Starts the server (the loadgen binary's server mode) on `port` and waits until it listens.
fn serve(port: u16) -> Child {
    let mut child = loadgen()
        .args(["serve-embedded", "--addr", &format!("127.0.0.1:{port}"), "--rate", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address line");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    child
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn restart_during(transport: &str) -> Results {
    let port = free_port();
    let mut server = serve(port);
    let dir = PathBuf::from(std::env::temp_dir()).join(format!("pushpull-restart-{transport}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut run = loadgen()
        .args(["run", "--target", &format!("http://127.0.0.1:{port}"), "--transports", transport])
        .args(["--clients", "5", "--duration", "6s", "--warmup", "500ms", "--quiet", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen runs");
    std::thread::sleep(Duration::from_secs(3));
    server.kill().expect("kill");
    let _ = server.wait();
    std::thread::sleep(Duration::from_millis(300));
    let mut server = serve(port);

    let started = Instant::now();
    let status = loop {
        if let Some(s) = run.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the run must end by itself");
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().expect("stderr"), &mut stderr).expect("stderr");
    assert!(status.success(), "a restart is survived, not fatal: {stderr}");
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results written");
    serde_json::from_str(&text).expect("results parse")
}

fn check(transport: &str) {
    let r = restart_during(transport);
    assert!(r.interrupted.is_none());
    let s = &r.steps[0];
    assert_eq!(s.errors.get("server_restart_seen"), Some(&1), "{:?}", s.errors);
    assert!(s.errors.get("server_restart").is_some_and(|n| *n >= 5), "every client saw the new epoch: {:?}", s.errors);
    assert!(s.errors.get("reset").is_some_and(|n| *n >= 5), "every client lost its connection: {:?}", s.errors);
    assert!(s.missed > 0, "events the new server published before the clients were back are missed");
    assert!(s.deliveries > s.missed, "clients came back and received the rest: {} vs {}", s.deliveries, s.missed);
    assert_eq!(s.deliveries + s.missed, s.deliveries_expected, "every expected event is either delivered or missed");
    assert!(s.connections_opened >= 10, "each client reconnected: {}", s.connections_opened);
}

#[test]
fn websocket_clients_resume_after_a_restart_and_count_the_loss() {
    check("ws");
}

#[test]
fn sse_clients_resume_after_a_restart_and_count_the_loss() {
    check("sse");
}
