//! Chart 6: connect + handshake time per step: a range bar (min–max line, p50–p99 box,
//! median tick) per series (transport and variant) and client count, on a log axis: with TLS
//! or HTTP/2 in the run, each variant's handshake gets its own row.

use anyhow::Result;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use proto::results::{Results, Step};

use super::super::derived::{self, Series};
use super::super::{format, palette};
use super::axis::{fixed, log_range, log_ticks, tick, us_to_ms};
use super::frame::{look_of, svg, transport_keys, Key};
use super::style::{self, plot_on, W};

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let series = derived::series(results);
    let varying = derived::varying(results);
    let mut rows: Vec<(String, &Step)> = Vec::new();
    for clients in derived::client_counts(results) {
        for k in &series {
            if let Some(step) = derived::step(results, k, clients) {
                let mut label = format!("{}, {}", k.name(varying), format::int(clients as u64));
                if step.connect_latency_us.count == 0 {
                    label.push_str(" (none)");
                }
                rows.push((label, step));
            }
        }
    }
    let mut keys = transport_keys(results, |_| true);
    let row = if varying.any() { "transport, variant, clients" } else { "transport, clients" };
    keys.push(Key::Note(format!("row: {row} · line: fastest to slowest · box: median to p99")));
    let n = rows.len().max(1);
    let x = log_range(
        rows.iter().filter(|(_, s)| s.connect_latency_us.count > 0).flat_map(|(_, s)| {
            let l = &s.connect_latency_us;
            [us_to_ms(l.min), us_to_ms(l.max)]
        }),
        (0.01, 100.0),
    );
    let labels: Vec<String> = rows.iter().map(|(l, _)| l.clone()).collect();
    // Room for the longest row label (a series' name with its variant is long), 9 px a
    // character at the label size, never less than the 300 px a transport's name had.
    let label_px = labels.iter().map(|l| l.chars().count() as u32 * 9 + 20).max().unwrap_or(0).max(300);
    svg((W, 200 + 38 * n as u32), title, &keys, |body| {
        let mut chart = plot_on(body, None, label_px).build_cartesian_2d(
            x.clone().log_scale().with_key_points(log_ticks(x.start, x.end)),
            fixed(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
        )?;
        style::mesh(&mut chart.configure_mesh())
            .x_desc("connect + handshake time (ms, log scale)")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| {
                let i = v.round() as usize;
                // The first row at the top.
                labels.get(n.wrapping_sub(1).wrapping_sub(i)).cloned().unwrap_or_default()
            })
            .draw()?;
        for (i, (_, step)) in rows.iter().enumerate() {
            let l = &step.connect_latency_us;
            if l.count == 0 {
                continue;
            }
            let y = (n - 1 - i) as f64;
            let look = look_of(results, &Series::of(step));
            let (min, p50, p99, max) = (us_to_ms(l.min), us_to_ms(l.p50), us_to_ms(l.p99), us_to_ms(l.max));
            let whisker = vec![(min, y), (max, y)];
            match look.dash {
                Some((on, off)) => chart.draw_series([DashedPathElement::new(
                    whisker,
                    on as i32,
                    off as i32,
                    look.colour.stroke_width(2),
                )])?,
                None => chart.draw_series([PathElement::new(whisker, look.colour.stroke_width(2))])?,
            };
            let fill = if look.hollow { palette::lighter(look.colour, 0.6) } else { look.colour };
            chart
                .draw_series([Rectangle::new([(p50, y - 0.28), (p99.max(p50), y + 0.28)], fill.filled())])?;
            chart.draw_series([PathElement::new(
                vec![(p50, y - 0.4), (p50, y + 0.4)],
                palette::INK.stroke_width(3),
            )])?;
        }
        Ok(())
    })
}
