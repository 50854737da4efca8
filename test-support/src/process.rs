//! Child processes in tests: a wait with a bound, and a run whose output is collected with a
//! bound. A process still running at its limit is killed before the test fails, so no test
//! leaves one behind.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the child is looked at.
const POLL: Duration = Duration::from_millis(100);

/// Waits for `child` to exit by itself; one still running after `limit` is killed and the
/// test fails.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child process") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process must end by itself within {limit:?}; it was killed");
        }
        std::thread::sleep(POLL);
    }
}

/// Runs `cmd` to the end, collecting its stdout and stderr, like [`Command::output`] but
/// bounded by `limit` (then the process is killed and the test fails).
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Both pipes are drained while the child runs, so it never blocks on a full one.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_bounded(&mut child, limit);
    Output { status, stdout: joined(stdout), stderr: joined(stderr) }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut out);
        }
        out
    })
}

fn joined(reader: JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_collected_from_both_pipes() {
        let out = output_within(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]), LIMIT);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    #[should_panic(expected = "must end by itself")]
    fn a_process_past_its_limit_is_killed_and_fails() {
        output_within(Command::new("sleep").arg("30"), Duration::from_millis(300));
    }

    const LIMIT: Duration = crate::LIMIT;
}
