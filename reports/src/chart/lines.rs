//! Panels with one line per transport against the number of clients (log x), used by the
//! latency, cost and polling charts.

use proto::Transport;
use std::ops::Range;

use anyhow::Result;
use plotters::prelude::*;

use proto::results::{Results, Step};

use super::super::{derived, format, palette};
use super::axis::{clients_axis, log_ticks, tick};
use super::frame::marker;
use super::{Area, DESC_SIZE, FONT, LABEL_SIZE, PANEL_SIZE};

/// Draws one line per transport against client count, on logarithmic or linear y.
pub(super) struct Lines<'r> {
    pub(super) results: &'r Results,
    pub(super) only: fn(Transport) -> bool,
}

impl Lines<'_> {
    /// `(transport, [(clients, value)])` for the transports kept, skipping missing values.
    pub(super) fn series(&self, value: impl Fn(&Step) -> Option<f64>) -> Vec<(Transport, Vec<(f64, f64)>)> {
        derived::transports(self.results)
            .into_iter()
            .filter(|t| (self.only)(*t))
            .map(|t| {
                let mut points: Vec<(f64, f64)> = self
                    .results
                    .steps
                    .iter()
                    .filter(|s| s.transport == t)
                    .filter_map(|s| value(s).map(|v| (s.clients as f64, v)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (t, points)
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
            .map(|s| format!("{} at {}", palette::name(s.transport), format::int(s.clients as u64)))
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn panel(
        &self,
        panel: &Area<'_>,
        caption: &str,
        y_desc: &str,
        series: &[(Transport, Vec<(f64, f64)>)],
        y: Range<f64>,
        log_y: bool,
        reference: Option<&[(f64, f64)]>,
    ) -> Result<()> {
        let counts = derived::client_counts(self.results);
        let plot_px = panel.dim_in_pixel().0 as f64 - 146.0;
        let (x, x_ticks) = clients_axis(&counts, plot_px);
        let builder = |panel| {
            let mut b = ChartBuilder::on(panel);
            b.caption(caption, (FONT, PANEL_SIZE))
                .margin(14)
                .margin_right(40)
                .x_label_area_size(62)
                .y_label_area_size(92);
            b
        };
        let x_fmt = |v: &f64| format::round(*v);
        let y_fmt = |v: &f64| tick(*v);
        if log_y {
            let mut chart = builder(panel).build_cartesian_2d(
                x.clone().log_scale().with_key_points(x_ticks.clone()),
                y.clone().log_scale().with_key_points(log_ticks(y.start, y.end)),
            )?;
            chart
                .configure_mesh()
                .x_desc("clients (log scale)")
                .y_desc(y_desc)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            if let Some(reference) = reference {
                chart.draw_series(DashedLineSeries::new(
                    reference.to_vec(),
                    10,
                    6,
                    palette::REFERENCE.stroke_width(2),
                ))?;
            }
            for (t, points) in series {
                let look = palette::look(t);
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
            }
        } else {
            let mut chart = builder(panel)
                .build_cartesian_2d(x.clone().log_scale().with_key_points(x_ticks.clone()), y.clone())?;
            chart
                .configure_mesh()
                .x_desc("clients (log scale)")
                .y_desc(y_desc)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .y_labels(6)
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            for (t, points) in series {
                let look = palette::look(t);
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
            }
        }
        Ok(())
    }
}
