//! Axes: ticks where a reader expects them (1-2-5 on log scales, every client count that
//! ran), ranges padded around the data, and tick labels with thousands separators.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::super::format;

/// A linear axis with ticks exactly where we want them (plotters' own key-point wrapper
/// loses the label formatter on linear `f64` axes).
#[derive(Clone)]
pub(super) struct Fixed {
    range: Range<f64>,
    ticks: Vec<f64>,
}

pub(super) fn fixed(range: Range<f64>, ticks: Vec<f64>) -> Fixed {
    Fixed { range, ticks }
}

impl Ranged for Fixed {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.range.start) / (self.range.end - self.range.start);
        let length = limit.1 - limit.0;
        if length == 0 || !share.is_finite() {
            return limit.1;
        }
        limit.0 + (length as f64 * share + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Ticks for a logarithmic axis: 1-2-5 in each decade (only powers of ten when that is
/// too many), always at least two.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let in_range = |v: &f64| *v >= lo * 0.999 && *v <= hi * 1.001;
    let mut ticks: Vec<f64> =
        (first..=last).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))).filter(in_range).collect();
    if ticks.len() > 10 {
        ticks = (first..=last).map(|e| 10f64.powi(e)).filter(in_range).collect();
    }
    if ticks.len() < 2 {
        ticks = vec![nice(lo), nice(hi)];
    }
    ticks
}

/// A value rounded to two significant digits, for tick labels.
pub(super) fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

/// A padded logarithmic range around the positive values, or `fallback` without any.
pub(super) fn log_range(values: impl Iterator<Item = f64>, fallback: (f64, f64)) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= 0.0 {
        return fallback.0..fallback.1;
    }
    lo / 1.6..hi * 1.6
}

/// A linear range from zero to a little above the largest value.
pub(super) fn zero_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let hi = values.filter(|v| v.is_finite()).fold(0f64, f64::max);
    0.0..if hi > 0.0 { hi * 1.15 } else { 1.0 }
}

/// The client-count axis: logarithmic, a tick at every count that ran.
pub(super) fn clients_axis(counts: &[u32], plot_px: f64) -> (Range<f64>, Vec<f64>) {
    let counts: Vec<f64> = counts.iter().map(|c| *c as f64).collect();
    let lo = counts.first().copied().unwrap_or(1.0).max(1.0);
    let hi = counts.last().copied().unwrap_or(10.0).max(lo);
    let range = lo / 2.0..hi * 2.0;
    // Labels that would touch are dropped, largest first kept: 5,000 next to 10,000 keeps
    // 10,000. Every count is still in the tables.
    let px_per_decade = plot_px / (range.end / range.start).log10();
    let mut ticks: Vec<f64> = Vec::new();
    for c in counts.iter().rev() {
        let room = |kept: &f64| {
            let label = format::round(*kept).len().max(format::round(*c).len()) as f64;
            (kept / c).log10() * px_per_decade >= label * 9.0 + 14.0
        };
        if ticks.last().is_none_or(room) {
            ticks.push(*c);
        }
    }
    ticks.reverse();
    (range, ticks)
}

/// Tick label for a number on an axis: `0.5`, `20`, `1,000`.
pub(super) fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format::round(v)
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub(super) fn us_to_ms(us: u64) -> f64 {
    // Zero cannot sit on a log axis; one microsecond is below every real measurement.
    us.max(1) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_labels_that_would_touch_are_dropped() {
        let (_, ticks) = clients_axis(&[10, 100, 1000, 5000, 10000], 450.0);
        assert_eq!(ticks, vec![10.0, 100.0, 1000.0, 10000.0]);
        let (range, ticks) = clients_axis(&[20], 450.0);
        assert_eq!((range, ticks), (10.0..40.0, vec![20.0]));
    }

    #[test]
    fn log_ticks_are_round_and_inside_the_range() {
        assert_eq!(log_ticks(0.5, 30.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        let wide = log_ticks(0.001, 10_000.0);
        assert!(wide.len() <= 8 && wide.contains(&1.0), "{wide:?}");
        assert_eq!(log_ticks(3.0, 4.0).len(), 2);
    }
}
