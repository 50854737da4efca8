//! How every plot looks: the image width, the font and its sizes, the margins round a plot
//! and its grid, in one place so that the seven charts match.
//!
//! plotters writes `font-size = size / 1.24` into the SVG: a size of 30 is 24 px.

use plotters::chart::{ChartBuilder, MeshStyle};
use plotters::coord::ranged1d::Ranged;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::super::palette;

/// Width of every chart, in pixels.
pub(super) const W: u32 = 1200;
pub(super) const FONT: &str = "sans-serif";
pub(super) const TITLE_SIZE: f64 = 30.0;
pub(super) const LEGEND_SIZE: f64 = 21.0;
pub(super) const PANEL_SIZE: f64 = 23.0;
pub(super) const LABEL_SIZE: f64 = 19.0;
pub(super) const DESC_SIZE: f64 = 21.0;
pub(super) const NOTE_SIZE: f64 = 19.0;

/// A part of a chart's SVG image.
pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A chart builder on `area` with the margins every plot has, the panel's caption if any,
/// and `y_labels_px` pixels left of the plot for the y tick labels (row labels need more).
pub(super) fn plot_on<'a, 's>(
    area: &'a Area<'s>,
    caption: Option<&str>,
    y_labels_px: u32,
) -> ChartBuilder<'a, 'static, SVGBackend<'s>> {
    let mut builder = ChartBuilder::on(area);
    if let Some(caption) = caption {
        builder.caption(caption, (FONT, PANEL_SIZE));
    }
    builder.margin(14).margin_right(40).x_label_area_size(62).y_label_area_size(y_labels_px);
    builder
}

/// The mesh every plot draws: tick labels and axis names in the chart font, grid lines at the
/// labelled ticks only. The caller adds the axis names and label formats, then draws it.
pub(super) fn mesh<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, DESC_SIZE))
        .bold_line_style(palette::GRID)
        .light_line_style(TRANSPARENT)
}
