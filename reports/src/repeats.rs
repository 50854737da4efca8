//! Repeated steps (`--repeat`): a figure of one (transport, variant, clients) is the median
//! of its rounds with their spread (min–max), and two figures are ranked only when their
//! spreads do not overlap. A single round has no spread: it is shown as it is, and nothing is
//! ranked on it, since runs of this machine differ by 10–30 % from one to the next.
//!
//! A difference whose smaller side is within the run's own noise (the widest spread seen
//! among the compared figures) is said in units, never as a ratio: "sooner by 6 ms", not
//! "72× sooner" over a loopback delay of a few hundred microseconds.

use proto::results::{Latency, Results, RunConfig, Step};

use super::derived::{self, Series, Verdict};
use super::format;

/// A figure over the rounds of one step: median and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Rounds that had the figure.
    pub rounds: usize,
}

impl Spread {
    /// The figure over `values` (one per round); `None` when no round had it.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Spread { median, min: v[0], max: v[n - 1], rounds: n })
    }

    /// Max − min: how much the rounds disagreed.
    pub fn width(&self) -> f64 {
        self.max - self.min
    }

    /// Whether this figure is below `other` beyond doubt: both have at least two rounds and
    /// the ranges do not touch.
    pub fn clearly_below(&self, other: &Spread) -> bool {
        self.rounds >= 2 && other.rounds >= 2 && self.max < other.min
    }

    /// The median written by `f`, then the range in brackets when there was more than one
    /// round: "7.30 ms (6.10–9.00 ms)".
    pub fn show(&self, f: impl Fn(f64) -> String) -> String {
        let (lo, hi) = (f(self.min), f(self.max));
        if self.rounds < 2 || lo == hi {
            // One round, or rounds that agree to the precision shown.
            return f(self.median);
        }
        format!("{} ({lo}–{hi})", f(self.median))
    }
}

/// The run's noise among `spreads`: the widest range of them (0 with single rounds).
pub fn noise<'a>(spreads: impl IntoIterator<Item = &'a Spread>) -> f64 {
    spreads.into_iter().map(Spread::width).fold(0.0, f64::max)
}

/// How two figures compare, as the summary may say it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    /// `a` is below `b` beyond the spread: by `difference` units, and `ratio` times when the
    /// smaller side stands clear of the noise (`None` when a ratio would divide by noise).
    Below { difference: f64, ratio: Option<f64> },
    /// `a` is above `b` beyond the spread (same fields, `b` below `a`).
    Above { difference: f64, ratio: Option<f64> },
    /// The ranges overlap, or a side has a single round: no ranking.
    Unranked,
}

/// Compares `a` with `b`; `noise` is the widest spread among the figures compared (a ratio
/// is offered only when the smaller median exceeds it).
pub fn compare(a: &Spread, b: &Spread, noise: f64) -> Comparison {
    let ratio = |small: f64, large: f64| (small > noise && small > 0.0).then(|| large / small);
    if a.clearly_below(b) {
        Comparison::Below { difference: b.median - a.median, ratio: ratio(a.median, b.median) }
    } else if b.clearly_below(a) {
        Comparison::Above { difference: a.median - b.median, ratio: ratio(b.median, a.median) }
    } else {
        Comparison::Unranked
    }
}

/// What a sentence says of two figures `a` and `b` (named `an`, `bn`) as `compare` allows:
/// "A was lower by 6.0 ms (3.1×)", the ratio only when it does not divide by noise; no
/// ranking when the ranges overlap or a side has one round. `unit` writes a difference,
/// `lower`/`higher` are the words ("sooner"/"later", "fewer"/"more").
pub fn said(
    an: &str,
    a: &Spread,
    bn: &str,
    b: &Spread,
    unit: impl Fn(f64) -> String,
    words: (&str, &str),
) -> String {
    let (lower, higher) = words;
    let noise = noise([a, b]);
    let by = |difference: f64, ratio: Option<f64>| match ratio {
        Some(r) => format!("by {} ({})", unit(difference), format::ratio(r)),
        None => format!("by {}", unit(difference)),
    };
    match compare(a, b, noise) {
        Comparison::Below { difference, ratio } => format!("{an} was {lower} {}", by(difference, ratio)),
        Comparison::Above { difference, ratio } => format!("{an} was {higher} {}", by(difference, ratio)),
        // The report says once, beside the ranking, why one round ranks nothing.
        Comparison::Unranked if a.rounds < 2 || b.rounds < 2 => {
            format!("{an} and {bn} differ by {} (one round: not ranked)", unit((a.median - b.median).abs()))
        }
        Comparison::Unranked => {
            format!("the ranges of {an}'s and {bn}'s rounds overlap, so this run does not rank them")
        }
    }
}

/// One series' rounds at one client count: the steps of one (transport, variant, clients).
#[derive(Debug, Clone)]
pub struct Rounds<'s> {
    pub series: Series,
    pub steps: Vec<&'s Step>,
}

impl<'s> Rounds<'s> {
    /// A figure over the rounds.
    pub fn spread(&self, figure: impl Fn(&Step) -> Option<f64>) -> Option<Spread> {
        spread_of(&self.steps, figure)
    }

    /// The median event delay over the rounds (rounds that delivered nothing left out).
    pub fn delay(&self, at: impl Fn(&Latency) -> u64) -> Option<Spread> {
        self.spread(|s| (s.event_delay_us.count > 0).then(|| at(&s.event_delay_us) as f64))
    }

