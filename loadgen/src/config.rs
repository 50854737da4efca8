//! The command line of `loadgen run`: one typed struct, taken by the runner as it is.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use proto::{Compression, Dimensions, Protocol, Security, Transport};

/// Drives simulated clients through each transport and measures them.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Server to measure, `http://HOST:PORT`; without it an embedded server is started in a
    /// separate process.
    #[arg(long)]
    pub target: Option<String>,

    /// Transports to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "short-poll,delta-poll,long-poll,sse,ws")]
    pub transports: Vec<Transport>,

    /// HTTP versions to sweep, comma-separated: h1 (HTTP/1.1), h2 (HTTP/2; WebSocket over an
    /// extended CONNECT stream, RFC 8441).
    #[arg(long, value_delimiter = ',', default_value = "h1")]
    pub protocol: Vec<Protocol>,

    /// TLS: `--tls` runs every step over HTTPS (ALPN), `--tls off,on` sweeps both.
    #[arg(long, value_delimiter = ',', num_args = 0..=1, default_value = "off", default_missing_value = "on")]
    pub tls: Vec<Security>,

    /// Compression to sweep, comma-separated: off, or on (clients offer what a browser
    /// offers: gzip, deflate, br, zstd; WebSocket permessage-deflate).
    #[arg(long, value_delimiter = ',', default_value = "off")]
    pub compression: Vec<Compression>,

    /// Client counts to step through, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub clients: Vec<u32>,

    /// Measured time of each step (after the warm-up).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Warm-up before each step's measurement (after every client has connected).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Interval between a short or delta poller's requests (0: back-to-back).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// Events per second the embedded server publishes (ignored with --target).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,

    /// Pad each event to at least this many bytes (embedded server only).
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: u64,

    /// New connections per second while a step ramps up.
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,

    /// Seed of the feed and of the clients' poll phases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write the results (default `runs/<UTC time>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// No progress bars or table; only the report's path.
    #[arg(long)]
    pub quiet: bool,

    /// Allow a target outside 127.0.0.0/8 and ::1 (only servers you run yourself).
    #[arg(long)]
    pub allow_non_loopback: bool,

    /// Run share K of N of every step's clients (`1/2`), one of N load processes whose
    /// folders `loadgen merge` adds up; off by default (the whole plan).
    #[arg(long, value_name = "K/N")]
    pub part: Option<crate::part::Part>,

    /// Begin the first step at this wall-clock time (RFC 3339 UTC, or Unix seconds), the
    /// same for every part; default: at once.
    #[arg(long, value_parser = crate::part::parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
}

/// A checked target: where to connect, and the `Host` header to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
}

impl RunArgs {
    /// Refuses what cannot give a meaningful run, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.transports.is_empty() || self.clients.is_empty() {
            return Err("give at least one transport and one client count".into());
        }
        self.dimensions().validate()?;
        self.check_supported_variants()?;
        if self.duration.is_zero() {
            return Err("--duration must be longer than 0".into());
        }
        self.check_warmup()?;
        if !(self.connect_rate.is_finite() && self.connect_rate > 0.0) {
            return Err("--connect-rate must be a positive number of connections per second".into());
        }
        if !(self.rate.is_finite() && (0.0..=1_000_000.0).contains(&self.rate)) {
            return Err("--rate must be between 0 and 1000000 events per second".into());
        }
        if let Some(p) = self.part {
            if let Some(c) = self.clients.iter().find(|c| p.share(**c) == 0) {
                return Err(format!(
                    "--part {}/{} leaves this part no client of a {c}-client step",
                    p.k, p.n
                ));
            }
        }
        if let Some(t) = &self.target {
            let target = parse_target(t)?;
            if !self.allow_non_loopback && !is_loopback(target.addr.ip()) {
                return Err(format!(
                    "{t} is not a loopback address; load tests target only servers you run \
                     (pass --allow-non-loopback if that is one)"
                ));
            }
        }
        Ok(())
    }
}

impl RunArgs {
    /// The protocol, TLS and compression values this run sweeps.
    pub fn dimensions(&self) -> Dimensions {
        Dimensions {
            protocol: self.protocol.clone(),
            tls: self.tls.clone(),
            compression: self.compression.clone(),
        }
    }

    /// The clients speak HTTP/1.1 in cleartext without compression so far; any other variant
    /// is refused before anything runs rather than measured as something it is not.
    fn check_supported_variants(&self) -> Result<(), String> {
        match self.dimensions().variants().into_iter().find(|v| *v != proto::Variant::default()) {
            Some(v) => Err(format!(
                "the clients cannot run variant {v} yet (HTTP/1.1, cleartext, uncompressed only)"
            )),
            None => Ok(()),
        }
    }

