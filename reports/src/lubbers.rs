//! "The 2010 table, measured": Lubbers & Greco's header-overhead table beside the same
//! table computed from this run's bytes per request and per message.
//!
//! A run with several variants gets a row per series ("Short polling, HTTP/2, this run"), and
//! for each polling series that had empty polls a row for one empty (304) poll when every
//! poll was empty, or else for one poll's request (`derived::empty_poll` says why).
//!
//! Their table assumes every client gets one message a second; so does ours, to compare like
//! with like. It compares bytes only; the explanation beside it adds the event delay. They wrote Mbit/s as 2^20 bits per second (871 B × 1,000/s = 6.6 "Mbit/s"),
//! so the computed rows use the same unit and the published figures reproduce exactly.

use proto::results::Results;
use proto::Transport;

use super::derived::{self, Series};
use super::format;
use super::table::{Cell, Table};

/// Client counts of the 2010 table.
pub const CLIENTS: [u64; 3] = [1_000, 10_000, 100_000];

/// Mbit/s (2^20 bits) for `bytes` per message, one message per client per second.
pub fn mbit_per_s(bytes: f64, clients: u64) -> f64 {
    bytes * clients as f64 * 8.0 / 1_048_576.0
}

/// Three significant digits: `6.65`, `66.5`, `665`, `0.0153`.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return if x == 0.0 { "0".into() } else { "n/a".into() };
    }
    if x >= 100.0 {
        return format::round(x);
    }
    let decimals = (2 - x.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Bytes per message of each series over all its steps: `(series, bytes)`.
pub fn measured(results: &Results) -> Vec<(Series, f64)> {
    derived::series(results)
        .into_iter()
        .filter_map(|k| {
            let steps = results.steps.iter().filter(|s| k.has(s));
            let (mut bytes, mut messages) = (0u64, 0u64);
            for s in steps {
                bytes += s.wire_bytes.to_server + s.wire_bytes.to_client;
                messages += if k.transport.is_poll() { s.requests } else { s.messages };
            }
            (messages > 0).then(|| (k, bytes as f64 / messages as f64))
        })
        .collect()
}

/// A polling series' bytes per poll split as the 2010 table needs them: `(everything but
/// the answers' bodies, the bodies)`, from the steps that counted their bodies. Over HTTP/1.1
/// in cleartext the first is exactly the request and the answer's head; over HTTP/2 or TLS it
/// also holds their framing.
pub fn poll_split(results: &Results, series: &Series) -> Option<(f64, f64)> {
    let (mut wire, mut body, mut polls) = (0u64, 0u64, 0u64);
    for s in results.steps.iter().filter(|s| series.has(s) && s.transport.is_poll()) {
        let Some(b) = s.poll_body_bytes else { continue };
        wire += s.wire_bytes.to_server + s.wire_bytes.to_client;
        body += b;
        polls += s.requests;
    }
    (polls > 0 && wire >= body).then(|| ((wire - body) as f64 / polls as f64, body as f64 / polls as f64))
}

/// The table: the two published rows, then one computed row per transport of this run (a
/// polling one as its heads beside the published headers, and its bodies apart).
pub fn table(results: &Results) -> Table {
    let mut rows = vec![
        vec![
            Cell::text("Polling, as published in 2010"),
            Cell::text("871 B of HTTP headers per poll (request + response)"),
            Cell::num("6.6"),
            Cell::num("66"),
            Cell::num("665"),
        ],
        vec![
            Cell::text("WebSocket, as published in 2010"),
            Cell::text("2 B of frame header per message"),
            Cell::num("0.015"),
            Cell::num("0.153"),
            Cell::num("1.526"),
        ],
    ];
    let varying = derived::varying(results);
    let row = |t: Transport, label: String, text: String, bytes: f64| {
        let mut row = vec![Cell { transport: Some(t), ..Cell::text(label) }, Cell::text(text)];
        row.extend(CLIENTS.iter().map(|c| Cell::num(sig3(mbit_per_s(bytes, *c)))));
        row
    };
    for (k, bytes) in measured(results) {
        let t = k.transport;
        let name = k.name(varying);
        let plain = k.variant == proto::Variant::default();
        match poll_split(results, &k) {
            Some((heads, body)) => {
                let what = if plain {
                    "of HTTP headers per poll (request + answer head), like the 2010 row"
                } else {
                    "of HTTP headers and their framing per poll (request + answer head)"
                };
                rows.push(row(
                    t,
                    format!("{name}, this run: headers"),
                    format!("{} {what}", format::bytes(heads)),
                    heads,
                ));
                rows.push(row(
                    t,
                    format!("{name}, this run: bodies, apart"),
                    format!(
                        "{} of answer body per poll (the score snapshot or the new events, as sent), which the \
                         2010 table left out; {} per poll in all",
                        format::bytes(body),
                        format::bytes(bytes)
                    ),
                    body,
                ));
            }
            None => {
                let what =
                    if t.is_poll() { "per request, all TCP payload" } else { "per message, all TCP payload" };
                rows.push(row(
                    t,
                    format!("{name}, this run"),
                    format!("{} {what}", format::bytes(bytes)),
                    bytes,
                ));
            }
        }
        // Only a run with variants gets the poll rows: a single-variant table stays as it was.
        if let (true, Some(poll)) =
            (varying.any(), derived::empty_poll(results.steps.iter().filter(|s| k.has(s))))
        {
            let (label, bytes, how) = match poll {
                derived::EmptyPoll::Exact(b) => {
                    ("one empty (304) poll", b, "every poll in the window was empty: all TCP payload ÷ polls")
                }
                derived::EmptyPoll::RequestOnly(b) => (
                    "one poll's request",
                    b,
                    "client → server payload ÷ polls, exact; the answers' bytes are not split by kind \
                     (304 or 200 with a body) in the results, so a 304's size is not given",
                ),
            };
            rows.push(row(
                t,
                format!("{name}, {label}, this run"),
                format!("{} ({how})", format::bytes(bytes)),
                bytes,
            ));
        }
    }
    Table {
        id: "lubbers",
        caption: "Network throughput for one message per client per second, in Mbit/s (2^20 bits/s)".into(),
        head: vec![
            "Transport".into(),
            "Bytes per message".into(),
            "1,000 clients".into(),
            "10,000 clients".into(),
            "100,000 clients".into(),
        ],
        rows,
    }
}

/// Why the measured rows differ from the published ones, with this run's figures.
pub fn explanation(results: &Results) -> String {
    let measured = measured(results);
    // The prose compares transports over the run's first variant; the rows show the others.
    let first = derived::variants(results).first().copied().unwrap_or_default();
    let find = |t: Transport| {
        measured.iter().find(|(m, _)| *m == Series { transport: t, variant: first }).map(|(_, b)| *b)
    };
    let mut text = String::from(
        "The 2010 figures count headers only: the 871 bytes of HTTP headers a browser of the \
         time sent and received per poll (cookies, user-agent and accept lists included), and \
         the 2 bytes of a WebSocket frame header. This run counts all TCP payload at the server's \
         sockets, data included (not the TCP/IP headers, which the 2010 table left out too).",
    );
    let split = poll_split(results, &Series { transport: Transport::ShortPoll, variant: first });
    match (find(Transport::ShortPoll), split) {
        (Some(b), Some((heads, body))) => text.push_str(&format!(
            " Headers against headers: a short poll here carried {} of request and answer head \
             against the 2010 table's 871 B (our client sends only the headers it needs, no \
             cookies), and beside them {} of answer body (every changed answer carries the \
             whole score snapshot, which the 2010 table left out): {} in all.",
            format::bytes(heads),
            format::bytes(body),
            format::bytes(b)
        )),
        (Some(b), None) => text.push_str(&format!(
            " A short poll here cost {} in both directions: our client sends only the few \
             headers it needs, but every changed answer also carries the whole score snapshot, \
             which the 2010 table left out.",
            format::bytes(b)
        )),
        _ => {}
    }
    if let Some(b) = find(Transport::Ws) {
        text.push_str(&format!(
            " A WebSocket message here cost {}: the event itself (its JSON) rides in the \
             frame, behind a 2-to-14-byte header, and the keepalives sent in the window are \
             spread over its messages; the connection's handshake came before the window and is \
             not in it.",
            format::bytes(b)
        ));
    }
    if let (Some(poll), Some(ws)) = (find(Transport::ShortPoll), find(Transport::Ws)) {
        text.push_str(&format!(
            " So per message, a short poll cost {} what a WebSocket message did in this run, \
             against 435× (871 B ÷ 2 B) in the 2010 table: push still saves the request and \
             the headers of every poll, but the data travels either way.",
            format::ratio(poll / ws)
        ));
    }
    text.push_str(&delay_note(results));
    text
}

/// What the 2010 table leaves out: it compares bytes only, but a poll also tells its clients of
/// an event later (event delay, at the headline client count) and only as part of a snapshot.
fn delay_note(results: &Results) -> String {
    let Some(clients) = derived::headline_clients(results) else { return String::new() };
    let first = derived::variants(results).first().copied().unwrap_or_default();
    let median = |t: Transport| {
        derived::step_of(results, t, first, clients)
            .filter(|s| s.event_delay_us.count > 0)
            .map(|s| s.event_delay_us.p50)
    };
    let (Some(poll), Some(ws)) = (median(Transport::ShortPoll), median(Transport::Ws)) else {
        return String::new();
    };
    format!(
        " Bytes are not the whole comparison: a short poll also tells its clients of an event \
         only at the next poll, {} after the event at the median in this run against {} for \
         WebSocket (event delay, at {} clients), and shows it only as part of the newest \
         snapshot, not as an event of its own.",
        format::latency_us(poll as f64),
        format::latency_us(ws as f64),
        format::int(clients as u64)
    )
}

#[cfg(test)]
mod tests {
    use proto::results::{Step, WireBytes};

    use super::*;

    #[test]
    fn a_poll_is_split_into_heads_beside_the_2010_headers_and_bodies_apart() {
        let mut s = Step::empty(Transport::ShortPoll, 10);
        s.requests = 100;
        s.wire_bytes = WireBytes { to_server: 9_000, to_client: 110_000 };
        s.poll_body_bytes = Some(100_000);
        let results = Results::new(proto::results::RunConfig::default(), vec![s.clone()]);
        let k = Series::of(&s);
        // 119,000 B of payload in 100 polls, 100,000 B of them bodies.
        assert_eq!(poll_split(&results, &k), Some((190.0, 1000.0)));
        let t = table(&results);
        let cells: Vec<Vec<String>> =
            t.rows.iter().map(|r| r.iter().map(|c| c.text.clone()).collect()).collect();
        let heads = cells.iter().find(|r| r[0] == "short polling, this run: headers").expect("a heads row");
        assert!(
            heads[1].starts_with("190\u{a0}B of HTTP headers per poll (request + answer head)"),
            "{heads:?}"
        );
        assert_eq!(heads[2], sig3(mbit_per_s(190.0, 1_000)), "Mbit/s of the heads alone");
        let bodies =
            cells.iter().find(|r| r[0] == "short polling, this run: bodies, apart").expect("a bodies row");
        assert!(
            bodies[1].contains("1,000\u{a0}B of answer body per poll")
                && bodies[1].contains("1,190\u{a0}B per poll in all"),
            "{bodies:?}"
        );
        assert!(explanation(&results).contains("Headers against headers: a short poll here carried 190"));
        // A file without body counts keeps the one all-payload row.
        let mut old = results.clone();
        old.steps[0].poll_body_bytes = None;
        assert_eq!(poll_split(&old, &k), None);
        assert!(table(&old).rows.iter().any(|r| r[0].text == "short polling, this run"));
    }

    #[test]
    fn the_published_figures_reproduce() {
        assert_eq!(format!("{:.1}", mbit_per_s(871.0, 1_000)), "6.6");
        assert_eq!(format!("{:.0}", mbit_per_s(871.0, 10_000)), "66");
        assert_eq!(format!("{:.0}", mbit_per_s(871.0, 100_000)), "665");
        assert_eq!(format!("{:.3}", mbit_per_s(2.0, 1_000)), "0.015");
        assert_eq!(format!("{:.3}", mbit_per_s(2.0, 10_000)), "0.153");
        assert_eq!(format!("{:.3}", mbit_per_s(2.0, 100_000)), "1.526");
        assert_eq!(sig3(6.645), "6.64");
        assert_eq!(sig3(0.01526), "0.0153");
        assert_eq!(sig3(664.5), "665");
    }
}
