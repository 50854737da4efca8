//! Page assembly: one `index.html` with inline CSS and inline SVG, no script, and no
//! reference to anything outside the file (it must open from a USB stick, offline).
//!
//! Web addresses appear only as plain text inside the references' `<cite>` elements; the
//! SVG namespace attribute is dropped from inline charts because HTML does not need it.

use std::fmt::Write as _;

use proto::results::Results;

use super::chart::Chart;
use super::palette;
use super::summary;
use super::table::{self, Table};
use super::{format, lubbers};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
body { margin: 0; background: #fff; color: #141414;
  font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 56px; }
h1 { font-size: 2.1rem; line-height: 1.2; margin: 0.3em 0 0.2em; }
h2 { font-size: 1.55rem; margin: 2.2em 0 0.6em; padding-bottom: 0.2em; border-bottom: 3px solid #d8d8d8; }
h3 { font-size: 1.2rem; margin: 1.6em 0 0.4em; }
p, li { max-width: 80ch; }
.meta { color: #444; margin-top: 0; }
.alert { background: #fdecec; color: #a00000; border: 3px solid #c00000; border-radius: 6px;
  padding: 12px 18px; margin: 14px 0; font-weight: 700; font-size: 1.1rem; }
#summary p { font-size: 1.18rem; margin: 0.5em 0; }
nav ol { columns: 2; padding-left: 1.4em; }
figure { margin: 1.2em 0 2.6em; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { margin-top: 0.6em; color: #333; max-width: 80ch; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.4em 0 1.8em; font-size: 0.93rem;
  font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 700; padding: 0.3em 0; font-size: 1.02rem; }
th, td { border: 1px solid #cfcfcf; padding: 4px 9px; vertical-align: top; }
th { background: #f1f1f1; text-align: left; vertical-align: bottom; }
td.num { text-align: right; white-space: nowrap; }
td.bad { color: #a00000; font-weight: 700; }
#table-glance td:last-child { min-width: 15em; }
td.kv { font-weight: 600; background: #f7f7f7; }
.swatch { display: inline-block; width: 0.95em; height: 0.95em; border-radius: 2px;
  margin-right: 0.45em; vertical-align: -0.12em; }
td.transport { white-space: nowrap; }
.small { font-size: 0.95rem; color: #444; }
cite { font-style: normal; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  h2 { break-after: avoid; }
  table, figure { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The whole page.
pub fn page(results: &Results, charts: &[Chart]) -> String {
    let s = summary::summarise(results);
    let mut h = String::with_capacity(400_000);
    let title = format!("pushpull report: polling or push? Run of {}", results.started);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );
    let _ = write!(
        h,
        "<header>\n<h1>Polling or push? What this run measured</h1>\n<p class=\"meta\">{}</p>\n</header>\n",
        escape(&meta_line(results))
    );
    for alert in &s.alerts {
        let _ = writeln!(h, "<p class=\"alert\" role=\"alert\">{}</p>", escape(alert));
    }
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    for line in &s.lines {
        let _ = writeln!(h, "<p>{}</p>", escape(line));
    }
    h.push_str("</section>\n");
    if let Some(glance) = table::glance(results) {
        write_table(&mut h, &glance);
    }
    contents(&mut h, charts);

    h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    let _ = writeln!(
        h,
        "<p>Each transport has one colour and one marker shape in every chart. Every number \
         drawn here is also in the tables below. Each chart is saved beside this page as its \
         own SVG file.</p>"
    );
    for (i, c) in charts.iter().enumerate() {
        let _ = write!(
            h,
            "<figure id=\"chart-{id}\">\n<h3>{n}. {title}</h3>\n{svg}\n<figcaption>{caption} \
             <span class=\"small\">(File: {id}.svg.)</span></figcaption>\n</figure>\n",
            id = c.id,
            n = i + 1,
            title = escape(c.title),
            svg = inline_svg(&c.svg),
            caption = escape(&c.caption),
        );
    }
    h.push_str("</section>\n");

    h.push_str("<section id=\"tables\">\n<h2>Every number, per step</h2>\n");
    let _ = writeln!(
        h,
        "<p>One row per step: a transport with a number of clients, measured for the window \
         given. Delays are from the moment the server published an event to the moment a \
         client had it. A dash means the figure does not exist for that step (no request \
         delay for push transports, nothing delivered, nothing connected).</p>"
    );
    for t in [
        table::delivery(results),
        table::kept_up_table(results),
        table::delay(results),
        table::requests(results),
        table::connect(results),
        table::bytes(results),
        table::cost(results),
    ] {
        write_table(&mut h, &t);
    }
    write_table(&mut h, &table::timeline(results));
    let _ = writeln!(
        h,
        "<details>\n<summary>Delivery delay spectra (the points of chart 1; also in the .hgrm \
         files beside this page)</summary>"
    );
    write_table(&mut h, &table::spectrum(results));
    h.push_str("</details>\n</section>\n");

    h.push_str("<section id=\"errors\">\n<h2>Errors by kind</h2>\n");
    let errors = table::errors(results);
    if errors.rows.is_empty() {
        h.push_str("<p>No errors: every connection, request and message succeeded.</p>\n");
    } else {
        write_table(&mut h, &errors);
    }
    h.push_str("</section>\n");

    h.push_str("<section id=\"lubbers\">\n<h2>The 2010 table, measured</h2>\n");
    let _ = writeln!(
        h,
        "<p>In 2010 Peter Lubbers and Frank Greco compared the network traffic of polling and \
         WebSocket for clients that each get one message a second. Their figures, and the same \
         table computed from the bytes this run measured:</p>"
    );
    write_table(&mut h, &lubbers::table(results));
    let _ = writeln!(h, "<p>{}</p>\n</section>", escape(&lubbers::explanation(results)));

    how_to_read(&mut h, results);

    h.push_str("<section id=\"run\">\n<h2>The run</h2>\n");
    write_table(&mut h, &table::config(results));
    write_table(&mut h, &table::machine(results));
    h.push_str("</section>\n");
    references(&mut h);
    h.push_str("</main>\n</body>\n</html>\n");
    h
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
        format::duration_ms(c.poll_interval_ms),
        results.machine.cpu_model,
        results.machine.cpus,
    )
}

fn contents(h: &mut String, charts: &[Chart]) {
    h.push_str("<nav>\n<h2>Contents</h2>\n<ol>\n");
    for c in charts {
        let _ = writeln!(h, "<li><a href=\"#chart-{}\">{}</a></li>", c.id, escape(c.title));
    }
    for (id, name) in [
        ("tables", "Every number, per step"),
        ("errors", "Errors by kind"),
        ("lubbers", "The 2010 table, measured"),
        ("how-to-read", "How to read this report"),
        ("run", "The run: configuration and machine"),
    ] {
        let _ = writeln!(h, "<li><a href=\"#{id}\">{name}</a></li>");
    }
    h.push_str("</ol>\n</nav>\n");
}

/// plotters' SVG for inline use: without its namespace attribute (HTML puts `<svg>` in
/// the SVG namespace by itself).
fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// Writes a table; two-column tables without headings are key/value lists.
pub fn write_table(h: &mut String, t: &Table) {
    let kv = t.head.iter().all(String::is_empty);
    let _ = write!(
        h,
        "<div class=\"scroll\">\n<table id=\"table-{}\">\n<caption>{}</caption>\n",
        t.id,
        escape(&t.caption)
    );
    if !kv {
        h.push_str("<thead><tr>");
        for col in &t.head {
            let _ = write!(h, "<th scope=\"col\">{}</th>", escape(col));
        }
        h.push_str("</tr></thead>\n");
    }
    h.push_str("<tbody>\n");
    for row in &t.rows {
        h.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let mut classes = Vec::new();
            if cell.num {
                classes.push("num");
            }
            if cell.bad {
                classes.push("bad");
            }
            if kv && i == 0 {
                classes.push("kv");
            }
            if cell.transport.is_some() {
                classes.push("transport");
            }
            let class =
                if classes.is_empty() { String::new() } else { format!(" class=\"{}\"", classes.join(" ")) };
            let swatch = cell
                .transport
                .as_ref()
                .map(|t| format!("<span class=\"swatch\" style=\"background:{}\"></span>", palette::css(t)))
                .unwrap_or_default();
            let _ = write!(h, "<td{class}>{swatch}{}</td>", escape(&cell.text));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
}

fn how_to_read(h: &mut String, results: &Results) {
    let interval = format::duration_ms(results.config.poll_interval_ms);
    let _ = write!(
        h,
        r#"<section id="how-to-read">
<h2>How to read this report</h2>
<h3>The transports</h3>
<ul>
<li><b>Short polling</b>: every {interval} each client asks "what is the score now?" and gets the whole snapshot (or "not modified").</li>
<li><b>Delta polling</b>: every {interval} each client asks "what happened since event N?" and gets the events it has not seen.</li>
<li><b>Long polling</b>: each client asks "what happened since event N?" and the server holds the question open until something happens; then the client asks again at once.</li>
<li><b>Server-Sent Events (SSE)</b>: each client opens one HTTP response that never ends, and the server writes each event into it.</li>
<li><b>WebSocket</b>: each client opens one two-way connection, and the server sends each event as one small frame.</li>
</ul>
<h3>The charts</h3>
<ol>
<li><b>Delivery delay by percentile</b>: how long events took, from the best to the worst. Read a transport's line at 99%: one event in a hundred took longer than that. Lower is better.</li>
<li><b>Delivery delay against number of clients</b>: whether a transport slows down as clients are added. Flat is good.</li>
<li><b>Wire bytes per delivered event</b>: what one delivered event cost the network, everything counted. Lower is cheaper.</li>
<li><b>Server cost</b>: CPU and memory the server needed. Lower is cheaper.</li>
<li><b>Polling requests</b>: whether the polls were sent as scheduled (on the dashed line) and how many of them found nothing new.</li>
<li><b>Connect + handshake time</b>: what opening a connection cost before the first byte of data.</li>
<li><b>Deliveries per second</b>: the steady flow of events during each step; a dip is a stall.</li>
</ol>
<h3>What the words mean</h3>
<ul>
<li><b>Median (p50)</b>: half the events arrived faster than this. <b>p99</b>: one event in a hundred arrived slower. The tail matters: a page refreshing a score shows its worst moments, not its average.</li>
<li><b>Missed events</b>: events a client never saw. Short polling misses events by design: it only sees the newest state at each poll, so if a match scores twice between two polls, the first goal is never seen as an event of its own. The other transports should miss none.</li>
<li><b>Kept up</b>: a step kept up when it had no errors; delivered something; missed no events (short polling excepted); for polls sent on a clock, answered 99% of them within one poll interval ({interval}) of their scheduled time and sent at least 90% of the polls scheduled; for the other transports, delivered 99% of events within one poll interval (slower than that, plain polling would have done as well).</li>
<li><b>Coordinated omission</b>: a load generator that waits for a slow answer before sending its next request sends fewer requests exactly when the server is slow, so the slow moments hide from the measurement. This load generator measures each poll's delay from the moment it was <i>scheduled</i>, not the moment it was sent, so a late poll counts all of its lateness (the method of wrk2).</li>
<li><b>Wire bytes</b> are counted at the server's sockets, both directions, with HTTP headers, WebSocket handshakes and frame headers included.</li>
<li><b>Server cost</b> is the server process alone; the load generator ran in a separate process and its own cost is in the cost table.</li>
</ul>
</section>
"#
    );
}

fn references(h: &mut String) {
    h.push_str(
        "<section id=\"references\">\n<h2>References</h2>\n<ol>\n\
         <li><cite>Peter Lubbers and Frank Greco, \"HTML5 Web Sockets: A Quantum Leap in \
         Scalability for the Web\", Kaazing, 2010. http://www.websocket.org/quantum.html \
         (address as published; given as text, not a link)</cite></li>\n\
         <li><cite>Gil Tene, \"How NOT to Measure Latency\" (the talk that named coordinated \
         omission), 2015.</cite></li>\n\
         <li><cite>Gil Tene, wrk2: a constant-throughput HTTP benchmarking tool that corrects \
         for coordinated omission. https://github.com/giltene/wrk2</cite></li>\n\
         <li><cite>HdrHistogram: a high dynamic range histogram, and its .hgrm percentile \
         format.</cite></li>\n</ol>\n</section>\n",
    );
}
