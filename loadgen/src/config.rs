//! The command line of `loadgen run`: one typed struct, taken by the runner as it is.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use proto::{Compression, Dimensions, PollMode, Protocol, Security, Transport};

/// Drives simulated clients through each transport and measures them.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Server(s) to measure, `http://HOST:PORT` or `https://HOST:PORT` (then every step runs
    /// over TLS: `--tls on`); several, comma-separated, are nodes of one cluster (one feed):
    /// client `i` of each step connects to node `i mod N` (with `--part`, `i` counts over all
    /// parts) and every node's `/metrics` is read. Without it an embedded server is started
    /// in a separate process.
    #[arg(long, value_delimiter = ',', value_name = "URL[,URL…]")]
    pub target: Vec<String>,

    /// PEM file of the certificate(s) that an `https://` --target's certificate must chain to
    /// (its own certificate, if self-signed). The embedded server's is trusted without it.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Accept any certificate from an `https://` --target on loopback, unverified (the
    /// handshake is the same; only the check is skipped). Recorded in results.json.
    #[arg(long)]
    pub insecure: bool,

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

    /// Times every step runs; each round takes the transports (and variants) of a client
    /// count in its own seeded shuffled order, and the report shows medians with their spread
    /// and ranks only differences beyond it (one round ranks nothing).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub repeat: u32,

    /// Measured time of each step (after the warm-up).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Warm-up before each step's measurement (after every client has connected).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// How long the idle server's CPU is watched before the first step, to subtract its fixed
    /// costs from every step's CPU (0s: no baseline; server CPU is then shown whole).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub baseline: Duration,

    /// Interval between a short or delta poller's requests (0: back-to-back).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// How short and delta pollers pace their polls, as a page's script would: `interval`
    /// (`setInterval`: a poll at every scheduled time, overlapping a slow answer on up to 6
    /// HTTP/1.1 connections or HTTP/2 streams) or `timeout` (a `setTimeout` chain: the next
    /// poll one interval after each answer, never overlapping, drifting instead).
    #[arg(long, default_value = "interval")]
    pub poll_mode: PollMode,

    /// Events per second the embedded server publishes (ignored with --target).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,

    /// Pad each event to at least this many bytes (embedded server only).
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: u64,

    /// New connections per second while a step ramps up.
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,

    /// Put a network's round trip between every client and the server (e.g. 50ms): netem in
    /// a network namespace of the run's own where the kernel has it (root, embedded server),
    /// else the load generator's delay line; results.json and the report say which.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub rtt: Option<Duration>,

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

    /// Pin the embedded server to the first CPU this process may use and the load generator
    /// to the others (at least two CPUs; embedded server only), so that they do not take
    /// turns on the same cores; recorded in results.json.
    #[arg(long)]
    pub pin: bool,

    /// The pinning in force, set by the binary before its runtime started (threads inherit
    /// their creator's CPUs, so it cannot be done later).
    #[arg(skip)]
    pub pinned: Option<proto::results::Pinning>,

    /// Run share K of N of every step's clients (`1/2`), one of N load processes whose
    /// folders `loadgen merge` adds up; off by default (the whole plan).
    #[arg(long, value_name = "K/N")]
    pub part: Option<crate::part::Part>,

    /// Begin the first step at this wall-clock time (RFC 3339 UTC, or Unix seconds), the
    /// same for every part; default: at once.
    #[arg(long, value_parser = crate::part::parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,

    /// Load processes to run the clients in: `auto` splits the run over the fewest worker
    /// processes whose open-files limit holds the largest step's share (one when one does);
    /// a number ≥ 2 splits it even when not needed; 1 never splits.
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub workers: crate::workers::Workers,
}

/// A checked target: where to connect, the `Host` header to send, and whether over TLS.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given, without a trailing `/`: the node's name in `results.json`.
    pub url: String,
    pub addr: SocketAddr,
    pub host: String,
    /// `https://`: every step runs over TLS.
    pub tls: bool,
}

