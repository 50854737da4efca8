//! Bounded waits: every wait in a test or a bench has a limit and, when it runs out, fails
//! naming what it waited for, so a broken server reads as a sentence instead of a hung job
//! ([`settle`] instead hands its last reading to the caller's assertion).
//!
//! The limits are generous: they turn a hang into a failure and never assert on speed.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// The bound on any single wait unless a caller names another.
pub const LIMIT: Duration = Duration::from_secs(30);

/// How often [`until`] looks again.
const POLL: Duration = Duration::from_millis(50);

/// Awaits `f`, failing with `what` if it takes longer than [`LIMIT`].
pub async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    bounded_by(LIMIT, what, f).await
}

/// Awaits `f`, failing with `what` if it takes longer than `limit`.
pub async fn bounded_by<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing within {limit:?}"),
    }
}

/// The success of `f` within [`LIMIT`]; its error, or no answer in time, fails with `what`.
pub async fn within<T, E: Debug>(what: &str, f: impl Future<Output = Result<T, E>>) -> T {
    match bounded(what, f).await {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

/// Asks `ready` every 50 ms until it says yes; fails with `what` once `limit` has passed.
pub async fn until<F: Future<Output = bool>>(what: &str, limit: Duration, ready: impl FnMut() -> F) {
    assert!(settle(limit, ready, |ready| *ready).await, "{what}: not within {limit:?}");
}

/// Reads every 50 ms until `done` accepts the reading or `limit` has passed, and returns the
/// last reading either way: the caller's own assertion then shows what was read, not only
/// that time ran out.
pub async fn settle<T, F: Future<Output = T>>(
    limit: Duration,
    mut read: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let reading = read().await;
        if done(&reading) || Instant::now() >= deadline {
            return reading;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ready_future_passes_through() {
        assert_eq!(bounded("a ready value", async { 7 }).await, 7);
        assert_eq!(within("an Ok", async { Ok::<_, String>(8) }).await, 8);
    }

    #[tokio::test]
    #[should_panic(expected = "the answer: nothing within 10ms")]
    async fn a_hang_fails_naming_what_it_waited_for() {
        bounded_by(Duration::from_millis(10), "the answer", std::future::pending::<()>()).await;
    }

    #[tokio::test]
    #[should_panic(expected = "the answer: \"refused\"")]
    async fn an_error_fails_naming_what_it_waited_for() {
        within("the answer", async { Err::<(), _>("refused") }).await;
    }

    #[tokio::test]
    async fn until_returns_once_ready() {
        let mut asked = 0;
        until("the third time", LIMIT, || {
            asked += 1;
            std::future::ready(asked == 3)
        })
        .await;
        assert_eq!(asked, 3);
    }

    #[tokio::test]
    async fn settle_returns_the_last_reading_once_time_runs_out() {
        let mut n = 0;
        let last = settle(
            Duration::from_millis(120),
            || {
                n += 1;
                std::future::ready(n)
            },
            |_| false,
        )
        .await;
        assert_eq!(last, n, "the last reading, not the first");
    }

    #[tokio::test]
    #[should_panic(expected = "never: not within 10ms")]
    async fn until_fails_naming_what_it_waited_for() {
        until("never", Duration::from_millis(10), || std::future::ready(false)).await;
    }
}
