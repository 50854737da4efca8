//! The table printed in the terminal at the end of a run.

use std::fmt::Write as _;

use proto::results::Results;

/// One row per step: event delay, completeness (coalesced: seen only inside a later snapshot;
/// lost: never seen), cost and errors.
pub fn table(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<11} {:>7} {:>11} {:>11} {:>10} {:>7} {:>11} {:>9} {:>9} {:>7}",
        "transport",
        "clients",
        "delay p50",
        "delay p99",
        "coalesced",
        "lost",
        "bytes/evt",
        "req/s",
        "srv CPU",
        "errors"
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
            "{:<11} {:>7} {:>8.2} ms {:>8.2} ms {:>9.1}% {:>6.1}% {:>11.0} {:>9} {:>8.2}s {:>7}",
            s.transport.name(),
            s.clients,
            s.event_delay_us.p50 as f64 / 1000.0,
            s.event_delay_us.p99 as f64 / 1000.0,
            s.coalesced_ratio() * 100.0,
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
