//! The server's configuration: one typed struct, parsed by clap, taken by the library.
//!
//! Every limit the design asks for is on by default with a sensible value. Durations take
//! humantime forms (`500ms`, `2s`, `1m`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Serves one simulated live-score feed by short polling, delta polling, long polling, SSE
/// and WebSocket, with exact per-transport byte counters at `/metrics`.
#[derive(Debug, Clone, Parser)]
#[command(name = "server", version)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Number of simulated matches.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub matches: u32,

    /// Score events per second, in total over all matches (Poisson arrivals); 0 publishes
    /// nothing by itself.
    #[arg(long, default_value_t = 10.0, value_parser = parse_rate)]
    pub rate: f64,

    /// Match clock speed, in match minutes per real second: at 1 a match takes 90 s of play
    /// plus a 15 s half-time. Goals stay at about 2.5 a match whatever `--rate` and
    /// `--matches`, as long as `--rate` is at least about matches × speed / 10.
    #[arg(long, value_name = "MINUTES_PER_S", default_value_t = crate::feed::generator::DEFAULT_MATCH_SPEED, value_parser = parse_match_speed)]
    pub match_speed: f64,

    /// Seed of the feed's random generator: the same seed gives the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Pad each event's JSON to at least this many bytes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub payload_bytes: u64,

    /// Events kept for cursors (`since`) and resume.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ring: u64,

    /// Events a push client (WebSocket, SSE) may fall behind before it is resynced with a
    /// fresh snapshot.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub client_queue: u64,

    /// Open connections at most; more get 503 and are closed.
    #[arg(long, default_value_t = 100_000)]
    pub max_connections: usize,

    /// Time a client has to send a whole request head (from accept, or from its first byte).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// A kept-alive connection with no request in flight is closed after this long.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// A client that accepts no bytes for this long is dropped as a slow consumer.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub send_timeout: Duration,

    /// WebSocket ping interval; a client that has not answered by the next ping is closed.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// Largest inbound WebSocket message (and frame); larger ones close with 1009.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_message_bytes: usize,

    /// Largest request head; larger ones get 431.
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Longest a long poll is held (`wait` is capped to this).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub long_poll_max: Duration,

    /// SSE comment keep-alive interval when no event flows.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub sse_keepalive: Duration,

    /// Extra origins allowed to open WebSockets (exact, e.g. `https://example.org`; `*` for
    /// any). A request with no Origin, or one matching Host, is always allowed.
    #[arg(long = "allow-origin")]
    pub allow_origin: Vec<String>,

    /// WebSocket permessage-deflate (RFC 7692) when a client offers it: `takeover` keeps each
    /// connection's window between messages (the best ratio, and a compressor per connection:
    /// about 330 KiB of server memory per client, measured), `no-takeover` answers
    /// `server_no_context_takeover` to every offer (compressors pooled between messages), `off`
    /// never negotiates it. A client that asks for `server_no_context_takeover` gets it
    /// whatever this says.
    #[arg(long, value_enum, default_value_t = WsDeflate::Takeover)]
    pub ws_deflate: WsDeflate,

    /// Per-connection compressors (compressed SSE streams, WebSocket deflate sessions) held at
    /// once at most; a stream beyond it is served uncompressed, and counted.
    #[arg(long, default_value_t = 100_000)]
    pub max_stream_compressors: usize,

    /// Serve HTTPS too, on the same port: a connection that opens with a TLS handshake gets
    /// TLS (ALPN `h2`, `http/1.1`), any other is served in the clear as before (HTTP/1.1, or
    /// HTTP/2 by prior knowledge), so one server serves both sides of a `--tls off,on` sweep.
    /// Without `--cert`/`--key` a self-signed certificate for localhost, 127.0.0.1 and ::1 is
    /// made at start. Adds a second stdout line after `pushpull server listening on
    /// http://ADDR`: `pushpull server tls sha256=HEX listening on https://ADDR` (HEX: SHA-256
    /// of the certificate's DER, 64 lowercase hex digits).
    #[arg(long)]
    pub tls: bool,

    /// PEM certificate chain for `--tls` (leaf first); needs `--key`.
    #[arg(long, value_name = "PEM", requires = "tls", requires = "key")]
    pub cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `--cert`.
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Write the certificate served under `--tls` (PEM) to this file before the listening
    /// lines are printed, for a client to trust as its only root.
    #[arg(long, value_name = "PATH", requires = "tls")]
    pub cert_out: Option<PathBuf>,

    /// HTTP/2: requests one connection may have in flight at once (more are refused with
    /// RST_STREAM).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_streams: u32,

    /// Where the feed comes from: `generator` (the embedded one) or `nats://HOST:PORT`, a
    /// cluster node following the events a `--publish` server puts on that NATS server.
    #[arg(long, default_value = "generator", value_parser = parse_feed, conflicts_with = "publish")]
    pub feed: String,

    /// Also publish the embedded generator's events to the NATS server at this URL
    /// (`nats://HOST:PORT`), as the cluster's one publisher; nodes follow with `--feed`.
    #[arg(long, value_name = "NATS_URL", value_parser = parse_nats_url)]
    pub publish: Option<String>,

    /// How long a node or publisher waits at start for NATS (and a node for the publisher's
    /// snapshot) before giving up.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub feed_wait: Duration,

    /// On shutdown, how long to wait for connections to finish before exiting anyway.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

