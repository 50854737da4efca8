//! Chart 5: requests and empty polls per second for the polling transports, with the
//! schedule's own rate as the line a transport that keeps up sits on.

use anyhow::Result;

use proto::results::Results;
use proto::Transport;

use super::super::{derived, format, palette};
use super::axis::{log_range, zero_range};
use super::frame::{note, skipped_key, svg, transport_keys, Key};
use super::lines::{Lines, YAxis};
use super::style::W;

pub(super) fn draw(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: Transport::is_poll };
    let req = lines.series(|s| derived::requests_per_s(s).filter(|v| *v > 0.0));
    let empty = lines.series(derived::empty_polls_per_s);
    let scheduled: Vec<(f64, f64)> = derived::client_counts(results)
        .into_iter()
        .filter(|c| results.steps.iter().any(|s| s.clients == *c && s.transport.is_scheduled_poll()))
        .filter(|_| results.config.poll_interval_ms > 0.0)
        .map(|c| (c as f64, c as f64 * 1000.0 / results.config.poll_interval_ms))
        .collect();
    let mut keys = transport_keys(results, Transport::is_poll);
    keys.extend(skipped_key(
        "no requests (zero has no place on a log scale)",
        &lines.skipped(|s| derived::requests_per_s(s).filter(|v| *v > 0.0)),
    ));
    if !scheduled.is_empty() {
        keys.push(Key::Line {
            label: format!(
                "scheduled: one poll per client every {}",
                format::duration_ms(results.config.poll_interval_ms)
            ),
            colour: palette::REFERENCE,
            dash: Some((10, 6)),
        });
    }
    svg((W, 600), title, &keys, |body| {
        if req.is_empty() {
            return note(body, (40, 40), "No polling transport ran in this run.");
        }
        let halves = body.split_evenly((1, 2));
        let y_req = log_range(
            req.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)).chain(scheduled.iter().map(|(_, v)| *v)),
            (0.1, 100.0),
        );
        let y_empty = zero_range(empty.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        let reference = (!scheduled.is_empty()).then_some(scheduled.as_slice());
        lines.panel(
            &halves[0],
            "requests per second",
            "requests/s (log scale)",
            &req,
            YAxis::Log(y_req),
            reference,
        )?;
        lines.panel(
            &halves[1],
            "empty polls per second",
            "empty polls/s",
            &empty,
            YAxis::Linear(y_empty),
            None,
        )?;
        if empty.iter().all(|(_, p)| p.iter().all(|(_, v)| *v == 0.0)) {
            note(&halves[1], (120, 60), "No poll came back empty in this run.")?;
        }
        Ok(())
    })
}
