//! The capacity search, as a pure state machine over a step oracle (clients → [`Outcome`]):
//! grow the client count geometrically from `start` until a probe misses the service level
//! (or the upper bound is met), then bisect between the last good and the first bad count
//! until their gap is within the resolution.
//!
//! A machine limit counts as a bad probe (the search bisects below it), and the limit is
//! what the search reports as having stopped it, so "held 19,000, stopped by open files"
//! is never mistaken for the server's own limit.

use proto::capacity::Stop;

/// How the search grows and when it is close enough.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    pub start: u32,
    /// Growth per good probe (2: doubling); above 1.
    pub factor: f64,
    pub max: u32,
    /// Bisection stops when (first bad − last good) ≤ resolution × last good (or 1 client).
    pub resolution: f64,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Met,
    /// The service level was missed, for these reasons.
    Missed(String),
    /// A limit of the machine kept the probe from running, or stopped it.
    MachineLimit(String),
}

/// The search's state: feed it each [`next`](Search::next) count's outcome.
#[derive(Debug, Clone)]
pub struct Search {
    spec: Spec,
    good: Option<u32>,
    bad: Option<(u32, Outcome)>,
    next: Option<u32>,
    stop: Option<Stop>,
}

impl Search {
    pub fn new(spec: Spec) -> Search {
        let first = spec.start.clamp(1, spec.max.max(1));
        Search { spec, good: None, bad: None, next: Some(first), stop: None }
    }

    /// The client count to probe next; `None` once the search has stopped.
    pub fn next(&self) -> Option<u32> {
        self.next
    }

    /// The largest count that met the service level so far.
    pub fn held(&self) -> Option<u32> {
        self.good
    }

    /// Why it stopped, once it has.
    pub fn stop(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// Ends the search from outside (Ctrl-C, a lost server).
    pub fn interrupt(&mut self, reason: String) {
        self.next = None;
        self.stop = Some(Stop::Interrupted { reason });
    }

    /// The outcome of the probe at `clients`.
    pub fn record(&mut self, clients: u32, outcome: Outcome) {
        if self.stop.is_some() {
            return;
        }
        match outcome {
            Outcome::Met => {
                self.good = Some(self.good.map_or(clients, |g| g.max(clients)));
                if self.bad.is_none() {
                    if clients >= self.spec.max {
                        return self.finish(Stop::UpperBound { clients });
                    }
                    let grown = (f64::from(clients) * self.spec.factor).ceil() as u32;
                    self.next = Some(grown.max(clients + 1).min(self.spec.max));
                    return;
                }
            }
            bad => {
                if self.bad.as_ref().is_none_or(|(b, _)| clients < *b) {
                    self.bad = Some((clients, bad));
                }
            }
        }
        self.bisect();
    }

    /// The next count between the last good and the first bad one, or the end.
    fn bisect(&mut self) {
        let Some((bad, why)) = self.bad.clone() else { return };
        let good = self.good.unwrap_or(0);
        let close = f64::from(bad - good) <= (self.spec.resolution * f64::from(good)).max(1.0);
        if self.good.is_none() || close {
            // Nothing smaller than the start is probed: a first probe that misses ends it.
            let stop = match why {
                Outcome::MachineLimit(reason) => Stop::MachineLimit { clients: bad, reason },
                Outcome::Missed(reason) => Stop::Missed { clients: bad, reason },
                Outcome::Met => unreachable!("only bad outcomes are kept as the first bad"),
            };
            return self.finish(stop);
        }
        self.next = Some(good + (bad - good) / 2);
    }

    fn finish(&mut self, stop: Stop) {
        self.next = None;
        self.stop = Some(stop);
    }
}

/// What a whole search found: the largest count held, why it stopped, every probe in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub held: Option<u32>,
    pub stop: Stop,
    pub probes: Vec<(u32, Outcome)>,
}

