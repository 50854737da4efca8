//! The tables: every number the charts show, per step, plus the run's configuration, the
//! machine, versions and errors by kind.
//!
//! Tables are plain data here (`Table` of `Cell`s); `templates/table.html` writes them. Steps
//! are listed in `derived::ordered_steps`' order (client count, then the run's series
//! order), the same in every table. A run with several variants gets one column per dimension
//! that varies (protocol, TLS, compression) after the transport; a run with one has none.

use proto::results::{Latency, Results, Step};
use proto::variant::Varying;
use proto::Transport;

use super::derived::{self, KeptUpOn, Verdict};
use super::format;
use super::palette;
use super::repeats;

/// One table cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    /// Right-aligned figure.
    pub num: bool,
    /// Shown in red (errors, lost events, a step that did not keep up).
    pub bad: bool,
    /// A transport name cell: drawn with its colour swatch.
    pub transport: Option<Transport>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Cell { text: text.into(), ..Cell::default() }
    }
    pub fn num(text: impl Into<String>) -> Self {
        Cell { text: text.into(), num: true, ..Cell::default() }
    }
    fn bad(mut self, bad: bool) -> Self {
        self.bad = bad;
        self
    }
    fn transport(t: Transport) -> Self {
        Cell { text: palette::name(t).to_string(), transport: Some(t), ..Cell::default() }
    }
}

/// A table with its caption.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub id: &'static str,
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The headings of the variant columns: one per dimension that varies in the run.
pub fn variant_head(varying: Varying) -> Vec<String> {
    let shown = [varying.protocol, varying.tls, varying.compression];
    proto::Variant::default()
        .columns()
        .iter()
        .zip(shown)
        .filter(|(_, shown)| *shown)
        .map(|((heading, _), _)| heading.to_string())
        .collect()
}

/// A step's transport cell, then its variant cells (one per dimension that varies).
fn series_cells(s: &Step, varying: Varying) -> Vec<Cell> {
    let shown = [varying.protocol, varying.tls, varying.compression];
    let mut cells = vec![Cell::transport(s.transport)];
    cells.extend(
        s.variant
            .columns()
            .iter()
            .zip(shown)
            .filter(|(_, shown)| *shown)
            .map(|((_, value), _)| Cell::text(*value)),
    );
    cells
}

fn key(s: &Step, varying: Varying) -> Vec<Cell> {
    let mut cells = series_cells(s, varying);
    cells.push(Cell::num(format::int(s.clients as u64)));
    cells
}

/// "Transport", the variant headings, then `rest`.
fn series_head(varying: Varying, rest: &[&str]) -> Vec<String> {
    let mut out = vec!["Transport".to_string()];
    out.extend(variant_head(varying));
    out.extend(rest.iter().map(|c| c.to_string()));
    out
}

fn head(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| c.to_string()).collect()
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> Cell {
    Cell::num(v.map(f).unwrap_or_else(|| "—".to_string()))
}

fn ms(us: u64) -> Cell {
    Cell::num(format::latency_us(us as f64))
}

/// Samples a p99.9 is given from: with fewer, the slowest one in a thousand is a handful of
/// samples or none, and the figure would be the maximum under another name.
pub const P999_SAMPLES: u64 = 1000;

fn latency_cells(l: Option<&Latency>, with_max: bool) -> Vec<Cell> {
    match l {
        Some(l) if l.count > 0 => {
            let mut cells = vec![ms(l.p50), ms(l.p90), ms(l.p99)];
            if with_max {
                cells.push(if l.count >= P999_SAMPLES {
                    ms(l.p999)
                } else {
                    Cell::num(format!("— (only {} samples)", format::int(l.count)))
                });
                cells.push(ms(l.max));
            }
            cells
        }
        _ => vec![Cell::num("—"); if with_max { 5 } else { 3 }],
    }
}

