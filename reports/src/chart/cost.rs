//! Chart 4: server CPU per 1,000 deliveries and server peak memory against clients.
//!
//! Linear from zero, so costs compare by size. Only the server process is counted; a step
//! with no delivery has no CPU per delivery and is named in the legend instead.

use anyhow::Result;

use proto::results::Results;

use super::super::derived;
use super::axis::zero_range;
use super::frame::{skipped_key, svg, transport_keys};
use super::lines::{Lines, YAxis};
use super::style::W;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let cpu = lines.series(derived::server_cpu_per_1000);
    let mem =
        lines.series(|s| (s.server.rss_peak_bytes > 0).then(|| s.server.rss_peak_bytes as f64 / 1048576.0));
    let mut keys = transport_keys(results, |_| true);
    keys.extend(skipped_key("no deliveries to divide CPU by", &lines.skipped(derived::server_cpu_per_1000)));
    svg((W, 600), title, &keys, |body| {
        let halves = body.split_evenly((1, 2));
        let y_cpu = zero_range(cpu.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        let y_mem = zero_range(mem.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        lines.panel(
            &halves[0],
            "CPU per 1,000 deliveries",
            "server CPU seconds",
            &cpu,
            YAxis::Linear(y_cpu),
            None,
        )?;
        lines.panel(
            &halves[1],
            "peak memory",
            "server resident memory (MiB)",
            &mem,
            YAxis::Linear(y_mem),
            None,
        )
    })
}
