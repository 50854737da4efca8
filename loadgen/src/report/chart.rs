//! The seven charts, drawn with plotters' SVG backend into strings.
//!
//! No font feature: plotters then estimates text widths itself and writes `<text>` elements
//! that the browser sets in its own sans-serif, so the SVG needs no font file. Every chart
//! draws its own title and legend (the same colour and marker per transport everywhere,
//! from [`palette`]), and draws a marker at every data point, so a run with one client count
//! still shows its single points.

use std::ops::Range;

use anyhow::Result;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::element::{ComposedElement, DashedPathElement};
type BackendCoord = (i32, i32);
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::results::{Latency, Results};

use super::derived;
use super::format;
use super::palette::{self, Look, Marker};

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
    ("spectrum", "Delivery delay by percentile"),
    ("latency", "Delivery delay against number of clients"),
    ("bytes", "Wire bytes per delivered event"),
    ("server-cost", "Server cost against number of clients"),
    ("polling", "Polling: requests and empty polls per second"),
    ("connect", "Connect + handshake time"),
    ("timeline", "Deliveries per second during each step"),
];

const W: u32 = 1200;
const FONT: &str = "sans-serif";
// plotters writes `font-size = size / 1.24` into the SVG: 30 → 24 px.
const TITLE_SIZE: f64 = 30.0;
const LEGEND_SIZE: f64 = 21.0;
const PANEL_SIZE: f64 = 23.0;
const LABEL_SIZE: f64 = 19.0;
const DESC_SIZE: f64 = 21.0;
const NOTE_SIZE: f64 = 19.0;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws all seven charts.
pub fn draw_all(results: &Results) -> Result<Vec<Chart>> {
    let captions = captions(results);
    let drawers: [fn(&Results, &str) -> Result<String>; 7] =
        [spectrum, latency, bytes, server_cost, polling, connect, timeline];
    let mut charts = Vec::new();
    for (((id, title), draw), caption) in TITLES.iter().zip(drawers).zip(captions) {
        let svg = with_title(&draw(results, title)?, title);
        charts.push(Chart { id, title, svg, caption });
    }
    Ok(charts)
}

fn captions(results: &Results) -> [String; 7] {
    let interval = format::duration_ms(results.config.poll_interval_ms);
    [
        "How long events took from publication to the client, at every percentile: the left \
         edge is the fastest event, 90% means nine in ten events arrived at least that fast, \
         99.9% one in a thousand was slower. Lower is better; the vertical axis is \
         logarithmic (each grid line is 10× the one below). One panel per number of clients."
            .to_string(),
        format!(
            "The typical delay (median, p50: half the events arrived faster) and the slow \
             tail (p99: one event in a hundred was slower) as clients are added. Both axes \
             are logarithmic. A line that climbs steeply means that transport slows down \
             under load. Polling every {interval} cannot beat about half its interval on \
             events it has to wait for."
        ),
        "All bytes on the wire, both directions, headers, handshakes and framing included, \
         divided by the events delivered. The lighter part of each bar is what the clients \
         sent (requests), the darker part what the server sent. The dashed line is the 871 \
         bytes of HTTP headers per poll measured by Lubbers & Greco in 2010; the dotted line \
         near zero is WebSocket's 2-byte frame header."
            .to_string(),
        "Left: server CPU time spent per 1,000 events delivered (lower is cheaper). Right: \
         the server's peak resident memory during the step. Only the server process is \
         counted, not the load generator."
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
         dip to zero is a stall. The grey dashed line is the feed's rate times the number of \
         clients, what a transport delivering every event would reach. Short polling stays \
         far below it because it only sees the newest state at each poll."
            .to_string(),
    ]
}

/// Adds a `<title>` (the accessible name, and what a viewer shows on hover) to plotters'
/// SVG.
fn with_title(svg: &str, title: &str) -> String {
    match svg.find('>') {
        Some(end) => {
            let mut out = String::with_capacity(svg.len() + title.len() + 64);
            out.push_str(&svg[..end]);
            out.push_str(" role=\"img\">\n<title>");
            out.push_str(&super::html::escape(title));
            out.push_str("</title>");
            out.push_str(&svg[end + 1..]);
            out
        }
        None => svg.to_string(),
    }
}

