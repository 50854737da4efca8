//! Chart 7: deliveries per second over each step's measured window, one panel per client
//! count, against the feed's measured rate × clients, so a stall shows as a dip. The rate is
//! the one measured (events published ÷ window), not the configured one: a `--target`
//! server's feed may run at another.

use anyhow::Result;
use plotters::prelude::*;

use proto::results::Results;

use super::super::derived::{self, Series};
use super::super::{format, palette};
use super::axis::{fixed, tick, zero_range};
use super::frame::{look_of, note, svg, transport_keys, transport_line, Key};
use super::style::{self, plot_on, Area, W};

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let counts = derived::client_counts(results);
    let series = derived::series(results);
    let cols = counts.len().clamp(1, 2);
    let rows = counts.len().div_ceil(cols).max(1);
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Line {
        label: "feed rate as measured (events published ÷ window) × clients".to_string(),
        colour: palette::REFERENCE,
        dash: Some((10, 6)),
    });
    svg((W, 150 + 430 * rows as u32), title, &keys, |body| {
        if counts.is_empty() {
            note(body, (40, 40), "No step ran: nothing to draw.")?;
        }
        for (panel, clients) in body.split_evenly((rows, cols)).iter().zip(&counts) {
            panel_at(results, &series, panel, *clients)?;
        }
        Ok(())
    })
}

/// The panel of one client count: each series' deliveries per second, against the rate
/// that delivering every event would reach.
fn panel_at(results: &Results, series: &[Series], panel: &Area<'_>, clients: u32) -> Result<()> {
    let steps: Vec<_> = series.iter().filter_map(|k| derived::step(results, k, clients)).collect();
    let curves: Vec<_> = steps.iter().map(|s| (s, derived::delivery_rate_points(s))).collect();
    let seconds =
        curves.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).fold(0f64, f64::max).ceil().max(1.0);
    let every = (seconds / 10.0).ceil().max(1.0);
    let ticks: Vec<f64> = (0..=(seconds / every) as u32).map(|k| k as f64 * every).collect();
    let feed = derived::measured_feed_rate(steps.iter().copied());
    let expected = feed.map(|rate| rate * clients as f64);
    let y = zero_range(curves.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)).chain(expected));
    let mut caption = format!("{} clients", format::int(clients as u64));
    if let Some(rate) = feed {
        caption.push_str(&format!(", feed measured at {}/s", tick(rate)));
    }
    let mut chart = plot_on(panel, Some(&caption), 92).build_cartesian_2d(fixed(0.0..seconds, ticks), y)?;
    style::mesh(&mut chart.configure_mesh())
        .x_desc("second of the measured window")
        .y_desc("deliveries per second")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| format::round(*v))
        .y_labels(6)
        .draw()?;
    if let Some(expected) = expected {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, expected), (seconds, expected)],
            10,
            6,
            palette::REFERENCE.stroke_width(2),
        ))?;
    }
    for (step, points) in &curves {
        transport_line(&mut chart, points, &look_of(results, &Series::of(step)), points.len() <= 30)?;
    }
    Ok(())
}
