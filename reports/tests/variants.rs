//! The report of a run that swept variants (`fixtures/results-variants.json`: five variants of
//! HTTP/1.1 or HTTP/2, cleartext or TLS, uncompressed or compressed, × 5 transports × 10 and
//! 100 clients, modelled by `make_variants.py`), read back with html5ever and roxmltree; and
//! the single-variant fixture, which must show no trace of variants.
//!
//! Expected figures are computed here from the fixture's JSON.

use std::path::Path;

use proto::results::Results;
use reports as report;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;

fn read(name: &str) -> (Results, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    (Results::from_json(&text).expect("parses"), serde_json::from_str(&text).expect("JSON"))
}

fn render(results: &Results) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = report::render(results, dir.path()).expect("renders");
    let html = std::fs::read_to_string(index).expect("index.html");
    (dir, html)
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text(e: ElementRef<'_>) -> String {
    e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text with no-break spaces as plain ones.
fn plain(s: &str) -> String {
    s.replace('\u{a0}', " ")
}

fn rows(doc: &Html, id: &str) -> Vec<Vec<String>> {
    doc.select(&sel(&format!("table#table-{id} tbody tr")))
        .map(|tr| tr.select(&sel("td")).map(text).collect())
        .collect()
}

fn head(doc: &Html, id: &str) -> Vec<String> {
    doc.select(&sel(&format!("table#table-{id} thead th"))).map(text).collect()
}

const PLAIN: [(&str, &str); 6] = [
    ("h1", "HTTP/1.1"),
    ("h2", "HTTP/2"),
    ("off", "cleartext"),
    ("on", "TLS"),
    ("z-off", "uncompressed"),
    ("z-on", "compressed"),
];

fn plain_name(dimension: &str, v: &str) -> &'static str {
    let key = if dimension == "compression" { format!("z-{v}") } else { v.to_string() };
    PLAIN.iter().find(|(k, _)| *k == key).map(|(_, p)| *p).expect("known value")
}

/// A step's variant as the tables write it: protocol, TLS, compression.
fn variant_cells(step: &Value) -> Vec<String> {
    ["protocol", "tls", "compression"]
        .iter()
        .map(|d| plain_name(d, step["variant"][d].as_str().expect("value")).to_string())
        .collect()
}

fn transport_name(t: &str) -> &'static str {
    match t {
        "short-poll" => "short polling",
        "delta-poll" => "delta polling",
        "long-poll" => "long polling",
        "sse" => "Server-Sent Events",
        "ws" => "WebSocket",
        other => panic!("unknown transport {other}"),
    }
}

fn step<'j>(json: &'j Value, t: &str, variant: [&str; 3], clients: u64) -> &'j Value {
    json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["transport"] == t
                && s["clients"] == clients
                && s["variant"]["protocol"] == variant[0]
                && s["variant"]["tls"] == variant[1]
                && s["variant"]["compression"] == variant[2]
        })
        .unwrap_or_else(|| panic!("{t} {variant:?} {clients}"))
}

fn total(s: &Value) -> f64 {
    (s["wire_bytes"]["to_server"].as_u64().expect("n") + s["wire_bytes"]["to_client"].as_u64().expect("n"))
        as f64
}

fn bytes(b: f64) -> String {
    format!("{} B", report::format::round(b))
}

#[test]
fn every_step_table_has_one_column_per_varying_dimension_and_a_row_per_series() {
    let (results, json) = read("results-variants.json");
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    let steps = json["steps"].as_array().expect("steps");
    for id in ["delivery", "kept-up", "delay", "requests", "connect", "bytes", "cost", "timeline", "spectrum"]
    {
        let h = head(&doc, id);
        assert_eq!(h[..5], ["Transport", "Protocol", "TLS", "Compression", "Clients"], "table {id}: {h:?}");
        let rows = rows(&doc, id);
        assert_eq!(rows.len(), steps.len(), "table {id}");
        for s in steps {
            let mut key = vec![transport_name(s["transport"].as_str().expect("t")).to_string()];
            key.extend(variant_cells(s));
            key.push(s["clients"].as_u64().expect("clients").to_string());
            assert_eq!(rows.iter().filter(|r| r[..5] == key[..]).count(), 1, "table {id}: {key:?}");
        }
    }
    // At a glance: the series at the headline count (100 clients), variant columns and all.
    let h = head(&doc, "glance");
    assert_eq!(h[..4], ["Transport", "Protocol", "TLS", "Compression"], "{h:?}");
    assert_eq!(rows(&doc, "glance").len(), 25, "5 transports × 5 variants");
    // The bytes table's per-request figure of short polling over HTTP/2, from the JSON.
    let h2 = step(&json, "short-poll", ["h2", "off", "off"], 100);
    let row = rows(&doc, "bytes")
        .into_iter()
        .find(|r| r[..5] == ["short polling", "HTTP/2", "cleartext", "uncompressed", "100"])
        .expect("row");
    assert_eq!(plain(&row[10]), bytes(total(h2) / h2["requests"].as_f64().expect("n")));
}

