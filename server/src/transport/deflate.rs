//! WebSocket permessage-deflate (RFC 7692): the server's answer to a client's offer, and
//! the compressed session's socket, which is yawc's (tungstenite has no deflate).
//!
//! The offer is read here, not by yawc, so that the server decides context takeover
//! (`--ws-deflate`, or the client's `server_no_context_takeover`) and every other session
//! keeps tokio-tungstenite. yawc runs on zlib-rs (pure Rust, through its `zlib` feature), so a
//! client may ask for a smaller server window (`server_max_window_bits` 9 to 15; 8, which
//! zlib cannot make, declines the offer), and `client_max_window_bits` is answered by
//! omission, which RFC 7692 §7.1.2.2 allows. Without takeover, compressors are pooled
//! between messages (yawc's `DeflatePool`), so such sessions hold none while idle.

use std::sync::OnceLock;

use http::header::{self, HeaderMap};
use yawc::{CompressionLevel, DeflatePool, Options, Role, WebSocket};

use crate::config::{Config, WsDeflate};
use crate::http::headers;
use proto::encoding::PERMESSAGE_DEFLATE;

/// A compressed session's socket.
pub type DeflateSocket = WebSocket<super::upgrade::Io>;

/// The terms the server answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    /// The `Sec-WebSocket-Extensions` value of the 101.
    pub header: String,
    /// Whether the server compresses each message on its own (no shared window).
    pub no_takeover: bool,
}

/// The answer to the request's offers: the first one the server can honour, if any.
pub fn agree(config: &Config, h: &HeaderMap) -> Option<Agreed> {
    if config.ws_deflate == WsDeflate::Off {
        return None;
    }
    headers::tokens(h, header::SEC_WEBSOCKET_EXTENSIONS).find_map(|offer| answer(config.ws_deflate, offer))
}

/// The answer to one offer (`permessage-deflate; param; param=value`), or `None` to decline it.
fn answer(mode: WsDeflate, offer: &str) -> Option<Agreed> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return None;
    }
    let mut seen = Vec::new();
    let mut no_takeover = mode == WsDeflate::NoTakeover;
    let mut server_bits = None;
    for p in parts {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (p, None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None; // RFC 7692 §7.1: a repeated parameter declines the offer.
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover", None) => no_takeover = true,
            ("client_no_context_takeover", None) => {}
            // Our inflater takes any window up to 15 bits.
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(v)) if window_bits(v).is_some() => {}
            // zlib makes windows of 9 to 15 bits (it turns 8 into 9, which the client would
            // not expect), so an offer of 8 is declined.
            ("server_max_window_bits", Some(v)) if window_bits(v).is_some_and(|b| b >= 9) => {
                server_bits = window_bits(v)
            }
            _ => return None,
        }
        seen.push(name);
    }
    let mut header = PERMESSAGE_DEFLATE.to_owned();
    if no_takeover {
        header.push_str("; server_no_context_takeover");
    }
    if let Some(bits) = server_bits {
        header.push_str(&format!("; server_max_window_bits={bits}"));
    }
    Some(Agreed { header, no_takeover })
}

fn window_bits(v: &str) -> Option<u8> {
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// Wraps an upgraded connection in a compressed session on the agreed terms.
pub fn wrap(config: &Config, io: super::upgrade::Io, agreed: &Agreed) -> yawc::Result<DeflateSocket> {
    let mut opts = Options::default()
        .with_compression_level(CompressionLevel::new(6))
        .with_utf8()
        .with_max_payload_read(config.max_message_bytes)
        .with_max_read_buffer(config.max_message_bytes.saturating_mul(2).max(1 << 16))
        .with_read_buffer_capacity(4096)
        .with_write_buffer_capacity(4096);
    if agreed.no_takeover {
        opts = opts.with_deflate_pool(pool().clone());
    }
    WebSocket::from_stream_with_extensions(io, Role::Server, Some(&agreed.header), opts)
}

/// One pool for the server: sized for the messages compressed at the same moment (a few per
/// core), not for the connections.
fn pool() -> &'static DeflatePool {
    static POOL: OnceLock<DeflatePool> = OnceLock::new();
    POOL.get_or_init(|| DeflatePool::new(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(mode: WsDeflate, offers: &[&str]) -> Option<String> {
        let config = Config { ws_deflate: mode, ..Config::default() };
        let mut h = HeaderMap::new();
        for o in offers {
            h.append(header::SEC_WEBSOCKET_EXTENSIONS, o.parse().expect("value"));
        }
        agree(&config, &h).map(|a| a.header)
    }

    #[test]
    fn browsers_offer_is_taken_with_or_without_takeover() {
        let browser = proto::encoding::BROWSER_WS_EXTENSIONS;
        assert_eq!(agreed(WsDeflate::Takeover, &[browser]).as_deref(), Some("permessage-deflate"));
        assert_eq!(
            agreed(WsDeflate::NoTakeover, &[browser]).as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert_eq!(
            agreed(WsDeflate::Takeover, &["permessage-deflate; server_no_context_takeover"]).as_deref(),
            Some("permessage-deflate; server_no_context_takeover"),
            "the client's wish wins"
        );
        assert_eq!(agreed(WsDeflate::Off, &[browser]), None);
        assert_eq!(agreed(WsDeflate::Takeover, &[]), None);
    }

    #[test]
    fn offers_it_cannot_honour_are_declined_in_order() {
        let t = WsDeflate::Takeover;
        assert_eq!(agreed(t, &["permessage-deflate; server_max_window_bits=8"]), None);
        assert_eq!(
            agreed(t, &["permessage-deflate; client_no_context_takeover; server_max_window_bits=9"])
                .as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        assert_eq!(
            agreed(t, &["permessage-deflate; client_no_context_takeover; client_no_context_takeover"]),
            None
        );
        assert_eq!(agreed(t, &["permessage-deflate; foo"]), None);
        assert_eq!(agreed(t, &["x-webkit-deflate-frame"]), None);
        assert_eq!(
            agreed(t, &["permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=12"])
                .as_deref(),
            Some("permessage-deflate"),
            "the first acceptable offer"
        );
    }
}