/// What the server answers to a permessage-deflate offer (`--ws-deflate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WsDeflate {
    Takeover,
    NoTakeover,
    Off,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse_from(["server"])
    }
}

impl Config {
    /// The defaults, listening on a free loopback port: what tests and embedded runs use.
    pub fn ephemeral() -> Self {
        Config { addr: SocketAddr::from(([127, 0, 0, 1], 0)), ..Config::default() }
    }
}

impl Config {
    /// The NATS URL of `--feed`, when this server is a cluster node.
    pub fn feed_nats_url(&self) -> Option<&str> {
        (self.feed != "generator").then_some(self.feed.as_str())
    }
}

fn parse_feed(s: &str) -> Result<String, String> {
    if s == "generator" {
        return Ok(s.to_owned());
    }
    parse_nats_url(s).map_err(|e| format!("{e} (or `generator`)"))
}

fn parse_nats_url(s: &str) -> Result<String, String> {
    match s.strip_prefix("nats://") {
        Some(rest) if !rest.is_empty() => Ok(s.to_owned()),
        _ => Err(format!("`{s}` is not a NATS URL like nats://127.0.0.1:4222")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of events per second"))?;
    if !v.is_finite() || !(0.0..=1_000_000.0).contains(&v) {
        return Err(format!("rate {v} is outside 0 to 1000000 events per second"));
    }
    Ok(v)
}

fn parse_match_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of match minutes per second"))?;
    if !v.is_finite() || v <= 0.0 || v > 10_000.0 {
        return Err(format!("match speed {v} is outside 0 (excluded) to 10000 match minutes per second"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!((c.matches, c.rate, c.seed, c.payload_bytes, c.ring), (8, 10.0, 1, 0, 4096));
        assert_eq!(c.max_connections, 100_000);
        assert_eq!(c.long_poll_max, Duration::from_secs(30));
        assert_eq!(c.max_message_bytes, 65_536);
        assert_eq!(c.match_speed, 1.0);
        assert_eq!((c.ws_deflate, c.max_stream_compressors), (WsDeflate::Takeover, 100_000));
        assert!(!c.tls && c.cert.is_none() && c.cert_out.is_none());
        assert_eq!(c.max_streams, 100);
    }

    #[test]
    fn tls_files_come_in_pairs_and_need_tls() {
        assert!(Config::try_parse_from(["server", "--cert", "c.pem", "--key", "k.pem"]).is_err());
        assert!(Config::try_parse_from(["server", "--tls", "--cert", "c.pem"]).is_err());
        assert!(Config::try_parse_from(["server", "--tls", "--key", "k.pem"]).is_err());
        assert!(Config::try_parse_from(["server", "--cert-out", "c.pem"]).is_err());
        let c =
            Config::try_parse_from(["server", "--tls", "--cert", "c.pem", "--key", "k.pem"]).expect("a pair");
        assert_eq!(c.cert.as_deref(), Some(std::path::Path::new("c.pem")));
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let e = Config::try_parse_from(["server", "--rate=-1"]).unwrap_err().to_string();
        assert!(e.contains("outside"), "{e}");
        assert!(Config::try_parse_from(["server", "--matches", "0"]).is_err());
        assert!(Config::try_parse_from(["server", "--match-speed", "0"]).is_err());
        assert!(Config::try_parse_from(["server", "--idle-timeout", "soon"]).is_err());
        assert!(Config::try_parse_from(["server", "--feed", "redis://x"]).is_err());
        assert!(
            Config::try_parse_from(["server", "--feed", "nats://a:1", "--publish", "nats://a:1"]).is_err()
        );
        let c = Config::try_parse_from(["server", "--feed", "nats://127.0.0.1:4222"]).expect("valid");
        assert_eq!(c.feed_nats_url(), Some("nats://127.0.0.1:4222"));
        assert_eq!(Config::default().feed_nats_url(), None);
        let c = Config::try_parse_from(["server", "--header-timeout", "500ms"]).expect("valid");
        assert_eq!(c.header_timeout, Duration::from_millis(500));
    }
}
