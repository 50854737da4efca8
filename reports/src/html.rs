//! Page assembly: fills `templates/index.html` (askama, checked at compile time) with the
//! summary, the charts and the tables; askama escapes every value it writes.
//!
//! Only plotters' SVG goes in unescaped (`|safe`), without its namespace attribute because
//! HTML does not need it. Web addresses appear only as plain text inside `<cite>`.

use askama::Template;

use proto::results::Results;

use super::chart::Chart;
use super::summary::{self, Summary};
use super::table::{self, Cell, Table};
use super::{cluster, format, lubbers, polls};

/// What `templates/index.html` shows, computed before the template runs.
#[derive(Template)]
#[template(path = "index.html")]
struct Page<'a> {
    title: String,
    meta: String,
    summary: Summary,
    glance: Option<Table>,
    charts: &'a [Chart],
    /// The tables of every number, one row per step, in page order.
    per_step: Vec<Table>,
    spectrum: Table,
    errors: Table,
    lubbers: Table,
    lubbers_explanation: String,
    /// The poll interval, as "How to read" says it.
    interval: String,
    /// How pollers were paced, in words ("setInterval"), for "How to read".
    pacing: &'static str,
    /// Which parts on protocol, TLS and compression "How to read" shows.
    shows: Shows,
    config: Table,
    machine: Table,
    /// Several nodes or load processes: who took part, balance and backplane.
    cluster: Option<cluster::Section>,
}

/// The whole page.
pub fn page(results: &Results, charts: &[Chart]) -> askama::Result<String> {
    Page {
        title: format!("pushpull report: polling or push? Run of {}", results.started),
        meta: meta_line(results),
        summary: summary::summarise(results),
        glance: table::glance(results),
        charts,
        per_step: vec![
            table::delivery(results),
            table::kept_up_table(results),
            table::delay(results),
            table::requests(results),
        ]
        .into_iter()
        .chain(polls::unanswered(results))
        .chain([
            table::connect(results),
            table::bytes(results),
            table::cost(results),
            table::timeline(results),
        ])
        .collect(),
        spectrum: table::spectrum(results),
        errors: table::errors(results),
        lubbers: lubbers::table(results),
        lubbers_explanation: lubbers::explanation(results),
        interval: format::duration_ms(results.config.poll_interval_ms),
        pacing: results.config.poll_mode.plain_name(),
        shows: Shows::of(results),
        config: table::config(results),
        machine: table::machine(results),
        cluster: cluster::section(results),
    }
    .render()
}

impl Page<'_> {
    /// plotters' SVG for inline use: without its namespace attribute (HTML puts `<svg>` in
    /// the SVG namespace by itself).
    fn inline_svg(&self, chart: &Chart) -> String {
        chart.svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
    }
}

/// The parts of "How to read" on the variants: each shown when a step of the run used it
/// (HTTP/2, TLS, compression), so a run of the defaults reads as before.
#[derive(Debug, Clone, Copy, Default)]
struct Shows {
    h2: bool,
    tls: bool,
    compression: bool,
}

impl Shows {
    fn of(results: &Results) -> Shows {
        let any = |f: fn(&proto::Variant) -> bool| results.steps.iter().any(|s| f(&s.variant));
        Shows {
            h2: any(|v| v.protocol == proto::Protocol::H2),
            tls: any(|v| v.tls == proto::Security::Tls),
            compression: any(|v| v.compression == proto::Compression::On),
        }
    }

    fn any(&self) -> bool {
        self.h2 || self.tls || self.compression
    }
}

fn meta_line(results: &Results) -> String {
    let c = &results.config;
    let clients: Vec<String> = c.clients.iter().map(|n| format::int(*n as u64)).collect();
    format!(
        "Run started {} (UTC) · {} steps · {} clients · {} measured per step · feed {} \
         events/s · polls every {} · {} ({} cores)",
        results.started,
        results.steps.len(),
        clients.join(", "),
        format::seconds(c.duration_s),
        format::plain(c.rate),
        polls::pacing(results),
        results.machine.cpu_model,
        results.machine.cpus,
    )
}

/// A two-column table without headings is a key/value list: no head row, keys in bold.
pub(crate) fn is_key_value(t: &Table) -> bool {
    t.head.iter().all(String::is_empty)
}

/// The CSS classes of a cell (`num`, `bad`, `kv`, `transport`), space-separated; `first`
/// is whether it is the first cell of its row.
pub(crate) fn classes(t: &Table, cell: &Cell, first: bool) -> String {
    let flags = [
        (cell.num, "num"),
        (cell.bad, "bad"),
        (first && is_key_value(t), "kv"),
        (cell.transport.is_some(), "transport"),
    ];
    flags.iter().filter(|(on, _)| *on).map(|(_, class)| *class).collect::<Vec<_>>().join(" ")
}
