//! `loadgen capacity`: per transport, the largest client count that meets a service level,
//! found by a [`search`] whose every probe is an ordinary step of the step runner
//! ([`crate::step`]), judged by the same rules as the report's "kept up?"
//! (`reports::derived::judge`).
//!
//! One server serves every probe (embedded, or `--target`). Before a probe opens its
//! connections the machine's [`crate::limits`] are checked, so a probe the machine cannot hold
//! reports "machine limit: …" instead of connect errors. `capacity.json` is written after
//! every probe, so a run cut short keeps what it found.

pub mod args;
pub mod search;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::limits::Limits;
use crate::machine;
use crate::plan::{self, StepPlan};
use crate::progress::Progress;
use crate::run::{self, Server};
use crate::spread::Spread;
use crate::step::{self, Env};
use args::CapacityArgs;
use proto::capacity::{Capacity, Probe, Stop, TransportCapacity, CAPACITY_SCHEMA};
use proto::results::{RunConfig, Step, Versions};
use search::{Outcome, Search, Spec};

/// How a capacity run ended.
pub struct Finished {
    pub capacity: Capacity,
    pub dir: PathBuf,
    /// `capacity.html`, or `capacity.json` when the report could not be drawn.
    pub report: PathBuf,
}

pub async fn run(args: CapacityArgs, cancel: CancellationToken) -> anyhow::Result<Finished> {
    args.validate().map_err(anyhow::Error::msg)?;
    let dir = args.out.clone().unwrap_or_else(default_out);
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    let limits = Limits::read();
    let run_args = args.run_args();
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    let server = run::find_server(&run_args, &dir).await?;
    let clock = run::read_clock(server.home()).await?;
    let mut scrapers = server.scrapers();
    let Server { nodes, name, mut embedded, .. } = server;
    let machine = machine::describe();
    let level = args.service_level();
    let mut capacity = Capacity {
        schema: CAPACITY_SCHEMA,
        started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        run: run_config(&args),
        search: args.search(),
        service_level: level.clone(),
        machine: machine.clone(),
        versions: Versions {
            pushpull: env!("CARGO_PKG_VERSION").into(),
            rustc: env!("PUSHPULL_RUSTC_VERSION").into(),
        },
        transports: Vec::new(),
        interrupted: None,
    };
    let say = |line: String| {
        if !args.quiet {
            eprintln!("{line}");
        }
    };
    say(format!(
        "pushpull capacity: {} from {} clients ×{} up to {}, against {}; writing to {}",
        args.transports.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        args.start,
        args.factor,
        args.max_clients,
        name,
        dir.display()
    ));
    let spec =
        Spec { start: args.start, factor: args.factor, max: args.max_clients, resolution: args.resolution };
    let plans = plan::sweep(&run_args);
    let mut index = 0;
    'transports: for template in &plans {
        let mut search = Search::new(spec);
        capacity.transports.push(TransportCapacity {
            transport: template.transport,
            variant: template.variant,
            held: None,
            stop: Stop::Interrupted { reason: "not finished".into() },
            probes: Vec::new(),
        });
        let mut bytes_per_client = None;
        while let Some(clients) = search.next() {
            if cancel.is_cancelled() {
                search.interrupt("interrupted (Ctrl-C)".into());
                break;
            }
            let label = StepPlan { clients, ..template.clone() }.label();
            let (outcome, step) = match limits.check(clients, bytes_per_client) {
                Err(why) => (Outcome::MachineLimit(why), None),
                Ok(()) => {
                    let p = StepPlan { clients, index, ..template.clone() };
                    index += 1;
                    let shown = Progress::new(args.quiet || !is_terminal(), 1).start(&p);
                    let dialers = run::dialers(&nodes, p.variant).map_err(anyhow::Error::msg)?;
                    if let Some(e) = embedded.as_mut() {
                        e.restart_feed().await;
                    }
                    let env = Env {
                        dialers,
                        spread: Spread { nodes: nodes.len(), first: 0 },
                        scrapers: &mut scrapers,
                        embedded: embedded.as_mut(),
                        cancel: &cancel,
                        progress: &shown,
                        out: &dir,
                        clock_offset_us: clock.offset_us,
                    };
                    let done = step::run(&p, env).await;
                    shown.done(&done.step);
                    if let Some(why) = out_of_files(&done, &p.label(), &limits) {
                        // The server is well: this process met its own limit. The probe is
                        // bad for the search, which goes on below it.
                        bytes_per_client = per_client_memory(&done.step);
                        (Outcome::MachineLimit(why), Some(done.step))
                    } else if let Some(lost) = done.lost {
                        let why = lost.describe(&p.label());
                        record(&mut capacity, clients, &Outcome::Missed(why.clone()), Some(done.step));
                        search.interrupt(why.clone());
                        finish_transport(&mut capacity, &search);
                        capacity.interrupted = Some(why);
                        write(&dir, &capacity)?;
                        break 'transports;
                    } else {
                        bytes_per_client = per_client_memory(&done.step);
                        let why = reports::derived::judge(&done.step, &level, machine.cpus);
                        let outcome =
                            if why.is_empty() { Outcome::Met } else { Outcome::Missed(why.join("; ")) };
                        (outcome, Some(done.step))
                    }
                }
            };
            say(match &outcome {
                Outcome::Met => format!("  {label}: met the service level{}", brief(step.as_ref())),
                Outcome::Missed(why) | Outcome::MachineLimit(why) => format!("  {label}: missed: {why}"),
            });
            record(&mut capacity, clients, &outcome, step);
            search.record(clients, outcome);
            finish_transport(&mut capacity, &search);
            write(&dir, &capacity)?;
        }
        finish_transport(&mut capacity, &search);
        if let Some(t) = capacity.transports.last() {
            say(format!("{}: {}", t.transport.name(), held_line(t)));
        }
    }
    if cancel.is_cancelled() && capacity.interrupted.is_none() {
        capacity.interrupted = Some("interrupted (Ctrl-C); the report shows the probes that ran".into());
    }
    write(&dir, &capacity)?;
    if let Some(e) = embedded {
        e.stop().await;
    }
    let report = match reports::capacity::render(&capacity, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pushpull: the capacity report could not be drawn ({e:#}); see capacity.json");
            dir.join("capacity.json")
        }
    };
    Ok(Finished { capacity, dir, report })
}

