//! Chart 4: server CPU per 1,000 deliveries and the server's memory growth within each step
//! against clients.
//!
//! Linear from zero, so costs compare by size. CPU is the server process's CPU seconds in the
//! window, which on loopback include TCP work done for the clients. Memory is the growth (peak − start), not the
//! absolute peak, which carries earlier steps' leftovers; a step with no delivery has no CPU
//! per delivery, and a step without memory readings no growth: each is named in the legend.

use anyhow::Result;

use proto::results::{Results, Step};

use super::super::derived;
use super::axis::zero_range;
use super::frame::{skipped_key, svg, transport_keys};
use super::lines::{Lines, YAxis};
use super::style::W;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let cpu = lines.series(derived::server_cpu_per_1000);
    let growth = |s: &Step| derived::server_memory_growth(s).map(|b| b as f64 / 1048576.0);
    let mem = lines.series(growth);
    let mut keys = transport_keys(results, |_| true);
    keys.extend(skipped_key("no deliveries to divide CPU by", &lines.skipped(derived::server_cpu_per_1000)));
    keys.extend(skipped_key("no memory readings", &lines.skipped(growth)));
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
            "memory growth within the step",
            "server resident memory, peak − start (MiB)",
            &mem,
            YAxis::Linear(y_mem),
            None,
        )
    })
}
