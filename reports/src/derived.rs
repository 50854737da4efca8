//! What the report derives from the results: the run's transports, client counts and step
//! order, the headline client count, and per step its rates, costs per 1,000 deliveries,
//! bytes per message and "kept up?" (on every event, or on state only), in one place so a
//! chart and its table never disagree.
//!
//! Every function answers `None` rather than dividing by zero: a step with no deliveries has
//! no cost per delivery, and the report says so instead of drawing infinity.

use std::borrow::Borrow;

use proto::capacity::{Bound, ServiceLevel};
use proto::results::{Latency, Results, RunConfig, Step, TCP_IP_HEADER_BYTES};
use proto::variant::Varying;
use proto::{Transport, Variant};

use super::format;

/// The transports of the run in the order they were asked for (then any others that ran).
pub fn transports(results: &Results) -> Vec<Transport> {
    let mut out: Vec<Transport> = Vec::new();
    let ran = |t: Transport| results.steps.iter().any(|s| s.transport == t);
    for t in results.config.transports.iter().copied().chain(results.steps.iter().map(|s| s.transport)) {
        if ran(t) && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One line of the report: a transport over one variant (protocol, TLS, compression). A run
/// with one variant has one series per transport, and the report names it as the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Series {
    pub transport: Transport,
    pub variant: Variant,
}

impl Series {
    /// The series of a step.
    pub fn of(step: &Step) -> Series {
        Series { transport: step.transport, variant: step.variant }
    }

    /// Whether `step` belongs to this series.
    pub fn has(&self, step: &Step) -> bool {
        step.transport == self.transport && step.variant == self.variant
    }

    /// The plain name: the transport's, then the variant's dimensions that vary in the run
    /// ("WebSocket, HTTP/2, TLS"); just the transport's when none does.
    pub fn name(&self, varying: Varying) -> String {
        let label = self.variant.label(varying);
        if label.is_empty() {
            self.transport.plain_name().to_string()
        } else {
            format!("{}, {label}", self.transport.plain_name())
        }
    }
}

/// The name of a step's series in the run ("WebSocket, HTTP/2").
pub fn series_name(results: &Results, step: &Step) -> String {
    Series::of(step).name(varying(results))
}

/// The variants that ran, in the order the run's dimensions give them (then any others).
pub fn variants(results: &Results) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    let ran = |v: Variant| results.steps.iter().any(|s| s.variant == v);
    for v in results.config.dimensions.variants().into_iter().chain(results.steps.iter().map(|s| s.variant)) {
        if ran(v) && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The dimensions in which the run's steps differ: what names and columns must tell apart.
pub fn varying(results: &Results) -> Varying {
    Varying::of(results.steps.iter().map(|s| &s.variant))
}

/// The series of the run: transports in the run's order, and within a transport its
/// variants in the run's order, so one transport's lines sit together.
pub fn series(results: &Results) -> Vec<Series> {
    let variants = variants(results);
    let mut out = Vec::new();
    for transport in transports(results) {
        for &variant in &variants {
            let s = Series { transport, variant };
            if results.steps.iter().any(|step| s.has(step)) {
                out.push(s);
            }
        }
    }
    out
}

/// The client counts that ran, ascending.
pub fn client_counts(results: &Results) -> Vec<u32> {
    let mut counts: Vec<u32> = results.steps.iter().map(|s| s.clients).collect();
    counts.sort_unstable();
    counts.dedup();
    counts
}

/// The steps in report order: by client count, then in the run's series order. Every
/// table and list of steps uses it, so a step sits in the same place everywhere; a repeated
/// step's rounds follow each other.
pub fn ordered_steps(results: &Results) -> Vec<&Step> {
    let series = series(results);
    let mut steps: Vec<&Step> = results.steps.iter().collect();
    steps.sort_by_key(|s| (s.clients, series.iter().position(|k| k.has(s)), s.round));
    steps
}

/// The client count the headline (summary and "at a glance" table) compares at: the largest
/// at which the most series delivered something (all of them, in a healthy run).
pub fn headline_clients(results: &Results) -> Option<u32> {
    let delivering =
        |c: u32| results.steps.iter().filter(|s| s.clients == c && s.event_delay_us.count > 0).count();
    let most = client_counts(results).into_iter().map(delivering).max().filter(|n| *n > 0)?;
    client_counts(results).into_iter().filter(|c| delivering(*c) == most).max()
}

/// The step of a series at a client count (the first, if a run repeated one).
pub fn step(results: &Results, series: impl Borrow<Series>, clients: u32) -> Option<&Step> {
    let series = series.borrow();
    results.steps.iter().find(|s| series.has(s) && s.clients == clients)
}

/// The step of a transport over a variant at a client count.
pub fn step_of(results: &Results, transport: Transport, variant: Variant, clients: u32) -> Option<&Step> {
    step(results, Series { transport, variant }, clients)
}

fn per(x: f64, by: f64) -> Option<f64> {
    (by > 0.0 && x.is_finite()).then(|| x / by)
}

/// Requests the clients sent per second; none for push transports, whose `requests` are the
/// connections they opened.
pub fn requests_per_s(step: &Step) -> Option<f64> {
    if !step.transport.is_poll() {
        return None;
    }
    per(step.requests as f64, step.measured_s)
}

/// Polls answered with nothing new, per second.
pub fn empty_polls_per_s(step: &Step) -> Option<f64> {
    per(step.empty_polls as f64, step.measured_s)
}

/// Polls per second the schedule asked for (`clients / interval`), scheduled polls only.
pub fn scheduled_per_s(step: &Step, config: &RunConfig) -> Option<f64> {
    if !step.transport.is_scheduled_poll() {
        return None;
    }
    per(step.clients as f64 * 1000.0, config.poll_interval_ms)
}

/// Deliveries per second over the whole window.
pub fn deliveries_per_s(step: &Step) -> Option<f64> {
    per(step.deliveries as f64, step.measured_s)
}

/// The feed's rate as some steps (those at one client count) measured it, events per
/// second: the events published in their windows over the windows' length. It is the rate
/// the server actually fed, which a `--target` server may set apart from the configured
/// `rate`.
pub fn measured_feed_rate<'s>(steps: impl IntoIterator<Item = &'s Step>) -> Option<f64> {
    let (events, seconds) =
        steps.into_iter().fold((0u64, 0f64), |(e, t), s| (e + s.events_published, t + s.measured_s));
    per(events as f64, seconds)
}

/// `(end of second, deliveries per second)` over the measured window, for the timeline.
/// The last bucket is usually a partial second (a 3.003 s window has a 3 ms fourth one):
/// it is scaled to a full second, or left out when shorter than half a second, so the end
/// of a window never looks like a stall. When the buckets do not match the window's length
/// (a runner that counted from elsewhere), every bucket is drawn as it is.
pub fn delivery_rate_points(step: &Step) -> Vec<(f64, f64)> {
    let n = step.deliveries_per_s.len();
    let last_partial = step.measured_s > 0.0 && n > 0 && n == step.measured_s.ceil() as usize;
    step.deliveries_per_s
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let covered = if last_partial && i + 1 == n { step.measured_s - i as f64 } else { 1.0 };
            (covered >= 0.5).then(|| (i as f64 + covered, *v as f64 / covered))
        })
        .collect()
}