#[test]
fn legends_name_the_variants_and_keep_the_transports_colour() {
    let (results, _json) = read("results-variants.json");
    let dir = tempfile::tempdir().expect("temp dir");
    report::render(&results, dir.path()).expect("renders");
    for chart in ["latency", "bytes", "server-cost", "connect", "timeline", "spectrum"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("{chart}.svg"))).expect("svg");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(|t| plain(t.trim()))
            .collect();
        // One key per transport in its colour, then one per variant, in ink.
        for name in [
            "WebSocket",
            "short polling",
            "HTTP/1.1, cleartext, uncompressed",
            "HTTP/1.1, TLS, uncompressed",
            "HTTP/2, TLS, compressed",
        ] {
            assert!(texts.iter().any(|t| t == name), "{chart}: {name} in {texts:?}");
        }
    }
    // The connect chart's rows name the whole series.
    let svg = std::fs::read_to_string(dir.path().join("connect.svg")).expect("svg");
    assert!(plain(&svg).contains("WebSocket, HTTP/2, TLS, compressed, 100"), "a row per series");
    // Colour stays the transport's; a variant is told by its dash: short segments of
    // WebSocket's blue, which a single-variant run never draws.
    let dashes = |svg: &str| {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#0072B2"))
            .filter(|n| n.attribute("stroke-width") == Some("3"))
            .filter(|n| {
                let xy: Vec<f64> = n
                    .attribute("points")
                    .unwrap_or("")
                    .split([' ', ','])
                    .filter_map(|v| v.parse().ok())
                    .collect();
                xy.len() == 4 && ((xy[2] - xy[0]).powi(2) + (xy[3] - xy[1]).powi(2)).sqrt() < 30.0
            })
            .count()
    };
    let svg = std::fs::read_to_string(dir.path().join("latency.svg")).expect("svg");
    assert!(dashes(&svg) > 10, "dashed WebSocket lines in the variants run");
    let (single, _) = read("results.json");
    let one = tempfile::tempdir().expect("temp dir");
    report::render(&single, one.path()).expect("renders");
    let svg = std::fs::read_to_string(one.path().join("latency.svg")).expect("svg");
    assert_eq!(dashes(&svg), 0, "a single-variant run draws solid lines only");
}

#[test]
fn the_2010_table_has_rows_for_http2_and_tls_and_the_empty_poll() {
    let (results, json) = read("results-variants.json");
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    let rows = rows(&doc, "lubbers");
    let find = |label: &str| {
        rows.iter().find(|r| r[0] == label).unwrap_or_else(|| panic!("row {label} in {rows:?}")).clone()
    };
    // Every poll of the short-poll series, both client counts, over all their polls.
    let series = |v: [&str; 3]| [step(&json, "short-poll", v, 10), step(&json, "short-poll", v, 100)];
    let per_poll = |v: [&str; 3]| {
        let s = series(v);
        (total(s[0]) + total(s[1]))
            / (s[0]["requests"].as_f64().expect("n") + s[1]["requests"].as_f64().expect("n"))
    };
    let h2 = find("short polling, HTTP/2, cleartext, uncompressed, this run");
    assert!(plain(&h2[1]).starts_with(&bytes(per_poll(["h2", "off", "off"]))), "{h2:?}");
    let tls = find("WebSocket, HTTP/1.1, TLS, uncompressed, this run");
    assert!(plain(&tls[1]).ends_with("per message, all TCP payload"), "{tls:?}");
    // 40 % of the fixture's short polls are empty, not all: only a poll's request is exact.
    let request = |v: [&str; 3]| {
        let s = series(v);
        (s[0]["wire_bytes"]["to_server"].as_f64().expect("n")
            + s[1]["wire_bytes"]["to_server"].as_f64().expect("n"))
            / (s[0]["requests"].as_f64().expect("n") + s[1]["requests"].as_f64().expect("n"))
    };
    for (v, label) in
        [(["h1", "off", "off"], "HTTP/1.1, cleartext"), (["h2", "off", "off"], "HTTP/2, cleartext")]
    {
        let row = find(&format!("short polling, {label}, uncompressed, one poll's request, this run"));
        assert!(
            plain(&row[1])
                .starts_with(&format!("{} (client → server payload ÷ polls, exact", bytes(request(v)))),
            "{row:?}"
        );
    }
    // When every poll of a series was empty, its row is one empty poll, request and answer.
    let (mut all_empty, _) = read("results-variants.json");
    for s in all_empty.steps.iter_mut().filter(|s| s.transport == proto::Transport::ShortPoll) {
        s.empty_polls = s.requests;
    }
    let (_dir, html) = render(&all_empty);
    let doc = Html::parse_document(&html);
    let again = self::rows(&doc, "lubbers");
    let row = again
        .iter()
        .find(|r| r[0] == "short polling, HTTP/2, cleartext, uncompressed, one empty (304) poll, this run")
        .expect("the empty-poll row");
    assert_eq!(
        plain(&row[1]),
        format!(
            "{} (every poll in the window was empty: all TCP payload ÷ polls)",
            bytes(per_poll(["h2", "off", "off"]))
        )
    );
}

