//! The real server for a test: in this process on 127.0.0.1:0 (its `Running` gives the feed
//! and the counters), or as a child process (the `server` binary or `loadgen
//! serve-embedded`), whose address is read from the line it prints once it listens.
//!
//! A child's stdout is drained for its whole life, so it never blocks on a full pipe.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

use server::{Config, Running};

use crate::wait::{bounded, LIMIT};

/// What a pushpull server prints on stdout once it listens, before its address.
const LISTENING: &str = "pushpull server listening on http://";

/// Starts the server in this process with `cfg` (e.g. `Config::ephemeral()`: 127.0.0.1:0).
pub async fn start(cfg: Config) -> Running {
    let addr = cfg.addr;
    bounded("starting the server", server::start(cfg))
        .await
        .unwrap_or_else(|e| panic!("the server cannot listen on {addr}: {e}"))
}

/// Starts `cmd`, a server process, and returns it with the address it says it listens on.
/// stdin and stdout are taken; the caller chooses stderr and the arguments.
pub fn spawn(cmd: &mut Command) -> (Child, SocketAddr) {
    spawn_with(cmd, Stdio::null())
}

/// As [`spawn`], with the child's stdin piped (the caller takes `child.stdin`): for the
/// embedded server, which takes commands there.
pub fn spawn_with_stdin(cmd: &mut Command) -> (Child, SocketAddr) {
    spawn_with(cmd, Stdio::piped())
}

fn spawn_with(cmd: &mut Command, stdin: Stdio) -> (Child, SocketAddr) {
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let lines = read_lines(child.stdout.take().expect("stdout is piped"));
    let deadline = Instant::now() + LIMIT;
    let failure = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix(LISTENING).and_then(|a| a.trim().parse().ok()) {
                    return (child, addr);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break "exited without saying where it listens",
            Err(RecvTimeoutError::Timeout) => break "did not say where it listens in time",
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server process {cmd:?} {failure}");
}

/// Every line of `stdout`, read on a thread of its own until the process closes it; the
/// lines nobody waits for any more are dropped.
fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_the_listening_line() {
        let script = "echo starting; echo 'pushpull server listening on http://127.0.0.1:4321'; sleep 30";
        let (mut child, addr) = spawn(Command::new("sh").args(["-c", script]));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 4321)));
    }

    #[test]
    #[should_panic(expected = "exited without saying where it listens")]
    fn a_process_that_never_listens_fails() {
        spawn(Command::new("sh").args(["-c", "echo hello"]));
    }

    #[tokio::test]
    async fn an_in_process_server_answers_on_loopback() {
        let running = start(Config { rate: 0.0, ..Config::ephemeral() }).await;
        assert!(running.addr.ip().is_loopback());
        assert_eq!(crate::probe::get_status(running.addr, "/healthz").await, 200);
        assert!(running.shutdown().await, "the server shut down in time");
    }
}
