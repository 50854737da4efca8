//! One colour, one marker and one plain name per transport, used by every chart and table.
//!
//! The colours are the Okabe–Ito set (distinguishable with the common colour-vision
//! deficiencies); pull transports get the warm ones, push transports the cool ones, and each
//! also has its own marker shape so a black-and-white printout still tells them apart. A run
//! with several variants keeps the transport's colour and tells a variant by its line's dash
//! (protocol and TLS) and a hollow marker (compression on).

use std::borrow::Borrow;

use plotters::style::RGBColor;
use proto::{Compression, Transport, Variant};

use super::derived::Series;

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
    /// The line's dash `(on, off)` in pixels; `None`: solid.
    pub dash: Option<(u32, u32)>,
    /// The marker drawn hollow (white inside).
    pub hollow: bool,
}

/// The dashes that tell the run's protocol × TLS combinations apart, the first solid.
const DASHES: [Option<(u32, u32)>; 4] = [None, Some((8, 6)), Some((2, 4)), Some((5, 2))];

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
    Look { colour, marker, name: transport.plain_name(), dash: None, hollow: false }
}

/// The look of a series among the run's `variants` (`derived::variants`): its transport's
/// colour and marker, dashed by its protocol and TLS (the first combination the run has is
/// solid), hollow when compressed in a run that also ran uncompressed. A run with one
/// variant draws exactly as [`look`].
pub fn series_look(series: &Series, variants: &[Variant]) -> Look {
    let mut out = look(series.transport);
    let mut combos: Vec<(proto::Protocol, proto::Security)> = Vec::new();
    for v in variants {
        if !combos.contains(&(v.protocol, v.tls)) {
            combos.push((v.protocol, v.tls));
        }
    }
    let at = combos.iter().position(|c| *c == (series.variant.protocol, series.variant.tls)).unwrap_or(0);
    out.dash = DASHES[at % DASHES.len()];
    let both = |c: Compression| variants.iter().any(|v| v.compression == c);
    out.hollow = series.variant.compression == Compression::On && both(Compression::Off);
    out
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

    #[test]
    fn a_variant_keeps_its_transports_colour_and_changes_dash_or_fill() {
        let h1 = Variant::default();
        let h2 = Variant { protocol: proto::Protocol::H2, ..h1 };
        let z = Variant { compression: Compression::On, ..h1 };
        let variants = [h1, h2, z];
        let ws = |variant| series_look(&Series { transport: Transport::Ws, variant }, &variants);
        assert_eq!(ws(h1), look(Transport::Ws), "the first variant looks as a single-variant run");
        assert_eq!(ws(h2).colour, look(Transport::Ws).colour);
        assert_ne!(ws(h2).dash, ws(h1).dash);
        assert!(ws(z).hollow && !ws(h2).hollow);
        assert_eq!(series_look(&Series { transport: Transport::Ws, variant: z }, &[z]), look(Transport::Ws));
    }
}
