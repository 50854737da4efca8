//! What the load generator's process-level tests share: the binary, its server mode, a
//! scratch folder, and a bounded wait for a run to end by itself.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The `loadgen` binary under test.
pub fn loadgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
}

/// A fresh scratch folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pushpull-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Starts the server (the binary's server mode) on `addr` and returns it with its URL,
/// once it listens.
pub fn serve(addr: &str, rate: &str) -> (Child, String) {
    let mut child = loadgen()
        .args(["serve-embedded", "--addr", addr, "--rate", rate])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address line");
    let url = line.trim().rsplit(' ').next().expect("url").to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

/// Waits for `child` to exit; a run that does not end by itself within `limit` fails.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(started.elapsed() < limit, "the run must end by itself");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Everything `child` wrote to its piped stderr.
pub fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut s).expect("stderr");
    s
}
