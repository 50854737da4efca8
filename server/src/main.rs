//! The `server` binary: parse the command line, serve until Ctrl-C or SIGTERM, shut down
//! gracefully.

use anyhow::Context as _;
use clap::Parser;
use server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let config = Config::parse();
    let fds = server::process::raise_fd_limit();
    let addr = config.addr;
    let running = server::start(config).await.with_context(|| format!("while binding {addr}"))?;
    tracing::info!(url = %running.url(), open_files = fds, "pushpull server ready; Ctrl-C to stop");
    println!("pushpull server listening on {}", running.url());
    wait_for_signal().await.context("while waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    if !running.shutdown().await {
        tracing::warn!("some connections did not finish within the grace period");
    }
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
