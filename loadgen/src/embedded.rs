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

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use server::feed::replay::{Recipe, Replay};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The command on the child's stdin that starts the feed's schedule over.
const RESTART: &str = "restart";

/// The running child.
pub struct Embedded {
    child: Child,
    stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
}

/// Starts `loadgen serve-embedded` with these server flags and waits for its address.
pub async fn start(server_args: &[String]) -> anyhow::Result<Embedded> {
    let exe = std::env::current_exe().context("while finding the loadgen executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve-embedded")
        .args(["--addr", "127.0.0.1:0"])
        .args(server_args)
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
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("while starting the embedded server")?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().context("the embedded server's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("the embedded server did not report its address within 20 s")?
        .context("while reading the embedded server's address")?;
    let Some(line) = line else { bail!("the embedded server exited before it was ready") };
    let url = line.rsplit(' ').next().unwrap_or("");
    let addr: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("unexpected line from the embedded server: {line}"))?;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Embedded { child, stdin, addr })
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