/// A latency's saved spectrum as `(percentile 0–100, µs)`. `.hgrm` files write percentiles
/// as fractions, so a spectrum whose percentiles are all at most 1 is read as fractions.
pub fn spectrum_percentiles(lat: &Latency) -> Vec<(f64, u64)> {
    let scale = if lat.spectrum.iter().all(|(p, _)| *p <= 1.0) { 100.0 } else { 1.0 };
    lat.spectrum.iter().map(|(p, v)| (p * scale, *v)).collect()
}

/// A step in whose window the feed published nothing: there was nothing to deliver, so it
/// says nothing about its transport.
pub fn measured_nothing(step: &Step) -> bool {
    step.deliveries_expected == 0
}

/// Server CPU seconds per 1,000 deliveries, above the idle server's baseline (the feed and
/// the /metrics readings cost that much with no client at all; nothing is subtracted in runs
/// that measured no baseline).
pub fn server_cpu_per_1000(step: &Step) -> Option<f64> {
    per(step.server.net_cpu_s() * 1000.0, step.deliveries as f64)
}

/// How much the server's resident memory grew within the step, bytes: its peak less its
/// memory when the step's clients were about to connect. Steps run one after another in one
/// server whose allocator keeps what it freed, so the absolute peak carries every earlier
/// step's leftovers; the growth is this step's own. `None` when either reading is missing.
pub fn server_memory_growth(step: &Step) -> Option<u64> {
    let s = &step.server;
    (s.rss_start_bytes > 0 && s.rss_peak_bytes > 0)
        .then(|| s.rss_peak_bytes.saturating_sub(s.rss_start_bytes))
}