// ---------------------------------------------------------------- frame and legend

/// One legend entry.
enum Key {
    Transport(String),
    /// A reference line: dashed when `dash` is set.
    Line {
        label: String,
        colour: RGBColor,
        dash: Option<(i32, i32)>,
    },
    Swatch {
        label: String,
        colour: RGBColor,
    },
    Note(String),
}

fn legend_width(key: &Key) -> i32 {
    let text = match key {
        Key::Transport(t) => palette::name(t),
        Key::Line { label, .. } | Key::Swatch { label, .. } => label.clone(),
        Key::Note(note) => note.clone(),
    };
    let mark = if matches!(key, Key::Note(_)) { 0 } else { 44 };
    // A generous estimate of a sans-serif line's width: 0.6 em a character.
    mark + (text.chars().count() as f64 * LEGEND_SIZE / 1.24 * 0.6) as i32 + 34
}

/// Paints the background, the title and the legend rows; returns the area left for the
/// plot(s).
fn frame<'a>(root: &Area<'a>, title: &str, keys: &[Key]) -> Result<Area<'a>> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    let mut rows: Vec<Vec<&Key>> = vec![Vec::new()];
    let mut x = 20;
    for key in keys {
        let w = legend_width(key);
        if x + w > width as i32 - 10 && x > 20 {
            rows.push(Vec::new());
            x = 20;
        }
        x += w;
        if let Some(row) = rows.last_mut() {
            row.push(key);
        }
    }
    let top = 58;
    let row_h = 32;
    let head = top + row_h * rows.len() as i32 + 6;
    let (header, body) = root.split_vertically(head);
    header.draw(&Text::new(
        title.to_string(),
        (20, 12),
        (FONT, TITLE_SIZE).into_font().style(FontStyle::Bold).color(&palette::INK),
    ))?;
    let text_style =
        (FONT, LEGEND_SIZE).into_font().color(&palette::INK).pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y = top + row_h * r as i32 + row_h / 2;
        let mut x = 20;
        for key in row {
            let (label, mark_w) = match key {
                Key::Transport(t) => {
                    let look = palette::look(t);
                    header.draw(&PathElement::new(vec![(x, y), (x + 36, y)], look.colour.stroke_width(3)))?;
                    header.draw(&marker((x + 18, y), &look))?;
                    (palette::name(t), 44)
                }
                Key::Line { label, colour, dash } => {
                    let style = colour.stroke_width(2);
                    match dash {
                        Some((on, off)) => header.draw(&DashedPathElement::new(
                            vec![(x, y), (x + 36, y)].into_iter(),
                            *on,
                            *off,
                            style,
                        ))?,
                        None => header.draw(&PathElement::new(vec![(x, y), (x + 36, y)], style))?,
                    }
                    (label.clone(), 44)
                }
                Key::Swatch { label, colour } => {
                    header.draw(&Rectangle::new([(x + 4, y - 10), (x + 32, y + 10)], colour.filled()))?;
                    (label.clone(), 44)
                }
                Key::Note(note) => (note.clone(), 0),
            };
            let style = if matches!(key, Key::Note(_)) {
                (FONT, LEGEND_SIZE)
                    .into_font()
                    .style(FontStyle::Italic)
                    .color(&palette::REFERENCE)
                    .pos(Pos::new(HPos::Left, VPos::Center))
            } else {
                text_style.clone()
            };
            header.draw(&Text::new(label, (x + mark_w, y), style))?;
            x += legend_width(key);
        }
    }
    Ok(body)
}

fn transport_keys(results: &Results, only: impl Fn(&str) -> bool) -> Vec<Key> {
    derived::transports(results).into_iter().filter(|t| only(t)).map(Key::Transport).collect()
}

/// A marker: a filled shape and its outline, in pixels around the point. One element type
/// for every shape, so any chart can draw any transport's markers.
type MarkerElement<C, DB> = ComposedElement<C, DB, Polygon<BackendCoord>, PathElement<BackendCoord>>;

