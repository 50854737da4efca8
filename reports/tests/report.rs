//! The HTML report, rendered from the checked-in fixture `fixtures/results.json` (schema 2,
//! 5 transports × 10 and 100 clients, one step with errors; `results-schema1.json` is the
//! previous fixture as schema 1 wrote it) and read back with real parsers: html5ever (through
//! scraper) for the page, roxmltree for the standalone SVG files.
//!
//! Expected figures are computed here from the fixture's JSON (not through the report's own
//! types) and written with the report's stated rules, so a wrong number fails the test.

use std::path::{Path, PathBuf};

use proto::results::Results;
use proto::Transport;
use reports as report;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

const CHARTS: [(&str, &str); 7] = [
    ("spectrum", "Event delay by percentile"),
    ("latency", "Event delay against number of clients"),
    ("bytes", "Wire bytes per delivered event"),
    ("server-cost", "Server cost against number of clients"),
    ("polling", "Polling: requests and empty polls per second"),
    ("connect", "Connect + handshake time"),
    ("timeline", "Deliveries per second during each step"),
];

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results.json")
}

fn fixture() -> Results {
    Results::from_json(&std::fs::read_to_string(fixture_path()).expect("fixture")).expect("fixture parses")
}

fn fixture_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path()).expect("fixture")).expect("fixture is JSON")
}

/// Renders into a fresh temporary folder; returns it (kept alive) and the page.
fn render(results: &Results) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = report::render(results, dir.path()).expect("report renders");
    assert_eq!(index, dir.path().join("index.html"));
    let html = std::fs::read_to_string(&index).expect("index.html");
    (dir, html)
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn name(transport: &str) -> &'static str {
    match transport {
        "short-poll" => "short polling",
        "delta-poll" => "delta polling",
        "long-poll" => "long polling",
        "sse" => "Server-Sent Events",
        "ws" => "WebSocket",
        other => panic!("unknown transport {other}"),
    }
}

/// Thousands separators, as the report writes integers.
fn int(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds as the report writes delays.
fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{} ms", int(ms.round() as u64))
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

fn ratio(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{}×", int(r.round() as u64))
    }
}

fn u(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or_else(|| panic!("{path} in {v}"))
}

/// The cells of the row of `transport` at `clients` in table `id`.
fn row(doc: &Html, id: &str, transport: &str, clients: u64) -> Vec<String> {
    let rows: Vec<Vec<String>> = doc
        .select(&sel(&format!("table#table-{id} tbody tr")))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .filter(|cells: &Vec<String>| {
            cells.len() > 1 && cells[0] == name(transport) && cells[1] == int(clients)
        })
        .collect();
    assert_eq!(rows.len(), 1, "one row for {transport} at {clients} in table {id}");
    rows.into_iter().next().unwrap_or_default()
}

#[test]
fn every_chart_is_an_svg_with_its_title_inline_and_beside_the_page() {
    let (dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("figure svg")).count(), CHARTS.len());
    for (id, title) in CHARTS {
        let figure = doc.select(&sel(&format!("figure#chart-{id}"))).next().unwrap_or_else(|| panic!("{id}"));
        let svg = figure.select(&sel("svg")).next().unwrap_or_else(|| panic!("{id} has an <svg>"));
        let svg_title = svg.select(&sel("title")).next().map(text);
        assert_eq!(svg_title.as_deref(), Some(title), "{id}'s <title>");
        let drawn: Vec<String> = svg.select(&sel("text")).map(text).collect();
        assert!(drawn.iter().any(|t| t == title), "{id} draws its title as SVG text: {drawn:?}");
        for transport in ["short-poll", "delta-poll", "long-poll", "sse", "ws"] {
            if id == "polling" && !transport.ends_with("-poll") {
                continue;
            }
            assert!(drawn.iter().any(|t| t == name(transport)), "{id}'s legend names {transport}");
        }
        // The standalone file is an SVG document a browser opens on its own: well-formed XML
        // in the SVG namespace.
        let file = std::fs::read_to_string(dir.path().join(format!("{id}.svg"))).expect("chart file");
        let xml = roxmltree::Document::parse(&file).unwrap_or_else(|e| panic!("{id}.svg is XML: {e}"));
        assert_eq!(xml.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
        let t = xml.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text());
        assert_eq!(t, Some(title));
    }
}

#[test]
fn axes_have_units_and_each_transport_keeps_its_colour() {
    let (_dir, html) = render(&fixture());
    for label in [
        "event delay (ms, log scale)",
        "percentile (nines scale)",
        "clients (log scale)",
        "bytes per delivered event",
        "server CPU seconds",
        "server resident memory, peak − start (MiB)",
        "requests/s (log scale)",
        "connect + handshake time (ms, log scale)",
        "deliveries per second",
    ] {
        assert!(html.contains(&format!("{label}\n</text>")), "axis label {label:?}");
    }
    // WebSocket's blue and short polling's vermillion, in every chart that shows them.
    let doc = Html::parse_document(&html);
    for (id, _) in CHARTS {
        let svg =
            doc.select(&sel(&format!("figure#chart-{id} svg"))).next().map(|e| e.html()).unwrap_or_default();
        assert!(svg.contains("#D55E00"), "{id} uses short polling's colour");
        if id != "polling" {
            assert!(svg.contains("#0072B2"), "{id} uses WebSocket's colour");
        }
    }
}