impl RunArgs {
    /// Refuses what cannot give a meaningful run, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.transports.is_empty() || self.clients.is_empty() {
            return Err("give at least one transport and one client count".into());
        }
        self.dimensions().validate()?;
        if self.duration.is_zero() {
            return Err("--duration must be longer than 0".into());
        }
        self.check_warmup()?;
        if self.rtt.is_some_and(|r| r > Duration::from_secs(10)) {
            return Err("--rtt must be at most 10s".into());
        }
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
        if let (Some(p), crate::workers::Workers::Count(n @ 2..)) = (self.part, self.workers) {
            return Err(format!(
                "--workers {n} cannot split --part {}/{}: a part is already one load process of \
                 several (its share is not split again); leave --workers out or give --workers 1",
                p.k, p.n
            ));
        }
        if self.pin && self.rtt.is_some() {
            // netem re-executes the run in a network namespace, which would inherit the
            // load generator's CPUs only.
            return Err("--pin and --rtt cannot be combined yet; run them apart".into());
        }
        if self.pin && !self.target.is_empty() {
            return Err("--pin places the embedded server and the load generator on separate CPUs; \
                        a --target server runs where it was started"
                .into());
        }
        if self.target.is_empty() && (self.ca.is_some() || self.insecure) {
            return Err("--ca and --insecure are for an https:// --target; the embedded server's \
                        certificate is trusted as it is made"
                .into());
        }
        self.targets().map(|_| ())
    }

    /// The `--target` nodes, checked: each a valid loopback URL (unless
    /// `--allow-non-loopback`) whose scheme matches `--tls`, none named twice.
    pub fn targets(&self) -> Result<Vec<Target>, String> {
        let mut out: Vec<Target> = Vec::with_capacity(self.target.len());
        for t in &self.target {
            let target = parse_target(t)?;
            if !self.allow_non_loopback && !is_loopback(target.addr.ip()) {
                return Err(format!(
                    "{t} is not a loopback address; load tests target only servers you run \
                     (pass --allow-non-loopback if that is one)"
                ));
            }
            self.check_target_tls(t, &target)?;
            if let Some(same) = out.iter().find(|o| o.addr == target.addr) {
                return Err(format!(
                    "--target names one node twice: {} and {t} are both {}",
                    same.url, target.addr
                ));
            }
            out.push(target);
        }
        Ok(out)
    }

    /// `--target` as given (comma-separated), for `results.json`; `None`: embedded.
    pub fn target_label(&self) -> Option<String> {
        (!self.target.is_empty()).then(|| self.target.join(","))
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

    /// One `--target` serves one scheme: `https://` every step over TLS, `http://` none; a TLS
    /// target needs something to trust, and `--insecure` only on loopback.
    fn check_target_tls(&self, url: &str, target: &Target) -> Result<(), String> {
        let wanted = if target.tls { Security::Tls } else { Security::Plain };
        if let Some(other) = self.tls.iter().find(|s| **s != wanted) {
            return Err(format!(
                "--tls {other} cannot run against {url}: an {} target serves only --tls {wanted} \
                 (start the server on both and run each with its own --target)",
                if target.tls { "https://" } else { "http://" }
            ));
        }
        if !target.tls && (self.ca.is_some() || self.insecure) {
            return Err(format!("--ca and --insecure are for an https:// --target, not {url}"));
        }
        if target.tls {
            match (&self.ca, self.insecure) {
                (Some(_), true) => return Err("give --ca FILE or --insecure, not both".into()),
                (None, false) => {
                    return Err(format!(
                        "{url}: give --ca FILE (the PEM certificate the server's chains to, or its \
                         own) or, on loopback, --insecure to accept it unverified"
                    ))
                }
                (None, true) if !is_loopback(target.addr.ip()) => {
                    return Err("--insecure is only for a loopback target".into())
                }
                _ => {}
            }
        }
        Ok(())
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

/// `http://HOST:PORT` or `https://HOST:PORT` → address, Host header and scheme.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => return Err(format!("--target must start with http:// or https:// (got {url})")),
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(format!("--target must be http(s)://HOST:PORT with no path (got {url})"));
    }
    let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        host.to_string()
    } else {
        format!("{host}:{}", if tls { 443 } else { 80 })
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    Ok(Target { url: url.trim_end_matches('/').to_string(), addr, host: host.to_string(), tls })
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
            (Duration::from_secs(5), Duration::from_secs(1), Duration::from_secs(1))
        );
        assert_eq!(a.repeat, 3, "three rounds: the report ranks only differences beyond their range");
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
        assert!(parse_target("https://127.0.0.1:1").is_ok_and(|t| t.tls));
        assert!(parse_target("ftp://127.0.0.1:1").is_err());
        assert!(parse_target("http://127.0.0.1:1/api").is_err());
        let remote = parse_args(&["--target", "http://10.1.2.3:80"]).expect("parses");
        assert!(remote.validate().unwrap_err().contains("not a loopback"));
        let bad = parse_args(&["--transports", "ws,smoke-signals"]);
        assert!(bad.is_err());
    }

    #[test]
    fn several_targets_are_nodes_each_checked_and_none_twice() {
        let a = parse_args(&["--target", "http://127.0.0.1:8081,http://127.0.0.1:8082/"]).expect("parses");
        let nodes = a.targets().expect("valid");
        let urls: Vec<&str> = nodes.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:8081", "http://127.0.0.1:8082"]);
        assert_eq!(a.target_label().as_deref(), Some("http://127.0.0.1:8081,http://127.0.0.1:8082/"));
        assert!(parse_args(&["--target", "http://127.0.0.1:1"])
            .unwrap()
            .targets()
            .is_ok_and(|t| t.len() == 1));
        assert_eq!(parse_args(&[]).unwrap().target_label(), None, "embedded");
        let why = |t: &str| parse_args(&["--target", t]).expect("parses").validate().expect_err(t);
        let dup = why("http://127.0.0.1:8081,http://127.0.0.1:8081/");
        assert!(dup.contains("names one node twice"), "{dup}");
        assert!(why("http://127.0.0.1:1,localhost:2").contains("must start with http://"));
        assert!(why("http://127.0.0.1:1,").contains("must start with http://"), "an empty node");
        assert!(why("http://127.0.0.1:1,http://10.0.0.1:2").contains("10.0.0.1:2 is not a loopback"));
        assert!(
            why("http://127.0.0.1:1,https://127.0.0.1:2").contains("--tls off cannot run against https://")
        );
    }

    #[test]
    fn tls_targets_need_trust_and_match_the_tls_dimension() {
        let check = |a: &[&str]| parse_args(a).expect("parses").validate();
        let https = ["--target", "https://127.0.0.1:8443"];
        let why = check(&https).expect_err("no --tls on");
        assert!(why.contains("--tls off cannot run against https://127.0.0.1:8443"), "{why}");
        let why = check(&[&https[..], &["--tls"]].concat()).expect_err("nothing to trust");
        assert!(why.contains("give --ca FILE"), "{why}");
        assert!(check(&[&https[..], &["--tls", "--insecure"]].concat()).is_ok());
        assert!(check(&[&https[..], &["--tls", "--ca", "ca.pem", "--protocol", "h1,h2"]].concat()).is_ok());
        let why = check(&["--target", "http://127.0.0.1:1", "--tls", "off,on"]).expect_err("no TLS there");
        assert!(why.contains("--tls on cannot run against http://"), "{why}");
        let why = check(&["--insecure"]).expect_err("embedded");
        assert!(why.contains("https:// --target"), "{why}");
        let why = check(&["--target", "https://10.0.0.1:443", "--allow-non-loopback", "--tls", "--insecure"])
            .expect_err("remote");
        assert!(why.contains("only for a loopback target"), "{why}");
    }

    #[test]
    fn every_variant_is_accepted() {
        let check = |a: &[&str]| parse_args(a).expect("parses").validate();
        assert!(check(&["--protocol", "h1,h2", "--tls", "off,on", "--compression", "off,on"]).is_ok());
    }

    #[test]
    fn a_warmup_shorter_than_the_poll_interval_is_refused_for_scheduled_polls() {
        let check = |a: &[&str]| parse_args(a).expect("parses").validate();
        let why = check(&["--poll-interval", "5s"]).expect_err("1 s of warm-up against 5 s polls");
        assert!(why.contains("--warmup 1s is shorter than --poll-interval 5s"), "{why}");
        assert!(why.contains("give --warmup 5s or longer"), "{why}");
        assert!(check(&["--poll-interval", "5s", "--warmup", "5s"]).is_ok(), "one interval is enough");
        assert!(check(&["--poll-interval", "5s", "--transports", "ws,sse,long-poll"]).is_ok(), "no schedule");
        assert!(check(&["--poll-interval", "0s", "--warmup", "0s"]).is_ok(), "back to back");
        let why = check(&["--poll-interval", "2500ms", "--transports", "delta-poll"]).expect_err("refused");
        assert!(why.contains("give --warmup 2s 500ms or longer"), "{why}");
    }
}
