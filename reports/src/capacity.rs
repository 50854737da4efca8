//! The capacity report: `capacity.json` in, `capacity.html` and `capacity.svg` out. One chart
//! (clients each transport held at the service level, a bar each, with what stopped it), the
//! probes behind it in a table with the reason each missed, the service level and the machine.
//!
//! A transport that held no probe gets an empty bar and says so, rather than a missing row.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use askama::Template;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use proto::capacity::{Capacity, Stop, TransportCapacity};

use super::{format, palette};

/// Writes `dir/capacity.html` and `dir/capacity.svg`; returns the page's path.
pub fn render(capacity: &Capacity, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let svg = chart(capacity).context("while drawing the capacity chart")?;
    let svg_path = dir.join("capacity.svg");
    std::fs::write(&svg_path, &svg).with_context(|| format!("while writing {}", svg_path.display()))?;
    let page = page(capacity, &svg).context("while filling the capacity page")?;
    let path = dir.join("capacity.html");
    std::fs::write(&path, page).with_context(|| format!("while writing {}", path.display()))?;
    Ok(path)
}

/// Reads a `capacity.json` and renders beside it.
pub fn render_file(capacity_json: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(capacity_json)
        .with_context(|| format!("while reading {}", capacity_json.display()))?;
    let capacity = Capacity::from_json(&text)
        .with_context(|| format!("while parsing {} as a capacity run", capacity_json.display()))?;
    let dir = match capacity_json.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    render(&capacity, &dir)
}

/// What stopped a transport's search, in a few words (the chart's bar label).
pub fn stop_words(t: &TransportCapacity) -> String {
    match &t.stop {
        Stop::UpperBound { .. } => "met it up to the upper bound".into(),
        Stop::Missed { clients, .. } => format!("missed at {}", format::int(u64::from(*clients))),
        Stop::MachineLimit { clients, .. } => {
            format!("machine limit at {}", format::int(u64::from(*clients)))
        }
        Stop::Interrupted { .. } => "interrupted".into(),
    }
}

/// The chart: a horizontal bar per transport, its length the clients held.
pub fn chart(capacity: &Capacity) -> Result<String> {
    const W: u32 = 1200;
    let rows = capacity.transports.len().max(1);
    let h = 140 + 70 * rows as u32;
    let most = capacity.transports.iter().filter_map(|t| t.held).max().unwrap_or(0);
    let x_max = f64::from(capacity.search.max_clients.max(most).max(1)) * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let title = "Clients held at the service level";
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 30.0))
            .margin(14)
            .margin_right(40)
            .x_label_area_size(62)
            .y_label_area_size(230)
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)?;
        let names: Vec<&str> = capacity.transports.iter().map(|t| palette::name(t.transport)).collect();
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("clients held (upper bound of the search at the right edge)")
            .x_label_formatter(&|v| format::int(v.max(0.0).round() as u64))
            .label_style(("sans-serif", 19.0))
            .axis_desc_style(("sans-serif", 21.0))
            .bold_line_style(palette::GRID)
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (i, t) in capacity.transports.iter().enumerate() {
            let y = (rows - 1 - i) as f64;
            let colour = palette::look(t.transport).colour;
            let held = f64::from(t.held.unwrap_or(0));
            c.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (held, y + 0.8)],
                colour.filled(),
            )))?;
            let label = match t.held {
                Some(n) => format!("{} · {}", format::int(u64::from(n)), stop_words(t)),
                None => format!("none · {}", stop_words(t)),
            };
            let right = held < x_max * 0.6;
            let (x, pos) = if right { (held, HPos::Left) } else { (held, HPos::Right) };
            let style = TextStyle::from(("sans-serif", 21.0).into_font())
                .pos(Pos::new(pos, VPos::Center))
                .color(if right { &palette::INK } else { &WHITE });
            let pad = if right { x_max * 0.01 } else { -x_max * 0.01 };
            c.draw_series(std::iter::once(Text::new(label, (x + pad, y + 0.5), style)))?;
            let name_style = TextStyle::from(("sans-serif", 21.0).into_font())
                .pos(Pos::new(HPos::Right, VPos::Center))
                .color(&palette::INK);
            c.draw_series(std::iter::once(Text::new(
                names[i].to_string(),
                (-x_max * 0.025, y + 0.5),
                name_style,
            )))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// One probe's row of the table.
