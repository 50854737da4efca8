//! How the short and delta pollers paced their polls (`--poll-mode`) and which polls were
//! never answered: still in flight (or waiting for a connection) when the clients stopped, or
//! out of time. They are counted in the requests and in request latency with the time they
//! had waited, so a server too slow to answer shows here instead of vanishing.

use proto::results::Results;

use super::derived;
use super::format;
use super::palette;
use super::table::{Cell, Table};

/// "polls every 1 s (setInterval)": the interval with the mode that paced it.
pub fn pacing(results: &Results) -> String {
    let c = &results.config;
    format!("{} ({})", format::duration_ms(c.poll_interval_ms), c.poll_mode.plain_name())
}

/// One row per short- or delta-polling step: its polls and those never answered; `None` when
/// the run has no such step.
pub fn unanswered(results: &Results) -> Option<Table> {
    let varying = derived::varying(results);
    let rows: Vec<Vec<Cell>> = derived::ordered_steps(results)
        .into_iter()
        .filter(|s| s.transport.is_scheduled_poll())
        .map(|s| {
            let mut row = vec![Cell {
                text: palette::name(s.transport).into(),
                transport: Some(s.transport),
                ..Cell::default()
            }];
            if varying.any() {
                row.push(Cell::text(s.variant.label(varying)));
            }
            let share = if s.requests > 0 { s.unanswered_polls as f64 / s.requests as f64 } else { 0.0 };
            row.extend([
                Cell::num(format::int(u64::from(s.clients))),
                Cell::num(format::int(s.requests)),
                Cell { bad: s.unanswered_polls > 0, ..Cell::num(format::int(s.unanswered_polls)) },
                Cell::num(if s.requests > 0 { format::percent(share) } else { "—".into() }),
            ]);
            row
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut head = vec!["Transport".to_string()];
    if varying.any() {
        head.push("Variant".into());
    }
    head.extend(["Clients", "Polls", "Unanswered", "Unanswered %"].map(String::from));
    let mode = results.config.poll_mode;
    Some(Table {
        id: "unanswered",
        caption: format!(
            "Polls never answered (paced as a {} every {}): still in flight when the clients \
             stopped, or out of time; counted in the requests and in request latency with the time \
             they had waited",
            mode.plain_name(),
            format::duration_ms(results.config.poll_interval_ms)
        ),
        head,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::Step;
    use proto::{PollMode, Transport};

    #[test]
    fn unanswered_polls_have_their_row_and_the_mode_is_named() {
        let json = include_str!("../tests/fixtures/results.json");
        let mut r = Results::from_json(json).expect("the fixture reads");
        r.config.poll_mode = PollMode::Timeout;
        r.steps = vec![
            Step { requests: 200, unanswered_polls: 3, ..Step::empty(Transport::ShortPoll, 10) },
            Step::empty(Transport::Ws, 10),
        ];
        assert!(pacing(&r).ends_with("(setTimeout chain)"), "{}", pacing(&r));
        let t = unanswered(&r).expect("a polling step");
        assert_eq!(t.rows.len(), 1, "push steps have no polls");
        let texts: Vec<&str> = t.rows[0].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts[2..], ["200", "3", "1.5%"]);
        assert!(t.rows[0][3].bad && t.caption.contains("setTimeout chain"));
        r.steps.remove(0);
        assert!(unanswered(&r).is_none());
    }
}
