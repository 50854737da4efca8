//! The command line of `loadgen capacity`: the search (start, growth, upper bound,
//! resolution), the service level, and each probe's step settings, turned into the
//! [`RunArgs`] the step runner already takes so a probe is an ordinary step.
//!
//! Defaults are chosen so the five transports finish in under 10 minutes on a 2-core machine.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::RunArgs;
use proto::capacity::{Bound, SearchConfig, ServiceLevel};
use proto::{Compression, Protocol, Security, Transport};

/// Finds how many clients each transport holds within a service level.
#[derive(Debug, Clone, Args)]
pub struct CapacityArgs {
    /// Transports to search, comma-separated, in this order.
    #[arg(long, value_delimiter = ',', default_value = "ws,sse,long-poll,short-poll,delta-poll")]
    pub transports: Vec<Transport>,

    /// Client count of the first probe.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub start: u32,

    /// Growth of the client count after each probe that met the service level.
    #[arg(long, default_value_t = 2.0)]
    pub factor: f64,

    /// Upper bound on clients: a transport that meets the service level here stops here.
    #[arg(long, default_value_t = 16_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_clients: u32,

    /// Bisection stops when (first bad − last good) ≤ this share of the last good count.
    #[arg(long, default_value_t = 0.25)]
    pub resolution: f64,

    /// Service level: p99 event delay of ws, sse and long polling.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub delay_p99: Duration,

    /// Service level: p99 request latency of short and delta polls (default: the poll interval).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub request_p99: Option<Duration>,

    /// Service level: least share of the scheduled polls sent in the window.
    #[arg(long, default_value_t = 0.9)]
    pub polls_sent_min: f64,

    /// Service level: highest server CPU share of the whole machine (0.8 = 80 % of all cores).
    #[arg(long, default_value_t = 0.8)]
    pub server_cpu_max: f64,

    /// Server to measure, `http://HOST:PORT` (loopback); without it an embedded one is started.
    #[arg(long)]
    pub target: Option<String>,

    /// HTTP versions, comma-separated (as `loadgen run`).
    #[arg(long, value_delimiter = ',', default_value = "h1")]
    pub protocol: Vec<Protocol>,

    /// TLS, as `loadgen run`.
    #[arg(long, value_delimiter = ',', num_args = 0..=1, default_value = "off", default_missing_value = "on")]
    pub tls: Vec<Security>,

    /// Compression, comma-separated (as `loadgen run`).
    #[arg(long, value_delimiter = ',', default_value = "off")]
    pub compression: Vec<Compression>,

    /// Measured time of each probe (after its warm-up).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Warm-up of each probe, after every client has connected (at least one poll interval).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Interval between a short or delta poller's requests.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub poll_interval: Duration,

    /// How short and delta pollers pace their polls: `interval` (`setInterval`, overlapping
    /// slow answers) or `timeout` (a `setTimeout` chain), as for `loadgen run`.
    #[arg(long, default_value = "interval")]
    pub poll_mode: proto::PollMode,

    /// Events per second the embedded server publishes.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,

    /// Pad each event to at least this many bytes (embedded server only).
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: u64,

    /// New connections per second while a probe ramps up.
    #[arg(long, default_value_t = 2000.0)]
    pub connect_rate: f64,

    /// Seed of the feed and of the clients' poll phases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write capacity.json and the report (default `runs/capacity-<UTC time>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Only the report's path.
    #[arg(long)]
    pub quiet: bool,
}

impl CapacityArgs {
    /// Refuses what cannot give a meaningful search, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.factor.is_finite() && self.factor > 1.0) {
            return Err("--factor must be above 1".into());
        }
        if !(self.resolution.is_finite() && self.resolution >= 0.0) {
            return Err("--resolution must be 0 or more".into());
        }
        if self.start > self.max_clients {
            return Err(format!("--start {} is above --max-clients {}", self.start, self.max_clients));
        }
        if !(0.0..=1.0).contains(&self.polls_sent_min)
            || self.server_cpu_max.is_nan()
            || self.server_cpu_max <= 0.0
        {
            return Err("--polls-sent-min must be within 0..1 and --server-cpu-max above 0".into());
        }
        if self.poll_interval.is_zero() {
            return Err("--poll-interval must be above 0: the service level judges polls by it".into());
        }
        self.run_args().validate()
    }

    /// The step settings of every probe, as `loadgen run` takes them (`clients`: the bound).
    pub fn run_args(&self) -> RunArgs {
        RunArgs {
            target: self.target.clone().into_iter().collect(),
            transports: self.transports.clone(),
            protocol: self.protocol.clone(),
            tls: self.tls.clone(),
            compression: self.compression.clone(),
            clients: vec![self.max_clients],
            duration: self.duration,
            warmup: self.warmup,
            poll_interval: self.poll_interval,
            poll_mode: self.poll_mode,
            rate: self.rate,
            payload_bytes: self.payload_bytes,
            connect_rate: self.connect_rate,
            seed: self.seed,
            out: self.out.clone(),
            quiet: self.quiet,
            allow_non_loopback: false,
            ca: None,
            insecure: false,
            repeat: 1,
            baseline: Duration::ZERO,
            rtt: None,
            part: None,
            start_at: None,
            // A probe is a step inside this process (its server restarts, its search goes on
            // from each probe): it is not split over worker processes.
            workers: crate::workers::Workers::Count(1),
            pin: false,
            pinned: None,
        }
    }

    pub fn search(&self) -> SearchConfig {
        SearchConfig {
            start: self.start,
            factor: self.factor,
            max_clients: self.max_clients,
            resolution: self.resolution,
        }
    }

    pub fn service_level(&self) -> ServiceLevel {
        let bound = |d: Duration, what: &str| Bound {
            ms: d.as_secs_f64() * 1000.0,
            name: format!("{} ({what})", humantime::format_duration(d)),
        };
        let request = match self.request_p99 {
            Some(d) => bound(d, "--request-p99"),
            None => bound(self.poll_interval, "the poll interval"),
        };
        ServiceLevel {
            event_delay_p99: bound(self.delay_p99, "--delay-p99"),
            request_latency_p99: request,
            polls_sent_min: self.polls_sent_min,
            poll_interval_ms: self.poll_interval.as_secs_f64() * 1000.0,
            server_cpu_max: Some(self.server_cpu_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<CapacityArgs, clap::Error> {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            c: CapacityArgs,
        }
        Cli::try_parse_from(std::iter::once("capacity").chain(args.iter().copied())).map(|c| c.c)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let a = parse(&[]).expect("defaults parse");
        assert_eq!(a.transports.len(), 5);
        assert_eq!((a.start, a.factor, a.max_clients, a.resolution), (250, 2.0, 16_000, 0.25));
        assert_eq!((a.duration, a.warmup), (Duration::from_secs(3), Duration::from_secs(1)));
        assert!(a.validate().is_ok());
        let l = a.service_level();
        assert_eq!((l.event_delay_p99.ms, l.request_latency_p99.ms), (1000.0, 1000.0));
        assert_eq!((l.polls_sent_min, l.server_cpu_max), (0.9, Some(0.8)));
        assert_eq!(l.request_latency_p99.name, "1s (the poll interval)");
    }

    #[test]
    fn bad_searches_are_refused() {
        let why = |a: &[&str]| parse(a).expect("parses").validate().expect_err("refused");
        assert!(why(&["--factor", "1"]).contains("--factor"));
        assert!(why(&["--start", "100", "--max-clients", "50"]).contains("above --max-clients"));
        assert!(why(&["--warmup", "0s"]).contains("--warmup"), "the step runner's own checks apply");
    }
}