/// [`server_memory_growth`] per client, bytes.
pub fn server_memory_growth_per_client(step: &Step) -> Option<f64> {
    per(server_memory_growth(step)? as f64, step.clients as f64)
}

/// Wire bytes per delivered event, `(to_server, to_client)`.
pub fn bytes_per_delivery(step: &Step) -> Option<(f64, f64)> {
    let d = step.deliveries as f64;
    Some((per(step.wire_bytes.to_server as f64, d)?, per(step.wire_bytes.to_client as f64, d)?))
}

/// TCP/IP header bytes per delivered event, estimated: the host's TCP segments in the window
/// × [`TCP_IP_HEADER_BYTES`] ÷ deliveries. Every process's segments are in the count (the
/// load generator's `/metrics` readings too), so it is an upper estimate of the step's own.
pub fn tcp_ip_headers_per_delivery(step: &Step) -> Option<f64> {
    per((step.tcp_segments? * TCP_IP_HEADER_BYTES) as f64, step.deliveries as f64)
}

/// Setup bytes per connection: what a connection had carried, both ways, by its first answer
/// or message (TLS handshake, upgrade or request and answer heads, and the snapshot), from the
/// load generator's side; `None` when none was counted (or in files from before).
pub fn setup_bytes_per_connection(step: &Step) -> Option<f64> {
    per(step.setup_bytes as f64, step.setup_connections as f64)
}

/// What one message costs on the wire, both directions: per request for polling, per
/// frame/event sent for push transports: TCP payload in the window, keepalives included,
/// handshakes not (they were made during the ramp-up, before the window).
pub fn bytes_per_message(step: &Step) -> Option<f64> {
    let total = (step.wire_bytes.to_server + step.wire_bytes.to_client) as f64;
    if step.transport.is_poll() {
        per(total, step.requests as f64)
    } else {
        per(total, step.messages as f64)
    }
}

/// What the results tell of one empty poll (a 304, or an empty event list) of a polling
/// series, bytes of TCP payload. The window's bytes are counted per direction, not per answer:
/// when every poll was empty, all bytes ÷ polls is exactly one empty poll (request and answer);
/// otherwise only the request is exact (client → server bytes ÷ polls: every request is the
/// same request), and the answer of a 304 cannot be told from the 200s beside it. The window
/// starts after the warm-up, so HTTP/2's HPACK tables are already warm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EmptyPoll {
    /// Request and answer of one empty poll.
    Exact(f64),
    /// The request of one poll only.
    RequestOnly(f64),
}

/// [`EmptyPoll`] over some steps of one polling series; `None` for push transports or
/// without an empty poll.
pub fn empty_poll<'s>(steps: impl IntoIterator<Item = &'s Step>) -> Option<EmptyPoll> {
    let (mut up, mut down, mut requests, mut empty) = (0u64, 0u64, 0u64, 0u64);
    for s in steps {
        if !s.transport.is_poll() {
            return None;
        }
        up += s.wire_bytes.to_server;
        down += s.wire_bytes.to_client;
        requests += s.requests;
        empty += s.empty_polls;
    }
    if empty == 0 {
        return None;
    }
    if empty >= requests {
        Some(EmptyPoll::Exact(per((up + down) as f64, requests as f64)?))
    } else {
        Some(EmptyPoll::RequestOnly(per(up as f64, requests as f64)?))
    }
}

/// How a step did against the "kept up?" rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The feed published nothing in the step's window: nothing to judge it by.
    NotMeasured,
    /// It kept up, on every event or (snapshot polling that coalesced events) on state.
    KeptUp(KeptUpOn),
    /// It did not; the reasons, as [`shortfalls`] gives them.
    FellShort(Vec<String>),
}

/// What a transport that kept up kept up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeptUpOn {
    /// Every client received every event as an event of its own.
    EveryEvent,
    /// Every client held the latest state, but saw some events only inside a later snapshot
    /// (coalesced): snapshot polling, by design.
    State,
}

