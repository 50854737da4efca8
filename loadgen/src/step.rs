//! One step: N clients of one transport against the server, ramped up at the connect rate,
//! warmed up, measured for `--duration`, drained, and turned into a [`Step`].
//!
//! The measured window is bounded by two readings of the server's `/metrics`: its
//! `pushpull_feed_seq` there gives the window's seqs `(from, to]`, and the differences of its
//! byte, request and CPU counters give the wire and server cost of exactly that window. The
//! server's memory is sampled every half second over the whole step (connections cost memory
//! before the window opens). If the server restarts inside the window (its epoch changes),
//! the window becomes one segment per epoch, each with its own seqs and counters, so events
//! the restarted server published before a client came back count as missed. If the server
//! stops answering, the step ends early with `server_gone` counted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use proto::metrics::{PerChannel, Sample, Single};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server::process;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Live, StepCtx};
use crate::config::Target;
use crate::embedded::Embedded;
use crate::hgrm;
use crate::recorder::ClientRecord;
use crate::schedule::Schedule;
use crate::scrape::Scraper;
use proto::results::{ProcessCost, Step, StepFiles, WireBytes};
use proto::Transport;

/// What a step is asked to do.
#[derive(Debug, Clone)]
pub struct StepPlan {
    pub index: usize,
    pub transport: Transport,
    pub clients: u32,
    pub duration: Duration,
    pub warmup: Duration,
    pub poll_interval: Duration,
    pub connect_rate: f64,
    pub seed: u64,
}

impl StepPlan {
    fn ramp(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.clients) / self.connect_rate)
    }

    /// After the window: time for answers to events published just before its end.
    fn drain(&self) -> Duration {
        let extra = if self.transport.is_scheduled_poll() {
            self.poll_interval.min(Duration::from_secs(5))
        } else {
            Duration::ZERO
        };
        extra + Duration::from_millis(500)
    }

    /// The step's whole length, for progress and planning.
    pub fn length(&self) -> Duration {
        self.ramp() + self.warmup + self.duration + self.drain()
    }

    pub fn label(&self) -> String {
        format!("{} × {}", self.transport.name(), self.clients)
    }
}

/// What the runner lends a step.
pub struct Env<'a> {
    pub target: &'a Target,
    pub scraper: &'a mut Scraper,
    pub embedded: Option<&'a mut Embedded>,
    pub cancel: &'a CancellationToken,
    pub quiet: bool,
    pub out: &'a Path,
    pub clock_offset_us: i64,
}

/// A finished step, and whether the server was lost during it.
pub struct Outcome {
    pub step: Step,
    pub server_gone: bool,
}

/// One reading: the server's counters, this process's CPU, and when.
#[derive(Clone)]
struct Reading {
    server: Sample,
    own_cpu: f64,
    at: Instant,
}

/// The part of the window served by one server process (one feed epoch).
struct Segment {
    epoch: u64,
    /// The window's events of this epoch are `(from, to]`.
    from: u64,
    to: u64,
    /// The reading the counters start from; `None` for a restarted server, whose counters
    /// started at zero inside the window.
    first: Option<Reading>,
    last: Reading,
}

impl Segment {
    /// How much `value` grew over this segment.
    fn grew(&self, value: impl Fn(&Sample) -> f64) -> f64 {
        let start = self.first.as_ref().map_or(0.0, |r| value(&r.server));
        (value(&self.last.server) - start).max(0.0)
    }
}

fn epoch(s: &Sample) -> u64 {
    s.get(Single::FeedEpoch).unwrap_or(0.0) as u64
}

async fn read(scraper: &mut Scraper) -> Option<Reading> {
    let server = scraper.sample().await.ok()?;
    Some(Reading { server, own_cpu: process::cpu_seconds(), at: Instant::now() })
}

/// Longest the clients get, after their stop time, to hand back what they measured.
const JOIN_GRACE: Duration = Duration::from_secs(15);

