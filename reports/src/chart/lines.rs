//! Panels with one line per series (transport × variant) against the number of clients (log x),
//! used by the latency, cost and polling charts.
//!
//! The y axis is logarithmic or linear (`YAxis`); plotters types each differently, so the
//! drawing itself is one function generic over the y coordinate.

use std::ops::Range;

use anyhow::Result;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use proto::results::{Results, Step};
use proto::Transport;

use super::super::derived::Series;
use super::super::repeats::Spread;
use super::super::{derived, format, palette};
use super::axis::{clients_axis, log_ticks, tick};
use super::frame::{look_of, transport_line};
use super::style::{self, plot_on, Area};

/// Draws one line per transport against client count, on logarithmic or linear y.
pub(super) struct Lines<'r> {
    pub(super) results: &'r Results,
    pub(super) only: fn(Transport) -> bool,
}

impl Lines<'_> {
    /// `(series, [(clients, value)])` for the series of the transports kept, skipping missing
    /// values; a repeated step is the median of its rounds (the tables list every round).
    pub(super) fn series(&self, value: impl Fn(&Step) -> Option<f64>) -> Vec<(Series, Vec<(f64, f64)>)> {
        let counts = derived::client_counts(self.results);
        derived::series(self.results)
            .into_iter()
            .filter(|k| (self.only)(k.transport))
            .map(|k| {
                let points: Vec<(f64, f64)> = counts
                    .iter()
                    .filter_map(|&c| {
                        let rounds = self.results.steps.iter().filter(|s| k.has(s) && s.clients == c);
                        Some((c as f64, Spread::of(rounds.filter_map(&value))?.median))
                    })
                    .collect();
                (k, points)
            })
            .collect()
    }

    /// "WebSocket at 100" for each step of the kept transports that has no value: written in
    /// the legend, so a point left out is said, not silently missing.
    pub(super) fn skipped(&self, value: impl Fn(&Step) -> Option<f64>) -> Vec<String> {
        self.results
            .steps
            .iter()
            .filter(|s| (self.only)(s.transport) && value(s).is_none())
            .map(|s| {
                format!("{} at {}", derived::series_name(self.results, s), format::int(s.clients as u64))
            })
            .collect()
    }

    /// One panel: a line per transport against the client count (log x), with an optional
    /// dashed reference line (the schedule's rate).
    pub(super) fn panel(
        &self,
        panel: &Area<'_>,
        caption: &str,
        y_desc: &str,
        series: &[(Series, Vec<(f64, f64)>)],
        y: YAxis,
        reference: Option<&[(f64, f64)]>,
    ) -> Result<()> {
        let counts = derived::client_counts(self.results);
        let plot_px = panel.dim_in_pixel().0 as f64 - 146.0;
        let (x, x_ticks) = clients_axis(&counts, plot_px);
        let x = x.log_scale().with_key_points(x_ticks);
        let mut builder = plot_on(panel, Some(caption), 92);
        match y {
            YAxis::Log(y) => {
                let ticks = log_ticks(y.start, y.end);
                let chart = builder.build_cartesian_2d(x, y.log_scale().with_key_points(ticks))?;
                plot(chart, self.results, y_desc, None, series, reference)
            }
            YAxis::Linear(y) => {
                plot(builder.build_cartesian_2d(x, y)?, self.results, y_desc, Some(6), series, reference)
            }
        }
    }
}

/// The y axis of a panel: logarithmic (delays, rates over decades) or linear from zero.
pub(super) enum YAxis {
    Log(Range<f64>),
    Linear(Range<f64>),
}

/// Draws a panel's mesh, reference line and transport lines, whichever its y axis.
fn plot<X, Y>(
    mut chart: ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    results: &Results,
    y_desc: &str,
    y_labels: Option<usize>,
    series: &[(Series, Vec<(f64, f64)>)],
    reference: Option<&[(f64, f64)]>,
) -> Result<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_fmt = |v: &f64| format::round(*v);
    let y_fmt = |v: &f64| tick(*v);
    let mut mesh = chart.configure_mesh();
    style::mesh(&mut mesh)
        .x_desc("clients (log scale)")
        .y_desc(y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if let Some(n) = y_labels {
        mesh.y_labels(n);
    }
    mesh.draw()?;
    if let Some(reference) = reference {
        chart.draw_series(DashedLineSeries::new(
            reference.to_vec(),
            10,
            6,
            palette::REFERENCE.stroke_width(2),
        ))?;
    }
    for (k, points) in series {
        transport_line(&mut chart, points, &look_of(results, k), true)?;
    }
    Ok(())
}