/// The transports at the headline client count, side by side. A repeated step shows the
/// median of its rounds with their range, and counts summed over the rounds.
pub fn glance(results: &Results) -> Option<Table> {
    let clients = derived::headline_clients(results)?;
    let varying = derived::varying(results);
    let dash = || Cell::num("—");
    let rows = repeats::at(results, clients)
        .iter()
        .map(|r| {
            let t = r.totals();
            let delay = |at: fn(&Latency) -> u64| {
                r.delay(at).map(|d| Cell::num(d.show(format::latency_us))).unwrap_or_else(dash)
            };
            let figure = |f: &dyn Fn(&Step) -> Option<f64>, show: fn(f64) -> String| {
                r.spread(f).map(|x| Cell::num(x.show(show))).unwrap_or_else(dash)
            };
            let mut row = series_cells(r.steps[0], varying);
            row.extend([
                delay(|l| l.p50),
                delay(|l| l.p99),
                Cell::num(format::count_share(t.coalesced, t.deliveries_expected)),
                Cell::num(format::count_share(t.late, t.deliveries_expected)).bad(t.late > 0),
                Cell::num(format::count_share(t.lost, t.deliveries_expected)).bad(t.lost > 0),
                figure(&|s| derived::bytes_per_delivery(s).map(|(a, b)| a + b), format::bytes),
                figure(&derived::server_cpu_per_1000, format::real),
                kept_up(&r.verdict(&results.config), &t),
            ]);
            row
        })
        .collect();
    let rounds = if repeats::repeated(results) {
        format!(
            " (each figure the median of its {} rounds, with their range in brackets; counts summed over the rounds)",
            results.config.repeat
        )
    } else {
        String::new()
    };
    Some(Table {
        id: "glance",
        caption: format!("At a glance, at {} clients{rounds}", format::int(clients as u64)),
        head: series_head(
            varying,
            &[
                "Median event delay",
                "p99 event delay",
                "Events coalesced",
                "Events late",
                "Events lost",
                "TCP payload bytes per event",
                "Server CPU s per 1,000 deliveries",
                "Kept up?",
            ],
        ),
        rows,
    })
}

/// The "kept up?" cell of a verdict: yes on every event, yes on state, or no and why; `s`
/// gives the coalesced share.
fn kept_up(verdict: &Verdict, s: &Step) -> Cell {
    match verdict {
        Verdict::NotMeasured => Cell::text("not measured: no event was published in its window").bad(true),
        Verdict::KeptUp(KeptUpOn::EveryEvent) => Cell::text("yes, with every event"),
        Verdict::KeptUp(KeptUpOn::State) => Cell::text(format!(
            "yes, on state: {} of events seen only inside a later snapshot (coalesced, by design)",
            format::count_share(s.coalesced, s.deliveries_expected)
        )),
        Verdict::FellShort(why) => Cell::text(format!("no: {}", why.join("; "))).bad(true),
    }
}

/// A table with one row per step, in report order: the transport and the client count, then
/// `cells(step)` under the headings `rest`.
fn per_step(
    results: &Results,
    id: &'static str,
    caption: &str,
    rest: &[&str],
    cells: impl Fn(&Step) -> Vec<Cell>,
) -> Table {
    let varying = derived::varying(results);
    // A repeated run numbers its rounds, so that each row says which one it is.
    let repeated = repeats::repeated(results);
    let rows = derived::ordered_steps(results)
        .into_iter()
        .map(|s| {
            let mut row = key(s, varying);
            if repeated {
                row.push(Cell::num(format::int(u64::from(s.round) + 1)));
            }
            row.extend(cells(s));
            row
        })
        .collect();
    let mut columns = vec!["Clients"];
    if repeated {
        columns.push("Round");
    }
    columns.extend(rest);
    Table { id, caption: caption.to_string(), head: series_head(varying, &columns), rows }
}