/// The marker of a transport at a point.
fn marker<C, DB: DrawingBackend>(at: C, look: &Look) -> MarkerElement<C, DB> {
    let c = look.colour;
    let circle: Vec<BackendCoord> = (0..16)
        .map(|i| {
            let a = i as f64 * std::f64::consts::PI / 8.0;
            ((6.5 * a.cos()).round() as i32, (6.5 * a.sin()).round() as i32)
        })
        .collect();
    let (shape, fill): (Vec<BackendCoord>, RGBColor) = match look.marker {
        Marker::Square => (vec![(-6, -6), (6, -6), (6, 6), (-6, 6)], c),
        Marker::Triangle => (vec![(0, -8), (8, 6), (-8, 6)], c),
        Marker::Cross => (
            // A plus sign turned by 45°: arms 2 px wide each side, 7 px long.
            [
                (-2, -7),
                (2, -7),
                (2, -2),
                (7, -2),
                (7, 2),
                (2, 2),
                (2, 7),
                (-2, 7),
                (-2, 2),
                (-7, 2),
                (-7, -2),
                (-2, -2),
            ]
            .iter()
            .map(|(x, y)| {
                let r = std::f64::consts::FRAC_1_SQRT_2;
                (((x - y) as f64 * r).round() as i32, ((x + y) as f64 * r).round() as i32)
            })
            .collect(),
            c,
        ),
        Marker::Ring => (circle, WHITE),
        Marker::Dot => (circle, c),
    };
    let mut outline = shape.clone();
    outline.push(shape[0]);
    let width = if look.marker == Marker::Ring { 3 } else { 1 };
    EmptyElement::at(at)
        + Polygon::new(shape, fill.filled())
        + PathElement::new(outline, c.stroke_width(width))
}

/// A note in the corner of a plot area (no data, points left out).
fn note(area: &Area<'_>, at: (i32, i32), text: &str) -> Result<()> {
    area.draw(&Text::new(
        text.to_string(),
        at,
        (FONT, NOTE_SIZE).into_font().style(FontStyle::Italic).color(&palette::REFERENCE),
    ))?;
    Ok(())
}

// ---------------------------------------------------------------- axes

/// A linear axis with ticks exactly where we want them (plotters' own key-point wrapper
/// loses the label formatter on linear `f64` axes).
#[derive(Clone)]
struct Fixed {
    range: Range<f64>,
    ticks: Vec<f64>,
}

fn fixed(range: Range<f64>, ticks: Vec<f64>) -> Fixed {
    Fixed { range, ticks }
}

impl Ranged for Fixed {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.range.start) / (self.range.end - self.range.start);
        let length = limit.1 - limit.0;
        if length == 0 || !share.is_finite() {
            return limit.1;
        }
        limit.0 + (length as f64 * share + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Ticks for a logarithmic axis: 1-2-5 in each decade (only powers of ten when that is
/// too many), always at least two.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let in_range = |v: &f64| *v >= lo * 0.999 && *v <= hi * 1.001;
    let mut ticks: Vec<f64> =
        (first..=last).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e))).filter(in_range).collect();
    if ticks.len() > 10 {
        ticks = (first..=last).map(|e| 10f64.powi(e)).filter(in_range).collect();
    }
    if ticks.len() < 2 {
        ticks = vec![nice(lo), nice(hi)];
    }
    ticks
}

/// A value rounded to two significant digits, for tick labels.
fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

/// A padded logarithmic range around the positive values, or `fallback` without any.
fn log_range(values: impl Iterator<Item = f64>, fallback: (f64, f64)) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, 0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= 0.0 {
        return fallback.0..fallback.1;
    }
    lo / 1.6..hi * 1.6
}

/// A linear range from zero to a little above the largest value.
fn zero_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let hi = values.filter(|v| v.is_finite()).fold(0f64, f64::max);
    0.0..if hi > 0.0 { hi * 1.15 } else { 1.0 }
}

/// The client-count axis: logarithmic, a tick at every count that ran.
fn clients_axis(counts: &[u32]) -> (Range<f64>, Vec<f64>) {
    let ticks: Vec<f64> = counts.iter().map(|c| *c as f64).collect();
    let lo = ticks.first().copied().unwrap_or(1.0).max(1.0);
    let hi = ticks.last().copied().unwrap_or(10.0).max(lo);
    (lo / 2.0..hi * 2.0, ticks)
}

