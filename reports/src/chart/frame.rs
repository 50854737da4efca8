//! What every chart shares: the SVG image with its title and legend strip, the transports'
//! lines and markers, notes.
//!
//! The legend is drawn by hand above the plots (plotters' own legend box sits on the data);
//! its rows wrap by an estimate of text width, generous so that labels never touch.

use anyhow::Result;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::Ranged;
use plotters::element::{ComposedElement, DashedPathElement};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use proto::results::Results;
use proto::Transport;

use super::super::derived::Series;

use super::super::palette::{Look, Marker};
use super::super::{derived, palette};
use super::style::{Area, FONT, LEGEND_SIZE, NOTE_SIZE, TITLE_SIZE};

type BackendCoord = (i32, i32);

/// One legend entry.
pub(super) enum Key {
    /// A series' line and marker, with its name ("WebSocket", "WebSocket, HTTP/2, TLS").
    Series {
        name: String,
        look: Look,
    },
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

pub(super) fn legend_width(key: &Key) -> i32 {
    let text = match key {
        Key::Series { name, .. } => name.clone(),
        Key::Line { label, .. } | Key::Swatch { label, .. } => label.clone(),
        Key::Note(note) => note.clone(),
    };
    let mark = if matches!(key, Key::Note(_)) { 0 } else { 44 };
    // A generous estimate of a sans-serif line's width: 0.6 em a character.
    mark + (text.chars().count() as f64 * LEGEND_SIZE / 1.24 * 0.6) as i32 + 34
}

/// A chart of `size` pixels as an SVG string: the background, title and legend (`frame`),
/// then whatever `plot` draws on the area left below them.
pub(super) fn svg(
    size: (u32, u32),
    title: &str,
    keys: &[Key],
    plot: impl FnOnce(&Area<'_>) -> Result<()>,
) -> Result<String> {
    let rows = legend_rows(size.0, keys).len() as u32;
    // A legend of more rows (a run of many variants) adds height instead of taking the plot's.
    let size = (size.0, size.1 + 32 * rows.saturating_sub(3));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let body = frame(&root, title, keys)?;
        plot(&body)?;
        root.present()?;
    }
    Ok(svg)
}

/// Paints the background, the title and the legend rows; returns the area left for the
/// plot(s).
fn frame<'a>(root: &Area<'a>, title: &str, keys: &[Key]) -> Result<Area<'a>> {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    let rows = legend_rows(width, keys);
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
                Key::Series { name, look } => {
                    let line = vec![(x, y), (x + 36, y)];
                    let style = look.colour.stroke_width(3);
                    match look.dash {
                        Some((on, off)) => {
                            header.draw(&DashedPathElement::new(line, on as i32, off as i32, style))?
                        }
                        None => header.draw(&PathElement::new(line, style))?,
                    }
                    header.draw(&marker((x + 18, y), look))?;
                    (name.clone(), 44)
                }
                Key::Line { label, colour, dash } => {
                    let style = colour.stroke_width(2);
                    match dash {
                        Some((on, off)) => header.draw(&DashedPathElement::new(
                            vec![(x, y), (x + 36, y)],
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

/// The legend's keys in rows that fit `width` pixels.
fn legend_rows(width: u32, keys: &[Key]) -> Vec<Vec<&Key>> {
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
    rows
}

/// A legend note listing what a chart could not draw, if anything.
pub(super) fn skipped_key(what: &str, skipped: &[String]) -> Option<Key> {
    (!skipped.is_empty()).then(|| Key::Note(format!("Not drawn, {what}: {}.", skipped.join(", "))))
}

/// The legend keys of the transports `only` keeps, each in its colour; with several variants
/// then one key per variant in ink, drawn with the variant's dash and marker fill ("HTTP/2,
/// TLS, compressed"), so that 5 transports × 5 variants take 10 keys, not 25.
pub(super) fn transport_keys(results: &Results, only: impl Fn(Transport) -> bool) -> Vec<Key> {
    let series: Vec<Series> = derived::series(results).into_iter().filter(|s| only(s.transport)).collect();
    let mut keys: Vec<Key> = derived::transports(results)
        .into_iter()
        .filter(|t| series.iter().any(|s| s.transport == *t))
        .map(|t| Key::Series { name: palette::name(t).to_string(), look: palette::look(t) })
        .collect();
    let varying = derived::varying(results);
    if varying.any() {
        for v in derived::variants(results) {
            if let Some(s) = series.iter().find(|s| s.variant == v) {
                let look = Look { colour: palette::INK, marker: Marker::Dot, ..look_of(results, s) };
                keys.push(Key::Series { name: v.label(varying), look });
            }
        }
    }
    keys
}

/// How a series of the run is drawn.
pub(super) fn look_of(results: &Results, series: &Series) -> Look {
    palette::series_look(series, &derived::variants(results))
}

/// A marker: a filled shape and its outline, in pixels around the point. One element type
/// for every shape, so any chart can draw any transport's markers.
pub(super) type MarkerElement<C, DB> =
    ComposedElement<C, DB, Polygon<BackendCoord>, PathElement<BackendCoord>>;

/// The marker of a transport at a point.
pub(super) fn marker<C, DB: DrawingBackend>(at: C, look: &Look) -> MarkerElement<C, DB> {
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
    let fill = if look.hollow { WHITE } else { fill };
    let mut outline = shape.clone();
    outline.push(shape[0]);
    let width = if look.marker == Marker::Ring || look.hollow { 3 } else { 1 };
    EmptyElement::at(at)
        + Polygon::new(shape, fill.filled())
        + PathElement::new(outline, c.stroke_width(width))
}

/// A series' line through `points`, with its marker at each point when `markers`.
pub(super) fn transport_line<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    points: &[(f64, f64)],
    look: &Look,
    markers: bool,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = look.colour.stroke_width(3);
    match look.dash {
        Some((on, off)) => {
            chart.draw_series(DashedLineSeries::new(points.to_vec(), on as i32, off as i32, style))?
        }
        None => chart.draw_series(LineSeries::new(points.to_vec(), style))?,
    };
    if markers {
        chart.draw_series(points.iter().map(|p| marker(*p, look)))?;
    }
    Ok(())
}

/// A note in the corner of a plot area (no data, points left out).
pub(super) fn note(area: &Area<'_>, at: (i32, i32), text: &str) -> Result<()> {
    area.draw(&Text::new(
        text.to_string(),
        at,
        (FONT, NOTE_SIZE).into_font().style(FontStyle::Italic).color(&palette::REFERENCE),
    ))?;
    Ok(())
}
