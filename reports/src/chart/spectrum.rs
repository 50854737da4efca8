//! Chart 1: the event-delay percentile spectrum, one panel per client count.
//!
//! x is the "nines" scale, −log10(1 − p): 90 % → 1, 99 % → 2, as HdrHistogram plots do.

use anyhow::Result;
use plotters::prelude::*;

use proto::results::{Latency, Results, Step};

use super::super::derived::{self, Series};
use super::super::format;
use super::axis::{fixed, log_range, log_ticks, tick, us_to_ms};
use super::frame::{look_of, note, skipped_key, svg, transport_keys, transport_line, Key};
use super::style::{self, plot_on, W};

/// `(nines, ms)` points of a latency's percentile spectrum; `nines` = −log10(1 − p), so
/// 90 % → 1, 99 % → 2. Falls back to the summary percentiles when the run wrote no spectrum.
/// The 100th percentile sits at infinity on this scale and is left out (it is the max).
pub(super) fn spectrum_points(lat: &Latency) -> Vec<(f64, f64)> {
    let raw: Vec<(f64, u64)> = if !lat.spectrum.is_empty() {
        derived::spectrum_percentiles(lat)
    } else if lat.count > 0 {
        vec![(0.0, lat.min), (50.0, lat.p50), (90.0, lat.p90), (99.0, lat.p99), (99.9, lat.p999)]
    } else {
        Vec::new()
    };
    raw.into_iter()
        .filter(|(p, _)| (0.0..100.0).contains(p))
        .map(|(p, v)| (-(1.0 - p / 100.0).log10(), us_to_ms(v)))
        .filter(|(n, _)| *n <= 6.0)
        .collect()
}

/// One series' spectrum at one client count: `(series, clients, points)`.
type Curve = (Series, u32, Vec<(f64, f64)>);

pub(super) fn nines_label(n: f64) -> String {
    if n < 0.5 {
        "0%".to_string()
    } else {
        let p = 100.0 * (1.0 - 10f64.powf(-n));
        let decimals = (n.round() as usize).saturating_sub(2);
        format!("{p:.decimals$}%")
    }
}

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let counts = derived::client_counts(results);
    let series = derived::series(results);
    let cols = counts.len().clamp(1, 3);
    let rows = counts.len().div_ceil(cols).max(1);
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Note("The maximum (100%) is in the tables.".into()));
    let name =
        |s: &Step| format!("{} at {}", derived::series_name(results, s), format::int(s.clients as u64));
    let empty: Vec<String> = results.steps.iter().filter(|s| s.event_delay_us.count == 0).map(name).collect();
    keys.extend(skipped_key("no event delay measured", &empty));
    let coarse: Vec<String> = results
        .steps
        .iter()
        .filter(|s| s.event_delay_us.count > 0 && s.event_delay_us.spectrum.is_empty())
        .map(name)
        .collect();
    if !coarse.is_empty() {
        keys.push(Key::Note(format!(
            "Drawn from p50/p90/p99/p99.9 only (no spectrum saved): {}.",
            coarse.join(", ")
        )));
    }
    let all: Vec<Curve> = results
        .steps
        .iter()
        .map(|s| (Series::of(s), s.clients, spectrum_points(&s.event_delay_us)))
        .collect();
    let y = log_range(all.iter().flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v)), (0.1, 1000.0));
    let max_nines = all.iter().flat_map(|(_, _, p)| p.iter().map(|(n, _)| *n)).fold(0f64, f64::max);
    // Up to the last point, to the next half nine: no empty decade on the right.
    let x_hi = ((max_nines * 2.0).ceil() / 2.0).clamp(2.0, 6.0);
    svg((W, 150 + 430 * rows as u32), title, &keys, |body| {
        if counts.is_empty() {
            note(body, (40, 40), "No step ran: nothing to draw.")?;
        }
        for (panel, clients) in body.split_evenly((rows, cols)).iter().zip(&counts) {
            let caption = format!("{} clients", format::int(*clients as u64));
            let mut chart = plot_on(panel, Some(&caption), 86).build_cartesian_2d(
                fixed(0.0..x_hi, (0..=x_hi.floor() as i32).map(f64::from).collect()),
                y.clone().log_scale().with_key_points(log_ticks(y.start, y.end)),
            )?;
            style::mesh(&mut chart.configure_mesh())
                .x_desc("percentile (nines scale)")
                .y_desc("event delay (ms, log scale)")
                .x_label_formatter(&|v| nines_label(*v))
                .y_label_formatter(&|v| tick(*v))
                .draw()?;
            for k in &series {
                let Some((_, _, points)) = all.iter().find(|(kk, c, _)| kk == k && c == clients) else {
                    continue;
                };
                if !points.is_empty() {
                    transport_line(&mut chart, points, &look_of(results, k), true)?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::Latency;

    #[test]
    fn nines_labels() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(4.0), "99.99%");
    }

    #[test]
    fn spectrum_accepts_fractions_and_falls_back_to_the_summary() {
        let lat = Latency {
            count: 3,
            spectrum: vec![(0.0, 100), (0.5, 200), (0.99, 400), (1.0, 900)],
            ..Default::default()
        };
        let points = spectrum_points(&lat);
        assert_eq!(points.len(), 3, "the 100th percentile is left out");
        assert!((points[2].0 - 2.0).abs() < 1e-9);
        let summary = Latency { count: 5, p50: 1000, p99: 3000, ..Default::default() };
        assert_eq!(spectrum_points(&summary).len(), 5);
        assert!(spectrum_points(&Latency::default()).is_empty());
    }
}
