//! What every bench shares: the runtime, a server on 127.0.0.1 that publishes only when the
//! bench says so, criterion settings that keep the whole suite within a few minutes on two
//! cores, and [`bounded`], the time limit on every wait (`test_support`'s, with a bench's
//! shorter [`WAIT`]).
//!
//! The server and the clients share one multi-threaded runtime (one worker per core), as an
//! in-process run would; criterion's thread only blocks on it.

use std::future::Future;
use std::time::Duration;

use criterion::Criterion;
use server::{Config, Running};
use tokio::runtime::Runtime;

/// Longest any single wait in a bench may take before the bench fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// The runtime the server and the clients run on.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}

/// Criterion's settings for this suite: 10 samples (criterion's minimum), 1 s of warm-up and
/// 2 s of measurement per benchmark unless a group says otherwise.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

/// A server with the default limits on a free loopback port; its feed publishes only when a
/// bench calls `running.app.feed.publish`.
pub async fn start_server() -> Running {
    test_support::start(Config { rate: 0.0, shutdown_grace: Duration::from_secs(1), ..Config::ephemeral() })
        .await
}

/// Shuts the server down (bounded: a server that does not stop fails the bench; one whose
/// connections outlive the grace period only gets a warning, as the `server` binary does).
pub async fn stop_server(running: Running) {
    if !bounded("stopping the server", running.shutdown()).await {
        eprintln!("warning: some server tasks were still running after the shutdown grace");
    }
}

/// Awaits `f`, failing the bench with `what` if it takes longer than [`WAIT`].
pub async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    test_support::bounded_by(WAIT, what, f).await
}