/// Delivery: events and completeness (chart 7's totals). Coalesced events are not in red:
/// snapshot polling coalesces by design, and a push transport's resyncs are marked as such
/// (its "kept up?" says it fell behind); lost events are a defect for every transport.
pub fn delivery(results: &Results) -> Table {
    let without_delay = results.steps.iter().any(|s| s.coalesced_without_delay > 0);
    let mut columns = vec![
        "Measured",
        "Events published",
        "Deliveries expected",
        "Delivered",
        "Coalesced",
        "Coalesced %",
        "Late",
        "Late %",
        "Lost",
        "Lost %",
        "Duplicates",
        "Deliveries/s",
    ];
    if without_delay {
        columns.push("Coalesced without a delay sample");
    }
    per_step(
        results,
        "delivery",
        "Delivery: events published, delivered to the clients themselves, coalesced (seen only \
         inside a later snapshot: by design for short polling, a resync for any other transport), \
         late (not reached by the end of the drain) and lost (skipped: never held, not even inside \
         a later state, though a later one was)",
        &columns,
        |s| {
            let resynced = s.coalesced > 0 && !s.transport.is_snapshot();
            let coalesced = format::int(s.coalesced);
            let mut cells = vec![
                Cell::num(format::seconds(s.measured_s)),
                Cell::num(format::int(s.events_published)),
                Cell::num(format::int(s.deliveries_expected)),
                Cell::num(format::int(s.deliveries)).bad(s.deliveries == 0 && s.deliveries_expected > 0),
                Cell::num(if resynced { format!("{coalesced} (resyncs)") } else { coalesced }),
                Cell::num(format::count_share(s.coalesced, s.deliveries_expected)),
                Cell::num(format::int(s.late)).bad(s.late > 0),
                Cell::num(format::count_share(s.late, s.deliveries_expected)).bad(s.late > 0),
                Cell::num(format::int(s.lost)).bad(s.lost > 0),
                Cell::num(format::count_share(s.lost, s.deliveries_expected)).bad(s.lost > 0),
                Cell::num(format::int(s.duplicates)).bad(s.duplicates > 0),
                opt(derived::deliveries_per_s(s), format::real),
            ];
            if without_delay {
                cells.push(Cell::num(format::int(s.coalesced_without_delay)));
            }
            cells
        },
    )
}

/// Whether each step kept up, and if not, why (the rules are in "How to read").
pub fn kept_up_table(results: &Results) -> Table {
    per_step(
        results,
        "kept-up",
        "Kept up? (the rules are under \"How to read this report\")",
        &["Kept up?"],
        |s| vec![kept_up(&derived::verdict(s, &results.config), s)],
    )
}

/// Delays: event delay (charts 1 and 2) and request latency of polls.
pub fn delay(results: &Results) -> Table {
    per_step(
        results,
        "delay",
        "Delays: event delay (from an event's publication to the first state a client held that \
         included it; one sample per event and client, coalesced events included; p99.9 only \
         from 1,000 samples or more) and, for polls, request latency (from the scheduled send to \
         the answer)",
        &["Event delay p50", "p90", "p99", "p99.9", "max", "Request p50", "p90", "p99"],
        |s| {
            let mut cells = latency_cells(Some(&s.event_delay_us), true);
            cells.extend(latency_cells(s.request_latency_us.as_ref(), false));
            cells
        },
    )
}

/// Requests and messages (chart 5).
pub fn requests(results: &Results) -> Table {
    per_step(
        results,
        "requests",
        "Requests and messages (push transports send no requests: the connections they opened \
         are shown instead, and no rate)",
        &["Requests", "Requests/s", "Scheduled/s", "Empty polls", "Empty polls/s", "Messages sent"],
        |s| {
            let requests = format::int(s.requests);
            vec![
                Cell::num(if s.transport.is_poll() { requests } else { format!("{requests} (connections)") }),
                opt(derived::requests_per_s(s), format::real),
                opt(derived::scheduled_per_s(s, &results.config), format::real),
                Cell::num(format::int(s.empty_polls)),
                opt(derived::empty_polls_per_s(s), format::real),
                Cell::num(format::int(s.messages)),
            ]
        },
    )
}

/// Connections and their setup time (chart 6).
pub fn connect(results: &Results) -> Table {
    per_step(
        results,
        "connect",
        "Connections: connect + handshake time (polls: until the first response byte)",
        &["Connections", "min", "p50", "p90", "p99", "max"],
        |s| {
            let c = &s.connect_latency_us;
            let mut cells = vec![Cell::num(format::int(s.connections_opened))];
            if c.count > 0 {
                cells.extend([ms(c.min), ms(c.p50), ms(c.p90), ms(c.p99), ms(c.max)]);
            } else {
                cells.extend(vec![Cell::num("—"); 5]);
            }
            cells
        },
    )
}

