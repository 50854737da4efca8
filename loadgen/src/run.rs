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
use crate::client::Dialer;
use crate::config::{RunArgs, Target};
use crate::delay_line::DelayLine;
use crate::embedded::{self, Embedded};
use crate::network_delay::{self, Method};
use crate::plan::{self, StepPlan};
use crate::progress::Progress;
use crate::scrape::Scraper;
use crate::spread::Spread;
use crate::step::{self, Env};
use crate::{baseline, clock, machine, summary};
use proto::metrics::Single;
use proto::results::{
    Baseline, Clock, Cluster, NetworkDelay, Results, RunConfig, TlsTrust, Versions, SCHEMA,
};
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
    let limits = crate::limits::Limits::read();
    // Clients one process cannot hold go to worker processes (`--workers`), decided before
    // anything starts.
    let processes = crate::workers::processes(&args, &limits).map_err(anyhow::Error::msg)?;
    if processes > 1 {
        return crate::workers::run(args, processes, &limits, cancel).await;
    }
    let dir = args.out.clone().unwrap_or_else(default_out);
    // The machine's limits, said by name before any client connects (issue 14), for this
    // process's share of the clients.
    let most = args.clients.iter().copied().max().unwrap_or(0);
    let most = args.part.map_or(most, |part| part.share(most));
    limits.check(most, None).map_err(anyhow::Error::msg)?;

    let server = find_server(&args, &dir).await?;
    let clock = read_clock(server.home()).await?;
    let mut scrapers = server.scrapers();
    one_feed(&mut scrapers).await?;
    // Only now is there a run to write (the embedded server made the folder already).
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    let Server { nodes, name, mut embedded, trust } = server;
    let mut results = new_results(&args, clock, trust);
    if nodes.len() > 1 {
        let nodes = nodes.iter().map(|n| n.name.clone()).collect();
        results.cluster = Some(Cluster { parts: 1, nodes, reference: None });
    }
    let mut plans = plan::sweep(&args);
    // Where each step's clients go: with --part, this part's first client's index over all
    // parts, so that the parts together spread as one process would.
    let mut spreads = Vec::with_capacity(plans.len());
    for p in &mut plans {
        let first = args.part.map_or(0, |part| part.first(p.clients));
        spreads.push(Spread { nodes: nodes.len(), first: first as usize });
        if let Some(part) = args.part {
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
            let d = dialers(&nodes, p.variant).map_err(|why| anyhow::anyhow!("step {}: {why}", p.label()))?;
            Ok(d.into_iter().map(|d| d.with_delay(delay)).collect::<Vec<_>>())
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
        results.baseline = idle_baseline(&mut scrapers, args.baseline, args.quiet).await;
    }
    let on_this_host = args.targets().is_ok_and(|ts| ts.iter().all(|t| t.addr.ip().is_loopback()));
    for ((p, dialers), spread) in plans.iter().zip(dialers).zip(spreads) {
        if cancel.is_cancelled() {
            break;
        }
        if let Some(e) = embedded.as_mut() {
            e.restart_feed().await;
        }
        let shown = progress.start(p);
        let env = Env {
            dialers,
            spread,
            scrapers: &mut scrapers,
            embedded: embedded.as_mut(),
            cancel: &cancel,
            progress: &shown,
            out: &dir,
            clock_offset_us: clock.offset_us,
        };
        let mut outcome = step::run(p, env).await;
        if !on_this_host {
            // The host's segment count says nothing of a server's traffic elsewhere.
            outcome.step.tcp_segments = None;
        }
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
    Ok(finish(results, dir, args.quiet))
}

/// A written run's ending: its table (and Cluster section) on stderr unless quiet, and its
/// report drawn, or `results.json` named when it cannot be.
pub fn finish(results: Results, dir: PathBuf, quiet: bool) -> Finished {
    if !quiet {
        eprintln!("{}", summary::table(&results));
        if let Some(cluster) = reports::cluster::text(&results) {
            eprintln!("{cluster}");
        }
    }
    let report = match reports::render(&results, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pushpull: the report could not be drawn ({e:#}); results are in results.json");
            dir.join("results.json")
        }
    };
    Finished { results, dir, report }
}

/// The idle server's CPU rate; a server that cannot be read now is found out by the first
/// step, which ends the run with the reason, so here it only means no baseline.
async fn idle_baseline(scrapers: &mut [Scraper], length: Duration, quiet: bool) -> Option<Baseline> {
    match baseline::measure(scrapers, length).await {
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

/// The server a run measures: one node, or the nodes of a cluster (`--target A,B,…`).
pub(crate) struct Server {
    /// In `--target` order; at least one.
    pub(crate) nodes: Vec<ServerNode>,
    /// The server's name for the console.
    pub(crate) name: String,
    /// Started for the run (no `--target`), stopped at its end.
    pub(crate) embedded: Option<Embedded>,
    /// Whose certificate the TLS steps trust, if any step runs over TLS.
    pub(crate) trust: Option<TlsTrust>,
}

/// One server node: its name in `results.json` and where it listens.
pub(crate) struct ServerNode {
    pub(crate) name: String,
    pub(crate) endpoints: Endpoints,
}

impl Server {
    /// The first node: its clock and its feed's times stand for the cluster's (one feed).
    pub(crate) fn home(&self) -> &Endpoints {
        &self.nodes[0].endpoints
    }

    /// A `/metrics` reader per node, each named for its node.
    pub(crate) fn scrapers(&self) -> Vec<Scraper> {
        self.nodes.iter().map(|n| Scraper::new(n.endpoints.home()).named(n.name.clone())).collect()
    }
}

/// How a step of `variant` reaches each node, in order.
pub(crate) fn dialers(nodes: &[ServerNode], variant: proto::Variant) -> Result<Vec<Dialer>, String> {
    nodes.iter().map(|n| n.endpoints.dialer(variant).map_err(|why| format!("{}: {why}", n.name))).collect()
}

/// Several nodes must serve one feed (the same epoch: nodes of one cluster), since the first
/// node's window bounds every client's events. Reads every node's `/metrics` once, which also
/// checks that each carries every metric, before anything is measured.
pub(crate) async fn one_feed(scrapers: &mut [Scraper]) -> anyhow::Result<()> {
    if scrapers.len() < 2 {
        return Ok(());
    }
    let mut epochs = Vec::with_capacity(scrapers.len());
    for s in scrapers.iter_mut() {
        let sample = s.sample().await.map_err(anyhow::Error::msg)?;
        let epoch = sample.get(Single::FeedEpoch).map_err(|e| anyhow::anyhow!("{}: {e}", s.name()))?;
        epochs.push((s.name().to_string(), epoch as u64));
    }
    if let Some((other, e)) = epochs.iter().find(|(_, e)| *e != epochs[0].1) {
        anyhow::bail!(
            "the --target nodes do not serve one feed: {} has epoch {}, {other} epoch {e}; several \
             targets must be nodes of one cluster (server --feed nats://…, following one publisher)",
            epochs[0].0,
            epochs[0].1
        );
    }
    Ok(())
}

/// `--target` (one node or several), or an embedded server started for the run (serving TLS
/// beside cleartext when the run sweeps TLS).
pub(crate) async fn find_server(args: &RunArgs, dir: &Path) -> anyhow::Result<Server> {
    let targets = args.targets().map_err(anyhow::Error::msg)?;
    if !targets.is_empty() {
        let mut trust = None;
        let mut nodes = Vec::with_capacity(targets.len());
        for Target { url, addr, host, tls } in targets {
            let endpoint = Endpoint { addr, host };
            let endpoints = if tls {
                let (t, recorded) = match &args.ca {
                    Some(path) => (Trust::from_pem_file(path).map_err(anyhow::Error::msg)?, TlsTrust::Ca),
                    None => (Trust::Insecure, TlsTrust::Insecure),
                };
                trust = Some(recorded);
                let tls = Tls::new(&t, &endpoint.host).map_err(anyhow::Error::msg)?;
                Endpoints { plain: None, tls: Some((endpoint, tls)) }
            } else {
                Endpoints { plain: Some(endpoint), tls: None }
            };
            nodes.push(ServerNode { name: url, endpoints });
        }
        let name = nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ");
        return Ok(Server { nodes, name, embedded: None, trust });
    }
    // The embedded server's certificate is written beside the results: the clients trust it.
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
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
    let server_cpus = args.pinned.as_ref().map(|p| p.server_cpus.as_slice());
    let e = embedded::start(&server_args, cert_out.as_deref(), server_cpus).await?;
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
    let node =
        ServerNode { name: format!("http://{name}"), endpoints: Endpoints { plain: Some(plain), tls } };
    Ok(Server { nodes: vec![node], name, embedded: Some(e), trust })
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
            target: args.target_label(),
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
            pinning: args.pinned.clone(),
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

pub(crate) fn write_results(dir: &Path, results: &Results) -> anyhow::Result<()> {
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