pub async fn run(plan: &StepPlan, env: Env<'_>) -> Outcome {
    let Env { target, scraper, mut embedded, cancel, quiet, out, clock_offset_us } = env;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let own_rss_start = process::resident_bytes();
    let Some(pre) = read(scraper).await else {
        errors.insert("server_gone".into(), 1);
        return Outcome { step: empty_step(plan, errors), server_gone: true };
    };

    let t0 = Instant::now();
    let window_start = t0 + plan.ramp() + plan.warmup;
    let window_end = window_start + plan.duration;
    let stop_at = window_end + plan.drain();
    let step_cancel = cancel.child_token();
    let sources = source_addresses(target, plan.clients as usize);
    let ctx = Arc::new(StepCtx {
        target: target.addr,
        host: target.host.clone(),
        transport: plan.transport,
        poll_interval: plan.poll_interval,
        t0,
        stop_at,
        cancel: step_cancel.clone(),
        live: Live::default(),
        sources,
        clock_offset_us,
    });

    let mut rng =
        ChaCha8Rng::seed_from_u64(plan.seed ^ (plan.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut handles = Vec::with_capacity(plan.clients as usize);
    for i in 0..plan.clients as usize {
        let start = t0 + Duration::from_secs_f64(i as f64 / plan.connect_rate);
        let phase = plan.poll_interval.mul_f64(rng.random::<f64>());
        let schedule = Schedule::new(start, phase, plan.poll_interval);
        let ctx = ctx.clone();
        handles.push(tokio::spawn(async move {
            if !ctx.sleep_until(start).await {
                return ClientRecord::default();
            }
            client::run(ctx, i, schedule).await
        }));
    }

    let bar = progress_bar(plan, quiet);
    let mut segments: Vec<Segment> = Vec::new();
    let mut window_closed = false;
    let mut last_ok = pre.clone();
    let mut server_rss_peak = rss(&pre.server);
    let mut own_rss_peak = own_rss_start;
    let mut failures = 0;
    let mut server_gone = false;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(window_start), if segments.is_empty() => {}
            _ = tokio::time::sleep_until(window_end), if !segments.is_empty() && !window_closed => {}
            _ = step_cancel.cancelled() => {}
        }
        let now = Instant::now();
        let dead_child = embedded.as_mut().is_some_and(|e| !e.is_alive());
        let reading = if dead_child { None } else { read(scraper).await };
        match reading {
            Some(r) => {
                failures = 0;
                server_rss_peak = server_rss_peak.max(rss(&r.server));
                if segments.is_empty() && now >= window_start {
                    let (e, s) = (epoch(&r.server), seq(&r.server));
                    segments.push(Segment {
                        epoch: e,
                        from: s,
                        to: s,
                        first: Some(r.clone()),
                        last: r.clone(),
                    });
                } else if !window_closed {
                    if let Some(cur) = segments.last_mut() {
                        let (e, s) = (epoch(&r.server), seq(&r.server));
                        if e == cur.epoch {
                            cur.to = cur.to.max(s);
                            cur.last = r.clone();
                        } else {
                            segments.push(Segment { epoch: e, from: 0, to: s, first: None, last: r.clone() });
                        }
                        window_closed = now >= window_end;
                    }
                }
                last_ok = r;
            }
            None => {
                failures += 1;
                // About three seconds of silence: a restart is back long before that.
                if dead_child || failures >= 6 {
                    server_gone = true;
                    step_cancel.cancel();
                }
            }
        }
        own_rss_peak = own_rss_peak.max(process::resident_bytes());
        if let Some(b) = &bar {
            b.set_position(now.saturating_duration_since(t0).as_millis() as u64);
            b.set_message(live_message(&ctx.live, plan.clients));
        }
        if now >= stop_at || step_cancel.is_cancelled() {
            break;
        }
    }
    // The loop can end before the closing reading (a slow scrape ran past the stop time, or
    // the run was cancelled): take it now, so the window ends where it really ended.
    if !window_closed && !server_gone {
        if let (Some(r), Some(cur)) = (read(scraper).await, segments.last_mut()) {
            if epoch(&r.server) == cur.epoch {
                cur.to = cur.to.max(seq(&r.server));
                cur.last = r;
            }
        }
    }
    step_cancel.cancel();

    let mut records = Vec::with_capacity(handles.len());
    let deadline = Instant::now() + JOIN_GRACE;
    for h in handles {
        match tokio::time::timeout_at(deadline, h).await {
            Ok(Ok(r)) => records.push(r),
            Ok(Err(_)) | Err(_) => *errors.entry("client_hung".into()).or_default() += 1,
        }
    }
    if let Some(b) = &bar {
        b.finish_with_message(live_message(&ctx.live, plan.clients));
    }
    if server_gone {
        *errors.entry("server_gone".into()).or_default() += 1;
    }

    // A window that never opened (the step was cut short) is empty at the last good reading.
    if segments.is_empty() {
        let (e, s) = (epoch(&last_ok.server), seq(&last_ok.server));
        segments.push(Segment { epoch: e, from: s, to: s, first: Some(last_ok.clone()), last: last_ok });
    }
    // A server that went away published events its last reading did not see: what clients
    // received of that epoch counts too.
    let n = segments.len();
    for seg in &mut segments[..n - 1] {
        let seen = records.iter().filter_map(|r| r.max_seq(seg.epoch)).max().unwrap_or(0);
        seg.to = seg.to.max(seen);
    }
    let step = assemble(
        plan,
        &ctx,
        &records,
        &pre,
        &segments,
        errors,
        (server_rss_peak, own_rss_peak, own_rss_start),
        window_start,
        out,
    );
    Outcome { step, server_gone }
}