/// Wire bytes, TCP payload (chart 3).
pub fn bytes(results: &Results) -> Table {
    per_step(
        results,
        "bytes",
        "Wire bytes: TCP payload counted at the server's sockets in the measured window (HTTP \
         headers and framing included; not the handshakes of the ramp-up before the window). The \
         last column estimates what the payload leaves out: TCP/IP headers, 52 B for every segment \
         this host sent in the window (data and ACKs, both directions of loopback, every process \
         together: the kernel's count), per delivered event; — where the server is not on this host. \
         Setup bytes are apart from all of these: what each new connection had carried, both ways, \
         by its first answer or message, which holds the state the client starts from (the TLS \
         handshake, the upgrade or the request and answer heads, and the snapshot), counted by the \
         load generator, mostly in the ramp-up",
        &[
            "Client → server, TCP payload B",
            "Server → client, TCP payload B",
            "Per event, client → server",
            "Per event, server → client",
            "Per event, total",
            "Per request (polls) or per message (push)",
            "TCP segments",
            "Per event, TCP/IP headers (est.)",
            "Setup B per connection",
        ],
        |s| {
            let per = derived::bytes_per_delivery(s);
            vec![
                Cell::num(format::int(s.wire_bytes.to_server)),
                Cell::num(format::int(s.wire_bytes.to_client)),
                opt(per.map(|p| p.0), format::bytes),
                opt(per.map(|p| p.1), format::bytes),
                opt(per.map(|p| p.0 + p.1), format::bytes),
                opt(derived::bytes_per_message(s), format::bytes),
                opt(s.tcp_segments.map(|n| n as f64), |n| format::int(n as u64)),
                opt(derived::tcp_ip_headers_per_delivery(s), format::bytes),
                opt(derived::setup_bytes_per_connection(s), format::bytes),
            ]
        },
    )
}

/// Server and load-generator cost (chart 4). Memory is shown first as the server's growth
/// within the step (`derived::server_memory_growth`); the absolute readings follow.
pub fn cost(results: &Results) -> Table {
    per_step(
        results,
        "cost",
        "Cost: CPU seconds each process was charged in the measured window (on loopback the \
         kernel charges much of the receiver's TCP work to the sender, and both share the \
         machine's cores), and resident memory. The \
         server's memory growth is its peak less its memory when the step's clients were about \
         to connect: steps run one after another in one server whose allocator keeps what it \
         freed, so its absolute memory carries earlier steps' leftovers",
        &[
            "Server CPU s",
            "Server CPU s per 1,000 deliveries",
            "Server memory growth in the step (peak − start)",
            "Growth per client",
            "Server memory at start",
            "Server peak memory",
            "Load generator CPU s",
            "Load generator peak memory",
            "Server CPU s with no client (idle baseline × window)",
        ],
        |s| {
            vec![
                Cell::num(format::real(s.server.cpu_s)),
                opt(derived::server_cpu_per_1000(s), format::real),
                opt(derived::server_memory_growth(s).map(|b| b as f64), |b| format::mib(b as u64)),
                opt(derived::server_memory_growth_per_client(s), format::kib),
                Cell::num(format::mib(s.server.rss_start_bytes)),
                Cell::num(format::mib(s.server.rss_peak_bytes)),
                Cell::num(format::real(s.loadgen.cpu_s)),
                Cell::num(format::mib(s.loadgen.rss_peak_bytes)),
                Cell::num(format::real(s.server.baseline_cpu_s)),
            ]
        },
    )
}

/// Deliveries in each second (chart 7).
pub fn timeline(results: &Results) -> Table {
    per_step(
        results,
        "timeline",
        "Deliveries in each second of the measured window (events received as events of their \
         own; for short polling, changed snapshots), first second first (the last is often a \
         partial second: chart 7 scales it to a full second, or leaves it out when shorter than \
         half a second)",
        &["Deliveries per second"],
        |s| {
            let per_s: Vec<String> = s.deliveries_per_s.iter().map(|v| format::int(*v)).collect();
            vec![Cell::text(if per_s.is_empty() { "—".to_string() } else { per_s.join(" · ") })]
        },
    )
}

/// The points of each event-delay spectrum (chart 1).
pub fn spectrum(results: &Results) -> Table {
    per_step(
        results,
        "spectrum",
        "Event delay spectrum: percentile → event delay, the points of chart 1",
        &["Percentile: event delay"],
        |s| {
            let points: Vec<String> = derived::spectrum_percentiles(&s.event_delay_us)
                .into_iter()
                .map(|(p, v)| format!("{}: {}", percentile(p), format::latency_us(v as f64)))
                .collect();
            vec![Cell::text(if points.is_empty() {
                "— (the chart uses the percentiles of the delay table)".to_string()
            } else {
                points.join(" · ")
            })]
        },
    )
}