#[test]
fn every_step_is_in_the_tables_with_the_fixture_numbers() {
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    let json = fixture_json();
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 10);
    for s in steps {
        let t = s["transport"].as_str().expect("transport");
        let c = u(s, "/clients");
        let delivery = row(&doc, "delivery", t, c);
        for (i, path) in [
            (3, "/events_published"),
            (4, "/deliveries_expected"),
            (5, "/deliveries"),
            (6, "/coalesced"),
            (8, "/late"),
            (10, "/lost"),
            (12, "/duplicates"),
        ] {
            assert_eq!(delivery[i], int(u(s, path)), "{t} {c} {path}");
        }
        let share =
            |path: &str| format!("{:.1}%", 100.0 * u(s, path) as f64 / u(s, "/deliveries_expected") as f64);
        assert_eq!(delivery[7], share("/coalesced"), "{t} {c}");
        assert_eq!(delivery[9], share("/late"), "{t} {c}");
        assert_eq!(delivery[11], share("/lost"), "{t} {c}");
        // The fixture coalesces only where short polling does by design, and loses nothing.
        assert_eq!(u(s, "/coalesced") > 0, t == "short-poll", "{t} {c}");
        assert_eq!(u(s, "/lost"), 0, "{t} {c}");
        let kept_up = if t == "short-poll" && c == 100 {
            "no: 3 errors (timeout: 3)".to_string()
        } else if t == "short-poll" {
            format!(
                "yes, on state: {} of events seen only inside a later snapshot (coalesced, by design)",
                share("/coalesced")
            )
        } else {
            "yes, with every event".to_string()
        };
        assert_eq!(row(&doc, "kept-up", t, c)[2], kept_up, "{t} {c}");
        let delay = row(&doc, "delay", t, c);
        for (i, p) in [(2, "p50"), (3, "p90"), (4, "p99"), (6, "max")] {
            assert_eq!(delay[i], ms(u(s, &format!("/event_delay_us/{p}"))), "{t} {c} {p}");
        }
        // p99.9 only from 1,000 samples: below, the count instead.
        let samples = u(s, "/event_delay_us/count");
        let p999 = if samples >= 1000 {
            ms(u(s, "/event_delay_us/p999"))
        } else {
            format!("— (only {} samples)", int(samples))
        };
        assert_eq!(delay[5], p999, "{t} {c} p99.9 from {samples} samples");
        match s["request_latency_us"].as_object() {
            Some(_) => assert_eq!(delay[9], ms(u(s, "/request_latency_us/p99")), "{t} {c}"),
            None => assert_eq!(delay[9], "—", "{t} {c} has no request latency"),
        }
        let requests = row(&doc, "requests", t, c);
        let opened = if name(t).contains("poll") {
            int(u(s, "/requests"))
        } else {
            format!("{} (connections)", int(u(s, "/requests")))
        };
        assert_eq!(requests[2], opened, "{t} {c}: connections are not requests");
        if !name(t).contains("poll") {
            assert_eq!(requests[3], "—", "{t} {c}: no requests per second");
        }
        assert_eq!(requests[5], int(u(s, "/empty_polls")));
        assert_eq!(requests[7], int(u(s, "/messages")));
        let connect = row(&doc, "connect", t, c);
        assert_eq!(connect[2], int(u(s, "/connections_opened")));
        assert_eq!(connect[4], ms(u(s, "/connect_latency_us/p50")));
        assert_eq!(connect[6], ms(u(s, "/connect_latency_us/p99")));
        let bytes = row(&doc, "bytes", t, c);
        assert_eq!(bytes[2], int(u(s, "/wire_bytes/to_server")));
        assert_eq!(bytes[3], int(u(s, "/wire_bytes/to_client")));
        let per = s["wire_bytes_per_delivery"].as_f64().expect("per delivery");
        assert_eq!(bytes[6], format!("{} B", int(per.round() as u64)), "{t} {c}");
        let cost = row(&doc, "cost", t, c);
        let cpu = s["server"]["cpu_s"].as_f64().expect("cpu");
        assert_eq!(cost[2], format!("{cpu:.3}"));
        // Memory: the growth within the step first, then the absolute readings.
        let (start, peak) = (u(s, "/server/rss_start_bytes"), u(s, "/server/rss_peak_bytes"));
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
        assert_eq!(cost[4], mib(peak - start), "{t} {c} growth");
        assert_eq!(cost[5], format!("{:.1} KiB", (peak - start) as f64 / c as f64 / 1024.0), "{t} {c}");
        assert_eq!(cost[6], mib(start), "{t} {c} start");
        assert_eq!(cost[7], mib(peak), "{t} {c} peak");
        let timeline = row(&doc, "timeline", t, c);
        let per_s: Vec<String> = s["deliveries_per_s"]
            .as_array()
            .expect("per s")
            .iter()
            .map(|v| int(v.as_u64().unwrap_or(0)))
            .collect();
        assert_eq!(timeline[2], per_s.join(" · "));
    }
    // The step with errors, in the errors table and in red.
    let errors: Vec<Vec<String>> = doc
        .select(&sel("table#table-errors tbody tr"))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .collect();
    assert_eq!(errors, vec![vec!["short polling".to_string(), "100".into(), "timeout".into(), "3".into()]]);
}

