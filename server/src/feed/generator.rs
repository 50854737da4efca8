//! The embedded event source: simulated football matches with seeded Poisson arrivals.
//!
//! Gaps between events are exponential with mean `1 / rate`, drawn from a ChaCha RNG seeded
//! by `--seed`, so two runs publish the same sequence of changes. Arrival times are kept on
//! an absolute schedule: a late wake-up publishes the overdue events at once rather than
//! drifting, so the long-run rate is the configured one.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::source::{Change, EventSource};
use proto::wire::{EventKind, MatchState, MatchStatus, Side};

const CLUBS: [&str; 24] = [
    "Ashford Rovers",
    "Brookvale United",
    "Castleton City",
    "Dunmore Athletic",
    "Eastwick Wanderers",
    "Fairhaven Town",
    "Glenford Albion",
    "Harrowgate FC",
    "Ironbridge Rangers",
    "Jarrow Park",
    "Kingsmere Orient",
    "Lowfield Celtic",
    "Marston Villa",
    "Northgate Borough",
    "Oakridge Thistle",
    "Penbury Harriers",
    "Queensferry Rovers",
    "Redcliffe Dynamo",
    "Stourton Sporting",
    "Thornbury Hotspur",
    "Upton Academicals",
    "Valebrook County",
    "Westmoor Olympic",
    "Yardley Forest",
];

/// Length of a simulated match, in match minutes.
const FULL_TIME_MINUTE: u32 = 90;

/// Simulated matches; see the module doc.
pub struct Generator {
    rng: ChaCha8Rng,
    matches: Vec<MatchState>,
    /// Mean gap between events; `None` publishes nothing (rate 0: events come only from
    /// [`Feed::publish`](super::Feed::publish), as in the benches).
    mean_gap: Option<Duration>,
    next_at: Instant,
    fixtures: u32,
}

impl Generator {
    /// `matches` matches (at least one), `rate` events per second in total, repeatable for a
    /// given `seed`.
    pub fn new(matches: u32, rate: f64, seed: u64) -> Self {
        let matches = matches.max(1);
        let mut g = Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            matches: Vec::with_capacity(matches as usize),
            mean_gap: (rate > 0.0 && rate.is_finite()).then(|| Duration::from_secs_f64(1.0 / rate)),
            next_at: Instant::now(),
            fixtures: 0,
        };
        for id in 0..matches {
            let m = g.fixture(id);
            g.matches.push(m);
        }
        g
    }

    /// A fresh match at 0–0 between two distinct clubs, on pitch `id`.
    fn fixture(&mut self, id: u32) -> MatchState {
        let n = CLUBS.len() as u32;
        let home = (id * 2 + self.fixtures * 7) % n;
        let away = (home + 1 + self.rng.random_range(0..n - 1)) % n;
        self.fixtures += 1;
        MatchState {
            id,
            home: CLUBS[home as usize].to_string(),
            away: CLUBS[away as usize].to_string(),
            home_goals: 0,
            away_goals: 0,
            minute: 0,
            status: MatchStatus::Live,
        }
    }

    /// Draws the next change (without waiting); the state of the match moves on.
    pub fn draw(&mut self) -> Change {
        let i = self.rng.random_range(0..self.matches.len());
        if self.matches[i].status == MatchStatus::Finished {
            let m = self.fixture(i as u32);
            self.matches[i] = m.clone();
            return Change { kind: EventKind::KickOff, team: None, state: m };
        }
        let side = if self.rng.random_bool(0.5) { Side::Home } else { Side::Away };
        let roll: f64 = self.rng.random();
        let m = &mut self.matches[i];
        let (kind, team) = if roll < 0.60 {
            m.minute += 1;
            if m.minute >= FULL_TIME_MINUTE {
                m.status = MatchStatus::Finished;
                (EventKind::FullTime, None)
            } else {
                (EventKind::Minute, None)
            }
        } else if roll < 0.85 {
            match side {
                Side::Home => m.home_goals += 1,
                Side::Away => m.away_goals += 1,
            }
            (EventKind::Goal, Some(side))
        } else {
            (EventKind::Card, Some(side))
        };
        Change { kind, team, state: m.clone() }
    }

    /// The exponential gap to the next event.
    fn gap(&mut self, mean: Duration) -> Duration {
        // 1 - U lies in (0, 1], so the logarithm is finite.
        let u: f64 = self.rng.random();
        mean.mul_f64(-(1.0 - u).ln())
    }
}

impl EventSource for Generator {
    fn initial_matches(&self) -> Vec<MatchState> {
        self.matches.clone()
    }

    async fn next_change(&mut self) -> Option<Change> {
        let Some(mean) = self.mean_gap else {
            std::future::pending::<()>().await;
            return None;
        };
        let gap = self.gap(mean);
        self.next_at += gap;
        tokio::time::sleep_until(self.next_at).await;
        Some(self.draw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_changes() {
        let mut a = Generator::new(8, 10.0, 42);
        let mut b = Generator::new(8, 10.0, 42);
        assert_eq!(a.initial_matches(), b.initial_matches());
        for _ in 0..500 {
            assert_eq!(a.draw(), b.draw());
        }
        let mut c = Generator::new(8, 10.0, 43);
        let differs = (0..50).any(|_| a.draw() != c.draw());
        assert!(differs, "a different seed should give different changes");
    }

    #[test]
    fn goals_add_up_and_matches_restart() {
        let mut g = Generator::new(2, 10.0, 1);
        let mut kickoffs = 0;
        for _ in 0..2000 {
            let c = g.draw();
            let m = &g.matches[c.state.id as usize];
            assert_eq!(m, &c.state, "the change carries the match's new state");
            assert_ne!(c.state.home, c.state.away);
            if c.kind == EventKind::KickOff {
                kickoffs += 1;
                assert_eq!((c.state.home_goals, c.state.away_goals, c.state.minute), (0, 0, 0));
            }
        }
        assert!(kickoffs > 0, "2000 changes on 2 pitches must finish and restart a match");
    }

    #[test]
    fn gaps_average_to_the_rate() {
        let mut g = Generator::new(8, 100.0, 7);
        let n = 20_000;
        let total: Duration = (0..n).map(|_| g.gap(Duration::from_millis(10))).sum();
        let mean_ms = total.as_secs_f64() * 1000.0 / n as f64;
        assert!((mean_ms - 10.0).abs() < 0.5, "mean gap {mean_ms} ms, expected 10 ms");
    }
}
