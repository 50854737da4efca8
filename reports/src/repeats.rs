//! Repeated steps (`--repeat`): a figure of one (transport, variant, clients) is the median
//! of its rounds with their spread (min–max), and two figures are ranked only when their
//! spreads do not overlap. A single round has no spread: it is shown as it is, and nothing is
//! ranked on it, since runs of this machine differ by 10–30 % from one to the next.
//!
//! A difference whose smaller side is within the run's own noise (the widest spread seen
//! among the compared figures) is said in units, never as a ratio: "sooner by 6 ms", not
//! "72× sooner" over a loopback delay of a few hundred microseconds.

use proto::results::Step;

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