/// Tick label for a number on an axis: `0.5`, `20`, `1,000`.
fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format::round(v)
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn us_to_ms(us: u64) -> f64 {
    // Zero cannot sit on a log axis; one microsecond is below every real measurement.
    us.max(1) as f64 / 1000.0
}

// ---------------------------------------------------------------- 1: spectrum

/// `(nines, ms)` points of a latency's percentile spectrum; `nines` = −log10(1 − p), so
/// 90 % → 1, 99 % → 2. Falls back to the summary percentiles when the run wrote no spectrum.
/// The 100th percentile sits at infinity on this scale and is left out (it is the max).
fn spectrum_points(lat: &Latency) -> Vec<(f64, f64)> {
    let raw: Vec<(f64, u64)> = if !lat.spectrum.is_empty() {
        // `.hgrm` files write percentiles as fractions; accept 0–1 as well as 0–100.
        let scale = if lat.spectrum.iter().all(|(p, _)| *p <= 1.0) { 100.0 } else { 1.0 };
        lat.spectrum.iter().map(|(p, v)| (p * scale, *v)).collect()
    } else if lat.count > 0 {
        vec![(0.0, lat.min), (50.0, lat.p50), (90.0, lat.p90), (99.0, lat.p99), (99.9, lat.p999)]
    } else {
        Vec::new()
    };
    raw.into_iter()
        .filter(|(p, _)| (0.0..100.0).contains(p))
        .map(|(p, v)| (-(1.0 - p / 100.0).log10(), us_to_ms(v)))
        .filter(|(n, _)| *n <= 6.0)
        .collect()
}

fn nines_label(n: f64) -> String {
    if n < 0.5 {
        "0%".to_string()
    } else {
        let p = 100.0 * (1.0 - 10f64.powf(-n));
        let decimals = (n.round() as usize).saturating_sub(2);
        format!("{p:.decimals$}%")
    }
}