fn summary(html: &str) -> Vec<String> {
    Html::parse_document(html).select(&sel("#summary p")).map(text).map(|t| plain(&t)).collect()
}

#[test]
fn the_summary_says_what_http2_tls_and_compression_changed_with_the_runs_figures() {
    let (results, json) = read("results-variants.json");
    let (_dir, html) = render(&results);
    let lines = summary(&html);
    let find = |start: &str| {
        lines.iter().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("{start} in {lines:#?}")).clone()
    };
    let per_poll = |v| {
        let s = step(&json, "short-poll", v, 100);
        total(s) / s["requests"].as_f64().expect("n")
    };
    let (h1, h2) = (per_poll(["h1", "off", "off"]), per_poll(["h2", "off", "off"]));
    let http2 = find("HTTP/2 changed what a poll costs");
    assert!(
        http2.contains(&format!(
            "short polling {} over HTTP/1.1 and {} over HTTP/2 ({} less)",
            bytes(h1),
            bytes(h2),
            bytes(h1 - h2)
        )),
        "{http2}"
    );
    assert!(http2.contains("at 100 clients, cleartext, uncompressed:"), "{http2}");
    let connect = |v| step(&json, "ws", v, 100)["connect_latency_us"]["p50"].as_f64().expect("p50");
    let tls = find("TLS changed the time to connect");
    let (c0, c1) = (connect(["h1", "off", "off"]), connect(["h1", "on", "off"]));
    let ms = |us: f64| plain(&report::format::latency_us(us));
    assert!(
        tls.contains(&format!(
            "WebSocket {} in cleartext and {} with TLS ({} more)",
            ms(c0),
            ms(c1),
            ms(c1 - c0)
        )),
        "{tls}"
    );
    let per_event = |t, v| {
        let s = step(&json, t, v, 100);
        total(s) / s["deliveries"].as_f64().expect("n")
    };
    let z = find("Compression changed the bytes");
    let (off, on) = (per_event("ws", ["h1", "off", "off"]), per_event("ws", ["h1", "off", "on"]));
    assert!(
        z.contains(&format!(
            "WebSocket {} uncompressed and {} compressed ({} less)",
            bytes(off),
            bytes(on),
            bytes(off - on)
        )),
        "{z}"
    );
    let cpu = find("What compression cost the server");
    let per_1000 = |v| {
        let s = step(&json, "ws", v, 100);
        s["server"]["cpu_s"].as_f64().expect("cpu") * 1000.0 / s["deliveries"].as_f64().expect("n")
    };
    let real = report::format::real;
    assert!(
        cpu.contains(&format!(
            "WebSocket {} s uncompressed and {} s compressed",
            real(per_1000(["h1", "off", "off"])),
            real(per_1000(["h1", "off", "on"]))
        )),
        "{cpu}"
    );
    // The lightest once both sides compress, from the JSON.
    let mut on: Vec<(&str, f64)> = ["short-poll", "delta-poll", "long-poll", "sse", "ws"]
        .iter()
        .map(|t| (*t, per_event(t, ["h1", "off", "on"])))
        .collect();
    on.sort_by(|a, b| a.1.total_cmp(&b.1));
    let lightest = find("Once both sides compress");
    assert!(
        lightest.contains(&format!(
            "{} moved the fewest bytes per delivered event, {}",
            transport_name(on[0].0),
            bytes(on[0].1)
        )),
        "{lightest}"
    );
    // "How to read" explains each dimension the run used.
    for part in ["Protocol, TLS and compression", "HTTP/2 and HPACK", "<b>TLS</b>", "<b>Compression</b>"] {
        assert!(html.contains(part), "{part}");
    }
    // The headline compares WebSocket and short polling over the first variant, and says which.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("At 100 clients over HTTP/1.1, cleartext, uncompressed, WebSocket")),
        "{lines:#?}"
    );
}

#[test]
fn a_single_variant_run_shows_no_trace_of_variants() {
    let (results, _json) = read("results.json");
    let (_dir, html) = render(&results);
    let doc = Html::parse_document(&html);
    for id in ["glance", "delivery", "bytes", "connect", "cost", "errors"] {
        let h = head(&doc, id);
        assert!(!h.iter().any(|c| c == "Protocol" || c == "TLS" || c == "Compression"), "{id}: {h:?}");
    }
    let lines = summary(&html);
    for start in
        ["HTTP/2 changed", "TLS changed", "Compression changed", "What compression cost", "Once both sides"]
    {
        assert!(!lines.iter().any(|l| l.starts_with(start)), "{start}");
    }
    assert!(!html.contains("one empty (304) poll"));
    assert!(!html.contains("Protocol, TLS and compression"), "no How-to-read part on variants");
    assert!(!html.contains("Variants (protocol, TLS, compression)"));
}
