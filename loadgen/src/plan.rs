//! What each step of a sweep is asked to do, and its timeline: clients connect over the ramp
//! at `--connect-rate`, warm up, are measured for `--duration`, then drain.
//!
//! Client counts are the outer loop of the sweep: a run cut short still compares every
//! transport at the smaller counts. The drain lets answers to events published just before
//! the window's end arrive (a poller's next poll included): it ends as soon as every client
//! has reached the window's last event and every poll due in the window has been answered
//! ([`crate::watch`]), at the latest after [`StepPlan::drain_limit`]; what a client had not
//! reached by then is `late`, and a poll not answered by then is unanswered.

use std::time::Duration;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::config::RunArgs;
use proto::{PollMode, Transport, Variant};

/// What a step is asked to do.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub index: usize,
    pub transport: Transport,
    pub clients: u32,
    /// Protocol, TLS and compression of every client of the step.
    pub variant: Variant,
    /// Whether the run sweeps more than one variant (labels then name the variant).
    pub variants_vary: bool,
    /// Which repetition of its (transport, variant, clients) this step is, from 0.
    pub round: u32,
    /// Repetitions of every step in the run (`--repeat`).
    pub rounds: u32,
    pub duration: Duration,
    pub warmup: Duration,
    pub poll_interval: Duration,
    /// How short and delta pollers pace their polls (`--poll-mode`).
    pub poll_mode: PollMode,
    pub connect_rate: f64,
    pub seed: u64,
}

/// When a step's phases begin and end.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    /// The step began: clients start connecting; every `at_ms` counts from here.
    pub t0: Instant,
    /// The measured window opens (after the ramp and the warm-up) …
    pub window_start: Instant,
    /// … and closes.
    pub window_end: Instant,
    /// Clients stop here at the latest: the drain's bound. The drain usually ends sooner,
    /// when every client has reached the window's last event.
    pub stop_at: Instant,
}

impl Timeline {
    /// Milliseconds from the step's beginning to `t`.
    pub fn ms_since_start(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.t0).as_millis() as u64
    }
}

