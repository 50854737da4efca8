//! `loadgen run`: the whole sweep. Starts (or finds) the server, runs every step of the
//! [`plan`] in turn, writes `results.json` after each one (so a crash keeps what
//! ran), renders the report.
//!
//! Ctrl-C ends the current step early and writes what ran; a server that stops answering, or
//! whose `/metrics` cannot be read, ends the run the same way, with the cause in
//! `interrupted`, and the caller exits non-zero.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::client::conn::{Endpoint, Endpoints, Tls, Trust};
use crate::config::{parse_target, RunArgs, Target};
use crate::delay_line::DelayLine;
use crate::embedded::{self, Embedded};
use crate::network_delay::{self, Method};
use crate::plan::{self, StepPlan};
use crate::progress::Progress;
use crate::scrape::Scraper;
use crate::step::{self, Env};
use crate::{baseline, clock, machine, summary};
use proto::results::{Baseline, Clock, NetworkDelay, Results, RunConfig, TlsTrust, Versions, SCHEMA};
use proto::Security;

/// How a run ended.
pub struct Finished {
    pub results: Results,
    pub dir: PathBuf,
    /// `index.html`, or `results.json` when the report could not be drawn.
    pub report: PathBuf,
}

impl Finished {
    /// Why the run should exit non-zero, in one line.
    pub fn failure(&self) -> Option<String> {
        self.results.interrupted.clone()
    }
}

/// The default output folder: `runs/<UTC time>/`.
pub fn default_out() -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string().replace(':', "-");
    PathBuf::from("runs").join(stamp)
}