#[test]
fn the_summary_figures_come_from_the_fixture() {
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    let summary = doc.select(&sel("section#summary")).next().map(text).expect("summary section");
    let json = fixture_json();
    let steps = json["steps"].as_array().expect("steps");
    let at = steps.iter().map(|s| u(s, "/clients")).max().expect("a step");
    assert_eq!(at, 100);
    let mut here: Vec<&Value> = steps.iter().filter(|s| u(s, "/clients") == at).collect();
    here.sort_by_key(|s| u(s, "/event_delay_us/p50"));
    let (fast, slow) = (here[0], here[here.len() - 1]);
    let expected = format!(
        "At 100 clients, {} had the shortest median event delay: its clients held an event {} after its \
         publication at the median and {} at p99",
        name(fast["transport"].as_str().unwrap_or("")),
        ms(u(fast, "/event_delay_us/p50")),
        ms(u(fast, "/event_delay_us/p99")),
    );
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    // One round: the difference is stated in units, never ranked, never as a ratio.
    let expected = format!(
        "The longest, {}, took {} at the median and {} at p99.",
        name(slow["transport"].as_str().unwrap_or("")),
        ms(u(slow, "/event_delay_us/p50")),
        ms(u(slow, "/event_delay_us/p99")),
    );
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    // The headline: WebSocket against the classic short poll, by event delay, first.
    let ws = here.iter().find(|s| s["transport"] == "ws").expect("ws");
    let sp = here.iter().find(|s| s["transport"] == "short-poll").expect("short poll");
    let (ws_p50, sp_p50) = (u(ws, "/event_delay_us/p50"), u(sp, "/event_delay_us/p50"));
    let half = sp_p50 as f64 / 1e6;
    assert!((0.45..=0.55).contains(&half), "the fixture polls every 1 s: about half of it, {half}");
    let expected = format!(
        "At 100 clients, WebSocket told clients of an event {} after it happened (median); short polling every \
         1 s, {}: about half the poll interval, because an event waits on average half an interval for the next \
         poll.",
        ms(ws_p50),
        ms(sp_p50),
    );
    let first = doc.select(&sel("section#summary p")).next().map(text).unwrap_or_default();
    assert_eq!(first, expected, "the headline is the summary's first line");
    let bytes = |s: &Value| {
        (u(s, "/wire_bytes/to_server") + u(s, "/wire_bytes/to_client")) as f64 / u(s, "/deliveries") as f64
    };
    let expected = format!(
        "At the median, WebSocket and short polling differ by {} (one round: not ranked). Per delivered event, \
         WebSocket moved {} B of TCP payload and short polling {} B: WebSocket and short polling differ by {} B \
         (one round: not ranked).",
        ms(sp_p50 - ws_p50),
        int(bytes(ws).round() as u64),
        int(bytes(sp).round() as u64),
        int((bytes(sp).round() - bytes(ws).round()) as u64),
    );
    assert!(
        summary.contains("With one round per step, this run ranks none of them"),
        "one round ranks nothing:\n{summary}"
    );
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    // Short polling's coalesced share, and what it keeps up on.
    let share = u(sp, "/coalesced") as f64 / u(sp, "/deliveries_expected") as f64;
    assert!((0.8..=0.91).contains(&share), "short polling at 10 events/s and 1 s polls: {share}");
    let expected = format!(
        "Short polling coalesced {:.1}% of the events at 100 clients ({} of {}): each poll shows only the \
         newest state",
        share * 100.0,
        int(u(sp, "/coalesced")),
        int(u(sp, "/deliveries_expected"))
    );
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    assert!(summary
        .contains("It can keep up on state (the score is right after every poll), not with every event"));
    assert!(
        summary.contains("Delta polling, long polling, Server-Sent Events and WebSocket delivered every event, none twice."),
        "{summary}"
    );
    assert!(summary.contains("No transport lost an event at 100 clients"), "{summary}");
    // Bytes: the heaviest and the lightest transport per delivered event.
    let per = |s: &Value| {
        (u(s, "/wire_bytes/to_server") + u(s, "/wire_bytes/to_client")) as f64 / u(s, "/deliveries") as f64
    };
    let mut by_bytes = here.clone();
    by_bytes.sort_by(|a, b| per(a).total_cmp(&per(b)));
    let (light, heavy) = (by_bytes[0], by_bytes[by_bytes.len() - 1]);
    let (hn, ln) =
        (name(heavy["transport"].as_str().unwrap_or("")), name(light["transport"].as_str().unwrap_or("")));
    let expected = format!(
        "{hn} moved {} B of TCP payload (both directions, HTTP headers included) and {ln} {} B: {hn} and {ln} \
         differ by {} B (one round: not ranked).",
        int(per(heavy).round() as u64),
        int(per(light).round() as u64),
        int((per(heavy).round() - per(light).round()) as u64),
    );
    if heavy["transport"] == "short-poll" && light["transport"] == "ws" {
        assert!(!summary.contains(&expected), "not said twice: the WebSocket-against-short-poll line has it");
    } else {
        assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    }
    // Where polling stopped keeping up: the fixture's only errors are short polling's 3
    // timeouts at 100 clients.
    assert!(
        summary.contains(
            "Short polling stopped keeping up at 100 clients: 3 errors (timeout: 3); at 10 clients it kept up on \
             state."
        ),
        "{summary}"
    );
    assert!(
        summary.contains(
            "Delta polling, long polling, Server-Sent Events and WebSocket kept up with every event at every \
             client count measured (up to 100)."
        ),
        "{summary}"
    );
    // The errors, in red at the top.
    let alert = doc.select(&sel("p.alert")).next().map(text).expect("an alert");
    assert!(alert.contains("This run had 3 errors: short polling at 100 clients (timeout: 3)"), "{alert}");
    assert!(html.contains(".alert { background: #fdecec; color: #a00000;"), "alerts are red");
}

/// The CSS classes of each cell of the row of `transport` at `clients` in table `id`.
/// The "at a glance" table has no client column: `clients` is `None` for it.
fn row_classes(doc: &Html, id: &str, transport: &str, clients: Option<u64>) -> Vec<String> {
    doc.select(&sel(&format!("table#table-{id} tbody tr")))
        .map(|tr| tr.select(&sel("td")).collect::<Vec<_>>())
        .find(|cells| {
            cells.len() > 1
                && text(cells[0]) == name(transport)
                && clients.is_none_or(|c| text(cells[1]) == int(c))
        })
        .unwrap_or_else(|| panic!("a row for {transport} at {clients:?} in table {id}"))
        .iter()
        .map(|td| td.value().attr("class").unwrap_or("").to_string())
        .collect()
}

fn head_of(doc: &Html, id: &str) -> Vec<String> {
    doc.select(&sel(&format!("table#table-{id} thead th"))).map(text).collect()
}

