//! Faults against a server the load generator did not start: a restart in the middle of a
//! step. WebSocket and SSE clients must reconnect with backoff and resume, and what the
//! restarted server (which kept no state) published before they were back must be counted
//! (coalesced into the snapshot they resume from), not hidden. And a server whose `/metrics` lacks a metric: the run ends at once,
//! naming it, instead of measuring zeros.

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use common::{loadgen, read_results, serve, stderr_of, temp_dir, wait_bounded};
use proto::results::Results;
use test_support::probe::free_port;

/// `loadgen run --quiet` against `url` with `flags`, writing to `dir`; stderr is kept.
fn run_against(url: &str, flags: &[&str], dir: &std::path::Path) -> std::process::Child {
    loadgen()
        .args(["run", "--repeat", "1", "--target", url, "--quiet", "--out"])
        .arg(dir)
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen runs")
}

fn restart_during(transport: &str) -> Results {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let (mut server, _) = serve(&addr, "50");
    let dir = temp_dir(&format!("restart-{transport}"));
    // No idle baseline: the restart below must fall inside the step.
    let flags = [
        "--transports",
        transport,
        "--clients",
        "5",
        "--duration",
        "6s",
        "--warmup",
        "500ms",
        "--baseline",
        "0s",
    ];
    let mut run = run_against(&format!("http://{addr}"), &flags, &dir);
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
    read_results(&dir)
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
    assert!(
        s.coalesced > 0,
        "events the new server published before the clients were back are coalesced into the snapshot they resumed from"
    );
    assert!(
        s.deliveries > s.coalesced + s.lost,
        "clients came back and received the rest: {} vs {} + {}",
        s.deliveries,
        s.coalesced,
        s.lost
    );
    assert_eq!(
        s.deliveries + s.coalesced + s.late + s.lost,
        s.deliveries_expected,
        "every expected event is delivered, coalesced, late or lost"
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

/// A server whose `/metrics` page has every metric but `pushpull_feed_epoch`, answering every
/// request on every connection with that page.
fn serve_without_the_epoch() -> String {
    use proto::metrics::{Described, PerChannel, Single};
    use proto::Channel;
    use std::io::{BufRead, BufReader, Write};

    let mut page = String::new();
    for m in Single::ALL.into_iter().filter(|m| *m != Single::FeedEpoch) {
        page += &format!("{} 1\n", m.name());
    }
    for m in PerChannel::ALL {
        for c in Channel::ALL {
            page += &format!("{}{{transport=\"{}\"}} 1\n", m.name(), c.label());
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let page = page.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line != "\r\n" => continue,
                        Ok(_) => {}
                    }
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", page.len());
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(page.as_bytes()))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn a_server_missing_a_metric_ends_the_run_naming_the_metric_and_the_server() {
    let url = serve_without_the_epoch();
    let dir = temp_dir("no-epoch");
    let flags = ["--transports", "ws", "--clients", "1", "--duration", "1s", "--warmup", "0s"];
    let mut run = run_against(&url, &flags, &dir);
    let status = wait_bounded(&mut run, Duration::from_secs(30));
    let stderr = stderr_of(&mut run);
    assert!(!status.success(), "an unmeasurable server means a non-zero exit: {stderr}");
    let host = url.trim_start_matches("http://");
    assert!(
        stderr.contains("pushpull_feed_epoch") && stderr.contains(host),
        "the message names the metric and the server: {stderr}"
    );
    let r = read_results(&dir);
    assert!(
        r.interrupted.as_deref().is_some_and(|w| w.contains("pushpull_feed_epoch")),
        "{:?}",
        r.interrupted
    );
    assert_eq!(r.steps.len(), 1, "the run stops at its first step");
    assert_eq!(r.steps[0].errors.get("metrics_protocol"), Some(&1), "{:?}", r.steps[0].errors);
    assert_eq!(r.steps[0].events_published, 0, "nothing measured, nothing invented");
}