fn rss(s: &Sample) -> u64 {
    s.get(Single::ProcessResidentMemory).unwrap_or(0.0) as u64
}

fn seq(s: &Sample) -> u64 {
    s.get(Single::FeedSeq).unwrap_or(0.0) as u64
}

/// Loopback source addresses to spread connections over, when one would run out of ports.
fn source_addresses(target: &Target, clients: usize) -> Vec<std::net::IpAddr> {
    use std::net::{IpAddr, Ipv4Addr};
    if clients <= client::CLIENTS_PER_SOURCE
        || !matches!(target.addr.ip(), IpAddr::V4(ip) if ip.is_loopback())
    {
        return Vec::new();
    }
    let n = clients.div_ceil(client::CLIENTS_PER_SOURCE).min(250);
    (0..n).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8))).collect()
}

fn progress_bar(plan: &StepPlan, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let b = ProgressBar::new(plan.length().as_millis() as u64);
    let style = ProgressStyle::with_template("{prefix:>18} [{elapsed_precise}] {bar:28} ETA {eta:>3} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    b.set_style(style);
    b.set_prefix(plan.label());
    Some(b)
}

fn live_message(live: &Live, clients: u32) -> String {
    format!(
        "connected {}/{clients} · delivered {} · errors {}",
        live.connected.load(Relaxed),
        live.deliveries.load(Relaxed),
        live.errors.load(Relaxed)
    )
}

fn empty_step(plan: &StepPlan, errors: BTreeMap<String, u64>) -> Step {
    Step {
        transport: plan.transport,
        clients: plan.clients,
        measured_s: 0.0,
        events_published: 0,
        deliveries_expected: 0,
        deliveries: 0,
        coalesced: 0,
        coalesced_without_delay: 0,
        lost: 0,
        duplicates: 0,
        requests: 0,
        empty_polls: 0,
        messages: 0,
        connections_opened: 0,
        event_delay_us: Default::default(),
        request_latency_us: None,
        connect_latency_us: Default::default(),
        wire_bytes: WireBytes::default(),
        wire_bytes_per_delivery: 0.0,
        server: ProcessCost::default(),
        loadgen: ProcessCost::default(),
        errors,
        deliveries_per_s: Vec::new(),
        files: StepFiles::default(),
    }
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    plan: &StepPlan,
    ctx: &StepCtx,
    records: &[ClientRecord],
    pre: &Reading,
    segments: &[Segment],
    mut errors: BTreeMap<String, u64>,
    (server_rss_peak, own_rss_peak, own_rss_start): (u64, u64, u64),
    window_start: Instant,
    out: &Path,
) -> Step {
    let first = segments.first().expect("one segment at least");
    let last = segments.last().expect("one segment at least");
    let opened = first.first.as_ref().unwrap_or(&first.last);
    let measured = last.last.at.saturating_duration_since(opened.at);
    let published: u64 = segments.iter().map(|g| g.to - g.from).sum();
    let in_window = |d: &crate::recorder::Delivery| {
        segments.iter().any(|g| g.epoch == d.epoch && d.seq > g.from && d.seq <= g.to)
    };
    if segments.len() > 1 {
        *errors.entry("server_restart_seen".into()).or_default() += (segments.len() - 1) as u64;
    }
    let ws_ms = ctx.ms_since_start(window_start);
    let we_ms = ws_ms + measured.as_millis() as u64;
    // One bucket per second from the window's start to the last in-window delivery (late
    // answers in the drain included: they arrived then).
    let last_at = records
        .iter()
        .flat_map(|r| r.deliveries.iter().filter(|d| in_window(d)).map(|d| u64::from(d.at_ms)))
        .max()
        .unwrap_or(ws_ms);
    let seconds =
        ((last_at.saturating_sub(ws_ms) / 1000) as usize + 1).max(measured.as_secs_f64().round() as usize);

    let mut delivery = hgrm::new_histogram();
    let mut intervals: Vec<Histogram<u64>> = (0..seconds).map(|_| hgrm::new_histogram()).collect();
    let mut per_s = vec![0u64; seconds];
    let mut request = hgrm::new_histogram();
    let mut connect = hgrm::new_histogram();
    let (mut delivered, mut missed, mut duplicates, mut requests, mut empty, mut connections) =
        (0, 0, 0, 0, 0, 0);
    for r in records {
        for g in segments {
            match r.seqs(g.epoch) {
                Some(t) => {
                    let c = t.window(g.from, g.to);
                    delivered += c.delivered;
                    missed += c.missed;
                    duplicates += c.duplicates;
                }
                None => missed += g.to - g.from,
            }
        }
        for d in r.deliveries.iter().filter(|d| in_window(d)) {
            let v = u64::from(d.latency_us).max(1);
            delivery.saturating_record(v);
            let i = ((u64::from(d.at_ms).saturating_sub(ws_ms)) / 1000).min(seconds as u64 - 1) as usize;
            intervals[i].saturating_record(v);
            per_s[i] += 1;
        }
        for q in r.requests.iter().filter(|q| (ws_ms..we_ms).contains(&u64::from(q.at_ms))) {
            requests += 1;
            empty += u64::from(q.empty);
            request.saturating_record(u64::from(q.latency_us).max(1));
        }
        for c in &r.connects_us {
            connect.saturating_record(u64::from(*c).max(1));
        }
        connections += r.connects_us.len() as u64;
        for (k, n) in &r.errors {
            *errors.entry(k.label().to_string()).or_default() += n;
        }
    }
    if !plan.transport.is_scheduled_poll() && plan.transport != Transport::LongPoll {
        requests = connections;
    }

    let t = plan.transport;
    let counter = |m: PerChannel| -> u64 {
        segments.iter().map(|g| g.grew(|s| s.channel(m, t).unwrap_or(0.0))).sum::<f64>() as u64
    };
    let wire = WireBytes {
        to_server: counter(PerChannel::BytesReceived),
        to_client: counter(PerChannel::BytesSent),
    };

    let base = format!("{}-{}", plan.transport.name(), plan.clients);
    let mut files = StepFiles::default();
    let write = |suffix: &str, h: &Histogram<u64>| -> Option<String> {
        let name = format!("{base}-{suffix}.hgrm");
        std::fs::write(out.join(&name), hgrm::percentile_distribution(h)).ok().map(|_| name)
    };
    files.delivery_hgrm = write("delivery", &delivery);
    files.connect_hgrm = write("connect", &connect);
    let scheduled = plan.transport.is_scheduled_poll();
    if scheduled {
        files.request_hgrm = write("request", &request);
    }
    let hlog = format!("{base}-delivery.hlog");
    let start = SystemTime::now() - Instant::now().saturating_duration_since(window_start);
    if hgrm::write_interval_log(&out.join(&hlog), start, "delivery", &intervals).is_ok() {
        files.delivery_hlog = Some(hlog);
    }

    let total_bytes = (wire.to_server + wire.to_client) as f64;
    Step {
        transport: plan.transport,
        clients: plan.clients,
        measured_s: measured.as_secs_f64(),
        events_published: published,
        deliveries_expected: published * u64::from(plan.clients),
        deliveries: delivered,
        coalesced: 0,
        coalesced_without_delay: 0,
        lost: missed,
        duplicates,
        requests,
        empty_polls: empty,
        messages: counter(PerChannel::MessagesSent),
        connections_opened: connections,
        event_delay_us: hgrm::summarize(&delivery),
        request_latency_us: scheduled.then(|| hgrm::summarize(&request)),
        connect_latency_us: hgrm::summarize(&connect),
        wire_bytes: wire,
        wire_bytes_per_delivery: if delivered > 0 { total_bytes / delivered as f64 } else { 0.0 },
        server: ProcessCost {
            cpu_s: segments.iter().map(|g| g.grew(|s| s.get(Single::ProcessCpuSeconds).unwrap_or(0.0))).sum(),
            rss_peak_bytes: server_rss_peak,
            rss_start_bytes: rss(&pre.server),
        },
        loadgen: ProcessCost {
            cpu_s: (last.last.own_cpu - opened.own_cpu).max(0.0),
            rss_peak_bytes: own_rss_peak,
            rss_start_bytes: own_rss_start,
        },
        errors,
        deliveries_per_s: per_s,
        files,
    }
}
