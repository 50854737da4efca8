//! Chart 2: median and p99 event delay against the number of clients, log–log.
//!
//! Both panels share one y range, so the p99 panel reads against the median's; a step with
//! no event delay sample has nothing to draw and is named in the legend instead.

use anyhow::Result;

use proto::results::Results;

use super::axis::{log_range, us_to_ms};
use super::frame::{skipped_key, svg, transport_keys};
use super::lines::{Lines, YAxis};
use super::style::W;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let ms = |us: u64| us_to_ms(us);
    let p50 = lines.series(|s| (s.event_delay_us.count > 0).then(|| ms(s.event_delay_us.p50)));
    let p99 = lines.series(|s| (s.event_delay_us.count > 0).then(|| ms(s.event_delay_us.p99)));
    let y = log_range(p50.iter().chain(&p99).flat_map(|(_, p)| p.iter().map(|(_, v)| *v)), (0.1, 1000.0));
    let mut keys = transport_keys(results, |_| true);
    keys.extend(skipped_key(
        "no event delay measured",
        &lines.skipped(|s| (s.event_delay_us.count > 0).then_some(0.0)),
    ));
    svg((W, 600), title, &keys, |body| {
        let halves = body.split_evenly((1, 2));
        lines.panel(
            &halves[0],
            "median event delay (p50)",
            "event delay (ms, log scale)",
            &p50,
            YAxis::Log(y.clone()),
            None,
        )?;
        lines.panel(
            &halves[1],
            "p99 event delay (1 event in 100 took longer)",
            "event delay (ms, log scale)",
            &p99,
            YAxis::Log(y),
            None,
        )
    })
}