#[test]
fn coalesced_and_lost_have_their_own_columns_and_only_lost_is_red() {
    let mut results = fixture();
    // WebSocket fell behind at 100 clients and was resynced; SSE lost events there; short
    // polling at 10 clients coalesced some events whose publication time it could not read.
    for s in results.steps.iter_mut() {
        match (s.transport, s.clients) {
            (Transport::Ws, 100) => {
                s.deliveries -= 120;
                s.coalesced = 120;
            }
            (Transport::Sse, 100) => {
                s.deliveries -= 30;
                s.lost = 30;
            }
            (Transport::ShortPoll, 10) => s.coalesced_without_delay = 12,
            _ => {}
        }
    }
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    let head = head_of(&doc, "delivery");
    let columns = "Delivered|Coalesced|Coalesced %|Late|Late %|Lost|Lost %|Coalesced without a delay sample";
    for col in columns.split('|') {
        assert!(head.contains(&col.to_string()), "{col} in {head:?}");
    }
    // Short polling's coalesced events are by design: not red; its events without a delay are
    // shown.
    let sp = row(&doc, "delivery", "short-poll", 10);
    assert_eq!(
        (sp[6].as_str(), sp[7].as_str(), sp[10].as_str(), sp[14].as_str()),
        ("880", "89.8%", "0", "12")
    );
    let classes = row_classes(&doc, "delivery", "short-poll", Some(10));
    assert!(!classes[6].contains("bad") && !classes[7].contains("bad"), "{classes:?}");
    // A push transport's coalesced events are resyncs, said so, and it did not keep up.
    let ws = row(&doc, "delivery", "ws", 100);
    assert_eq!((ws[6].as_str(), ws[7].as_str()), ("120 (resyncs)", "1.2%"));
    assert!(!row_classes(&doc, "delivery", "ws", Some(100))[6].contains("bad"));
    assert_eq!(
        row(&doc, "kept-up", "ws", 100)[2],
        "no: fell behind: 120 events (1.2%) reached its clients only inside a resync snapshot (coalesced)"
    );
    // Lost events are red, for every transport.
    let sse = row(&doc, "delivery", "sse", 100);
    assert_eq!((sse[10].as_str(), sse[11].as_str()), ("30", "0.3%"));
    let classes = row_classes(&doc, "delivery", "sse", Some(100));
    assert!(classes[10].contains("bad") && classes[11].contains("bad"), "{classes:?}");
    assert!(!classes[8].contains("bad") && !classes[9].contains("bad"), "none late: {classes:?}");
    assert_eq!(row(&doc, "kept-up", "sse", 100)[2], "no: lost 30 events (0.3%)");
    let glance = row_classes(&doc, "glance", "sse", None);
    assert!(glance[5].contains("bad") && !glance[3].contains("bad"), "{glance:?}");
    let summary = doc.select(&sel("section#summary")).next().map(text).unwrap_or_default();
    for said in [
        "WebSocket fell behind and was resynced: 1.2% of the events at 100 clients (120 of 10,400) reached its \
         clients only inside a snapshot (coalesced)",
        "Server-Sent Events lost 0.3% of the events at 100 clients (30 of 10,400): its clients never held them",
        "WebSocket stopped keeping up at 100 clients: fell behind",
    ] {
        assert!(summary.contains(said), "{said}\nnot in\n{summary}");
    }
    assert!(!summary.contains("No transport lost an event"), "{summary}");

    // Without such events the column is not there, and the fixture's headers are the same but
    // for it.
    let (_dir, html) = render(&fixture());
    let plain = head_of(&Html::parse_document(&html), "delivery");
    assert_eq!(plain, head[..head.len() - 1]);
    let mut few = fixture();
    few.steps.retain(|s| s.transport == Transport::ShortPoll && s.clients == 100);
    few.steps[0].coalesced_without_delay = 7;
    let summary = renders_honestly(&few);
    assert!(summary
        .contains("; 7 of them have no delay sample, because their publication time could not be read."));
}

#[test]
fn late_events_are_red_beside_lost_and_a_tiny_lost_share_is_not_zero() {
    let mut results = fixture();
    for s in results.steps.iter_mut().filter(|s| s.clients == 100) {
        match s.transport {
            Transport::Ws => {
                s.deliveries -= 7;
                s.late = 7;
            }
            Transport::Sse => {
                // One event in a million: too few for one decimal, not zero.
                s.deliveries_expected *= 1000;
                s.deliveries = s.deliveries_expected - 1;
                s.lost = 1;
            }
            _ => {}
        }
    }
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    let ws = row(&doc, "delivery", "ws", 100);
    assert_eq!((ws[8].as_str(), ws[9].as_str()), ("7", "0.1%"));
    let classes = row_classes(&doc, "delivery", "ws", Some(100));
    assert!(classes[8].contains("bad") && classes[9].contains("bad"), "late is red: {classes:?}");
    assert!(row_classes(&doc, "glance", "ws", None)[4].contains("bad"));
    assert_eq!(
        row(&doc, "kept-up", "ws", 100)[2],
        "no: 7 events late (0.1%): not reached by the end of the drain"
    );
    let sse = row(&doc, "delivery", "sse", 100);
    assert_eq!((sse[10].as_str(), sse[11].as_str()), ("1", "<0.1%"));
    assert!(row_classes(&doc, "delivery", "sse", Some(100))[11].contains("bad"));
    let summary = doc.select(&sel("section#summary")).next().map(text).unwrap_or_default();
    for said in [
        "WebSocket was late with 0.1% of the events at 100 clients (7 of 10,400): its clients had not reached \
         them by the end of the drain.",
        "Server-Sent Events lost <0.1% of the events at 100 clients",
    ] {
        assert!(summary.contains(said), "{said}\nnot in\n{summary}");
    }
    assert!(!summary.contains("No transport lost an event"), "{summary}");
}