/// Runs a search to its end against a synchronous oracle (tests; the real runner drives
/// [`Search`] itself, since its probes are async). At most `limit` probes are made.
pub fn run(spec: Spec, limit: usize, mut oracle: impl FnMut(u32) -> Outcome) -> Found {
    let mut s = Search::new(spec);
    let mut probes = Vec::new();
    while let Some(n) = s.next() {
        if probes.len() >= limit {
            s.interrupt(format!("{limit} probes made"));
            break;
        }
        let o = oracle(n);
        probes.push((n, o.clone()));
        s.record(n, o);
    }
    let stop = s.stop().cloned().unwrap_or(Stop::Interrupted { reason: "never started".into() });
    Found { held: s.held(), stop, probes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(start: u32, max: u32, resolution: f64) -> Spec {
        Spec { start, factor: 2.0, max, resolution }
    }

    /// A server that holds up to `cap` clients.
    fn holds(cap: u32) -> impl FnMut(u32) -> Outcome {
        move |n| if n <= cap { Outcome::Met } else { Outcome::Missed(format!("p99 over at {n}")) }
    }

    fn counts(f: &Found) -> Vec<u32> {
        f.probes.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn grows_geometrically_then_bisects_to_the_resolution() {
        let f = run(spec(100, 100_000, 0.05), 50, holds(1000));
        // Doubling to the first miss at 1,600, then halving the gap to 800..1,600.
        assert_eq!(counts(&f)[..5], [100, 200, 400, 800, 1600]);
        assert_eq!(counts(&f)[5..], [1200, 1000, 1100, 1050]);
        assert_eq!(f.held, Some(1000));
        assert_eq!(f.stop, Stop::Missed { clients: 1050, reason: "p99 over at 1050".into() });
        let Stop::Missed { clients, .. } = f.stop else { unreachable!() };
        assert!(f64::from(clients - 1000) <= 0.05 * 1000.0, "within the resolution");
    }

    #[test]
    fn stops_at_the_upper_bound_when_every_probe_meets_it() {
        let f = run(spec(10, 50, 0.1), 50, holds(u32::MAX));
        assert_eq!(counts(&f), [10, 20, 40, 50], "the last step is clipped to the bound");
        assert_eq!((f.held, f.stop), (Some(50), Stop::UpperBound { clients: 50 }));
    }

    #[test]
    fn a_first_probe_that_misses_holds_nothing() {
        let f = run(spec(100, 1000, 0.1), 50, holds(50));
        assert_eq!(counts(&f), [100]);
        assert_eq!(f.held, None);
        assert!(matches!(f.stop, Stop::Missed { clients: 100, .. }), "{:?}", f.stop);
    }

    #[test]
    fn a_machine_limit_is_bisected_below_and_reported_as_what_stopped_it() {
        let limited = |n: u32| {
            if n > 19_900 {
                Outcome::MachineLimit("open files: 20,000".into())
            } else {
                Outcome::Met
            }
        };
        let f = run(spec(5000, 100_000, 0.1), 50, limited);
        assert_eq!(counts(&f)[..3], [5000, 10_000, 20_000]);
        assert_eq!(counts(&f)[3..], [15_000, 17_500, 18_750]);
        assert_eq!(f.held, Some(18_750));
        assert_eq!(f.stop, Stop::MachineLimit { clients: 20_000, reason: "open files: 20,000".into() });
    }

    #[test]
    fn the_gap_closes_to_one_client_at_resolution_zero() {
        let f = run(spec(1, 64, 0.0), 50, holds(37));
        assert_eq!(f.held, Some(37));
        assert!(matches!(f.stop, Stop::Missed { clients: 38, .. }), "{:?}", f.stop);
        assert!(f.probes.len() <= 12, "{} probes", f.probes.len());
    }

    #[test]
    fn an_interrupted_search_keeps_what_it_held() {
        let f = run(spec(1, 1 << 20, 0.0), 3, holds(u32::MAX));
        assert_eq!((counts(&f), f.held), (vec![1, 2, 4], Some(4)));
        assert!(matches!(f.stop, Stop::Interrupted { .. }));
    }
}
