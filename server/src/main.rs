//! The `server` binary: parse the command line, serve until Ctrl-C or SIGTERM, shut down
//! gracefully.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    server::run_until_signal(server::Config::parse()).await
}