#[test]
fn a_short_poller_that_keeps_up_does_so_on_state_not_with_every_event() {
    let mut results = fixture();
    results.steps.iter_mut().for_each(|s| s.errors.clear());
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    let summary = doc.select(&sel("section#summary")).next().map(text).unwrap_or_default();
    for said in [
        "Short polling kept up on state at every client count measured (up to 100): the clients always had the \
         latest score within a poll, but saw most events only inside a later snapshot, not as events of their own.",
        "Delta polling, long polling, Server-Sent Events and WebSocket kept up with every event at every client \
         count measured (up to 100).",
    ] {
        assert!(summary.contains(said), "{said}\nnot in\n{summary}");
    }
    let json = fixture_json();
    let sp = json["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["transport"] == "short-poll" && s["clients"] == 100))
        .expect("short polling at 100");
    let share = 100.0 * u(sp, "/coalesced") as f64 / u(sp, "/deliveries_expected") as f64;
    let glance = |transport: &str| -> Vec<String> {
        doc.select(&sel("table#table-glance tbody tr"))
            .map(|tr| tr.select(&sel("td")).map(text).collect::<Vec<_>>())
            .find(|cells| cells[0] == name(transport))
            .unwrap_or_default()
    };
    assert_eq!(
        glance("short-poll")[3..6],
        [format!("{share:.1}%"), "0.0%".into(), "0.0%".into()],
        "coalesced, late, lost"
    );
    assert_eq!(
        glance("short-poll")[8],
        format!(
            "yes, on state: {share:.1}% of events seen only inside a later snapshot (coalesced, by design)"
        )
    );
    assert_eq!(glance("ws")[8], "yes, with every event");
    // The rules say the same.
    let how = doc.select(&sel("section#how-to-read")).next().map(text).unwrap_or_default();
    for said in [
        "lost no events; coalesced none, except short polling, which then keeps up on state rather than with \
         every event; no late events",
        "With polls back to back (a poll interval of 0) there is no interval: delays are then judged against 1 s",
        "p99.9 is given only from 1,000 samples or more",
        "still keeps up on state: after every poll its page shows the right score. What it does not deliver is \
         the event stream",
        "on average an event waits half an interval for the next poll",
    ] {
        assert!(how.contains(said), "{said}\nnot in\n{how}");
    }
}

#[test]
fn a_schema_1_file_says_what_its_figures_meant() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results-schema1.json");
    let old = Results::from_json(&std::fs::read_to_string(&path).expect("schema 1 fixture")).expect("parses");
    assert_eq!(old.upgraded_from, Some(1));
    let (_dir, html) = render(&old);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    let note = doc.select(&sel("p.note")).next().map(text).expect("a note");
    for said in [
        "This file was written in results schema 1",
        "Its short-polling delays are the age of the newest event in each changed snapshot, not event delays",
        "Its coalesced and lost counts were split by transport from one \"missed\" count: short polling's as \
         coalesced, every other transport's as lost.",
    ] {
        assert!(note.contains(said), "{said}\nnot in\n{note}");
    }
    // Near the top: before the summary.
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("<p class=\"note\">") < at("<section id=\"summary\">"));
    let summary = doc.select(&sel("section#summary")).next().map(text).unwrap_or_default();
    assert!(
        summary.contains(
            "(in this older file, short polling's figure is the age of the newest event in each snapshot"
        ),
        "{summary}"
    );
    // Its "missed" went to coalesced for short polling.
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let sp = json["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["transport"] == "short-poll" && s["clients"] == 100))
        .expect("short polling at 100");
    let delivery = row(&doc, "delivery", "short-poll", 100);
    assert_eq!((delivery[6].clone(), delivery[10].as_str()), (int(u(sp, "/missed")), "0"));

    // A schema 2 file has no note, and nothing of the old meaning is left on its page.
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("p.note")).count(), 0);
    let page = doc.select(&sel("main")).next().map(text).unwrap_or_default().to_lowercase();
    for old_word in ["missed", "newest event", "age of the newest", "delivery delay", "was fastest"] {
        assert!(!page.contains(old_word), "{old_word:?} on a schema 2 page");
    }
}

#[test]
fn the_2010_table_is_beside_this_runs_figures() {
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    let rows: Vec<Vec<String>> = doc
        .select(&sel("table#table-lubbers tbody tr"))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .collect();
    assert_eq!(rows[0][2..], ["6.6", "66", "665"]);
    assert_eq!(rows[1][2..], ["0.015", "0.153", "1.526"]);
    // WebSocket, this run: all wire bytes over all messages of the fixture's ws steps.
    let json = fixture_json();
    let ws: Vec<&Value> =
        json["steps"].as_array().expect("steps").iter().filter(|s| s["transport"] == "ws").collect();
    let bytes: u64 = ws.iter().map(|s| u(s, "/wire_bytes/to_server") + u(s, "/wire_bytes/to_client")).sum();
    let messages: u64 = ws.iter().map(|s| u(s, "/messages")).sum();
    let per = bytes as f64 / messages as f64;
    let row = rows.iter().find(|r| r[0] == "WebSocket, this run").expect("a measured WebSocket row");
    assert_eq!(row[1], format!("{} B per message, all TCP payload", int(per.round() as u64)));
    let mbit = per * 1000.0 * 8.0 / 1_048_576.0;
    let decimals = (2 - mbit.log10().floor() as i32).max(0) as usize;
    assert_eq!(row[2], format!("{mbit:.decimals$}"), "three significant digits");
    let section = doc.select(&sel("section#lubbers")).next().map(text).unwrap_or_default();
    assert!(section.contains("The 2010 figures count headers only"), "{section}");
}

#[test]
fn nothing_outside_the_file_is_referenced() {
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    for tag in ["script", "link", "img", "iframe", "object", "embed", "base"] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "no <{tag}>");
    }
    for e in doc.select(&sel("*")) {
        for (attr, value) in e.value().attrs() {
            assert!(!value.contains("://"), "<{} {attr}={value:?}> points outside", e.value().name());
            if attr == "href" {
                assert!(value.starts_with('#'), "only in-page links: {value}");
            }
        }
    }
    let style: String = doc.select(&sel("style")).map(|s| s.text().collect::<String>()).collect();
    assert!(!style.contains("url(") && !style.contains("@import"), "CSS loads nothing");
    // Web addresses only as plain text inside the citations.
    let cited: String = doc.select(&sel("cite")).map(|c| c.text().collect::<String>()).collect();
    assert!(cited.contains("http://www.websocket.org/quantum.html"), "the 2010 source is cited");
    for scheme in ["http://", "https://"] {
        assert_eq!(
            html.matches(scheme).count(),
            cited.matches(scheme).count(),
            "every {scheme} is inside a <cite>"
        );
    }
}

#[test]
fn text_from_the_results_is_written_as_text_not_markup() {
    let mut results = fixture();
    let hostile = "<script>alert(\"x\")</script> & 'more'";
    results.interrupted = Some(hostile.into());
    results.machine.cpu_model = "<b>CPU</b>".into();
    let (_dir, html) = render(&results);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("script")).count(), 0, "no element made from the results' text");
    let alert = doc.select(&sel("p.alert")).next().map(|e| e.text().collect::<String>()).unwrap_or_default();
    assert!(alert.contains(hostile), "{alert}");
    let meta = doc.select(&sel("p.meta")).next().map(|e| e.text().collect::<String>()).unwrap_or_default();
    assert!(meta.contains("<b>CPU</b>"), "{meta}");
    assert_eq!(doc.select(&sel("p.meta b")).count(), 0);
}

