//! The dimensions of a run beside transport and client count: the HTTP protocol, TLS and
//! compression. One mechanism serves all three: each is a [`Dimension`] (its values, their
//! command-line/`results.json` names and plain names), a [`Variant`] is one value of each, and
//! [`Dimensions`] is the set of values a run sweeps, whose cartesian product gives its variants.
//!
//! The CLI parses every dimension the same way, `results.json` records a [`Variant`] per step
//! and the [`Dimensions`] per run (absent in older files: HTTP/1.1, cleartext, uncompressed),
//! and the report labels and groups series by [`Variant::label`] over the dimensions that vary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One dimension of a run: a small closed set of values, each with a command-line name (also
/// its `results.json` name) and a plain name for a reader.
pub trait Dimension: Copy + Eq + fmt::Debug + 'static {
    /// The dimension's own name: its command-line flag (`--protocol`) and report heading.
    const FLAG: &'static str;
    /// Heading for a reader ("Protocol").
    const HEADING: &'static str;
    /// Every value, in the order a sweep takes them; the first is the default.
    const ALL: &'static [Self];
    /// The command line's and `results.json`'s name of the value.
    fn name(self) -> &'static str;
    /// The value in plain words ("HTTP/2").
    fn plain_name(self) -> &'static str;

    /// The value named `s`, or an error listing the valid names.
    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
            format!("unknown --{} `{s}`; use {}", Self::FLAG, names.join(" or "))
        })
    }
}

/// Implements `Display`, `FromStr` and serde by name for a [`Dimension`].
macro_rules! by_name {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                <$t as Dimension>::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t as Dimension>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl Default for $t {
            fn default() -> Self {
                <$t as Dimension>::ALL[0]
            }
        }
    };
}

/// The HTTP version a client speaks. WebSocket over `h2` is an extended CONNECT stream
/// (RFC 8441); SSE and polls are ordinary h2 streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    H1,
    H2,
}

impl Dimension for Protocol {
    const FLAG: &'static str = "protocol";
    const HEADING: &'static str = "Protocol";
    const ALL: &'static [Protocol] = &[Protocol::H1, Protocol::H2];

    fn name(self) -> &'static str {
        match self {
            Protocol::H1 => "h1",
            Protocol::H2 => "h2",
        }
    }

    fn plain_name(self) -> &'static str {
        match self {
            Protocol::H1 => "HTTP/1.1",
            Protocol::H2 => "HTTP/2",
        }
    }
}

impl Protocol {
    /// The TLS ALPN identifier.
    pub fn alpn(self) -> &'static [u8] {
        match self {
            Protocol::H1 => b"http/1.1",
            Protocol::H2 => b"h2",
        }
    }
}
by_name!(Protocol);

/// Whether connections run over TLS (HTTPS, `wss:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Security {
    Plain,
    Tls,
}

impl Dimension for Security {
    const FLAG: &'static str = "tls";
    const HEADING: &'static str = "TLS";
    const ALL: &'static [Security] = &[Security::Plain, Security::Tls];

    fn name(self) -> &'static str {
        match self {
            Security::Plain => "off",
            Security::Tls => "on",
        }
    }

    fn plain_name(self) -> &'static str {
        match self {
            Security::Plain => "cleartext",
            Security::Tls => "TLS",
        }
    }
}
by_name!(Security);

/// Whether clients offer compression as a browser does (`accept-encoding: gzip, deflate, br,
/// zstd`; WebSocket `permessage-deflate; client_max_window_bits`) and the server takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    Off,
    On,
}

impl Dimension for Compression {
    const FLAG: &'static str = "compression";
    const HEADING: &'static str = "Compression";
    const ALL: &'static [Compression] = &[Compression::Off, Compression::On];

    fn name(self) -> &'static str {
        match self {
            Compression::Off => "off",
            Compression::On => "on",
        }
    }

    fn plain_name(self) -> &'static str {
        match self {
            Compression::Off => "uncompressed",
            Compression::On => "compressed",
        }
    }
}
by_name!(Compression);

/// One value of every dimension: how a step's clients talk to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Variant {
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub tls: Security,
    #[serde(default)]
    pub compression: Compression,
}

/// Which dimensions a set of variants differs in; used to label only what varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Varying {
    pub protocol: bool,
    pub tls: bool,
    pub compression: bool,
}

impl Varying {
    /// The dimensions in which `variants` take more than one value.
    pub fn of<'a>(variants: impl IntoIterator<Item = &'a Variant>) -> Varying {
        let mut first: Option<Variant> = None;
        let mut out = Varying::default();
        for v in variants {
            let f = *first.get_or_insert(*v);
            out.protocol |= f.protocol != v.protocol;
            out.tls |= f.tls != v.tls;
            out.compression |= f.compression != v.compression;
        }
        out
    }

    pub fn any(self) -> bool {
        self.protocol || self.tls || self.compression
    }
}