/// Why a probe met the load generator's own open-files limit, if it did: its clients (a
/// poller opens up to six connections while its polls wait, as a browser does) or its
/// readings of the server found no file descriptor left.
fn out_of_files(done: &step::Outcome, label: &str, limits: &Limits) -> Option<String> {
    let key = crate::failure::ErrorKind::OpenFiles.label();
    let failed = done.step.errors.get(key).copied().unwrap_or(0);
    let watch = matches!(done.lost, Some(crate::watch::Lost::OutOfFiles(_)));
    if failed == 0 {
        return None;
    }
    // The count holds the clients' failed sockets and, when the watch gave up, its own one.
    let what = if failed > u64::from(watch) {
        format!("{} of its sockets could not be made", reports::format::int(failed))
    } else {
        "its reading of the server's /metrics could not make a socket".to_string()
    };
    Some(format!(
        "machine limit: open files in the load generator: in {label}, {what} (RLIMIT_NOFILE {}, \
         hard limit {}); pollers open up to six connections each while their polls wait, as a \
         browser does; raise the hard limit or spread the clients over several load processes \
         (`loadgen run --workers`, or `--part K/N`)",
        limits.open_files, limits.hard_open_files
    ))
}

/// One line per transport: what it held and what stopped it.
pub fn held_line(t: &TransportCapacity) -> String {
    let held = match t.held {
        Some(n) => format!("held {n} clients"),
        None => "held no probe".to_string(),
    };
    let stop = match &t.stop {
        Stop::UpperBound { clients } => format!("met the service level up to the bound, {clients}"),
        Stop::Missed { clients, reason } => format!("missed at {clients}: {reason}"),
        Stop::MachineLimit { clients, reason } => format!("stopped at {clients} by {reason}"),
        Stop::Interrupted { reason } => format!("interrupted: {reason}"),
    };
    format!("{held}; {stop}")
}

fn record(capacity: &mut Capacity, clients: u32, outcome: &Outcome, step: Option<Step>) {
    let (met, reasons) = match outcome {
        Outcome::Met => (true, Vec::new()),
        Outcome::Missed(w) | Outcome::MachineLimit(w) => (false, vec![w.clone()]),
    };
    if let Some(t) = capacity.transports.last_mut() {
        t.probes.push(Probe { clients, met, reasons, step });
    }
}

fn finish_transport(capacity: &mut Capacity, search: &Search) {
    if let Some(t) = capacity.transports.last_mut() {
        t.held = search.held();
        if let Some(s) = search.stop() {
            t.stop = s.clone();
        }
    }
}

/// Memory the server and the load generator grew by per client in a probe, to foresee the
/// next one's.
fn per_client_memory(step: &Step) -> Option<f64> {
    let grew = |c: &proto::results::ProcessCost| c.rss_peak_bytes.saturating_sub(c.rss_start_bytes);
    let bytes = grew(&step.server) + grew(&step.loadgen);
    (step.clients > 0 && bytes > 0).then(|| bytes as f64 / f64::from(step.clients))
}

fn brief(step: Option<&Step>) -> String {
    let Some(s) = step else { return String::new() };
    let delay = s.event_delay_us.p99 as f64 / 1000.0;
    match &s.request_latency_us {
        Some(r) => format!(" (request p99 {:.1} ms, event p99 {delay:.0} ms)", r.p99 as f64 / 1000.0),
        None => format!(" (event p99 {delay:.1} ms)"),
    }
}

fn is_terminal() -> bool {
    use std::io::IsTerminal as _;
    std::io::stderr().is_terminal()
}

/// The probes' step settings, in `results.json`'s shape.
fn run_config(args: &CapacityArgs) -> RunConfig {
    let r = args.run_args();
    RunConfig {
        target: r.target_label(),
        transports: r.transports.clone(),
        clients: r.clients.clone(),
        duration_s: r.duration.as_secs_f64(),
        warmup_s: r.warmup.as_secs_f64(),
        poll_interval_ms: r.poll_interval.as_secs_f64() * 1000.0,
        poll_mode: r.poll_mode,
        rate: r.rate,
        payload_bytes: r.payload_bytes,
        connect_rate: r.connect_rate,
        seed: r.seed,
        network: None,
        repeat: 1,
        dimensions: r.dimensions(),
        tls_trust: None,
        pinning: None,
    }
}

/// `runs/capacity-<UTC time>/`.
fn default_out() -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string().replace(':', "-");
    PathBuf::from("runs").join(format!("capacity-{stamp}"))
}

fn write(dir: &Path, capacity: &Capacity) -> anyhow::Result<()> {
    let path = dir.join("capacity.json");
    let json = serde_json::to_vec_pretty(capacity).context("while encoding capacity.json")?;
    let tmp = dir.join("capacity.json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("while writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("while writing {}", path.display()))
}
