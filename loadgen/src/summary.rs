//! The table printed in the terminal at the end of a run. Shares are written as the report
//! writes them (`reports::format::count_share`: a few lost events read `<0.1%`, never `0.0%`).

use std::fmt::Write as _;

use proto::results::Results;
use reports::format::count_share;

/// One row per step: event delay, completeness (coalesced: seen only inside a later snapshot;
/// late: not reached by the end of the drain; lost: skipped), cost and errors; for short and
/// delta polls their polls, their request latency (from the scheduled time) and those never answered.
pub fn table(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<11} {:>7} {:>11} {:>11} {:>10} {:>7} {:>7} {:>11} {:>9} {:>9} {:>7} {:>7} {:>11} {:>11} {:>10}",
        "transport",
        "clients",
        "delay p50",
        "delay p99",
        "coalesced",
        "late",
        "lost",
        "bytes/evt",
        "req/s",
        "srv CPU",
        "errors",
        "polls",
        "req p50",
        "req p99",
        "unanswered"
    );
    for s in &r.steps {
        // Push transports send no requests: their `requests` are connections opened.
        let polls = s.transport.is_poll();
        let rps = match (polls, s.measured_s > 0.0) {
            (true, true) => format!("{:.0}", s.requests as f64 / s.measured_s),
            _ => "-".to_string(),
        };
        let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
        let (scheduled, req_p50, req_p99, unanswered) = match &s.request_latency_us {
            Some(l) if s.transport.is_scheduled_poll() => {
                (s.requests.to_string(), ms(l.p50), ms(l.p99), s.unanswered_polls.to_string())
            }
            _ => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{:<11} {:>7} {:>8.2} ms {:>8.2} ms {:>10} {:>7} {:>7} {:>11.0} {:>9} {:>8.2}s {:>7} {:>7} {:>11} {:>11} {:>10}",
            s.transport.name(),
            s.clients,
            s.event_delay_us.p50 as f64 / 1000.0,
            s.event_delay_us.p99 as f64 / 1000.0,
            count_share(s.coalesced, s.deliveries_expected),
            count_share(s.late, s.deliveries_expected),
            count_share(s.lost, s.deliveries_expected),
            s.wire_bytes_per_delivery,
            rps,
            s.server.cpu_s,
            s.errors_total(),
            scheduled,
            req_p50,
            req_p99,
            unanswered
        );
    }
    if let Some(why) = &r.interrupted {
        let _ = writeln!(out, "run cut short: {why}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let text = include_str!("../../reports/tests/fixtures/results.json");
        Results::from_json(text).expect("the report's fixture parses")
    }

    #[test]
    fn push_transports_have_no_requests_per_second_and_a_tiny_loss_is_not_zero() {
        let mut r = results();
        r.steps.retain(|s| s.clients == 100);
        let ws = r.steps.iter_mut().find(|s| s.transport == proto::Transport::Ws).expect("ws at 100");
        ws.deliveries_expected *= 1000;
        ws.lost = 1;
        let text = table(&r);
        let row = |name: &str| text.lines().find(|l| l.starts_with(name)).expect("a row").to_string();
        let ws = row("ws ");
        let cells: Vec<&str> = ws.split_whitespace().collect();
        assert_eq!(cells[10], "-", "connections are not requests: {ws}");
        assert_eq!((cells[7], cells[8]), ("0.0%", "<0.1%"), "late, lost: {ws}");
        let short: Vec<String> = row("short-poll").split_whitespace().map(String::from).collect();
        assert_ne!(short[10], "-", "polls have a rate");
        assert_eq!(cells[13..], ["-"; 4], "no polls for push: {ws}");
        assert_eq!(short.len(), 19, "polls, request p50 and p99 in ms, unanswered: {short:?}");
    }
}