    /// A scheduled poller's first poll after the ramp fetches only the snapshot it starts
    /// from: a warm-up shorter than one poll interval lets that poll fall inside the window.
    fn check_warmup(&self) -> Result<(), String> {
        let scheduled = self.transports.iter().any(|t| t.is_scheduled_poll());
        if !scheduled || self.warmup >= self.poll_interval {
            return Ok(());
        }
        let show = |d: Duration| humantime::format_duration(d).to_string();
        Err(format!(
            "--warmup {} is shorter than --poll-interval {}: a short or delta poller's first poll \
             would fall inside the measured window and only fetch its starting snapshot; give \
             --warmup {} or longer",
            show(self.warmup),
            show(self.poll_interval),
            show(self.poll_interval)
        ))
    }
}

/// `http://HOST:PORT` → address and Host header.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let rest =
        url.strip_prefix("http://").ok_or_else(|| format!("--target must start with http:// (got {url})"))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(format!("--target must be http://HOST:PORT with no path (got {url})"));
    }
    let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    Ok(Target { addr, host: host.to_string() })
}

pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// `RunArgs` from a command line (tests of this crate use it).
#[cfg(test)]
pub(crate) fn parse_args(args: &[&str]) -> Result<RunArgs, clap::Error> {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }
    Cli::try_parse_from(std::iter::once("loadgen").chain(args.iter().copied())).map(|c| c.run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_sweep() {
        let a = parse_args(&[]).expect("defaults parse");
        assert_eq!(a.transports, Transport::ALL.to_vec());
        assert_eq!(a.clients, vec![10, 100, 1000]);
        assert_eq!(
            (a.duration, a.warmup, a.poll_interval),
            (Duration::from_secs(10), Duration::from_secs(2), Duration::from_secs(1))
        );
        assert_eq!((a.rate, a.payload_bytes, a.connect_rate, a.seed), (10.0, 0, 2000.0, 1));
        assert!(a.validate().is_ok());
        assert_eq!(a.dimensions(), Dimensions::default());
    }

    #[test]
    fn dimensions_parse_like_transports() {
        let a = parse_args(&["--protocol", "h1,h2", "--tls", "--compression", "off,on"]).expect("parses");
        let d = a.dimensions();
        assert_eq!(d.protocol, [Protocol::H1, Protocol::H2]);
        assert_eq!(d.tls, [Security::Tls], "a bare --tls is on");
        assert_eq!(d.compression, [Compression::Off, Compression::On]);
        assert_eq!(d.variants().len(), 4);
        let both = parse_args(&["--tls", "off,on"]).expect("parses");
        assert_eq!(both.dimensions().tls, [Security::Plain, Security::Tls]);
        let bad = parse_args(&["--protocol", "h3"]).expect_err("refused").to_string();
        assert!(bad.contains("unknown --protocol `h3`; use h1 or h2"), "{bad}");
    }

    #[test]
    fn targets_are_checked() {
        let t = parse_target("http://127.0.0.1:8080").expect("valid");
        assert_eq!((t.addr.port(), t.host.as_str()), (8080, "127.0.0.1:8080"));
        assert!(parse_target("https://127.0.0.1:1").is_err());
        assert!(parse_target("http://127.0.0.1:1/api").is_err());
        let remote = parse_args(&["--target", "http://10.1.2.3:80"]).expect("parses");
        assert!(remote.validate().unwrap_err().contains("not a loopback"));
        let bad = parse_args(&["--transports", "ws,smoke-signals"]);
        assert!(bad.is_err());
    }

    #[test]
    fn a_warmup_shorter_than_the_poll_interval_is_refused_for_scheduled_polls() {
        let check = |a: &[&str]| parse_args(a).expect("parses").validate();
        let why = check(&["--poll-interval", "5s"]).expect_err("2 s of warm-up against 5 s polls");
        assert!(why.contains("--warmup 2s is shorter than --poll-interval 5s"), "{why}");
        assert!(why.contains("give --warmup 5s or longer"), "{why}");
        assert!(check(&["--poll-interval", "5s", "--warmup", "5s"]).is_ok(), "one interval is enough");
        assert!(check(&["--poll-interval", "5s", "--transports", "ws,sse,long-poll"]).is_ok(), "no schedule");
        assert!(check(&["--poll-interval", "0s", "--warmup", "0s"]).is_ok(), "back to back");
        let why = check(&["--poll-interval", "2500ms", "--transports", "delta-poll"]).expect_err("refused");
        assert!(why.contains("give --warmup 2s 500ms or longer"), "{why}");
    }
}