impl Variant {
    /// The variant's values as `(heading, plain value)` pairs, in dimension order.
    pub fn columns(self) -> [(&'static str, &'static str); 3] {
        [
            (Protocol::HEADING, self.protocol.plain_name()),
            (Security::HEADING, self.tls.plain_name()),
            (Compression::HEADING, self.compression.plain_name()),
        ]
    }

    /// A short plain label of the dimensions that vary ("HTTP/2, TLS"); empty when none does.
    pub fn label(self, varying: Varying) -> String {
        let mut parts = Vec::new();
        if varying.protocol {
            parts.push(self.protocol.plain_name());
        }
        if varying.tls {
            parts.push(self.tls.plain_name());
        }
        if varying.compression {
            parts.push(self.compression.plain_name());
        }
        parts.join(", ")
    }

    /// The variant's short name for file names and step labels: `h1`, `h2+tls`, `h1+z`,
    /// `h2+tls+z` (`z`: compression on).
    pub fn slug(self) -> String {
        let mut s = self.protocol.name().to_string();
        if self.tls == Security::Tls {
            s.push_str("+tls");
        }
        if self.compression == Compression::On {
            s.push_str("+z");
        }
        s
    }

    /// The `http`/`https` scheme of this variant's URLs.
    pub fn scheme(self) -> &'static str {
        match self.tls {
            Security::Plain => "http",
            Security::Tls => "https",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.slug())
    }
}

/// The values of each dimension a run sweeps (each non-empty); its variants are their
/// cartesian product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub protocol: Vec<Protocol>,
    pub tls: Vec<Security>,
    pub compression: Vec<Compression>,
}

impl Default for Dimensions {
    /// HTTP/1.1, cleartext, uncompressed: what a run did before these dimensions existed.
    fn default() -> Self {
        Dimensions {
            protocol: vec![Protocol::H1],
            tls: vec![Security::Plain],
            compression: vec![Compression::Off],
        }
    }
}

impl Dimensions {
    /// Every variant, protocol outermost, each dimension in the order given.
    pub fn variants(&self) -> Vec<Variant> {
        let mut out = Vec::new();
        for &protocol in &self.protocol {
            for &tls in &self.tls {
                for &compression in &self.compression {
                    let v = Variant { protocol, tls, compression };
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// Refuses an empty dimension, naming its flag.
    pub fn validate(&self) -> Result<(), String> {
        let empty = [
            (self.protocol.is_empty(), Protocol::FLAG),
            (self.tls.is_empty(), Security::FLAG),
            (self.compression.is_empty(), Compression::FLAG),
        ];
        match empty.iter().find(|(e, _)| *e) {
            Some((_, flag)) => Err(format!("--{flag} needs at least one value")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<D>()
    where
        D: Dimension + Default + fmt::Display + FromStr<Err = String> + Serialize + for<'de> Deserialize<'de>,
    {
        for &v in D::ALL {
            assert_eq!(v.to_string().parse::<D>(), Ok(v));
            let json = serde_json::to_string(&v).expect("serialises");
            assert_eq!(json, format!("\"{}\"", v.name()));
            assert_eq!(serde_json::from_str::<D>(&json).expect("reads"), v);
        }
        let why = "quic".parse::<D>().unwrap_err();
        assert!(why.contains(&format!("unknown --{}", D::FLAG)), "{why}");
        assert_eq!(D::default(), D::ALL[0]);
    }

    #[test]
    fn every_dimension_round_trips_by_name() {
        round_trip::<Protocol>();
        round_trip::<Security>();
        round_trip::<Compression>();
    }

    #[test]
    fn variants_are_the_cartesian_product_protocol_outermost() {
        let d = Dimensions {
            protocol: vec![Protocol::H1, Protocol::H2],
            tls: vec![Security::Tls],
            compression: vec![Compression::Off, Compression::On],
        };
        let slugs: Vec<String> = d.variants().iter().map(|v| v.slug()).collect();
        assert_eq!(slugs, ["h1+tls", "h1+tls+z", "h2+tls", "h2+tls+z"]);
        assert_eq!(Dimensions::default().variants(), vec![Variant::default()]);
        let empty = Dimensions { compression: vec![], ..Dimensions::default() };
        assert_eq!(empty.validate().unwrap_err(), "--compression needs at least one value");
    }

    #[test]
    fn labels_name_only_what_varies() {
        let vs =
            Dimensions { protocol: vec![Protocol::H1, Protocol::H2], ..Dimensions::default() }.variants();
        let varying = Varying::of(&vs);
        assert_eq!(varying, Varying { protocol: true, tls: false, compression: false });
        assert_eq!(vs[1].label(varying), "HTTP/2");
        assert_eq!(Variant::default().label(Varying::default()), "");
        assert!(!Varying::of(&[Variant::default()]).any());
    }

    #[test]
    fn a_missing_variant_reads_as_the_default() {
        let v: Variant = serde_json::from_str("{}").expect("reads");
        assert_eq!(v, Variant::default());
        let v: Variant = serde_json::from_str(r#"{"protocol":"h2","tls":"on"}"#).expect("reads");
        assert_eq!((v.protocol, v.tls, v.compression), (Protocol::H2, Security::Tls, Compression::Off));
    }
}
