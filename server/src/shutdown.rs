//! Shutdown as a first-class piece: one handle every task holds.
//!
//! The server's run loop owns the root [`Shutdown`]; every spawned task gets a clone and is
//! spawned through it, so `cancel()` reaches them all and [`Shutdown::wait`] knows when the
//! last one has finished. No task is spawned that nothing can stop.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A cancellation signal plus the set of tasks that listen to it.
#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tasks: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown: every holder's [`cancelled`](Self::cancelled) completes.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once shutdown has begun.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// Spawns a task that [`wait`](Self::wait) will wait for.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(fut)
    }

    /// Waits until every spawned task has finished, or `limit` has passed; returns whether
    /// they all finished.
    pub async fn wait(&self, limit: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(limit, self.tasks.wait()).await.is_ok()
    }

    /// How many spawned tasks are still running.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }
}