/// Parse errors html5ever reports for a document (empty: well-formed).
fn parse_errors(html: &str) -> Vec<String> {
    Html::parse_document(html).errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn the_page_is_well_formed_html() {
    let (_dir, html) = render(&fixture());
    assert_eq!(parse_errors(&html), Vec::<String>::new());
}

#[test]
fn the_parser_used_above_does_reject_malformed_markup() {
    let good = "<!DOCTYPE html><html lang=\"en\"><head><title>t</title></head><body><p>ok</p></body></html>";
    assert_eq!(parse_errors(good), Vec::<String>::new());
    for bad in [
        // mis-nested end tags
        "<!DOCTYPE html><html><head><title>t</title></head><body><div><span></div></span></body></html>",
        // an element left open at the end
        "<!DOCTYPE html><html><head><title>t</title></head><body><div><table><tr><td>x</body></html>",
        // no doctype
        "<html><head><title>t</title></head><body></body></html>",
        // a stray end tag
        "<!DOCTYPE html><html><head><title>t</title></head><body></td></body></html>",
        // a bare ampersand-hash
        "<!DOCTYPE html><html><head><title>t</title></head><body>&#;</body></html>",
    ] {
        assert!(!parse_errors(bad).is_empty(), "html5ever accepted {bad}");
    }
}

#[test]
fn render_dir_writes_the_report_beside_the_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("results.json");
    std::fs::copy(fixture_path(), &json).expect("copy fixture");
    let index = report::render_dir(&json).expect("renders");
    assert_eq!(index, dir.path().join("index.html"));
    for (id, _) in CHARTS {
        assert!(dir.path().join(format!("{id}.svg")).is_file(), "{id}.svg");
    }
    let missing = report::render_dir(&dir.path().join("nope.json")).expect_err("no such file");
    assert!(format!("{missing:#}").contains("nope.json"), "{missing:#}");
}

/// Renders `results` and checks what every report must hold.
fn renders_honestly(results: &Results) -> String {
    let (_dir, html) = render(results);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&sel("figure svg title")).count(), CHARTS.len());
    assert!(!html.contains("NaN") && !html.contains("inf"), "no NaN or infinity drawn or written");
    doc.select(&sel("section#summary")).next().map(text).unwrap_or_default()
}

/// The numbers drawn as SVG text in a chart (tick labels and the like).
fn drawn_numbers(doc: &Html, id: &str) -> Vec<f64> {
    let svg = doc.select(&sel(&format!("figure#chart-{id} svg"))).next().expect("chart");
    svg.select(&sel("text")).filter_map(|t| text(t).replace(',', "").parse::<f64>().ok()).collect()
}

/// The text of the first element `selector` finds, or nothing.
fn first_text(doc: &Html, selector: &str) -> String {
    doc.select(&sel(selector)).next().map(text).unwrap_or_default()
}

#[test]
fn memory_is_the_growth_within_each_step_not_what_earlier_steps_left() {
    // Every step starts on 1 GiB that earlier steps left behind and grows by at most 11 MiB.
    let mut later = fixture();
    for s in later.steps.iter_mut() {
        s.server.rss_start_bytes += 1 << 30;
        s.server.rss_peak_bytes += 1 << 30;
    }
    let (_dir, html) = render(&later);
    let doc = Html::parse_document(&html);
    let drawn = drawn_numbers(&doc, "server-cost");
    assert!(drawn.iter().all(|v| *v < 1000.0), "the memory panel draws the growth, not ~1 GiB: {drawn:?}");
    let json = fixture_json();
    let ws = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["transport"] == "ws" && s["clients"] == 100);
    let growth =
        ws.map(|s| u(s, "/server/rss_peak_bytes") - u(s, "/server/rss_start_bytes")).expect("ws at 100");
    let cost = row(&doc, "cost", "ws", 100);
    assert_eq!(cost[4], format!("{:.1} MiB", growth as f64 / 1048576.0));
    assert!(cost[7].starts_with("1,0") || cost[7].starts_with("10"), "the absolute peak stays: {cost:?}");
    assert!(head_of(&doc, "cost").contains(&"Server memory growth in the step (peak − start)".to_string()));
    let caption = first_text(&doc, "figure#chart-server-cost figcaption");
    assert!(caption.contains("how much the server's resident memory grew within the step"), "{caption}");
    let how = first_text(&doc, "section#how-to-read");
    assert!(how.contains("Memory per step is the growth of the server's resident memory within the step"));
    assert!(how.contains("its allocator keeps memory it has freed"), "{how}");

    // Without a reading at the start there is no growth to show: a dash, and the chart says so.
    let mut unread = fixture();
    unread.steps.iter_mut().for_each(|s| s.server.rss_start_bytes = 0);
    let (_dir, html) = render(&unread);
    let doc = Html::parse_document(&html);
    assert_eq!(row(&doc, "cost", "ws", 100)[4], "—");
    assert!(html.contains("Not drawn, no memory readings: short polling at 10"), "the legend says why");
}

#[test]
fn the_timeline_reference_is_the_measured_feed_rate_not_the_configured_one() {
    // A --target server fed about 10 events/s while the run was configured with 1,000/s.
    let mut target = fixture();
    target.config.target = Some("127.0.0.1:9".into());
    target.config.rate = 1000.0;
    let (_dir, html) = render(&target);
    let doc = Html::parse_document(&html);
    let svg = doc.select(&sel("figure#chart-timeline svg")).next().expect("timeline");
    let drawn: Vec<String> = svg.select(&sel("text")).map(text).collect();
    let json = fixture_json();
    for clients in [10u64, 100] {
        let at: Vec<&Value> =
            json["steps"].as_array().expect("steps").iter().filter(|s| u(s, "/clients") == clients).collect();
        let events: u64 = at.iter().map(|s| u(s, "/events_published")).sum();
        let seconds: f64 = at.iter().map(|s| s["measured_s"].as_f64().expect("measured_s")).sum();
        let rate = format!("{:.3}", events as f64 / seconds);
        let rate = rate.trim_end_matches('0').trim_end_matches('.');
        let caption = format!("{clients} clients, feed measured at {rate}/s");
        assert!(drawn.contains(&caption), "{caption:?} in {drawn:?}");
    }
    assert!(
        drawn.iter().any(|t| t == "feed rate as measured (events published ÷ window) × clients"),
        "{drawn:?}"
    );
    // The 100-client panel's line sits near 1,040/s, not at 100,000/s.
    let top = drawn_numbers(&doc, "timeline").into_iter().fold(0f64, f64::max);
    assert!((1000.0..5000.0).contains(&top), "the y axis ends near the measured rate: {top}");
    let caption = first_text(&doc, "figure#chart-timeline figcaption");
    assert!(caption.contains("The grey dashed line is the feed's rate as measured"), "{caption}");
}