pub async fn run(args: RunArgs, cancel: CancellationToken) -> anyhow::Result<Finished> {
    args.validate().map_err(anyhow::Error::msg)?;
    let dir = args.out.clone().unwrap_or_else(default_out);
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    // The machine's limits, said by name before any client connects (issue 14), for this
    // process's share of the clients.
    let most = args.clients.iter().copied().max().unwrap_or(0);
    let most = args.part.map_or(most, |part| part.share(most));
    crate::limits::Limits::read().check(most, None).map_err(anyhow::Error::msg)?;

    let Server { endpoints, name, mut embedded, trust } = find_server(&args, &dir).await?;
    let clock = read_clock(&endpoints).await?;
    let mut results = new_results(&args, clock, trust);
    let mut plans = plan::sweep(&args);
    if let Some(part) = args.part {
        for p in &mut plans {
            (p.clients, p.seed) = (part.share(p.clients), part.seed(p.seed));
        }
    }
    let network = network_delay::choose(args.rtt, embedded.is_some());
    let delay = match (&network, args.rtt) {
        (Some((Method::DelayLine, _)), Some(rtt)) => Some(DelayLine { rtt }),
        _ => None,
    };
    results.config.network = network.zip(args.rtt).map(|((method, why), rtt)| NetworkDelay {
        rtt_ms: rtt.as_secs_f64() * 1000.0,
        method,
        netem_unavailable: why,
    });
    let dialers = plans
        .iter()
        .map(|p| {
            let d =
                endpoints.dialer(p.variant).map_err(|why| anyhow::anyhow!("step {}: {why}", p.label()))?;
            Ok(d.with_delay(delay))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !args.quiet {
        let total: Duration = plans.iter().map(StepPlan::length).sum::<Duration>() + args.baseline;
        eprintln!(
            "pushpull: {} steps against {}, about {} s; writing to {}",
            plans.len(),
            name,
            total.as_secs(),
            dir.display()
        );
    }
    let progress = Progress::new(args.quiet, plans.len());
    let mut scraper = Scraper::new(endpoints.home());
    // Parts of one run (`--part`) begin together (the idle baseline, then the
    // first step).
    if let Some(at) = args.start_at {
        let wait = crate::part::wait_for(at, SystemTime::now()).map_err(anyhow::Error::msg)?;
        if !args.quiet {
            eprintln!("pushpull: waiting {:.1} s for --start-at", wait.as_secs_f64());
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => {}
        }
    }
    if !args.baseline.is_zero() {
        results.baseline = idle_baseline(&mut scraper, args.baseline, args.quiet).await;
    }
    for (p, dialer) in plans.iter().zip(dialers) {
        if cancel.is_cancelled() {
            break;
        }
        if let Some(e) = embedded.as_mut() {
            e.restart_feed().await;
        }
        let shown = progress.start(p);
        let env = Env {
            dialer,
            scraper: &mut scraper,
            embedded: embedded.as_mut(),
            cancel: &cancel,
            progress: &shown,
            out: &dir,
            clock_offset_us: clock.offset_us,
        };
        let mut outcome = step::run(p, env).await;
        if let Some(b) = results.baseline {
            outcome.step.server.baseline_cpu_s = b.server_cpu_per_s * outcome.step.measured_s;
        }
        shown.done(&outcome.step);
        results.steps.push(outcome.step);
        write_results(&dir, &results)?;
        if let Some(lost) = outcome.lost {
            results.interrupted = Some(lost.describe(&p.label()));
            break;
        }
    }
    if cancel.is_cancelled() && results.interrupted.is_none() {
        results.interrupted = Some("interrupted (Ctrl-C); the report shows the steps that ran".into());
    }
    write_results(&dir, &results)?;
    if let Some(e) = embedded {
        e.stop().await;
    }
    if !args.quiet {
        eprintln!("{}", summary::table(&results));
    }
    let report = match reports::render(&results, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pushpull: the report could not be drawn ({e:#}); results are in results.json");
            dir.join("results.json")
        }
    };
    Ok(Finished { results, dir, report })
}

/// The idle server's CPU rate; a server that cannot be read now is found out by the first
/// step, which ends the run with the reason, so here it only means no baseline.
async fn idle_baseline(scraper: &mut Scraper, length: Duration, quiet: bool) -> Option<Baseline> {
    match baseline::measure(scraper, length).await {
        Ok(b) => Some(b),
        Err(e) => {
            if !quiet {
                eprintln!("pushpull: no idle CPU baseline ({e}); server CPU is shown whole");
            }
            None
        }
    }
}

/// The embedded server's self-signed certificate, PEM, in the run's folder (runs over TLS).
pub const SERVER_CERT: &str = "server-cert.pem";

/// The server a run measures.
pub(crate) struct Server {
    pub(crate) endpoints: Endpoints,
    /// The server's name for the console.
    pub(crate) name: String,
    /// Started for the run (no `--target`), stopped at its end.
    pub(crate) embedded: Option<Embedded>,
    /// Whose certificate the TLS steps trust, if any step runs over TLS.
    pub(crate) trust: Option<TlsTrust>,
}

/// `--target`, or an embedded server started for the run (serving TLS beside cleartext when
/// the run sweeps TLS).
pub(crate) async fn find_server(args: &RunArgs, dir: &Path) -> anyhow::Result<Server> {
    if let Some(t) = &args.target {
        let Target { addr, host, tls } = parse_target(t).map_err(anyhow::Error::msg)?;
        let endpoint = Endpoint { addr, host };
        if !tls {
            let endpoints = Endpoints { plain: Some(endpoint), tls: None };
            return Ok(Server { endpoints, name: t.clone(), embedded: None, trust: None });
        }
        let (trust, recorded) = match &args.ca {
            Some(path) => (Trust::from_pem_file(path).map_err(anyhow::Error::msg)?, TlsTrust::Ca),
            None => (Trust::Insecure, TlsTrust::Insecure),
        };
        let tls = Tls::new(&trust, &endpoint.host).map_err(anyhow::Error::msg)?;
        let endpoints = Endpoints { plain: None, tls: Some((endpoint, tls)) };
        return Ok(Server { endpoints, name: t.clone(), embedded: None, trust: Some(recorded) });
    }
    // The embedded server's certificate is written beside the results: the clients trust it.
    let cert_out = args.tls.contains(&Security::Tls).then(|| dir.join(SERVER_CERT));
    let server_args = vec![
        "--rate".into(),
        args.rate.to_string(),
        "--payload-bytes".into(),
        args.payload_bytes.to_string(),
        "--seed".into(),
        args.seed.to_string(),
        "--ring".into(),
        embedded_ring(args).to_string(),
    ];
    let e = embedded::start(&server_args, cert_out.as_deref()).await?;
    let plain = Endpoint { addr: e.addr, host: e.addr.to_string() };
    let tls = match &e.tls {
        Some((addr, trust)) => {
            let endpoint = Endpoint { addr: *addr, host: addr.to_string() };
            let tls = Tls::new(trust, &endpoint.host).map_err(anyhow::Error::msg)?;
            Some((endpoint, tls))
        }
        None => None,
    };
    let name = plain.host.clone();
    let trust = tls.as_ref().map(|_| TlsTrust::Embedded);
    Ok(Server { endpoints: Endpoints { plain: Some(plain), tls }, name, embedded: Some(e), trust })
}

/// The embedded server's ring: large enough that a whole step's window and drain can be read
/// back from it afterwards for the event times ([`crate::feed_times`]), twice over; never
/// below the server's default.
fn embedded_ring(args: &RunArgs) -> u64 {
    const DEFAULT: u64 = 4096;
    const MOST: u64 = 1_000_000;
    let drain = plan::sweep(args).iter().map(StepPlan::drain_limit).max().unwrap_or_default();
    let seconds = args.duration.as_secs_f64() + drain.as_secs_f64() + 1.0;
    ((args.rate * seconds * 2.0).ceil() as u64).clamp(DEFAULT, MOST)
}

/// The offset to the server's clock: none on one host, measured otherwise.
pub(crate) async fn read_clock(endpoints: &Endpoints) -> anyhow::Result<Clock> {
    let home = endpoints.home();
    if home.addr.ip().is_loopback() {
        return Ok(Clock { same_host: true, offset_us: 0, uncertainty_us: 0, samples: 0 });
    }
    clock::measure(&home, 20)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the server's clock at /api/time: {e}"))
}

/// The run's record before any step.
fn new_results(args: &RunArgs, clock: Clock, tls_trust: Option<TlsTrust>) -> Results {
    Results {
        schema: SCHEMA,
        started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        config: RunConfig {
            target: args.target.clone(),
            transports: args.transports.clone(),
            clients: args.clients.clone(),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            poll_interval_ms: args.poll_interval.as_secs_f64() * 1000.0,
            poll_mode: args.poll_mode,
            rate: args.rate,
            payload_bytes: args.payload_bytes,
            connect_rate: args.connect_rate,
            seed: args.seed,
            network: None,
            repeat: args.repeat,
            dimensions: args.dimensions(),
            tls_trust,
        },
        machine: machine::describe(),
        versions: Versions {
            pushpull: env!("CARGO_PKG_VERSION").into(),
            rustc: env!("PUSHPULL_RUSTC_VERSION").into(),
        },
        steps: Vec::new(),
        clock: Some(clock),
        baseline: None,
        interrupted: None,
        upgraded_from: None,
        cluster: None,
    }
}

fn write_results(dir: &Path, results: &Results) -> anyhow::Result<()> {
    let path = dir.join("results.json");
    let json = serde_json::to_vec_pretty(results).context("while encoding results")?;
    let tmp = dir.join("results.json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("while writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("while writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_args;

    #[test]
    fn the_embedded_ring_holds_a_whole_window_twice() {
        let ring = |a: &[&str]| embedded_ring(&parse_args(a).expect("valid"));
        assert_eq!(ring(&[]), 4096, "the default run fits the server's default ring");
        assert_eq!(ring(&["--rate", "1000", "--duration", "10s"]), 32_000);
        assert_eq!(ring(&["--rate", "100000", "--duration", "60s"]), 1_000_000, "bounded");
    }
}
