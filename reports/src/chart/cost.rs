//! Chart 4: server CPU per 1,000 deliveries and server peak memory against clients.

use anyhow::Result;
use plotters::prelude::*;

use proto::results::Results;

use super::super::derived;
use super::axis::zero_range;
use super::frame::{frame, skipped_key, transport_keys};
use super::lines::Lines;
use super::W;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let cpu = lines.series(derived::server_cpu_per_1000);
    let mem =
        lines.series(|s| (s.server.rss_peak_bytes > 0).then(|| s.server.rss_peak_bytes as f64 / 1048576.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 600)).into_drawing_area();
        let mut keys = transport_keys(results, |_| true);
        keys.extend(skipped_key(
            "no deliveries to divide CPU by",
            &lines.skipped(derived::server_cpu_per_1000),
        ));
        let body = frame(&root, title, &keys)?;
        let halves = body.split_evenly((1, 2));
        let y_cpu = zero_range(cpu.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        let y_mem = zero_range(mem.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        lines.panel(
            &halves[0],
            "CPU per 1,000 deliveries",
            "server CPU seconds",
            &cpu,
            y_cpu,
            false,
            None,
        )?;
        lines.panel(&halves[1], "peak memory", "server resident memory (MiB)", &mem, y_mem, false, None)?;
        root.present()?;
    }
    Ok(svg)
}