#[test]
fn the_words_say_what_was_measured_and_no_more() {
    let (_dir, html) = render(&fixture());
    let doc = Html::parse_document(&html);
    // The server's CPU seconds are not its work alone, and no handshake of the ramp-up is in
    // the window's bytes.
    let page = first_text(&doc, "main");
    for overclaim in ["alone", "handshakes and framing included", "headers, handshakes", "everything counted"]
    {
        assert!(!page.contains(overclaim), "{overclaim:?} is still said");
    }
    let how = first_text(&doc, "section#how-to-read");
    for said in [
        "Server CPU is the CPU seconds the server process was charged during the measured window",
        "on loopback the kernel charges much of the receiving side's TCP work to the process that sends",
        "the server and the load generator share the machine's cores",
        "the server's fixed costs (publishing the feed, answering two /metrics readings a second) are included",
        "Wire bytes are TCP payload, counted at the server's sockets",
        "the TCP/IP headers and ACKs the kernel adds (about 52 B a segment)",
        "the handshakes made while the clients connected, during the ramp-up before the window",
    ] {
        assert!(how.contains(said), "{said}\nnot in\n{how}");
    }
    let caption = |id: &str| first_text(&doc, &format!("figure#chart-{id} figcaption"));
    assert!(
        caption("bytes").starts_with("TCP payload counted at the server's sockets"),
        "{}",
        caption("bytes")
    );
    assert!(caption("server-cost").contains("CPU seconds the server process was charged in the window"));
    assert!(html.contains("TCP payload bytes per delivered event\n</text>"), "chart 3's axis");
    let bytes = head_of(&doc, "bytes");
    assert!(bytes.contains(&"Client → server, TCP payload B".to_string()), "{bytes:?}");
    assert!(head_of(&doc, "glance").contains(&"TCP payload bytes per event".to_string()));
}

#[test]
fn edge_cases_render_honestly() {
    // One client count: single points.
    let mut one = fixture();
    one.steps.retain(|s| s.clients == 10);
    one.config.clients = vec![10];
    let summary = renders_honestly(&one);
    assert!(summary.contains("At 10 clients"), "{summary}");

    // A step that delivered nothing, a push transport without spectrum, an interrupted run.
    let mut odd = fixture();
    odd.interrupted = Some("Ctrl-C".into());
    if let Some(s) = odd.steps.iter_mut().find(|s| s.transport == Transport::Sse && s.clients == 100) {
        s.deliveries = 0;
        s.lost = s.deliveries_expected;
        s.event_delay_us = Default::default();
        s.deliveries_per_s = vec![0; 10];
        s.wire_bytes_per_delivery = 0.0;
    }
    if let Some(s) = odd.steps.iter_mut().find(|s| s.transport == Transport::Ws && s.clients == 100) {
        // A window in which the feed published nothing: nothing to judge the transport by.
        s.events_published = 0;
        s.deliveries_expected = 0;
        s.deliveries = 0;
        s.messages = 0;
        s.event_delay_us = Default::default();
        s.deliveries_per_s = vec![0];
        s.measured_s = 0.004;
    }
    for s in odd.steps.iter_mut() {
        s.event_delay_us.spectrum.clear();
    }
    let (_dir, html) = render(&odd);
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    assert!(html.contains("This run was cut short (Ctrl-C)"));
    assert!(
        html.contains("no event delay measured: Server-Sent Events"),
        "the spectrum says what it could not draw"
    );
    assert!(html.contains("Server-Sent Events stopped keeping up at 100 clients: delivered nothing"));
    assert!(html.contains("WebSocket kept up with every event at every client count measured (up to 10)."));
    assert!(html.contains(
        "Not measured, because the feed published no event during the step&#39;s window: WebSocket at 100 clients."
    ));
    assert!(
        html.contains("At 10 clients, WebSocket had the shortest median event delay"),
        "the headline compares where all five delivered"
    );

    // Push transports only: no request latency anywhere, no polling chart data.
    let mut push = fixture();
    push.steps.retain(|s| !s.transport.is_poll());
    push.config.transports = vec![Transport::Sse, Transport::Ws];
    push.steps.iter_mut().for_each(|s| s.errors.clear());
    let summary = renders_honestly(&push);
    assert!(summary.contains("Server-Sent Events and WebSocket kept up with every event"), "{summary}");

    // Nothing ran at all.
    let mut none = fixture();
    none.steps.clear();
    none.interrupted = Some("server_gone".into());
    let summary = renders_honestly(&none);
    assert!(summary.contains("No step ran"), "{summary}");
}

