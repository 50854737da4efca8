//! `--rtt`: how a run puts a network's round trip between its clients and the server.
//!
//! The standard way is the kernel's netem qdisc. Where it exists (and we are root, and the
//! server is the embedded one), the load generator re-executes itself in a network namespace
//! of its own whose loopback delays every packet by rtt/2 (each direction crosses it once),
//! so clients, server and scrapes all live behind it and nothing outside is touched. Where
//! netem is missing (this project's CI kernel answers "Specified qdisc kind is unknown"), or
//! the target is another host, the clients' own [`DelayLine`](crate::delay_line::DelayLine)
//! holds each direction back instead. `results.json` records which one measured.

use std::process::Command;
use std::time::Duration;

pub use proto::results::DelayMethod as Method;

/// Set in the re-executed load generator: the namespace and its netem are in place.
pub const INSIDE_NETNS: &str = "PUSHPULL_NETEM_RTT_US";

/// Why netem cannot be used here, or `None` when it can.
pub fn netem_unavailable(embedded: bool) -> Option<String> {
    if !embedded {
        return Some("the server is a --target outside the load generator's namespace".into());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("netem needs root to make a network namespace".into());
    }
    let probe = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"])
        .output();
    match probe {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("netem probe failed: {}", String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Some(format!("cannot run unshare/ip/tc ({e})")),
    }
}

/// The delay method for a run with `rtt` (`None`: no delay asked for).
pub fn choose(rtt: Option<Duration>, embedded: bool) -> Option<(Method, Option<String>)> {
    rtt.filter(|r| !r.is_zero())?;
    if std::env::var_os(INSIDE_NETNS).is_some() {
        return Some((Method::Netem, None));
    }
    match netem_unavailable(embedded) {
        None => Some((Method::Netem, None)),
        Some(why) => Some((Method::DelayLine, Some(why))),
    }
}

/// Re-runs this load generator, with the same arguments, inside a new network namespace
/// whose loopback delays each packet by `rtt / 2`; returns its exit code.
pub fn reexec_in_netns(rtt: Duration) -> std::io::Result<i32> {
    let exe = std::env::current_exe()?;
    let half_us = (rtt / 2).as_micros();
    let script = format!(
        "ip link set lo up && tc qdisc add dev lo root netem delay {half_us}us limit 100000 && exec \"$0\" \"$@\""
    );
    let status = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(INSIDE_NETNS, rtt.as_micros().to_string())
        .status()?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rtt_no_method_and_a_target_always_uses_the_delay_line() {
        assert_eq!(choose(None, true), None);
        assert_eq!(choose(Some(Duration::ZERO), true), None);
        let (method, why) = choose(Some(Duration::from_millis(50)), false).expect("a method");
        assert_eq!(method, Method::DelayLine);
        assert!(why.expect("a reason").contains("--target"));
    }

    #[test]
    fn the_probe_answers_either_way_and_says_why_not() {
        // On a kernel with netem and as root this is None; elsewhere a reason a reader can act on.
        if let Some(why) = netem_unavailable(true) {
            assert!(why.contains("netem") || why.contains("unshare"), "{why}");
        }
    }
}