    /// The step with its counters (events, deliveries, coalesced, late, lost, duplicates,
    /// requests, bytes) summed over the rounds, for sentences of counts and shares. Its
    /// latencies are left empty: percentiles of rounds do not add up.
    pub fn totals(&self) -> Step {
        let mut t = self.steps[0].clone();
        t.event_delay_us = Latency::default();
        t.request_latency_us = None;
        for s in &self.steps[1..] {
            t.events_published += s.events_published;
            t.deliveries_expected += s.deliveries_expected;
            t.deliveries += s.deliveries;
            t.coalesced += s.coalesced;
            t.coalesced_without_delay += s.coalesced_without_delay;
            t.late += s.late;
            t.lost += s.lost;
            t.duplicates += s.duplicates;
            t.requests += s.requests;
            t.empty_polls += s.empty_polls;
            t.messages += s.messages;
            t.wire_bytes.to_server += s.wire_bytes.to_server;
            t.wire_bytes.to_client += s.wire_bytes.to_client;
            t.measured_s += s.measured_s;
        }
        t
    }

    /// "Kept up?" over the rounds: the reasons of the first round that fell short, with how
    /// many rounds did when there were several; else the weakest of the rounds that kept up.
    pub fn verdict(&self, config: &RunConfig) -> Verdict {
        let verdicts: Vec<(u32, Verdict)> =
            self.steps.iter().map(|s| (s.round, derived::verdict(s, config))).collect();
        let short: Vec<(u32, &Vec<String>)> = verdicts
            .iter()
            .filter_map(|(round, v)| if let Verdict::FellShort(why) = v { Some((*round, why)) } else { None })
            .collect();
        if let Some((round, why)) = short.first() {
            let mut why = (*why).clone();
            if verdicts.len() > 1 {
                why.push(match short.len() {
                    1 => format!("in round {} of {}", round + 1, verdicts.len()),
                    k => format!("in {k} of {} rounds (the reasons of round {})", verdicts.len(), round + 1),
                });
            }
            return Verdict::FellShort(why);
        }
        let kept =
            verdicts.iter().filter_map(|(_, v)| if let Verdict::KeptUp(on) = v { Some(*on) } else { None });
        match kept.max() {
            Some(on) => Verdict::KeptUp(on),
            None => Verdict::NotMeasured,
        }
    }
}

/// Every series' rounds at `clients`, in the run's series order.
pub fn at(results: &Results, clients: u32) -> Vec<Rounds<'_>> {
    derived::series(results)
        .into_iter()
        .map(|series| Rounds {
            series,
            steps: results.steps.iter().filter(|s| series.has(s) && s.clients == clients).collect(),
        })
        .filter(|r| !r.steps.is_empty())
        .collect()
}

/// Whether any step of the run ran more than once.
pub fn repeated(results: &Results) -> bool {
    results.steps.iter().any(|s| s.round > 0)
}

/// The rounds of one step: every step of `steps` with the same transport, variant and
/// client count as `like`.
pub fn rounds_of<'s>(steps: &'s [Step], like: &Step) -> Vec<&'s Step> {
    steps
        .iter()
        .filter(|s| s.transport == like.transport && s.variant == like.variant && s.clients == like.clients)
        .collect()
}

/// A figure of a step over its rounds.
pub fn spread_of(rounds: &[&Step], figure: impl Fn(&Step) -> Option<f64>) -> Option<Spread> {
    Spread::of(rounds.iter().filter_map(|s| figure(s)))
}

#[cfg(test)]
mod tests {
    use proto::Transport;

    use super::*;

    fn spread(v: &[f64]) -> Spread {
        Spread::of(v.iter().copied()).expect("values")
    }

    #[test]
    fn the_median_and_range_of_the_rounds() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), Spread { median: 2.0, min: 1.0, max: 3.0, rounds: 3 });
        assert_eq!(spread(&[4.0, 1.0]).median, 2.5);
        assert_eq!(Spread::of([f64::NAN]), None);
        assert_eq!(Spread::of(std::iter::empty()), None);
    }

    #[test]
    fn overlapping_spreads_are_not_ranked() {
        let ws = spread(&[6.1, 7.3, 6.6]);
        let sse = spread(&[7.0, 9.0, 8.2]);
        assert_eq!(compare(&ws, &sse, 2.0), Comparison::Unranked, "7.3 overlaps 7.0");
        let one_round = spread(&[1.0]);
        assert_eq!(compare(&one_round, &spread(&[500.0]), 0.0), Comparison::Unranked, "one round: no spread");
    }

    #[test]
    fn separated_spreads_are_ranked_and_a_noise_level_denominator_gives_no_ratio() {
        let ws = spread(&[0.3, 0.4, 0.35]);
        let poll = spread(&[495.0, 510.0, 502.0]);
        let noise = ws.width().max(poll.width());
        match compare(&ws, &poll, noise) {
            Comparison::Below { difference, ratio } => {
                assert!((difference - (502.0 - 0.35)).abs() < 1e-9);
                assert_eq!(ratio, None, "0.35 ms is below the 15 ms noise: no ratio");
            }
            other => panic!("ranked below: {other:?}"),
        }
        let fast = spread(&[99.0, 101.0]);
        let slow = spread(&[299.0, 301.0]);
        assert_eq!(compare(&slow, &fast, 1.0), Comparison::Above { difference: 200.0, ratio: Some(3.0) });
    }

    #[test]
    fn rounds_are_the_steps_of_one_transport_variant_and_count() {
        let mut a = Step::empty(Transport::Ws, 10);
        a.round = 0;
        let mut b = a.clone();
        b.round = 1;
        let other = Step::empty(Transport::Sse, 10);
        let steps = vec![a.clone(), other, b];
        let rounds = rounds_of(&steps, &a);
        assert_eq!(rounds.iter().map(|s| s.round).collect::<Vec<_>>(), [0, 1]);
        let s = spread_of(&rounds, |s| Some(f64::from(s.round))).expect("two rounds");
        assert_eq!((s.median, s.rounds), (0.5, 2));
    }
}