fn spectrum(results: &Results, title: &str) -> Result<String> {
    let counts = derived::client_counts(results);
    let transports = derived::transports(results);
    let cols = counts.len().clamp(1, 3);
    let rows = counts.len().div_ceil(cols).max(1);
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Note("The maximum (100%) is in the tables.".into()));
    let height = 150 + 430 * rows as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        let body = frame(&root, title, &keys)?;
        let all: Vec<(String, u32, Vec<(f64, f64)>)> = results
            .steps
            .iter()
            .map(|s| (s.transport.clone(), s.clients, spectrum_points(&s.delivery_latency_us)))
            .collect();
        let y = log_range(all.iter().flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v)), (0.1, 1000.0));
        let max_nines = all.iter().flat_map(|(_, _, p)| p.iter().map(|(n, _)| *n)).fold(0f64, f64::max);
        // Up to the last point, to the next half nine: no empty decade on the right.
        let x_hi = ((max_nines * 2.0).ceil() / 2.0).clamp(2.0, 6.0);
        let panels = body.split_evenly((rows, cols));
        if counts.is_empty() {
            note(&body, (40, 40), "No step ran: nothing to draw.")?;
        }
        for (panel, clients) in panels.iter().zip(&counts) {
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{} clients", format::int(*clients as u64)), (FONT, PANEL_SIZE))
                .margin(14)
                .margin_right(40)
                .x_label_area_size(62)
                .y_label_area_size(86)
                .build_cartesian_2d(
                    fixed(0.0..x_hi, (0..=x_hi.floor() as i32).map(f64::from).collect()),
                    y.clone().log_scale().with_key_points(log_ticks(y.start, y.end)),
                )?;
            chart
                .configure_mesh()
                .x_desc("percentile (nines scale)")
                .y_desc("delay (ms, log scale)")
                .x_label_formatter(&|v| nines_label(*v))
                .y_label_formatter(&|v| tick(*v))
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            let mut empty = Vec::new();
            for t in &transports {
                let Some((_, _, points)) = all.iter().find(|(tt, c, _)| tt == t && c == clients) else {
                    continue;
                };
                let look = palette::look(t);
                if points.is_empty() {
                    empty.push(palette::name(t));
                    continue;
                }
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
            }
            if !empty.is_empty() {
                note(panel, (110, 50), &format!("no deliveries: {}", empty.join(", ")))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 2: latency vs clients

/// Draws one line per transport against client count, on logarithmic or linear y.
struct Lines<'r> {
    results: &'r Results,
    only: fn(&str) -> bool,
}

impl Lines<'_> {
    /// `(transport, [(clients, value)])` for the transports kept, skipping missing values.
    fn series(&self, value: impl Fn(&crate::results::Step) -> Option<f64>) -> Vec<(String, Vec<(f64, f64)>)> {
        derived::transports(self.results)
            .into_iter()
            .filter(|t| (self.only)(t))
            .map(|t| {
                let mut points: Vec<(f64, f64)> = self
                    .results
                    .steps
                    .iter()
                    .filter(|s| s.transport == t)
                    .filter_map(|s| value(s).map(|v| (s.clients as f64, v)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (t, points)
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn panel(
        &self,
        panel: &Area<'_>,
        caption: &str,
        y_desc: &str,
        series: &[(String, Vec<(f64, f64)>)],
        y: Range<f64>,
        log_y: bool,
        reference: Option<&[(f64, f64)]>,
    ) -> Result<()> {
        let counts = derived::client_counts(self.results);
        let (x, x_ticks) = clients_axis(&counts);
        let builder = |panel| {
            let mut b = ChartBuilder::on(panel);
            b.caption(caption, (FONT, PANEL_SIZE))
                .margin(14)
                .margin_right(40)
                .x_label_area_size(62)
                .y_label_area_size(92);
            b
        };
        let x_fmt = |v: &f64| format::round(*v);
        let y_fmt = |v: &f64| tick(*v);
        if log_y {
            let mut chart = builder(panel).build_cartesian_2d(
                x.clone().log_scale().with_key_points(x_ticks.clone()),
                y.clone().log_scale().with_key_points(log_ticks(y.start, y.end)),
            )?;
            chart
                .configure_mesh()
                .x_desc("clients (log scale)")
                .y_desc(y_desc)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            if let Some(reference) = reference {
                chart.draw_series(DashedLineSeries::new(
                    reference.to_vec(),
                    10,
                    6,
                    palette::REFERENCE.stroke_width(2),
                ))?;
            }
            for (t, points) in series {
                let look = palette::look(t);
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
            }
        } else {
            let mut chart = builder(panel)
                .build_cartesian_2d(x.clone().log_scale().with_key_points(x_ticks.clone()), y.clone())?;
            chart
                .configure_mesh()
                .x_desc("clients (log scale)")
                .y_desc(y_desc)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .y_labels(6)
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            for (t, points) in series {
                let look = palette::look(t);
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
            }
        }
        let missing: Vec<String> =
            series.iter().filter(|(_, p)| p.is_empty()).map(|(t, _)| palette::name(t)).collect();
        if !missing.is_empty() {
            note(panel, (110, 50), &format!("not drawn: {}", missing.join(", ")))?;
        }
        Ok(())
    }
}

fn latency(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let ms = |us: u64| us_to_ms(us);
    let p50 = lines.series(|s| (s.delivery_latency_us.count > 0).then(|| ms(s.delivery_latency_us.p50)));
    let p99 = lines.series(|s| (s.delivery_latency_us.count > 0).then(|| ms(s.delivery_latency_us.p99)));
    let y = log_range(p50.iter().chain(&p99).flat_map(|(_, p)| p.iter().map(|(_, v)| *v)), (0.1, 1000.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 600)).into_drawing_area();
        let body = frame(&root, title, &transport_keys(results, |_| true))?;
        let halves = body.split_evenly((1, 2));
        lines.panel(&halves[0], "median (p50)", "delay (ms, log scale)", &p50, y.clone(), true, None)?;
        lines.panel(
            &halves[1],
            "p99 (1 event in 100 slower)",
            "delay (ms, log scale)",
            &p99,
            y,
            true,
            None,
        )?;
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 3: bytes per event

fn bytes(results: &Results, title: &str) -> Result<String> {
    const LUBBERS_POLL: f64 = 871.0;
    const WS_FRAME: f64 = 2.0;
    let counts = derived::client_counts(results);
    let transports = derived::transports(results);
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Swatch { label: "client → server (lighter)".into(), colour: RGBColor(200, 200, 200) });
    keys.push(Key::Swatch { label: "server → client (darker)".into(), colour: RGBColor(110, 110, 110) });
    keys.push(Key::Line {
        label: "871 B: HTTP headers per poll (2010)".into(),
        colour: palette::REFERENCE,
        dash: Some((12, 6)),
    });
    keys.push(Key::Line {
        label: "2 B: WebSocket frame header".into(),
        colour: palette::INK,
        dash: Some((3, 4)),
    });
    let totals = results.steps.iter().filter_map(derived::bytes_per_delivery).map(|(a, b)| a + b);
    let y = zero_range(totals.chain([LUBBERS_POLL]));
    let groups = counts.len().max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 640)).into_drawing_area();
        let body = frame(&root, title, &keys)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(14)
            .margin_right(40)
            .x_label_area_size(62)
            .y_label_area_size(100)
            .build_cartesian_2d(
                fixed(-0.5..groups - 0.5, (0..counts.len()).map(|i| i as f64).collect()),
                y.clone(),
            )?;
        chart
            .configure_mesh()
            .x_desc("clients")
            .y_desc("bytes per delivered event")
            .x_label_formatter(&|v| {
                let i = v.round() as usize;
                counts.get(i).map(|c| format!("{} clients", format::int(*c as u64))).unwrap_or_default()
            })
            .y_label_formatter(&|v| format::round(*v))
            .y_labels(8)
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .bold_line_style(palette::GRID)
            .light_line_style(TRANSPARENT)
            .draw()?;
        let slots = transports.len().max(1) as f64;
        let slot = 0.84 / slots;
        let value_style = (FONT, LABEL_SIZE - 2.0)
            .into_font()
            .color(&palette::INK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        for (g, clients) in counts.iter().enumerate() {
            for (i, t) in transports.iter().enumerate() {
                let Some(step) = derived::step(results, t, *clients) else { continue };
                let x0 = g as f64 - 0.42 + i as f64 * slot + slot * 0.08;
                let x1 = x0 + slot * 0.84;
                let xc = (x0 + x1) / 2.0;
                let look = palette::look(t);
                match derived::bytes_per_delivery(step) {
                    Some((up, down)) => {
                        chart.draw_series([
                            Rectangle::new(
                                [(x0, 0.0), (x1, up)],
                                palette::lighter(look.colour, 0.55).filled(),
                            ),
                            Rectangle::new([(x0, up), (x1, up + down)], look.colour.filled()),
                        ])?;
                        chart.draw_series([Text::new(
                            format::round(up + down),
                            (xc, up + down),
                            value_style.clone(),
                        )])?;
                    }
                    None => {
                        chart.draw_series([Text::new("none".to_string(), (xc, 0.0), value_style.clone())])?;
                    }
                }
            }
        }
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, LUBBERS_POLL), (groups - 0.5, LUBBERS_POLL)],
            12,
            6,
            palette::REFERENCE.stroke_width(2),
        ))?;
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, WS_FRAME), (groups - 0.5, WS_FRAME)],
            3,
            4,
            palette::INK.stroke_width(2),
        ))?;
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 4: server cost

