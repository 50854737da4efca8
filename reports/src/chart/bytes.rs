//! Chart 3: wire bytes (TCP payload) per delivered event, both directions stacked, grouped by client
//! count, with Lubbers & Greco's 871-byte poll and WebSocket's 2-byte frame as references.
//!
//! A linear scale, on purpose: stacked parts only add up on a linear axis. With several
//! variants (protocol, TLS, compression) each series has its own bar in the transport's
//! colour, outlined in ink with the series' dash and, when compressed, striped light down the
//! middle, as the legend's variant keys show.

use std::ops::Range;

use anyhow::Result;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use proto::results::{Results, Step};

use super::super::palette::Look;
use super::super::{derived, format, palette};
use super::axis::{fixed, zero_range, Fixed};
use super::frame::{look_of, svg, transport_keys, Key};
use super::style::{self, plot_on, FONT, LABEL_SIZE, W};

/// Where to cut the scale when one bar would flatten all the others: an outlier more than
/// five times the typical bar (the median, or the 871-byte reference if larger) is cut at
/// 2.5 times it, and its value is printed.
fn cut_at(totals: &[f64], reference: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = totals.iter().copied().filter(|t| t.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let typical = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0).max(reference);
    let largest = sorted.last().copied().unwrap_or(0.0);
    (largest > 5.0 * typical).then_some(2.5 * typical)
}

/// Lubbers & Greco's HTTP headers per poll, 2010.
const LUBBERS_POLL: f64 = 871.0;
/// A WebSocket frame header at its smallest.
const WS_FRAME: f64 = 2.0;

/// The x coordinate: one group per client count, at 0, 1, 2 …; the y: bytes.
type Bars<'a, 's> = ChartContext<'a, SVGBackend<'s>, Cartesian2d<Fixed, RangedCoordf64>>;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let counts = derived::client_counts(results);
    let totals: Vec<f64> =
        results.steps.iter().filter_map(derived::bytes_per_delivery).map(|(a, b)| a + b).collect();
    let cap = cut_at(&totals, LUBBERS_POLL);
    let y = zero_range(totals.iter().map(|t| cap.map_or(*t, |c| t.min(c))).chain([LUBBERS_POLL]));
    let groups = counts.len().max(1) as f64;
    svg((W, 640), title, &keys(results, cap.is_some()), |body| {
        let x = fixed(-0.5..groups - 0.5, (0..counts.len()).map(|i| i as f64).collect());
        let mut chart = plot_on(body, None, 100).build_cartesian_2d(x, y)?;
        style::mesh(&mut chart.configure_mesh())
            .x_desc("clients")
            .y_desc("TCP payload bytes per delivered event")
            .x_label_formatter(&|v| {
                let i = v.round() as usize;
                counts.get(i).map(|c| format!("{} clients", format::int(*c as u64))).unwrap_or_default()
            })
            .y_label_formatter(&|v| format::round(*v))
            .y_labels(8)
            .draw()?;
        let series = derived::series(results);
        let slot = 0.84 / series.len().max(1) as f64;
        // Value labels shrink to fit their bar when many bars share the width.
        let slot_px = (W as f64 - 170.0) / groups * slot;
        let widest = totals.iter().map(|t| format::round(*t).len()).max().unwrap_or(4).max(4) as f64;
        let label_size = (slot_px / (0.6 * widest) * 1.24).clamp(12.0, LABEL_SIZE - 2.0);
        let value_style =
            (FONT, label_size).into_font().color(&palette::INK).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (g, clients) in counts.iter().enumerate() {
            for (i, k) in series.iter().enumerate() {
                let Some(step) = derived::step(results, k, *clients) else { continue };
                let x0 = g as f64 - 0.42 + i as f64 * slot + slot * 0.08;
                bar(&mut chart, step, &look_of(results, k), x0..x0 + slot * 0.84, cap, &value_style)?;
            }
        }
        for (level, (on, off), colour) in
            [(LUBBERS_POLL, (12, 6), palette::REFERENCE), (WS_FRAME, (3, 4), palette::INK)]
        {
            chart.draw_series(DashedLineSeries::new(
                [(-0.5, level), (groups - 0.5, level)],
                on,
                off,
                colour.stroke_width(2),
            ))?;
        }
        Ok(())
    })
}

/// The legend: transports, the two directions, the two reference lines, and a note when a
/// bar is cut.
fn keys(results: &Results, cut: bool) -> Vec<Key> {
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Swatch { label: "client → server (lighter)".into(), colour: RGBColor(200, 200, 200) });
    keys.push(Key::Swatch { label: "server → client (darker)".into(), colour: RGBColor(110, 110, 110) });
    keys.push(Key::Line {
        label: "871 B: HTTP headers per poll (2010)".into(),
        colour: palette::REFERENCE,
        dash: Some((12, 6)),
    });
    keys.push(Key::Line {
        label: "2 B: WebSocket frame header".into(),
        colour: palette::INK,
        dash: Some((3, 4)),
    });
    if cut {
        keys.push(Key::Note("A bar with a white gap is cut short: its value is printed above it.".into()));
    }
    keys
}

/// One step's bar between `x.start` and `x.end`: client → server below in the lighter shade,
/// server → client above, cut at `cap` with a white band, and its total printed on top. A
/// dashed series (a variant other than the run's first) is outlined with its dash in ink, a
/// hollow one (compressed) has a white inset, as its legend key shows.
fn bar(
    chart: &mut Bars<'_, '_>,
    step: &Step,
    look: &Look,
    x: Range<f64>,
    cap: Option<f64>,
    value: &TextStyle<'_>,
) -> Result<()> {
    let (x0, x1) = (x.start, x.end);
    let xc = (x0 + x1) / 2.0;
    let Some((up, down)) = derived::bytes_per_delivery(step) else {
        chart.draw_series([Text::new("none".to_string(), (xc, 0.0), value.clone())])?;
        return Ok(());
    };
    let colour = look.colour;
    let top = cap.map_or(up + down, |c| (up + down).min(c));
    chart.draw_series([
        Rectangle::new([(x0, 0.0), (x1, up.min(top))], palette::lighter(colour, 0.55).filled()),
        Rectangle::new([(x0, up.min(top)), (x1, top)], colour.filled()),
    ])?;
    if top < up + down {
        // The break: a white band just below the cut top.
        let (b0, b1) = (top * 0.90, top * 0.93);
        chart.draw_series([Rectangle::new([(x0, b0), (x1, b1)], WHITE.filled())])?;
    }
    if look.hollow {
        let inset = (x1 - x0) * 0.3;
        chart
            .draw_series([Rectangle::new([(x0 + inset, 0.0), (x1 - inset, top)], WHITE.mix(0.6).filled())])?;
    }
    if let Some((on, off)) = look.dash {
        let outline = vec![(x0, 0.0), (x0, top), (x1, top), (x1, 0.0)];
        chart.draw_series([DashedPathElement::new(
            outline,
            on as i32,
            off as i32,
            palette::INK.stroke_width(2),
        )])?;
    }
    chart.draw_series([Text::new(format::round(up + down), (xc, top), value.clone())])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_outlier_cuts_the_scale() {
        assert_eq!(cut_at(&[250.0, 264.0, 1313.0, 544.0, 276.0], 871.0), None);
        assert_eq!(cut_at(&[250.0, 264.0, 359_805.0, 544.0, 276.0], 871.0), Some(2177.5));
        assert_eq!(cut_at(&[], 871.0), None);
    }
}