/// Headless Chromium opens the report and takes a full-page screenshot, kept under
/// `runs/ci/report-fixture/` (or `runs/ci/report-run/` for the results named by
/// `PUSHPULL_REPORT_RESULTS`, e.g. those of a short real run); the browser's log must show no
/// console error. Run it with `cargo test -p reports --test report -- --ignored`; without
/// Chromium it skips, except under `CI=true`, where it fails.
#[test]
#[ignore = "needs chromium"]
fn chromium_shows_the_report_without_console_errors() {
    if !browser::require("the report's Chromium check", &[browser::Browser::Chromium.binary()]) {
        return;
    }
    let (results, name) = match std::env::var_os("PUSHPULL_REPORT_RESULTS") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).expect("PUSHPULL_REPORT_RESULTS names a results.json");
            (Results::from_json(&text).expect("results parse"), "report-run")
        }
        None => (fixture(), "report-fixture"),
    };
    let out = test_support::artifacts(name);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("runs/ci");
    let index = report::render(&results, &out).expect("renders").canonicalize().expect("path");
    let url = format!("file://{}", index.display());

    // First pass: the page's height, measured by a tiny page of our own (the report itself
    // has no script) that loads it in a frame.
    let probe = out.join("height-probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><html><body><iframe id=f src=\"index.html\" style=\"width:1400px;height:100px\"></iframe>\
         <script>f.onload=()=>{document.title='H'+f.contentDocument.documentElement.scrollHeight;}</script></body></html>",
    )
    .expect("probe");
    let dom =
        chromium(&["--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom"], &probe);
    let height: u32 = dom
        .0
        .split("<title>H")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|h| h.parse().ok())
        .unwrap_or(12_000);
    let _ = std::fs::remove_file(&probe);

    // The check below can see console errors: a page that makes one is caught.
    let canary = out.join("console-canary.html");
    std::fs::write(&canary, "<!DOCTYPE html><title>c</title><script>console.error('canary')</script>")
        .expect("canary");
    let (_, canary_log) = chromium(&["--enable-logging=stderr", "--v=0", "--dump-dom"], &canary);
    assert!(!console_lines(&canary_log).is_empty(), "chromium's log shows console errors:\n{canary_log}");
    let _ = std::fs::remove_file(&canary);

    let shot = out.join("screenshot.png");
    let size = format!("--window-size=1400,{}", height.clamp(800, 30_000));
    let shot_arg = format!("--screenshot={}", shot.display());
    let (_, log) =
        chromium(&[&shot_arg, &size, "--hide-scrollbars", "--enable-logging=stderr", "--v=0"], &index);
    assert!(shot.is_file(), "screenshot written; chromium said:\n{log}");
    let console = console_lines(&log);
    assert!(console.is_empty(), "console errors opening {url}:\n{}", console.join("\n"));
    eprintln!("screenshot ({height} px high): {}", shot.display());
}

/// Lines of Chromium's log that report the page's console messages or script errors.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("Failed to load"))
        .collect()
}

use test_support::browser;

/// Longest one headless Chromium run of the report check may take.
const CHROMIUM_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs headless Chromium (`test_support`'s flags, `PUSHPULL_CHROMIUM` or /usr/bin/chromium)
/// on a file, bounded; returns its stdout and stderr.
fn chromium(args: &[&str], page: &Path) -> (String, String) {
    let profile = test_support::files::temp_dir();
    let output = test_support::process::output_within(
        browser::chromium(profile.path()).args(args).arg(format!("file://{}", page.display())),
        CHROMIUM_LIMIT,
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The fixture run three times, every delay scaled by 0.9, 1.0 and 1.1 in its three rounds:
/// WebSocket's and SSE's ranges overlap, and so do delta and short polling's.
fn three_rounds() -> Results {
    let mut r = fixture();
    r.config.repeat = 3;
    let base = std::mem::take(&mut r.steps);
    for (round, f) in [0.9, 1.0, 1.1].into_iter().enumerate() {
        for s in &base {
            let mut s = s.clone();
            s.round = round as u32;
            let scale = |x: u64| (x as f64 * f).round() as u64;
            s.event_delay_us.p50 = scale(s.event_delay_us.p50);
            s.event_delay_us.p99 = scale(s.event_delay_us.p99);
            r.steps.push(s);
        }
    }
    r
}

#[test]
fn repeated_rounds_show_medians_with_ranges_and_rank_only_separated_differences() {
    let (_dir, html) = render(&three_rounds());
    assert_eq!(parse_errors(&html), Vec::<String>::new());
    let doc = Html::parse_document(&html);
    let summary = doc.select(&sel("section#summary")).next().map(text).expect("summary section");
    let (ws, sp) = (4100u64, 502_285u64);
    let expected = format!(
        "At 100 clients, WebSocket told clients of an event {} ({}–{}) after it happened (median; the median of 3 \
         rounds, their range in brackets)",
        ms(ws),
        ms(3690),
        ms(4510)
    );
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    // WebSocket's 4.10 ms is below the noise (short polling's rounds span 100 ms): a
    // difference, no ratio.
    let expected = format!("At the median, WebSocket was sooner by {}.", ms(sp - ws));
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    assert!(
        summary.contains(
            "Ranked only where the rounds' ranges do not overlap: WebSocket ≈ Server-Sent Events < long \
             polling < delta polling ≈ short polling"
        ),
        "overlapping neighbours are not ranked:\n{summary}"
    );
    assert!(!summary.contains("With one round per step"), "{summary}");
    // Bytes agree across the rounds (the same in all three) and stand far above their
    // spread: a difference and a ratio.
    let json = fixture_json();
    let at = |t: &str| {
        json["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["transport"] == t && u(s, "/clients") == 100))
            .map(|s| {
                ((u(s, "/wire_bytes/to_server") + u(s, "/wire_bytes/to_client")) as f64
                    / u(s, "/deliveries") as f64)
                    .round()
            })
            .expect("a step")
    };
    let (wb, pb) = (at("ws"), at("short-poll"));
    let expected = format!("WebSocket was lighter by {} B ({})", int((pb - wb) as u64), ratio(pb / wb));
    assert!(summary.contains(&expected), "{expected}\nnot in\n{summary}");
    if std::env::var_os("SHOW_SUMMARY").is_some() {
        println!("{summary}");
    }
    // The glance table: medians with ranges; the per-step tables: one row per round, numbered.
    let glance: Vec<Vec<String>> = doc
        .select(&sel("table#table-glance tbody tr"))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .collect();
    assert_eq!(glance.len(), 5, "one row per transport, not per round");
    let ws_row = glance.iter().find(|r| r[0] == "WebSocket").expect("a WebSocket row");
    assert_eq!(ws_row[1], format!("{} ({}–{})", ms(ws), ms(3690), ms(4510)));
    let rounds: Vec<String> = doc
        .select(&sel("table#table-delay tbody tr"))
        .map(|tr| tr.select(&sel("td")).map(text).collect::<Vec<_>>())
        .filter(|r| r[0] == "WebSocket" && r[1] == "100")
        .map(|r| r[2].clone())
        .collect();
    assert_eq!(rounds, ["1", "2", "3"], "each round a row, numbered");
}
