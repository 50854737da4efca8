//! A generator that can start its event schedule over: the load generator's `--repeat` asks
//! for it before every step, so that every transport, variant and round meets the same
//! Poisson gaps and the same changes (the seeded generator made anew at the step's start).
//!
//! Only the embedded server offers it (through the controlling process, never over HTTP).
//! `seq` stays contiguous and the epoch unchanged: a restart of the schedule is not a restart
//! of the feed, so clients see ordinary events; the matches' state starts over with them.

use tokio::sync::watch;

use super::generator::Generator;
use super::source::{Change, EventSource};
use proto::wire::MatchState;

/// How to make the generator again: `(matches, rate, seed, match speed)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    pub matches: u32,
    pub rate: f64,
    pub seed: u64,
    pub speed: f64,
}

impl Recipe {
    fn make(self) -> Generator {
        Generator::with_speed(self.matches, self.rate, self.seed, self.speed)
    }
}

/// The event source: a [`Generator`] made anew whenever its [`Restarts`] handle asks.
pub struct Replay {
    recipe: Recipe,
    current: Generator,
    restarts: watch::Receiver<u64>,
}

/// Asks the [`Replay`] to start its schedule over; cheap to clone.
#[derive(Debug, Clone)]
pub struct Restarts(watch::Sender<u64>);

impl Restarts {
    /// The schedule starts over from its first gap now (the next change drawn is the
    /// generator's first).
    pub fn restart(&self) {
        self.0.send_modify(|n| *n += 1);
    }

    /// How many restarts were asked for.
    pub fn count(&self) -> u64 {
        *self.0.borrow()
    }
}

impl Replay {
    pub fn new(recipe: Recipe) -> (Replay, Restarts) {
        let (tx, rx) = watch::channel(0);
        (Replay { recipe, current: recipe.make(), restarts: rx }, Restarts(tx))
    }
}

impl EventSource for Replay {
    fn initial_matches(&self) -> Vec<MatchState> {
        self.current.initial_matches()
    }

    async fn next_change(&mut self) -> Option<Change> {
        loop {
            tokio::select! {
                changed = self.restarts.changed() => {
                    if changed.is_err() {
                        // The handle is gone: no restart can come any more.
                        return self.current.next_change().await;
                    }
                    self.restarts.borrow_and_update();
                    self.current = self.recipe.make();
                }
                change = self.current.next_change() => return change,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Twenty changes, each with its time since the call.
    async fn take(r: &mut Replay) -> Vec<(Duration, Change)> {
        let start = tokio::time::Instant::now();
        let mut out = Vec::new();
        for _ in 0..20 {
            let c = r.next_change().await.expect("a change");
            out.push((start.elapsed(), c));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_replays_the_same_changes_at_the_same_gaps() {
        let recipe = Recipe { matches: 4, rate: 50.0, seed: 9, speed: 1.0 };
        let (mut replay, restarts) = Replay::new(recipe);
        let first = take(&mut replay).await;
        restarts.restart();
        let second = take(&mut replay).await;
        assert_eq!(first, second, "the same changes after the same gaps");
        assert!(first.last().expect("changes").0 > Duration::ZERO, "gaps are real waits");
        assert_eq!(restarts.count(), 1);
    }
}