pub struct ProbeRow {
    pub transport: String,
    pub colour: String,
    pub clients: String,
    pub met: bool,
    pub event_p99: String,
    pub request_p99: String,
    pub server_cpu: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "capacity.html")]
struct Page<'a> {
    title: String,
    started: String,
    svg: &'a str,
    /// `(transport, colour, held, what stopped it)`.
    held: Vec<(String, String, String, String)>,
    probes: Vec<ProbeRow>,
    level: Vec<(String, String)>,
    search: Vec<(String, String)>,
    machine: Vec<(String, String)>,
    interrupted: Option<String>,
}

fn page(capacity: &Capacity, svg: &str) -> askama::Result<String> {
    let svg = svg.find("<svg").map_or(svg, |i| &svg[i..]);
    let held = capacity
        .transports
        .iter()
        .map(|t| {
            let n = t.held.map_or("none".into(), |n| format::int(u64::from(n)));
            let why = match &t.stop {
                Stop::UpperBound { clients } => {
                    format!("met the service level at the upper bound, {}", format::int(u64::from(*clients)))
                }
                Stop::Missed { clients, reason } => {
                    format!("missed at {}: {reason}", format::int(u64::from(*clients)))
                }
                Stop::MachineLimit { clients, reason } => {
                    format!("stopped at {}: {reason}", format::int(u64::from(*clients)))
                }
                Stop::Interrupted { reason } => format!("interrupted: {reason}"),
            };
            (palette::name(t.transport).to_string(), palette::css(t.transport), n, why)
        })
        .collect();
    let cpus = capacity.machine.cpus.max(1) as f64;
    let probes = capacity
        .transports
        .iter()
        .flat_map(|t| t.probes.iter().map(move |p| (t, p)))
        .map(|(t, p)| {
            let step = p.step.as_ref();
            let dash = || "–".to_string();
            ProbeRow {
                transport: palette::name(t.transport).to_string(),
                colour: palette::css(t.transport),
                clients: format::int(u64::from(p.clients)),
                met: p.met,
                event_p99: step
                    .filter(|s| s.event_delay_us.count > 0)
                    .map_or_else(dash, |s| format::latency_us(s.event_delay_us.p99 as f64)),
                request_p99: step
                    .and_then(|s| s.request_latency_us.as_ref())
                    .filter(|l| l.count > 0)
                    .map_or_else(dash, |l| format::latency_us(l.p99 as f64)),
                server_cpu: step
                    .filter(|s| s.measured_s > 0.0)
                    .map_or_else(dash, |s| format::percent(s.server.cpu_s / s.measured_s / cpus)),
                reason: if p.met { "met".into() } else { p.reasons.join("; ") },
            }
        })
        .collect();
    let l = &capacity.service_level;
    let mut level = vec![
        ("p99 event delay (WebSocket, SSE, long polling)".to_string(), l.event_delay_p99.name.clone()),
        ("p99 request latency (short and delta polling)".to_string(), l.request_latency_p99.name.clone()),
        ("scheduled polls sent, at least".to_string(), format::percent(l.polls_sent_min)),
        (
            "every transport".to_string(),
            "no errors, no lost or late events, nothing coalesced except for short polling".to_string(),
        ),
    ];
    if let Some(max) = l.server_cpu_max {
        level.push(("server CPU, at most".to_string(), format!("{} of all cores", format::percent(max))));
    }
    let s = &capacity.search;
    let r = &capacity.run;
    let search = vec![
        (
            "client counts".to_string(),
            format!(
                "from {} ×{} up to {}, then bisection to within {} of the last good count",
                format::int(u64::from(s.start)),
                format::plain(s.factor),
                format::int(u64::from(s.max_clients)),
                format::percent(s.resolution)
            ),
        ),
        (
            "each probe".to_string(),
            format!(
                "ramp at {}/s, {} warm-up, {} measured",
                format::plain(r.connect_rate),
                format::seconds(r.warmup_s),
                format::seconds(r.duration_s)
            ),
        ),
        (
            "feed".to_string(),
            format!(
                "{} events/s, payload {} bytes, polls every {}",
                format::plain(r.rate),
                r.payload_bytes,
                format::duration_ms(r.poll_interval_ms)
            ),
        ),
        ("server".to_string(), r.target.clone().unwrap_or_else(|| "embedded (its own process)".into())),
    ];
    let m = &capacity.machine;
    let machine = vec![
        ("CPU".to_string(), format!("{} × {}", m.cpus, m.cpu_model)),
        ("memory".to_string(), format::gib(m.memory_bytes)),
        ("kernel / OS".to_string(), format!("{} / {}", m.kernel, m.os)),
        (
            "pushpull / rustc".to_string(),
            format!("{} / {}", capacity.versions.pushpull, capacity.versions.rustc),
        ),
    ];
    Page {
        title: format!("pushpull capacity: clients held at the service level, run of {}", capacity.started),
        started: capacity.started.clone(),
        svg,
        held,
        probes,
        level,
        search,
        machine,
        interrupted: capacity.interrupted.clone(),
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::capacity::{Bound, Probe, SearchConfig, ServiceLevel, CAPACITY_SCHEMA};
    use proto::results::{Machine, RunConfig, Step, Versions};
    use proto::{Transport, Variant};

    fn capacity() -> Capacity {
        let bound = Bound { ms: 1000.0, name: "1s".into() };
        let probe = |clients, met: bool, why: &str, ran: bool| Probe {
            clients,
            met,
            reasons: if met { vec![] } else { vec![why.to_string()] },
            step: ran.then(|| Step { measured_s: 3.0, ..Step::empty(Transport::Ws, clients) }),
        };
        let transport = |transport, held, stop, probes| TransportCapacity {
            transport,
            variant: Variant::default(),
            held,
            stop,
            probes,
        };
        Capacity {
            schema: CAPACITY_SCHEMA,
            started: "2026-12-03T07:00:00Z".into(),
            run: RunConfig {
                transports: vec![Transport::Ws, Transport::ShortPoll],
                clients: vec![20_000],
                duration_s: 3.0,
                warmup_s: 1.0,
                ..RunConfig::default()
            },
            search: SearchConfig { start: 10_000, factor: 2.0, max_clients: 20_000, resolution: 0.25 },
            service_level: ServiceLevel {
                event_delay_p99: bound.clone(),
                request_latency_p99: bound,
                polls_sent_min: 0.9,
                poll_interval_ms: 1000.0,
                server_cpu_max: Some(0.8),
            },
            machine: Machine {
                cpus: 2,
                cpu_model: "test CPU".into(),
                kernel: String::new(),
                os: String::new(),
                memory_bytes: 0,
            },
            versions: Versions { pushpull: "0".into(), rustc: "1".into() },
            transports: vec![
                transport(
                    Transport::Ws,
                    Some(10_000),
                    Stop::MachineLimit {
                        clients: 20_000,
                        reason: "machine limit: open files: 20,100".into(),
                    },
                    vec![
                        probe(10_000, true, "", true),
                        probe(20_000, false, "machine limit: open files: 20,100", false),
                    ],
                ),
                transport(
                    Transport::ShortPoll,
                    None,
                    Stop::Missed { clients: 10_000, reason: "p99 request latency 3 s".into() },
                    vec![probe(10_000, false, "p99 request latency 3 s", true)],
                ),
            ],
            interrupted: None,
        }
    }

    #[test]
    fn the_page_shows_what_stopped_each_transport_and_every_probe() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = capacity();
        let page_path = render(&c, dir.path()).expect("renders");
        let page = std::fs::read_to_string(page_path).expect("written");
        assert!(page.contains("stopped at 20,000: machine limit: open files: 20,100"), "{page}");
        assert!(page.contains("missed at 10,000: p99 request latency 3 s"));
        assert_eq!(page.matches("<td class=\"bad\">").count(), 2, "both missed probes say why");
        assert!(page.contains("test CPU"), "the machine");
        let svg = std::fs::read_to_string(dir.path().join("capacity.svg")).expect("chart written");
        roxmltree::Document::parse(&svg).expect("the chart is well-formed SVG");
        assert!(svg.contains("none · missed at 10,000") && svg.contains("10,000 · machine limit at 20,000"));
        let back = Capacity::from_json(&serde_json::to_string(&c).expect("encodes")).expect("decodes");
        assert_eq!(back.transports[0].stop, c.transports[0].stop);
    }
}
