//! The embedded server: the load generator starts the pushpull server as a **separate
//! process** (itself, re-executed in a hidden `serve-embedded` mode), so that the server's CPU
//! and memory are measured apart from the load generator's own.
//!
//! The child gets its own process group (a Ctrl-C in the terminal reaches the load generator,
//! which then writes its report, not the server mid-step) and dies with its parent
//! (`PR_SET_PDEATHSIG`), so no server is ever left behind.
//!
//! The child's feed is a [`Replay`]: before each step the load generator writes `restart` on
//! the child's stdin and the seeded schedule starts over, so every step (transport, variant,
//! round) meets the same event gaps and changes. Nothing on the server's HTTP side can do it.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use server::feed::replay::{Recipe, Replay};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::client::conn::Trust;

/// The command on the child's stdin that starts the feed's schedule over.
const RESTART: &str = "restart";

/// The running child.
pub struct Embedded {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its cleartext address.
    pub addr: SocketAddr,
    /// Its TLS address and the certificate it serves there, when started with TLS.
    pub tls: Option<(SocketAddr, Trust)>,
}

/// Starts `loadgen serve-embedded` with these server flags and waits for its address. With
/// `cert_out`, the server also serves TLS (on the same port, beside cleartext) with the
/// self-signed certificate it makes, which it writes to `cert_out` as PEM before it says it
/// listens; that certificate is then the clients' only root.
///
/// With `cpus`, the server runs on those CPUs only (`--pin`); its pinning is read back from
/// the kernel, and a server that is not where it was put is an error.
pub async fn start(
    server_args: &[String],
    cert_out: Option<&Path>,
    cpus: Option<&[usize]>,
) -> anyhow::Result<Embedded> {
    let exe = std::env::current_exe().context("while finding the loadgen executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve-embedded")
        .args(["--addr", "127.0.0.1:0"])
        .args(server_args)
        .args(
            cert_out.into_iter().flat_map(|p| [OsStr::new("--tls"), OsStr::new("--cert-out"), p.as_os_str()]),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .process_group(0);
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "warn");
    }
    // SAFETY: prctl is async-signal-safe; it only marks this child to get SIGTERM when the
    // parent dies.
    // sched_setaffinity is a plain system call too: the server's threads inherit the set.
    let pin = cpus.map(<[usize]>::to_vec);
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if let Some(cpus) = &pin {
                crate::pin::pin_self(cpus)?;
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("while starting the embedded server")?;
    if let (Some(asked), Some(pid)) = (cpus, child.id()) {
        let got = crate::pin::cpus_of(pid);
        if got.as_deref() != Some(asked) {
            bail!("the embedded server was to run on CPUs {asked:?} but runs on {got:?}");
        }
    }
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("the embedded server's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("the embedded server did not report its address within 20 s")?
        .context("while reading the embedded server's address")?;
    let Some(line) = line else { bail!("the embedded server exited before it was ready") };
    let addr = url_in(&line, "http://")
        .with_context(|| format!("unexpected line from the embedded server: {line}"))?;
    let tls = match cert_out {
        // A second line, `pushpull server tls sha256=HEX listening on https://ADDR`, names the
        // TLS address (the same port); the certificate is in `path` by then.
        Some(path) => {
            let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
                .await
                .context("the embedded server did not report its TLS address within 5 s")?
                .context("while reading the embedded server's TLS address")?
                .unwrap_or_default();
            let tls_addr = url_in(&line, "https://")
                .with_context(|| format!("unexpected TLS line from the embedded server: {line}"))?;
            Some((tls_addr, Trust::from_pem_file(path).map_err(anyhow::Error::msg)?))
        }
        None => None,
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Embedded { child, stdin, addr, tls })
}

/// The address of the first `scheme` URL in `line`.
fn url_in(line: &str, scheme: &str) -> Option<SocketAddr> {
    line.split_whitespace().find_map(|w| w.strip_prefix(scheme)?.trim_end_matches([',', '/']).parse().ok())
}

/// The child's side: serves `config` with a restartable feed, taking `restart` lines from
/// stdin, until a signal (the `serve-embedded` mode).
pub async fn serve(config: server::Config) -> anyhow::Result<()> {
    let recipe =
        Recipe { matches: config.matches, rate: config.rate, seed: config.seed, speed: config.match_speed };
    let (source, restarts) = Replay::new(recipe);
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.trim() == RESTART {
                restarts.restart();
            } else {
                tracing::warn!(%line, "unknown command on the embedded server's stdin");
            }
        }
    });
    server::run_until_signal_with_source(config, source).await
}

impl Embedded {
    /// How the child ended, if it is no longer running.
    pub fn ended(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(status.to_string()),
            Err(e) => Some(format!("it cannot be waited for: {e}")),
        }
    }

    /// Starts the feed's seeded schedule over (before a step); a child that cannot be told
    /// is found out by the step's first reading.
    pub async fn restart_feed(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else { return };
        let told = async {
            stdin.write_all(format!("{RESTART}\n").as_bytes()).await?;
            stdin.flush().await
        };
        if let Err(e) = told.await {
            tracing::warn!(error = %e, "the embedded server's feed could not be restarted");
            self.stdin = None;
        }
    }

    /// The child's process id (for tests that kill it).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then up to 5 s for a graceful exit, then SIGKILL.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child by pid.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_addresses_are_read_from_the_listening_line() {
        let line = "pushpull server listening on http://127.0.0.1:4000";
        assert_eq!(url_in(line, "http://"), Some("127.0.0.1:4000".parse().expect("an address")));
        assert_eq!(url_in(line, "https://"), None);
        let tls =
            format!("pushpull server tls sha256={} listening on https://127.0.0.1:4000/", "ab".repeat(32));
        assert_eq!(url_in(&tls, "https://"), Some("127.0.0.1:4000".parse().expect("an address")));
    }
}
