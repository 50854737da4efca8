//! The seven charts, one file each, drawn with plotters' SVG backend into strings; `frame.rs`
//! draws the title, legend, lines and markers they share, `axis.rs` the ticks and ranges,
//! `lines.rs` the "one line per transport against clients" panels, `style.rs` sizes and grid.
//!
//! No font feature: the SVG's `<text>` is set by the browser in its own sans-serif, so it needs
//! no font file. Every data point gets a marker, so a run with one client count still shows.

use anyhow::Result;

use proto::results::Results;

use super::format;

mod axis;
mod bytes;
mod connect;
mod cost;
mod frame;
mod latency;
mod lines;
mod polling;
mod spectrum;
mod style;
mod timeline;

/// One chart: its SVG (standalone, with `xmlns` and a `<title>`) and what it shows.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Stable name: the HTML anchor and the file name without `.svg`.
    pub id: &'static str,
    pub title: &'static str,
    pub svg: String,
    /// Plain text: what the chart shows and how to read it.
    pub caption: String,
}

/// The titles of the seven charts, in page order (the tests look for each).
pub const TITLES: [(&str, &str); 7] = [
    ("spectrum", "Event delay by percentile"),
    ("latency", "Event delay against number of clients"),
    ("bytes", "Wire bytes per delivered event"),
    ("server-cost", "Server cost against number of clients"),
    ("polling", "Polling: requests and empty polls per second"),
    ("connect", "Connect + handshake time"),
    ("timeline", "Deliveries per second during each step"),
];

/// Draws all seven charts.
pub fn draw_all(results: &Results) -> Result<Vec<Chart>> {
    let captions = captions(results);
    let drawers: [fn(&Results, &str) -> Result<String>; 7] = [
        spectrum::draw,
        latency::draw,
        bytes::draw,
        cost::draw,
        polling::draw,
        connect::draw,
        timeline::draw,
    ];
    let mut charts = Vec::new();
    for (((id, title), draw), caption) in TITLES.iter().zip(drawers).zip(captions) {
        let svg = with_title(&draw(results, title)?, title);
        charts.push(Chart { id, title, svg, caption });
    }
    Ok(charts)
}

pub(super) fn captions(results: &Results) -> [String; 7] {
    let interval = format::duration_ms(results.config.poll_interval_ms);
    [
        format!(
            "Event delay at every percentile: for each event and each client, the time from the \
             event's publication to the moment the client first held a state that included it. \
             The left edge is the shortest, 90% means nine in ten events were known to their \
             clients at least that soon, 99.9% one in a thousand took longer. Lower is better; \
             the vertical axis is logarithmic (each grid line is 10× the one below). A poller's \
             line climbs evenly up to about one poll interval ({interval}): an event waits for \
             the next poll, anywhere from no time to a whole interval. One panel per number of \
             clients."
        ),
        format!(
            "The typical event delay (median, p50: half the events were known sooner) and the \
             slow tail (p99: one event in a hundred took longer) as clients are added. Both axes \
             are logarithmic. A line that climbs steeply means that transport slows down under \
             load. A poller's median sits near half its interval ({interval} here) plus the \
             request's own time: on average an event happens halfway between two polls."
        ),
        "TCP payload counted at the server's sockets in the measured window, both directions, \
         HTTP headers and framing included (not TCP/IP headers and ACKs, about 52 bytes a \
         segment, nor the handshakes of the ramp-up before the window), divided by the events \
         delivered (for short polling, by the changed snapshots it \
         received, each carrying the effect of every event since the one before). The lighter part of each bar is what the clients \
         sent (requests), the darker part what the server sent. The dashed line is the 871 \
         bytes of HTTP headers per poll measured by Lubbers & Greco in 2010; the dotted line \
         near zero is WebSocket's 2-byte frame header."
            .to_string(),
        "Left: server CPU time spent per 1,000 events delivered (lower is cheaper). Right: \
         how much the server's resident memory grew within the step (its peak less its memory \
         when the step's clients were about to connect). Steps run one after another in one \
         server whose allocator keeps what it freed, so its absolute peak carries earlier \
         steps' leftovers; the absolute figures are in the cost table. CPU is the CPU seconds \
         the server process was charged in the window: on loopback that includes TCP work the \
         kernel did for the receiving clients, and the feed's fixed cost (see \"How to read\")."
            .to_string(),
        "Polling transports only. Left: requests per second sent (both axes logarithmic); \
         the grey dashed line is what the schedule asked for, one poll per client per \
         interval: a transport below it fell behind. Right: polls answered with nothing new, \
         which cost bytes and CPU for nothing."
            .to_string(),
        "Time to open a connection and complete its handshake (for polling: until the first \
         response byte). The thin line runs from the fastest to the slowest connection, the \
         box from the median to p99, the black tick marks the median. Horizontal axis \
         logarithmic."
            .to_string(),
        "Events delivered in each second of the measured window. A flat line is healthy; a \
         dip to zero is a stall. The grey dashed line is the feed's rate as measured (the \
         events published in the steps' windows at that client count, divided by the windows' \
         length; written above each panel) times the number of clients, what a transport \
         delivering every event would reach. Short polling stays \
         far below it: it receives one snapshot per poll and sees the events in between only \
         inside it (coalesced)."
            .to_string(),
    ]
}

/// Adds a `<title>` (the accessible name, and what a viewer shows on hover) to plotters'
/// SVG.
pub(super) fn with_title(svg: &str, title: &str) -> String {
    match svg.find('>') {
        Some(end) => {
            let mut out = String::with_capacity(svg.len() + title.len() + 64);
            out.push_str(&svg[..end]);
            out.push_str(" role=\"img\">\n<title>");
            let Ok(escaped) = askama::filters::escape(title, askama::filters::Html);
            out.push_str(&escaped.to_string());
            out.push_str("</title>");
            out.push_str(&svg[end + 1..]);
            out
        }
        None => svg.to_string(),
    }
}
