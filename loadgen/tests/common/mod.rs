//! What the load generator's process-level tests share beyond `test_support`: the binary
//! under test, its server mode as an external server, and a run's stderr.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this module

use std::process::{Child, Command, Stdio};

// The shared pieces, under the names these tests use.
pub use test_support::process::wait_bounded;
pub use test_support::scratch as temp_dir;

/// The `loadgen` binary under test.
pub fn loadgen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
}

/// Starts the server (the binary's server mode) on `addr` and returns it with its URL,
/// once it listens.
pub fn serve(addr: &str, rate: &str) -> (Child, String) {
    let (child, addr) = test_support::serve::spawn(
        loadgen().args(["serve-embedded", "--addr", addr, "--rate", rate]).stderr(Stdio::null()),
    );
    let url = format!("http://{addr}");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

/// Everything `child` wrote to its piped stderr.
pub fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut s).expect("stderr");
    s
}

/// The `results.json` a run wrote into `dir`, read as the report reads it.
pub fn read_results(dir: &std::path::Path) -> proto::results::Results {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json written");
    proto::results::Results::from_json(&text).expect("results.json parses as the documented schema")
}

/// `loadgen run ARGS --quiet --out DIR` to its end; panics with its stderr when it fails, and
/// returns the results it wrote.
pub fn run_ok(dir: &std::path::Path, args: &[&str]) -> proto::results::Results {
    let out = loadgen()
        .arg("run")
        .args(args)
        .args(["--quiet", "--out"])
        .arg(dir)
        .stdout(Stdio::null())
        .output()
        .expect("loadgen runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    read_results(dir)
}
