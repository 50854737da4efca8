//! The table printed in the terminal at the end of a run.

use std::fmt::Write as _;

use proto::results::Results;

/// One row per step: latency, completeness, cost and errors.
pub fn table(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<11} {:>7} {:>10} {:>10} {:>8} {:>11} {:>9} {:>9} {:>7}",
        "transport", "clients", "p50 ms", "p99 ms", "missed", "bytes/evt", "req/s", "srv CPU", "errors"
    );
    for s in &r.steps {
        // Push transports send no requests: their `requests` are connections opened.
        let polls = s.transport.is_poll();
        let rps = match (polls, s.measured_s > 0.0) {
            (true, true) => format!("{:.0}", s.requests as f64 / s.measured_s),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<11} {:>7} {:>10.2} {:>10.2} {:>7.1}% {:>11.0} {:>9} {:>8.2}s {:>7}",
            s.transport.name(),
            s.clients,
            s.event_delay_us.p50 as f64 / 1000.0,
            s.event_delay_us.p99 as f64 / 1000.0,
            s.lost_ratio() * 100.0,
            s.wire_bytes_per_delivery,
            rps,
            s.server.cpu_s,
            s.errors_total()
        );
    }
    if let Some(why) = &r.interrupted {
        let _ = writeln!(out, "run cut short: {why}");
    }
    out
}
