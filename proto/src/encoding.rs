//! HTTP content codings (RFC 9110 §8.4): their names, `Accept-Encoding` negotiation with
//! q-values, the ETag of each encoded representation, and the WebSocket extension offer.
//!
//! The server and the load generator both read these names from here. A compressed body is
//! a different representation, so its ETag differs (`"42-gzip"` beside `"42"`), while
//! [`crate::wire::parse_etag`] still reads the seq out of either.

use std::fmt;

/// A content coding the server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coding {
    Identity,
    Gzip,
    Br,
    Zstd,
}

impl Coding {
    /// Every coding, identity first.
    pub const ALL: [Coding; 4] = [Coding::Identity, Coding::Gzip, Coding::Br, Coding::Zstd];
    /// The compressed codings, in the server's order of preference when a client rates
    /// several equally (zstd is fastest for the ratio it gets, gzip is the fallback).
    pub const PREFERRED: [Coding; 3] = [Coding::Zstd, Coding::Br, Coding::Gzip];

    /// The token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The coding a `Content-Encoding` value names (`None` for one this project does not know).
    pub fn from_token(t: &str) -> Option<Coding> {
        Coding::ALL.into_iter().find(|c| c.token().eq_ignore_ascii_case(t.trim()))
    }

    /// Position in [`Coding::ALL`], for per-coding arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_identity(self) -> bool {
        self == Coding::Identity
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// What a current browser sends on every fetch and poll (Chrome and Firefox alike).
pub const BROWSER_ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// What a browser offers on a WebSocket upgrade (`Sec-WebSocket-Extensions`).
pub const BROWSER_WS_EXTENSIONS: &str = "permessage-deflate; client_max_window_bits";

/// The WebSocket extension token of RFC 7692.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// Picks the coding for a response from every `Accept-Encoding` value of the request.
///
/// The highest q wins; ties go by [`Coding::PREFERRED`], then identity. No header at all
/// means identity (RFC 9110 §12.5.3). A header that refuses everything, identity included,
/// still gets identity: an uncompressed body is always better than a 406 for a live feed.
pub fn negotiate<'a>(values: impl IntoIterator<Item = &'a str>) -> Coding {
    let mut q = [None::<u16>; 4];
    let mut star = None::<u16>;
    for item in values.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(parse_q)
            .unwrap_or(1000);
        if name == "*" {
            star = Some(weight);
        } else if let Some(c) = Coding::from_token(name) {
            q[c.index()] = Some(weight);
        }
    }
    let rate = |c: Coding| -> u16 {
        match (q[c.index()], star) {
            (Some(w), _) => w,
            (None, Some(s)) => s,
            // Identity is acceptable unless refused; anything else only when named.
            (None, None) if c.is_identity() => 1,
            (None, None) => 0,
        }
    };
    let best = Coding::PREFERRED.into_iter().max_by_key(|c| {
        // max_by_key keeps the last of equals: rank earlier preferences higher.
        let rank = 3 - Coding::PREFERRED.iter().position(|p| p == c).unwrap_or(0) as u16;
        (rate(*c), rank)
    });
    match best {
        Some(c) if rate(c) > 0 && rate(c) >= rate(Coding::Identity) => c,
        _ => Coding::Identity,
    }
}

/// A q-value as thousandths (`1`, `0.5`, `0.001`); `None` if it is not one.
fn parse_q(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut f = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        f += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let q = whole + f;
    (q <= 1000).then_some(q)
}

/// The ETag of the snapshot at `seq` sent with `coding`: `"42"`, `"42-gzip"`, `"42-br"`, `"42-zstd"`.
pub fn etag(seq: u64, coding: Coding) -> String {
    if coding.is_identity() {
        format!("\"{seq}\"")
    } else {
        format!("\"{seq}-{coding}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_the_preferred_compressed_coding() {
        assert_eq!(negotiate([BROWSER_ACCEPT_ENCODING]), Coding::Zstd);
        assert_eq!(negotiate(["gzip, deflate, br"]), Coding::Br);
        assert_eq!(negotiate(["gzip"]), Coding::Gzip);
        assert_eq!(negotiate(["GZIP;q=0.5", "br;q=0.8"]), Coding::Br);
    }

    #[test]
    fn identity_when_nothing_or_nothing_known_is_offered() {
        assert_eq!(negotiate(std::iter::empty()), Coding::Identity);
        assert_eq!(negotiate(["identity"]), Coding::Identity);
        assert_eq!(negotiate(["deflate, compress"]), Coding::Identity);
        assert_eq!(negotiate(["gzip;q=0, br;q=0"]), Coding::Identity);
        assert_eq!(negotiate(["br;q=0.5, identity"]), Coding::Identity, "identity rated higher");
        assert_eq!(negotiate(["*;q=0"]), Coding::Identity, "refusing everything still gets a body");
    }

    #[test]
    fn star_and_q_values() {
        assert_eq!(negotiate(["*"]), Coding::Zstd);
        assert_eq!(negotiate(["*;q=0.1, gzip"]), Coding::Gzip);
        assert_eq!(negotiate(["zstd;q=0, *"]), Coding::Br);
        assert_eq!(negotiate(["gzip;q=0.999, br;q=1.0"]), Coding::Br);
        assert_eq!(negotiate(["gzip;q=2"]), Coding::Gzip, "a bad q counts as 1");
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.5"), None);
    }

    #[test]
    fn etags_differ_per_coding_and_parse_back_to_the_seq() {
        let tags: Vec<String> = Coding::ALL.iter().map(|c| etag(7, *c)).collect();
        assert_eq!(tags, ["\"7\"", "\"7-gzip\"", "\"7-br\"", "\"7-zstd\""]);
        for t in &tags {
            assert_eq!(crate::wire::parse_etag(t), Some(7));
        }
    }
}