/// A percentile without trailing zeros: `99.9%`, `50%`.
fn percentile(p: f64) -> String {
    let text = format!("{p:.4}");
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Errors by kind, one row per step and kind.
pub fn errors(results: &Results) -> Table {
    let varying = derived::varying(results);
    let rows = derived::ordered_steps(results)
        .into_iter()
        .flat_map(|s| {
            s.errors.iter().map(move |(kind, n)| {
                let mut row = key(s, varying);
                row.extend([Cell::text(kind.clone()).bad(true), Cell::num(format::int(*n)).bad(true)]);
                row
            })
        })
        .collect();
    Table {
        id: "errors",
        caption: "Errors by kind".into(),
        head: series_head(varying, &["Clients", "Kind", "Count"]),
        rows,
    }
}

fn pairs(id: &'static str, caption: &str, pairs: Vec<(&str, String)>) -> Table {
    Table {
        id,
        caption: caption.to_string(),
        head: head(&["", ""]),
        rows: pairs.into_iter().map(|(k, v)| vec![Cell::text(k), Cell::text(v)]).collect(),
    }
}

/// The run's parameters.
pub fn config(results: &Results) -> Table {
    let c = &results.config;
    let clients: Vec<String> = c.clients.iter().map(|n| format::int(*n as u64)).collect();
    let mut rows = vec![
        ("Started (UTC)", results.started.clone()),
        ("Server", c.target.clone().unwrap_or_else(|| "embedded, started by the load generator".into())),
        ("Transports", c.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")),
        ("Clients per step", clients.join(", ")),
        ("Measured per step", format::seconds(c.duration_s)),
        ("Warm-up per step", format::seconds(c.warmup_s)),
        ("Poll interval", format::duration_ms(c.poll_interval_ms)),
        ("Feed rate", format!("{} events/s", format::plain(c.rate))),
        ("Payload padding", format!("{} B", format::int(c.payload_bytes))),
        ("Connect rate", format!("{} connections/s", format::real(c.connect_rate))),
        ("Seed", c.seed.to_string()),
        ("Rounds per step", c.repeat.to_string()),
        ("CPUs", cpus(c.pinning.as_ref(), c.target.is_some())),
        ("Clocks", clock(results)),
        ("Interrupted", results.interrupted.clone().unwrap_or_else(|| "no".into())),
    ];
    let varying = derived::varying(results);
    if varying.any() {
        // Only a run with several variants lists them: a single-variant page stays as it was.
        let names: Vec<String> = derived::variants(results)
            .iter()
            .map(|v| v.columns().iter().map(|(_, value)| *value).collect::<Vec<_>>().join(", "))
            .collect();
        rows.insert(3, ("Variants (protocol, TLS, compression)", names.join("; ")));
    }
    pairs("config", "Run configuration", rows)
}

/// Where the server and the load generator ran: apart (`--pin`), or taking turns on the same
/// CPUs.
fn cpus(pinning: Option<&proto::results::Pinning>, target: bool) -> String {
    let list = |c: &[usize]| c.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    match pinning {
        Some(p) => format!(
            "pinned apart: the server on CPU {}, the load generator on CPU {}",
            list(&p.server_cpus),
            list(&p.loadgen_cpus)
        ),
        None if target => "not pinned; the server ran where it was started".to_string(),
        None => "shared: the server and the load generator took turns on every CPU".to_string(),
    }
}

/// How event delays relate the two clocks.
fn clock(results: &Results) -> String {
    match results.clock {
        None => "not recorded".into(),
        Some(c) if c.same_host => "one host, one clock: no offset applied".into(),
        Some(c) => format!(
            "server − load generator = {} µs ± {} µs (best of {} round trips), added to every receive time",
            c.offset_us, c.uncertainty_us, c.samples
        ),
    }
}

/// The machine and versions.
pub fn machine(results: &Results) -> Table {
    let m = &results.machine;
    pairs(
        "machine",
        "Machine and versions",
        vec![
            ("CPU", m.cpu_model.clone()),
            ("Cores", m.cpus.to_string()),
            ("Memory", format::gib(m.memory_bytes)),
            ("Operating system", m.os.clone()),
            ("Kernel", m.kernel.clone()),
            ("pushpull", results.versions.pushpull.clone()),
            ("Rust compiler", results.versions.rustc.clone()),
        ],
    )
}