/// The verdict of a step.
pub fn verdict(step: &Step, config: &RunConfig) -> Verdict {
    if measured_nothing(step) {
        return Verdict::NotMeasured;
    }
    let why = shortfalls(step, config);
    if !why.is_empty() {
        Verdict::FellShort(why)
    } else if step.coalesced > 0 {
        Verdict::KeptUp(KeptUpOn::State)
    } else {
        Verdict::KeptUp(KeptUpOn::EveryEvent)
    }
}

// --- service level (issue 14): one definition for "kept up?" and `loadgen capacity` ---

/// Why a step did not keep up; empty when it did: [`judge`] against the run's own
/// [`service_level`].
pub fn shortfalls(step: &Step, config: &RunConfig) -> Vec<String> {
    judge(step, &service_level(config), 0)
}

/// The service level a normal run's steps are judged by: p99 event delay and p99 request
/// latency within one poll interval ([`delay_bound`]), 90 % of scheduled polls sent, server
/// CPU not judged.
pub fn service_level(config: &RunConfig) -> ServiceLevel {
    let (us, name) = delay_bound(config);
    let bound = Bound { ms: us / 1000.0, name };
    ServiceLevel {
        event_delay_p99: bound.clone(),
        request_latency_p99: bound,
        polls_sent_min: 0.9,
        poll_interval_ms: config.poll_interval_ms,
        server_cpu_max: None,
    }
}

/// Why a step missed the service level `level`; empty when it met it. The rules (also
/// written in the report's "How to read" section): no errors; something delivered; no lost
/// and no late events, for every transport; no coalesced events except for snapshot polling
/// (a push or cursor client that got a snapshot instead of its events fell behind and was
/// resynced); scheduled polls answered within their bound at p99 and enough of them sent;
/// other transports' event delay within its bound at p99; the server's CPU share of the
/// machine's `cpus` cores within its bound, when the level has one (and `cpus` > 0).
pub fn judge(step: &Step, level: &ServiceLevel, cpus: usize) -> Vec<String> {
    let mut why = Vec::new();
    let errors = step.errors_total();
    if errors > 0 {
        let kinds: Vec<String> =
            step.errors.iter().map(|(k, n)| format!("{k}: {}", format::int(*n))).collect();
        why.push(format!("{} errors ({})", format::int(errors), kinds.join(", ")));
    }
    if step.deliveries == 0 && step.deliveries_expected > 0 {
        why.push("delivered nothing".to_string());
    } else {
        if step.lost > 0 {
            why.push(format!(
                "lost {} events ({})",
                format::int(step.lost),
                format::count_share(step.lost, step.deliveries_expected)
            ));
        }
        if step.late > 0 {
            why.push(format!(
                "{} events late ({}): not reached by the end of the drain",
                format::int(step.late),
                format::count_share(step.late, step.deliveries_expected)
            ));
        }
        if step.coalesced > 0 && !step.transport.is_snapshot() {
            why.push(format!(
                "fell behind: {} events ({}) reached its clients only inside a resync snapshot \
                 (coalesced)",
                format::int(step.coalesced),
                format::count_share(step.coalesced, step.deliveries_expected)
            ));
        }
    }
    if step.transport.is_scheduled_poll() {
        why.extend(poll_shortfalls(step, level));
    } else {
        let bound = &level.event_delay_p99;
        if step.event_delay_us.count > 0 && step.event_delay_us.p99 as f64 > bound.ms * 1000.0 {
            why.push(format!(
                "p99 event delay {} is over {}",
                format::latency_us(step.event_delay_us.p99 as f64),
                bound.name
            ));
        }
    }
    if let (Some(max), true) = (level.server_cpu_max, cpus > 0 && step.measured_s > 0.0) {
        let share = step.server.cpu_s / step.measured_s / cpus as f64;
        if share > 1.0 {
            // More than every core can give: the window's two readings of the server were
            // answered late, close together, so its counters do not span the window.
            why.push(format!(
                "the server answered its window readings late (they came {} apart), so its CPU \
                 and bytes do not cover the window",
                format::latency_us(step.measured_s * 1e6)
            ));
        } else if share > max {
            why.push(format!(
                "server CPU {:.0}\u{a0}% of the machine's {cpus} cores is over {:.0}\u{a0}%",
                share * 100.0,
                max * 100.0
            ));
        }
    }
    why
}

