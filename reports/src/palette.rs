//! One colour, one marker and one plain name per transport, used by every chart and table.
//!
//! The colours are the Okabe–Ito set (distinguishable with the common colour-vision
//! deficiencies); pull transports get the warm ones, push transports the cool ones, and each
//! also has its own marker shape so a black-and-white printout still tells them apart.

use std::borrow::Borrow;

use plotters::style::RGBColor;
use proto::Transport;

/// The marker drawn at each data point of a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Square,
    Triangle,
    Cross,
    Ring,
    Dot,
}

/// How one transport looks in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub colour: RGBColor,
    pub marker: Marker,
    /// The name a reader who has never seen the tool understands.
    pub name: &'static str,
}

/// Grey for anything that is not a transport (reference lines, expected values).
pub const REFERENCE: RGBColor = RGBColor(90, 90, 90);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(222, 222, 222);
/// Text.
pub const INK: RGBColor = RGBColor(20, 20, 20);

/// The look of a transport.
pub fn look(transport: impl Borrow<Transport>) -> Look {
    let transport = *transport.borrow();
    let (colour, marker) = match transport {
        Transport::ShortPoll => (RGBColor(213, 94, 0), Marker::Square),
        Transport::DeltaPoll => (RGBColor(230, 159, 0), Marker::Triangle),
        Transport::LongPoll => (RGBColor(204, 121, 167), Marker::Cross),
        Transport::Sse => (RGBColor(0, 158, 115), Marker::Ring),
        Transport::Ws => (RGBColor(0, 114, 178), Marker::Dot),
    };
    Look { colour, marker, name: transport.plain_name() }
}

/// The plain name of a transport.
pub fn name(transport: impl Borrow<Transport>) -> &'static str {
    transport.borrow().plain_name()
}

/// The colour as CSS `#rrggbb`, for the tables' swatches.
pub fn css(transport: impl Borrow<Transport>) -> String {
    let RGBColor(r, g, b) = look(transport).colour;
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A lighter shade of a colour (`amount` 0–1 towards white), for the second part of a
/// stacked bar.
pub fn lighter(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (v as f64 + (255.0 - v as f64) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_transport_has_its_own_colour_and_marker() {
        let all = Transport::ALL;
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(look(a).colour, look(b).colour, "{a} {b}");
                assert_ne!(look(a).marker, look(b).marker, "{a} {b}");
            }
        }
        assert_eq!(name(Transport::Ws), "WebSocket");
        assert_eq!(css(Transport::Ws), "#0072b2");
    }
}