fn server_cost(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: |_| true };
    let cpu = lines.series(derived::server_cpu_per_1000);
    let mem =
        lines.series(|s| (s.server.rss_peak_bytes > 0).then(|| s.server.rss_peak_bytes as f64 / 1048576.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 600)).into_drawing_area();
        let body = frame(&root, title, &transport_keys(results, |_| true))?;
        let halves = body.split_evenly((1, 2));
        let y_cpu = zero_range(cpu.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        let y_mem = zero_range(mem.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
        lines.panel(
            &halves[0],
            "CPU per 1,000 deliveries",
            "server CPU seconds",
            &cpu,
            y_cpu,
            false,
            None,
        )?;
        lines.panel(&halves[1], "peak memory", "server resident memory (MiB)", &mem, y_mem, false, None)?;
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 5: polling requests

fn polling(results: &Results, title: &str) -> Result<String> {
    let lines = Lines { results, only: derived::is_polling };
    let req = lines.series(|s| derived::requests_per_s(s).filter(|v| *v > 0.0));
    let empty = lines.series(derived::empty_polls_per_s);
    let scheduled: Vec<(f64, f64)> = derived::client_counts(results)
        .into_iter()
        .filter(|c| results.steps.iter().any(|s| s.clients == *c && derived::is_scheduled_poll(&s.transport)))
        .filter_map(|c| {
            (results.config.poll_interval_ms > 0.0)
                .then(|| (c as f64, c as f64 * 1000.0 / results.config.poll_interval_ms))
        })
        .collect();
    let mut keys = transport_keys(results, derived::is_polling);
    if !scheduled.is_empty() {
        keys.push(Key::Line {
            label: format!(
                "scheduled: one poll per client every {}",
                format::duration_ms(results.config.poll_interval_ms)
            ),
            colour: palette::REFERENCE,
            dash: Some((10, 6)),
        });
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 600)).into_drawing_area();
        let body = frame(&root, title, &keys)?;
        if req.is_empty() {
            note(&body, (40, 40), "No polling transport ran in this run.")?;
        } else {
            let halves = body.split_evenly((1, 2));
            let y_req = log_range(
                req.iter()
                    .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
                    .chain(scheduled.iter().map(|(_, v)| *v)),
                (0.1, 100.0),
            );
            let y_empty = zero_range(empty.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v)));
            let reference = (!scheduled.is_empty()).then_some(scheduled.as_slice());
            lines.panel(
                &halves[0],
                "requests per second",
                "requests/s (log scale)",
                &req,
                y_req,
                true,
                reference,
            )?;
            lines.panel(
                &halves[1],
                "empty polls per second",
                "empty polls/s",
                &empty,
                y_empty,
                false,
                None,
            )?;
        }
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 6: connect time