// --- end of the service level ---

/// Polls back to back (`--poll-interval 0`) have no interval to judge delays by: they are
/// judged against this instead, and the verdict says so.
pub const BACK_TO_BACK_BOUND_MS: f64 = 1000.0;

/// What p99 delays are judged against, µs, and how a verdict names it: the poll interval, or
/// [`BACK_TO_BACK_BOUND_MS`] when polls went back to back.
pub fn delay_bound(config: &RunConfig) -> (f64, String) {
    if config.poll_interval_ms > 0.0 {
        let name = format!("the {} poll interval", format::duration_ms(config.poll_interval_ms));
        (config.poll_interval_ms * 1000.0, name)
    } else {
        let bound = format::duration_ms(BACK_TO_BACK_BOUND_MS);
        (
            BACK_TO_BACK_BOUND_MS * 1000.0,
            format!("{bound} (polls went back to back, so delays are judged against {bound})"),
        )
    }
}

/// The scheduled polls' own rules: answered within their bound at p99, enough of them sent.
fn poll_shortfalls(step: &Step, level: &ServiceLevel) -> Vec<String> {
    let mut why = Vec::new();
    let bound = &level.request_latency_p99;
    if let Some(req) = &step.request_latency_us {
        if req.count > 0 && req.p99 as f64 > bound.ms * 1000.0 {
            why.push(format!(
                "p99 request latency {} is over {}",
                format::latency_us(req.p99 as f64),
                bound.name
            ));
        }
    }
    if level.poll_interval_ms > 0.0 && step.transport.is_scheduled_poll() {
        let wanted = step.clients as f64 * 1000.0 / level.poll_interval_ms * step.measured_s;
        if (step.requests as f64) < level.polls_sent_min * wanted {
            why.push(format!(
                "sent {} of {} scheduled polls",
                format::int(step.requests),
                format::round(wanted)
            ));
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::{ProcessCost, WireBytes};

    #[test]
    fn tcp_ip_headers_are_52_bytes_a_segment_per_delivery() {
        let mut s = step(Transport::Ws);
        s.deliveries = 500;
        s.tcp_segments = Some(1000);
        assert_eq!(tcp_ip_headers_per_delivery(&s), Some(104.0));
        s.tcp_segments = None;
        assert_eq!(tcp_ip_headers_per_delivery(&s), None, "not counted: nothing to show");
        s.tcp_segments = Some(1000);
        s.deliveries = 0;
        assert_eq!(tcp_ip_headers_per_delivery(&s), None, "no delivery: no per-delivery figure");
    }

    pub(crate) fn config() -> RunConfig {
        RunConfig {
            transports: vec![Transport::ShortPoll, Transport::Ws],
            clients: vec![10],
            ..RunConfig::default()
        }
    }

    fn step(transport: Transport) -> Step {
        Step {
            measured_s: 10.0,
            events_published: 100,
            deliveries_expected: 1000,
            deliveries: 1000,
            requests: 100,
            connections_opened: 10,
            event_delay_us: Latency { count: 1000, p99: 900, ..Latency::default() },
            request_latency_us: Some(Latency { count: 100, p99: 2000, ..Latency::default() }),
            wire_bytes: WireBytes { to_server: 1000, to_client: 9000 },
            wire_bytes_per_delivery: 10.0,
            server: ProcessCost { cpu_s: 0.5, ..ProcessCost::default() },
            ..Step::empty(transport, 10)
        }
    }

    #[test]
    fn zero_deliveries_have_no_cost_per_delivery() {
        let mut s = step(Transport::Ws);
        s.deliveries = 0;
        assert_eq!(server_cpu_per_1000(&s), None);
        assert_eq!(bytes_per_delivery(&s), None);
        assert_eq!(shortfalls(&s, &config()), vec!["delivered nothing".to_string()]);
        s.measured_s = 0.0;
        assert_eq!(requests_per_s(&s), None);
    }

    #[test]
    fn a_partial_last_second_is_scaled_or_left_out() {
        let mut s = step(Transport::Ws);
        s.measured_s = 3.003;
        s.deliveries_per_s = vec![100, 100, 100, 1];
        assert_eq!(delivery_rate_points(&s), vec![(1.0, 100.0), (2.0, 100.0), (3.0, 100.0)]);
        s.measured_s = 2.5;
        s.deliveries_per_s = vec![100, 100, 50];
        assert_eq!(delivery_rate_points(&s), vec![(1.0, 100.0), (2.0, 100.0), (2.5, 100.0)]);
        s.measured_s = 1.4;
        s.deliveries_per_s = vec![0, 0, 3];
        assert_eq!(delivery_rate_points(&s), vec![(1.0, 0.0), (2.0, 0.0), (3.0, 3.0)], "buckets as they are");
    }

    #[test]
    fn an_empty_poll_is_exact_only_when_every_poll_was_empty() {
        let mut s = step(Transport::ShortPoll);
        assert_eq!(empty_poll([&s]), None, "no empty poll");
        s.empty_polls = 40;
        assert_eq!(empty_poll([&s]), Some(EmptyPoll::RequestOnly(10.0)), "1,000 B up over 100 polls");
        s.empty_polls = 100;
        assert_eq!(empty_poll([&s]), Some(EmptyPoll::Exact(100.0)));
        assert_eq!(empty_poll([&step(Transport::Ws)]), None);
    }

    #[test]
    fn derived_numbers() {
        let s = step(Transport::ShortPoll);
        assert_eq!(requests_per_s(&s), Some(10.0));
        assert_eq!(requests_per_s(&step(Transport::Ws)), None, "connections are not requests");
        assert_eq!(scheduled_per_s(&s, &config()), Some(10.0));
        assert_eq!(server_cpu_per_1000(&s), Some(0.5));
        assert_eq!(bytes_per_delivery(&s), Some((1.0, 9.0)));
        assert_eq!(bytes_per_message(&s), Some(100.0));
        assert!(shortfalls(&s, &config()).is_empty());
    }

    #[test]
    fn the_feed_rate_is_the_one_measured_not_the_configured_one() {
        let (mut a, mut b) = (step(Transport::Ws), step(Transport::ShortPoll));
        a.events_published = 30;
        b.events_published = 10;
        assert_eq!(config().rate, 10.0);
        assert_eq!(measured_feed_rate([&a, &b]), Some(2.0), "40 events over 20 s");
        assert_eq!(measured_feed_rate([&Step::empty(Transport::Sse, 50)]), None, "no window to divide by");
        assert_eq!(measured_feed_rate([]), None);
    }

    #[test]
    fn memory_is_the_growth_within_the_step() {
        let mut s = step(Transport::Ws);
        assert_eq!(server_memory_growth(&s), None, "no readings");
        s.server.rss_start_bytes = 50 << 20;
        s.server.rss_peak_bytes = (50 << 20) + 10_000;
        assert_eq!(server_memory_growth(&s), Some(10_000), "the earlier steps' 50 MiB is not this step's");
        assert_eq!(server_memory_growth_per_client(&s), Some(1_000.0));
        s.server.rss_peak_bytes = 40 << 20;
        assert_eq!(server_memory_growth(&s), Some(0), "a peak below the start is no growth");
    }

    #[test]
    fn late_or_missing_polls_do_not_keep_up() {
        let mut s = step(Transport::ShortPoll);
        s.request_latency_us.as_mut().unwrap().p99 = 1_500_000;
        s.requests = 50;
        s.errors.insert("timeout".into(), 3);
        let why = shortfalls(&s, &config());
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why[0].contains("3 errors (timeout: 3)"));
        assert!(why[1].contains("1,500\u{a0}ms"), "{why:?}");
        assert!(why[2].contains("sent 50 of 100"), "{why:?}");
        let mut w = step(Transport::Ws);
        w.lost = 5;
        w.event_delay_us.p99 = 2_000_000;
        let why = shortfalls(&w, &config());
        assert_eq!(why.len(), 2, "{why:?}");
        assert_eq!(why[0], "lost 5 events (0.5%)");
        assert!(why[1].starts_with("p99 event delay 2,000"), "{why:?}");
    }

    #[test]
    fn polls_back_to_back_are_judged_against_one_second_and_say_so() {
        let back_to_back = RunConfig { poll_interval_ms: 0.0, ..config() };
        let mut w = step(Transport::Ws);
        w.event_delay_us.p99 = 1_500_000;
        assert_eq!(
            shortfalls(&w, &back_to_back),
            vec!["p99 event delay 1,500\u{a0}ms is over 1\u{a0}s (polls went back to back, so delays \
                 are judged against 1\u{a0}s)"
                .to_string()]
        );
        w.event_delay_us.p99 = 900_000;
        assert!(shortfalls(&w, &back_to_back).is_empty());
        let mut s = step(Transport::ShortPoll);
        s.request_latency_us.as_mut().expect("polls").p99 = 2_000_000;
        let why = shortfalls(&s, &back_to_back);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].starts_with("p99 request latency 2,000\u{a0}ms is over 1\u{a0}s (polls went back"),
            "{why:?}"
        );
    }

    #[test]
    fn late_events_fail_and_a_tiny_lost_share_is_not_zero() {
        let mut w = step(Transport::Ws);
        w.deliveries_expected = 10_000_000;
        w.deliveries = w.deliveries_expected - 5;
        w.late = 2;
        w.lost = 3;
        assert_eq!(
            shortfalls(&w, &config()),
            vec![
                "lost 3 events (<0.1%)".to_string(),
                "2 events late (<0.1%): not reached by the end of the drain".to_string()
            ]
        );
    }

    #[test]
    fn snapshot_polling_that_coalesces_keeps_up_on_state() {
        let mut s = step(Transport::ShortPoll);
        assert_eq!(verdict(&s, &config()), Verdict::KeptUp(KeptUpOn::EveryEvent));
        s.deliveries = 100;
        s.coalesced = 900;
        assert_eq!(verdict(&s, &config()), Verdict::KeptUp(KeptUpOn::State));
        s.deliveries_expected = 0;
        assert_eq!(verdict(&s, &config()), Verdict::NotMeasured);
    }

    #[test]
    fn lost_events_fail_every_transport_and_coalesced_ones_fail_all_but_snapshot_polling() {
        for t in Transport::ALL {
            let mut s = step(t);
            s.deliveries = 990;
            s.lost = 10;
            assert_eq!(
                verdict(&s, &config()),
                Verdict::FellShort(vec!["lost 10 events (1.0%)".into()]),
                "{t}"
            );
            s.lost = 0;
            s.coalesced = 10;
            let v = verdict(&s, &config());
            if t.is_snapshot() {
                assert_eq!(v, Verdict::KeptUp(KeptUpOn::State), "{t}");
            } else {
                assert_eq!(
                    v,
                    Verdict::FellShort(vec![
                        "fell behind: 10 events (1.0%) reached its clients only inside a resync \
                         snapshot (coalesced)"
                            .into()
                    ]),
                    "{t}"
                );
            }
        }
    }

    // --- service level (issue 14) ---
    #[test]
    fn a_capacity_service_level_judges_delay_and_server_cpu_by_its_own_bounds() {
        let level = ServiceLevel {
            event_delay_p99: Bound { ms: 500.0, name: "500ms (--delay-p99)".into() },
            request_latency_p99: Bound { ms: 1000.0, name: "1s (the poll interval)".into() },
            polls_sent_min: 0.9,
            poll_interval_ms: 1000.0,
            server_cpu_max: Some(0.5),
        };
        let mut w = step(Transport::Ws);
        w.event_delay_us.p99 = 600_000;
        w.server.cpu_s = 12.0;
        assert!(shortfalls(&w, &config()).is_empty(), "the run's own level: 1 s, CPU not judged");
        let why = judge(&w, &level, 2);
        assert_eq!(why.len(), 2, "{why:?}");
        assert_eq!(why[0], "p99 event delay 600\u{a0}ms is over 500ms (--delay-p99)");
        assert_eq!(why[1], "server CPU 60\u{a0}% of the machine's 2 cores is over 50\u{a0}%");
        assert_eq!(judge(&w, &level, 0).len(), 1, "no core count: CPU not judged");
        let late = Step { measured_s: 0.003, ..w.clone() };
        let why = judge(&late, &level, 2);
        assert!(why[1].contains("window readings late (they came 3.00\u{a0}ms apart)"), "{why:?}");
        let s = step(Transport::ShortPoll);
        assert_eq!(judge(&s, &service_level(&config()), 0), shortfalls(&s, &config()));
    }
}
