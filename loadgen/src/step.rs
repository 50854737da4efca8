//! One step: N clients of one transport against the server, started over the ramp, watched
//! until the stop time, joined, and turned into a `results.json` step with its histogram files.
//!
//! The pieces, in order: [`plan`](crate::plan) says when each phase runs;
//! [`watch`](crate::watch) reads the server and bounds the [`window`](crate::window);
//! [`assemble`] merges the clients' records over that window;
//! [`files`] writes the histograms. The watch ends the drain as soon as every client has
//! reached the window's last event (each says how far it got in [`Live`]), at the latest at
//! the stop time. A client that does not hand back its record within 15 s after the clients
//! are stopped is counted as `client_hung`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::assemble::{self, Assembled};
use crate::client::{self, Live, StepCtx};
use crate::embedded::Embedded;
use crate::event_delay::EventTimes;
use crate::files;
use crate::plan::{StepPlan, Timeline};
use crate::progress::StepProgress;
use crate::recorder::ClientRecord;
use crate::schedule::Schedule;
use crate::scrape::Scraper;
use crate::spread::Spread;
use crate::watch::{Lost, Watch};
use crate::window::Segments;
use proto::results::Step;

/// What the runner lends a step.
pub struct Env<'a> {
    /// How this step's clients reach each server node (its variant's address, protocol and
    /// TLS), in `--target` order.
    pub dialers: Vec<client::Dialer>,
    /// Which node each of this process's clients connects to.
    pub spread: Spread,
    /// Every node's `/metrics` and name, in the same order.
    pub scrapers: &'a mut [Scraper],
    pub embedded: Option<&'a mut Embedded>,
    pub cancel: &'a CancellationToken,
    pub progress: &'a StepProgress,
    pub out: &'a Path,
    pub clock_offset_us: i64,
}

/// A finished step, and why the server was lost during it, if it was.
pub struct Outcome {
    pub step: Step,
    pub lost: Option<Lost>,
}

/// Longest the clients get, after their stop time, to hand back what they measured.
const JOIN_GRACE: Duration = Duration::from_secs(15);

pub async fn run(plan: &StepPlan, env: Env<'_>) -> Outcome {
    let names: Vec<String> = env.scrapers.iter().map(|s| s.name().to_string()).collect();
    let mut watch = match Watch::start(&mut *env.scrapers, env.embedded, plan.transport).await {
        Ok(w) => w,
        Err(lost) => {
            let errors = BTreeMap::from([(lost.error_key().to_string(), 1)]);
            return Outcome { step: assemble::empty(plan, errors), lost: Some(lost) };
        }
    };
    let timeline = plan.timeline(Instant::now());
    let step_cancel = env.cancel.child_token();
    let ctx = Arc::new(StepCtx {
        sources: source_addresses(env.dialers[0].addr, plan.clients as usize),
        dialers: env.dialers,
        spread: env.spread,
        transport: plan.transport,
        variant: plan.variant,
        poll_interval: plan.poll_interval,
        poll_mode: plan.poll_mode,
        window_end: timeline.window_end,
        t0: timeline.t0,
        stop_at: timeline.stop_at,
        cancel: step_cancel.clone(),
        live: Live::new(plan.clients as usize),
        clock_offset_us: env.clock_offset_us,
    });
    let handles = spawn_clients(plan, &ctx);

    watch.run(&timeline, &step_cancel, env.progress, &ctx.live).await;
    watch.close_window().await;
    step_cancel.cancel();
    let Joined { records, hung } = join(handles).await;
    env.progress.clients_done(&ctx.live);

    let watched = watch.finish(&records);
    let mut errors = watched.errors();
    let times = event_times(&mut env.scrapers[0], &records, &watched.segments, &mut errors).await;
    let nodes = assemble::Nodes { names: &names, watched: &watched.nodes, spread: ctx.spread };
    let Assembled { mut step, histograms } =
        assemble::assemble(plan, &timeline, &records, &watched.segments, &times, &watched.memory, &nodes);
    if hung > 0 {
        errors.insert("client_hung".into(), hung);
    }
    let mut base = plan.transport.name().to_string();
    if plan.variants_vary {
        base = format!("{base}-{}", plan.variant.slug());
    }
    base = format!("{base}-{}", plan.clients);
    if plan.rounds > 1 {
        base = format!("{base}-r{}", plan.round + 1);
    }
    let written = files::write(env.out, &base, &histograms, wall_clock(&timeline));
    step.files = written.files;
    for e in &written.failed {
        eprintln!("loadgen: {e}");
        *errors.entry("file_write".into()).or_default() += 1;
    }
    for (k, n) in errors {
        *step.errors.entry(k).or_default() += n;
    }
    Outcome { step, lost: watched.lost }
}

/// Starts every client at its place in the ramp, each with its own phase on the poll schedule.
fn spawn_clients(plan: &StepPlan, ctx: &Arc<StepCtx>) -> Vec<JoinHandle<ClientRecord>> {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.phase_seed());
    (0..plan.clients as usize)
        .map(|i| {
            let start = ctx.t0 + Duration::from_secs_f64(i as f64 / plan.connect_rate);
            let phase = plan.poll_interval.mul_f64(rng.random::<f64>());
            let schedule = Schedule::new(start, phase, plan.poll_interval);
            let ctx = ctx.clone();
            tokio::spawn(async move {
                if !ctx.sleep_until(start).await {
                    return ClientRecord::default();
                }
                client::run(ctx, i, schedule).await
            })
        })
        .collect()
}

/// The publication times that coalesced events need for their delays: read from the feed
/// for each segment of the window whose events some client held only in a snapshot. A
/// failure is said and counted (`event_times`); those events stay coalesced, without delay.
async fn event_times(
    scraper: &mut Scraper,
    records: &[ClientRecord],
    segments: &Segments,
    errors: &mut BTreeMap<String, u64>,
) -> Vec<EventTimes> {
    let mut out = Vec::new();
    for g in segments.iter().filter(|g| g.to > g.from) {
        let covers = |r: &ClientRecord| r.held.iter().any(|h| h.epoch == g.epoch && h.seq > g.from);
        if !records.iter().any(covers) {
            continue;
        }
        match scraper.event_times(g.epoch, g.from, g.to).await {
            Ok(t) => out.push(t),
            Err(e) => {
                eprintln!("loadgen: the window's event times could not be read: {e}");
                *errors.entry("event_times".into()).or_default() += 1;
            }
        }
    }
    out
}

/// What the clients handed back.
struct Joined {
    records: Vec<ClientRecord>,
    /// Clients that did not hand back a record in time (or panicked).
    hung: u64,
}

async fn join(handles: Vec<JoinHandle<ClientRecord>>) -> Joined {
    let mut joined = Joined { records: Vec::with_capacity(handles.len()), hung: 0 };
    let deadline = Instant::now() + JOIN_GRACE;
    for h in handles {
        match tokio::time::timeout_at(deadline, h).await {
            Ok(Ok(r)) => joined.records.push(r),
            Ok(Err(_)) | Err(_) => joined.hung += 1,
        }
    }
    joined
}

/// The window's start on the wall clock, for the interval log.
fn wall_clock(timeline: &Timeline) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(timeline.window_start)
}

/// Loopback source addresses to spread connections over, when one would run out of ports.
fn source_addresses(target: SocketAddr, clients: usize) -> Vec<IpAddr> {
    if clients <= client::CLIENTS_PER_SOURCE || !matches!(target.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
        return Vec::new();
    }
    let n = clients.div_ceil(client::CLIENTS_PER_SOURCE).min(250);
    (0..n).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8))).collect()
}