fn connect(results: &Results, title: &str) -> Result<String> {
    let transports = derived::transports(results);
    let mut rows: Vec<(String, &crate::results::Step)> = Vec::new();
    for clients in derived::client_counts(results) {
        for t in &transports {
            if let Some(step) = derived::step(results, t, clients) {
                let mut label = format!("{}, {}", palette::name(t), format::int(clients as u64));
                if step.connect_latency_us.count == 0 {
                    label.push_str(" (none)");
                }
                rows.push((label, step));
            }
        }
    }
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Note("row: transport, clients · line: fastest to slowest · box: median to p99".into()));
    let n = rows.len().max(1);
    let height = 200 + 38 * n as u32;
    let x = log_range(
        rows.iter().filter(|(_, s)| s.connect_latency_us.count > 0).flat_map(|(_, s)| {
            let l = &s.connect_latency_us;
            [us_to_ms(l.min), us_to_ms(l.max)]
        }),
        (0.01, 100.0),
    );
    let labels: Vec<String> = rows.iter().map(|(l, _)| l.clone()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        let body = frame(&root, title, &keys)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(14)
            .margin_right(40)
            .x_label_area_size(62)
            .y_label_area_size(300)
            .build_cartesian_2d(
                x.clone().log_scale().with_key_points(log_ticks(x.start, x.end)),
                fixed(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
            )?;
        chart
            .configure_mesh()
            .x_desc("connect + handshake time (ms, log scale)")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| {
                let i = v.round() as usize;
                // The first row at the top.
                labels.get(n.wrapping_sub(1).wrapping_sub(i)).cloned().unwrap_or_default()
            })
            .label_style((FONT, LABEL_SIZE))
            .axis_desc_style((FONT, DESC_SIZE))
            .bold_line_style(palette::GRID)
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (i, (_, step)) in rows.iter().enumerate() {
            let l = &step.connect_latency_us;
            if l.count == 0 {
                continue;
            }
            let y = (n - 1 - i) as f64;
            let look = palette::look(&step.transport);
            let (min, p50, p99, max) = (us_to_ms(l.min), us_to_ms(l.p50), us_to_ms(l.p99), us_to_ms(l.max));
            chart.draw_series([PathElement::new(vec![(min, y), (max, y)], look.colour.stroke_width(2))])?;
            chart.draw_series([Rectangle::new(
                [(p50, y - 0.28), (p99.max(p50), y + 0.28)],
                look.colour.filled(),
            )])?;
            chart.draw_series([PathElement::new(
                vec![(p50, y - 0.4), (p50, y + 0.4)],
                palette::INK.stroke_width(3),
            )])?;
        }
        root.present()?;
    }
    Ok(svg)
}

