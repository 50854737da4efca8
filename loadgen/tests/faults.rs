//! Faults against a server the load generator did not start: a restart in the middle of a
//! step. WebSocket and SSE clients must reconnect with backoff and resume, and what the
//! restarted server (which kept no state) published before they were back must be counted
//! as missed, not hidden.

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use common::{loadgen, serve, stderr_of, temp_dir, wait_bounded};
use proto::results::Results;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn restart_during(transport: &str) -> Results {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let (mut server, _) = serve(&addr, "50");
    let dir = temp_dir(&format!("restart-{transport}"));
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
    let (mut server, _) = serve(&addr, "50");

    let status = wait_bounded(&mut run, Duration::from_secs(60));
    let _ = server.kill();
    let _ = server.wait();
    let stderr = stderr_of(&mut run);
    assert!(status.success(), "a restart is survived, not fatal: {stderr}");
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results written");
    serde_json::from_str(&text).expect("results parse")
}

fn check(transport: &str) {
    let r = restart_during(transport);
    assert!(r.interrupted.is_none());
    let s = &r.steps[0];
    assert_eq!(s.errors.get("server_restart_seen"), Some(&1), "{:?}", s.errors);
    assert!(
        s.errors.get("server_restart").is_some_and(|n| *n >= 5),
        "every client saw the new epoch: {:?}",
        s.errors
    );
    assert!(
        s.errors.get("reset").is_some_and(|n| *n >= 5),
        "every client lost its connection: {:?}",
        s.errors
    );
    assert!(s.lost > 0, "events the new server published before the clients were back are missed");
    assert!(s.deliveries > s.lost, "clients came back and received the rest: {} vs {}", s.deliveries, s.lost);
    assert_eq!(
        s.deliveries + s.lost,
        s.deliveries_expected,
        "every expected event is either delivered or missed"
    );
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