impl StepPlan {
    /// Time for every client to connect at the connect rate.
    pub fn ramp(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.clients) / self.connect_rate)
    }

    /// The longest the drain after the window may last: 5 s, or two poll intervals for
    /// scheduled polls when that is longer (every client's next poll falls inside it, with an
    /// interval to spare for a slow answer).
    pub fn drain_limit(&self) -> Duration {
        let floor = Duration::from_secs(5);
        if self.transport.is_scheduled_poll() {
            floor.max(self.poll_interval.saturating_mul(2))
        } else {
            floor
        }
    }

    /// What a drain usually takes, for the run's time estimate: about one poll interval for
    /// scheduled polls (the clients' next polls), half a second for the others.
    pub fn usual_drain(&self) -> Duration {
        let polls = if self.transport.is_scheduled_poll() { self.poll_interval } else { Duration::ZERO };
        (polls + Duration::from_millis(500)).min(self.drain_limit())
    }

    /// The step's usual length, for progress and planning (its drain may last up to
    /// [`drain_limit`](Self::drain_limit)).
    pub fn length(&self) -> Duration {
        self.ramp() + self.warmup + self.duration + self.usual_drain()
    }

    /// The step's phases if it begins at `t0`.
    pub fn timeline(&self, t0: Instant) -> Timeline {
        let window_start = t0 + self.ramp() + self.warmup;
        let window_end = window_start + self.duration;
        Timeline { t0, window_start, window_end, stop_at: window_end + self.drain_limit() }
    }

    pub fn label(&self) -> String {
        let mut s = self.transport.name().to_string();
        if self.variants_vary {
            s = format!("{s} {}", self.variant);
        }
        s = format!("{s} × {}", self.clients);
        if self.rounds > 1 {
            s = format!("{s} #{}", self.round + 1);
        }
        s
    }

    /// The seed of this step's client phases: the same for every transport, variant and round
    /// at one client count, so that repeats and transports meet the same poll schedule.
    pub fn phase_seed(&self) -> u64 {
        self.seed ^ u64::from(self.clients).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// Every step of the run: client counts outermost, then rounds, then variants and transports
/// (in the order given for a single round; with `--repeat`, in a seeded shuffled order per
/// round, so no transport always runs first or after the same neighbour).
pub fn sweep(args: &RunArgs) -> Vec<StepPlan> {
    let variants = args.dimensions().variants();
    let variants_vary = variants.len() > 1;
    let mut out = Vec::new();
    for &clients in &args.clients {
        for round in 0..args.repeat {
            let mut order: Vec<_> =
                variants.iter().flat_map(|&v| args.transports.iter().map(move |&t| (v, t))).collect();
            if args.repeat > 1 {
                let mut rng =
                    ChaCha8Rng::seed_from_u64(args.seed ^ (u64::from(clients) << 20) ^ u64::from(round));
                order.shuffle(&mut rng);
            }
            for (variant, transport) in order {
                out.push(StepPlan {
                    index: out.len(),
                    transport,
                    clients,
                    variant,
                    variants_vary,
                    round,
                    rounds: args.repeat,
                    duration: args.duration,
                    warmup: args.warmup,
                    poll_interval: args.poll_interval,
                    poll_mode: args.poll_mode,
                    connect_rate: args.connect_rate,
                    seed: args.seed,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sweep_takes_about_five_minutes() {
        let args = crate::config::parse_args(&[]).expect("defaults parse");
        let plans = sweep(&args);
        assert_eq!(plans.len(), 45, "five transports × three client counts × three rounds");
        assert_eq!(plans.iter().filter(|p| p.clients == 10).count(), 15, "client counts come in order");
        assert!(plans[..15].iter().all(|p| p.clients == 10) && plans[15].clients == 100);
        let total: Duration = plans.iter().map(StepPlan::length).sum();
        // 45 steps of 1 s warm-up + 5 s measured, plus ramp-up and drain.
        assert!(total <= Duration::from_secs(330), "the default run takes {total:?}");
    }

    #[test]
    fn repeats_shuffle_each_round_the_same_way_for_the_same_seed() {
        let args = crate::config::parse_args(&["--clients", "10,100", "--repeat", "3"]).expect("parses");
        let plans = sweep(&args);
        assert_eq!(plans.len(), 2 * 3 * 5);
        let round = |c: u32, r: u32| -> Vec<Transport> {
            plans.iter().filter(|p| p.clients == c && p.round == r).map(|p| p.transport).collect()
        };
        for c in [10, 100] {
            for r in 0..3 {
                let mut got = round(c, r);
                got.sort();
                assert_eq!(got, Transport::ALL.to_vec(), "every transport once per round");
            }
        }
        let orders: Vec<Vec<Transport>> = (0..3).map(|r| round(10, r)).collect();
        assert!(orders.windows(2).any(|w| w[0] != w[1]), "rounds are shuffled: {orders:?}");
        assert_eq!(
            sweep(&args).iter().map(StepPlan::label).collect::<Vec<_>>(),
            plans.iter().map(StepPlan::label).collect::<Vec<_>>(),
            "the same seed, the same order"
        );
        assert!(plans.iter().take(5).all(|p| p.clients == 10 && p.round == 0), "client counts outermost");
        assert_eq!(plans[0].phase_seed(), plans[7].phase_seed(), "one phase seed per client count");
        assert!(plans[0].label().ends_with("× 10 #1"), "{}", plans[0].label());
    }

    #[test]
    fn variants_sit_between_client_counts_and_transports() {
        let args = crate::config::parse_args(&[
            "--clients",
            "10",
            "--transports",
            "sse,ws",
            "--protocol",
            "h1,h2",
            "--repeat",
            "1",
        ])
        .expect("parses");
        let labels: Vec<String> = sweep(&args).iter().map(StepPlan::label).collect();
        assert_eq!(labels, ["sse h1 × 10", "ws h1 × 10", "sse h2 × 10", "ws h2 × 10"]);
    }

    #[test]
    fn the_timeline_is_ramp_warmup_window_drain() {
        let args = crate::config::parse_args(&[
            "--clients",
            "1000",
            "--transports",
            "short-poll",
            "--warmup",
            "2s",
            "--duration",
            "10s",
        ])
        .expect("parses");
        let p = &sweep(&args)[0];
        let t0 = Instant::now();
        let t = p.timeline(t0);
        // 1000 clients at 2000/s: half a second of ramp, then the 2 s warm-up.
        assert_eq!(t.window_start - t0, Duration::from_millis(2500));
        assert_eq!(t.window_end - t.window_start, Duration::from_secs(10));
        // A short poller's drain: usually one poll interval and half a second, at most 5 s.
        assert_eq!(t.stop_at - t.window_end, Duration::from_secs(5));
        assert_eq!(p.usual_drain(), Duration::from_millis(1500));
        assert_eq!(t.window_end - t0 + p.usual_drain(), p.length());
        assert_eq!(t.ms_since_start(t.window_start), 2500);
    }

    #[test]
    fn the_drain_is_bounded_by_five_seconds_or_two_poll_intervals() {
        let limit = |a: &[&str]| sweep(&crate::config::parse_args(a).expect("parses"))[0].drain_limit();
        assert_eq!(limit(&["--transports", "ws"]), Duration::from_secs(5));
        assert_eq!(limit(&["--transports", "ws", "--poll-interval", "10s"]), Duration::from_secs(5));
        assert_eq!(limit(&["--transports", "delta-poll", "--poll-interval", "1s"]), Duration::from_secs(5));
        let slow = ["--transports", "delta-poll", "--poll-interval", "10s", "--warmup", "10s"];
        assert_eq!(limit(&slow), Duration::from_secs(20));
    }
}