// ---------------------------------------------------------------- 7: timeline

fn timeline(results: &Results, title: &str) -> Result<String> {
    let counts = derived::client_counts(results);
    let transports = derived::transports(results);
    let cols = counts.len().clamp(1, 2);
    let rows = counts.len().div_ceil(cols).max(1);
    let mut keys = transport_keys(results, |_| true);
    keys.push(Key::Line {
        label: format!("feed rate ({}/s) × clients", tick(results.config.rate)),
        colour: palette::REFERENCE,
        dash: Some((10, 6)),
    });
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, 150 + 430 * rows as u32)).into_drawing_area();
        let body = frame(&root, title, &keys)?;
        if counts.is_empty() {
            note(&body, (40, 40), "No step ran: nothing to draw.")?;
        }
        for (panel, clients) in body.split_evenly((rows, cols)).iter().zip(&counts) {
            let steps: Vec<_> =
                transports.iter().filter_map(|t| derived::step(results, t, *clients)).collect();
            let seconds = steps.iter().map(|s| s.deliveries_per_s.len()).max().unwrap_or(0).max(1) as f64;
            let expected = results.config.rate * *clients as f64;
            let y = zero_range(
                steps.iter().flat_map(|s| s.deliveries_per_s.iter().map(|v| *v as f64)).chain([expected]),
            );
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{} clients", format::int(*clients as u64)), (FONT, PANEL_SIZE))
                .margin(14)
                .margin_right(40)
                .x_label_area_size(62)
                .y_label_area_size(92)
                .build_cartesian_2d(0.0..seconds, y)?;
            chart
                .configure_mesh()
                .x_desc("second of the measured window")
                .y_desc("deliveries per second")
                .x_label_formatter(&|v| tick(*v))
                .y_label_formatter(&|v| format::round(*v))
                .x_labels(11)
                .y_labels(6)
                .label_style((FONT, LABEL_SIZE))
                .axis_desc_style((FONT, DESC_SIZE))
                .bold_line_style(palette::GRID)
                .light_line_style(TRANSPARENT)
                .draw()?;
            chart.draw_series(DashedLineSeries::new(
                [(0.0, expected), (seconds, expected)],
                10,
                6,
                palette::REFERENCE.stroke_width(2),
            ))?;
            for step in &steps {
                let look = palette::look(&step.transport);
                let points: Vec<(f64, f64)> = step
                    .deliveries_per_s
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64 + 1.0, *v as f64))
                    .collect();
                chart.draw_series(LineSeries::new(points.clone(), look.colour.stroke_width(3)))?;
                if points.len() <= 30 {
                    chart.draw_series(points.iter().map(|p| marker(*p, &look)))?;
                }
            }
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_round_and_inside_the_range() {
        assert_eq!(log_ticks(0.5, 30.0), vec![0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
        let wide = log_ticks(0.001, 10_000.0);
        assert!(wide.len() <= 8 && wide.contains(&1.0), "{wide:?}");
        assert_eq!(log_ticks(3.0, 4.0).len(), 2);
    }

    #[test]
    fn nines_labels() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(4.0), "99.99%");
    }

    #[test]
    fn spectrum_accepts_fractions_and_falls_back_to_the_summary() {
        let lat = Latency {
            count: 3,
            spectrum: vec![(0.0, 100), (0.5, 200), (0.99, 400), (1.0, 900)],
            ..Default::default()
        };
        let points = spectrum_points(&lat);
        assert_eq!(points.len(), 3, "the 100th percentile is left out");
        assert!((points[2].0 - 2.0).abs() < 1e-9);
        let summary = Latency { count: 5, p50: 1000, p99: 3000, ..Default::default() };
        assert_eq!(spectrum_points(&summary).len(), 5);
        assert!(spectrum_points(&Latency::default()).is_empty());
    }
}
