//! Turning what the clients recorded and the window the server's readings bounded into one
//! `results.json` [`Step`]: merged histograms, completeness, requests, wire and process cost.
//!
//! A delivery counts when its seq lies inside a segment of the window, whenever it arrived
//! (late answers in the drain included: the event was published inside); a request counts
//! when it was scheduled inside the window's time. An event of the window a client did not
//! receive itself is coalesced, late or lost ([`crate::event_delay`]); a coalesced one adds
//! its own delay to the same histogram as the delivered ones.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use proto::results::{NodeStep, ProcessCost, Step, StepFiles, WireBytes};
use proto::Transport;

use crate::event_delay::{self, Coverage, EventTimes, Held};
use crate::files::Histograms;
use crate::hgrm;
use crate::plan::{StepPlan, Timeline};
use crate::recorder::ClientRecord;
use crate::seqcheck::Completeness;
use crate::spread::Spread;
use crate::watch::{Memory, NodeWatched};
use crate::window::{Segments, ServerNumbers};

/// The server nodes a step's clients were spread over: their names, their windows (the
/// first node's is the step's) and which client went where.
pub struct Nodes<'a> {
    pub names: &'a [String],
    pub watched: &'a [NodeWatched],
    pub spread: Spread,
}

/// A step's numbers, and the histograms its files are written from.
pub struct Assembled {
    /// `files` still empty.
    pub step: Step,
    pub histograms: Histograms,
}

/// The window in the clients' time: milliseconds since the step began.
struct Span {
    start_ms: u64,
    end_ms: u64,
    /// One-second buckets, from the window's start to the last delivery inside it.
    seconds: usize,
}

impl Span {
    fn of(timeline: &Timeline, segments: &Segments, records: &[ClientRecord]) -> Span {
        let measured = segments.measured();
        let start_ms = timeline.ms_since_start(timeline.window_start);
        let end_ms = start_ms + measured.as_millis() as u64;
        let last_at = records
            .iter()
            .flat_map(|r| r.deliveries.iter().filter(|d| segments.contains(d)).map(|d| u64::from(d.at_ms)))
            .max()
            .unwrap_or(start_ms);
        let seconds = ((last_at.saturating_sub(start_ms) / 1000) as usize + 1)
            .max(measured.as_secs_f64().round() as usize);
        Span { start_ms, end_ms, seconds }
    }

    /// The bucket of a delivery at `at_ms`.
    fn second(&self, at_ms: u32) -> usize {
        ((u64::from(at_ms).saturating_sub(self.start_ms)) / 1000).min(self.seconds as u64 - 1) as usize
    }
}

/// Every client's record, merged over the window.
struct Tally {
    seen: Completeness,
    covered: Coverage,
    requests: u64,
    empty_polls: u64,
    /// Bytes of the window's polls' answer bodies.
    body_bytes: u64,
    unanswered_polls: u64,
    connections: u64,
    setup_bytes: u64,
    setup_connections: u64,
    delivery: Histogram<u64>,
    intervals: Vec<Histogram<u64>>,
    per_s: Vec<u64>,
    request: Histogram<u64>,
    connect: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new(span: &Span) -> Tally {
        Tally {
            seen: Completeness::default(),
            covered: Coverage::default(),
            requests: 0,
            empty_polls: 0,
            body_bytes: 0,
            unanswered_polls: 0,
            connections: 0,
            setup_bytes: 0,
            setup_connections: 0,
            delivery: hgrm::new_histogram(),
            intervals: (0..span.seconds).map(|_| hgrm::new_histogram()).collect(),
            per_s: vec![0; span.seconds],
            request: hgrm::new_histogram(),
            connect: hgrm::new_histogram(),
            errors: BTreeMap::new(),
        }
    }

    fn add(&mut self, r: &ClientRecord, segments: &Segments, span: &Span, times: &[EventTimes]) {
        for g in segments.iter() {
            let seqs = r.seqs(g.epoch);
            if let Some(t) = seqs {
                let c = t.window(g.from, g.to);
                self.seen.delivered += c.delivered;
                self.seen.duplicates += c.duplicates;
            }
            let missing = (g.from + 1..=g.to).filter(|s| seqs.is_none_or(|t| !t.contains(*s)));
            let held: Vec<Held> = r.held.iter().filter(|h| h.epoch == g.epoch).copied().collect();
            let known = times.iter().find(|t| t.epoch == g.epoch);
            let c = event_delay::cover(missing, &held, r.reached(g.epoch), known, |delay_us, at_ms| {
                self.record_delay(delay_us, at_ms, span);
            });
            self.covered.coalesced += c.coalesced;
            self.covered.coalesced_without_time += c.coalesced_without_time;
            self.covered.late += c.late;
            self.covered.lost += c.lost;
        }
        for d in r.deliveries.iter().filter(|d| segments.contains(d)) {
            self.record_delay(u64::from(d.latency_us), d.at_ms, span);
            self.per_s[span.second(d.at_ms)] += 1;
        }
        for q in r.requests.iter().filter(|q| (span.start_ms..span.end_ms).contains(&u64::from(q.at_ms))) {
            self.requests += 1;
            self.empty_polls += u64::from(q.empty);
            self.body_bytes += u64::from(q.body_bytes);
            self.unanswered_polls += u64::from(q.unanswered);
            self.request.saturating_record(u64::from(q.latency_us).max(1));
        }
        for c in &r.connects_us {
            self.connect.saturating_record(u64::from(*c).max(1));
        }
        self.connections += r.connects_us.len() as u64;
        self.setup_bytes += r.setup_bytes;
        self.setup_connections += r.setup_connections;
        for (k, n) in &r.errors {
            *self.errors.entry(k.label().to_string()).or_default() += n;
        }
    }

    /// One event's delay, in the step's histogram and in its second's.
    fn record_delay(&mut self, delay_us: u64, at_ms: u32, span: &Span) {
        let v = delay_us.max(1);
        self.delivery.saturating_record(v);
        self.intervals[span.second(at_ms)].saturating_record(v);
    }
}

/// The step's numbers from the clients' `records` and the window's `segments`.
pub fn assemble(
    plan: &StepPlan,
    timeline: &Timeline,
    records: &[ClientRecord],
    segments: &Segments,
    times: &[EventTimes],
    memory: &Memory,
    nodes: &Nodes,
) -> Assembled {
    let span = Span::of(timeline, segments, records);
    let mut t = Tally::new(&span);
    let published = segments.published();
    let mut per_node: Vec<NodeStep> =
        nodes.names.iter().zip(nodes.watched).map(|(name, w)| node_counters(name, w)).collect();
    for r in records {
        let (delivered, lost) = (t.seen.delivered, t.covered.lost);
        t.add(r, segments, &span, times);
        if let Some(n) = per_node.get_mut(nodes.spread.node(r.client)) {
            n.deliveries += t.seen.delivered - delivered;
            n.lost += t.covered.lost - lost;
        }
    }
    // Every client of the plan counts on its node, whether or not it handed back a record.
    for (n, c) in per_node.iter_mut().zip(nodes.spread.counts(plan.clients as usize)) {
        n.clients = c;
        n.deliveries_expected = published * u64::from(c);
    }
    if segments.restarts() > 0 {
        *t.errors.entry("server_restart_seen".into()).or_default() += segments.restarts();
    }
    // Push clients send no requests of their own: a connection is their one request.
    if !plan.transport.is_scheduled_poll() && plan.transport != Transport::LongPoll {
        t.requests = t.connections;
    }
    // The servers' own figures: every node's counters over its window, summed.
    let grew = |f: fn(&ServerNumbers) -> f64| nodes.watched.iter().map(|w| w.segments.grew(f)).sum::<f64>();
    let wire =
        WireBytes { to_server: grew(|s| s.bytes_received) as u64, to_client: grew(|s| s.bytes_sent) as u64 };
    let delivered = t.seen.delivered;
    let total_bytes = (wire.to_server + wire.to_client) as f64;
    let scheduled = plan.transport.is_scheduled_poll();
    let step = Step {
        transport: plan.transport,
        clients: plan.clients,
        variant: plan.variant,
        round: plan.round,
        measured_s: segments.measured().as_secs_f64(),
        events_published: published,
        deliveries_expected: published * u64::from(plan.clients),
        deliveries: delivered,
        coalesced: t.covered.coalesced,
        coalesced_without_delay: t.covered.coalesced_without_time,
        late: t.covered.late,
        lost: t.covered.lost,
        duplicates: t.seen.duplicates,
        requests: t.requests,
        empty_polls: t.empty_polls,
        poll_body_bytes: plan.transport.is_poll().then_some(t.body_bytes),
        unanswered_polls: t.unanswered_polls,
        messages: grew(|s| s.messages_sent) as u64,
        connections_opened: t.connections,
        event_delay_us: hgrm::summarize(&t.delivery),
        request_latency_us: scheduled.then(|| hgrm::summarize(&t.request)),
        connect_latency_us: hgrm::summarize(&t.connect),
        wire_bytes: wire,
        wire_bytes_per_delivery: if delivered > 0 { total_bytes / delivered as f64 } else { 0.0 },
        setup_bytes: t.setup_bytes,
        setup_connections: t.setup_connections,
        server: ProcessCost {
            cpu_s: grew(|s| s.cpu_s),
            rss_peak_bytes: memory.server_peak,
            rss_start_bytes: memory.server_start,
            baseline_cpu_s: 0.0,
        },
        loadgen: ProcessCost {
            cpu_s: (segments.closed().own_cpu - segments.opened().own_cpu).max(0.0),
            rss_peak_bytes: memory.own_peak,
            rss_start_bytes: memory.own_start,
            baseline_cpu_s: 0.0,
        },
        // Across a server restart the window's edges are still this host's two readings.
        tcp_segments: segments
            .closed()
            .tcp_segments
            .zip(segments.opened().tcp_segments)
            .map(|(end, start)| end.saturating_sub(start)),
        errors: t.errors,
        deliveries_per_s: t.per_s,
        files: StepFiles::default(),
        nodes: per_node,
    };
    let histograms = Histograms {
        delivery: t.delivery,
        connect: t.connect,
        request: scheduled.then_some(t.request),
        intervals: t.intervals,
    };
    Assembled { step, histograms }
}

/// A node's own counters over its window (its clients are counted by the caller).
fn node_counters(name: &str, w: &NodeWatched) -> NodeStep {
    let g = &w.segments;
    NodeStep {
        node: name.to_string(),
        wire_bytes: WireBytes {
            to_server: g.grew(|s| s.bytes_received) as u64,
            to_client: g.grew(|s| s.bytes_sent) as u64,
        },
        messages: g.grew(|s| s.messages_sent) as u64,
        server_cpu_s: g.grew(|s| s.cpu_s),
        rss_peak_bytes: w.rss_peak,
        backplane_bytes: g.grew(|s| s.backplane_bytes) as u64,
        feed_gaps: g.grew(|s| s.feed_gaps) as u64,
        events_repaired: g.grew(|s| s.events_repaired) as u64,
        feed_resets: g.grew(|s| s.feed_resets) as u64,
        ..NodeStep::default()
    }
}

/// A step that never ran (no first reading of the server): nothing measured but `errors`.
pub fn empty(plan: &StepPlan, errors: BTreeMap<String, u64>) -> Step {
    Step { errors, variant: plan.variant, round: plan.round, ..Step::empty(plan.transport, plan.clients) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::failure::ErrorKind;
    use crate::recorder::Request;
    use crate::window::{Reading, ServerNumbers, Window};

    fn reading(seq: u64, bytes: f64, at: Instant) -> Reading {
        let server = ServerNumbers {
            epoch: 7,
            seq,
            rss_bytes: 1000,
            cpu_s: 0.5,
            bytes_received: bytes / 10.0,
            bytes_sent: bytes,
            messages_sent: 0.0,
            ..ServerNumbers::default()
        };
        Reading { server, own_cpu: seq as f64 / 100.0, tcp_segments: Some(seq * 7), at }
    }

    #[test]
    fn deliveries_count_by_seq_and_requests_by_scheduled_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let timeline = Timeline { t0, window_start: t0 + s, window_end: t0 + 3 * s, stop_at: t0 + 4 * s };
        let mut w = Window::default();
        w.observe(reading(10, 1000.0, t0 + s), t0 + s, &timeline);
        w.observe(reading(20, 3000.0, t0 + 3 * s), t0 + 3 * s, &timeline);
        let request = |at_ms, empty| Request {
            at_ms,
            latency_us: 2000,
            empty,
            unanswered: false,
            body_bytes: if empty { 0 } else { 50 },
        };

        // Every event of the window (10, 20], one before it, four polls of which two were
        // scheduled inside the window's time.
        let mut a = ClientRecord::default();
        a.check_epoch(7);
        a.deliver(10, 1000, 900);
        for seq in 11..=20 {
            a.deliver(seq, 1000, 1500);
        }
        a.requests =
            vec![request(500, false), request(1000, true), request(2999, false), request(3000, false)];
        // One poll of the window never answered (still in flight when the client stopped),
        // and one of the drain's, outside the window.
        let gone =
            |at_ms| Request { at_ms, latency_us: 1_500_000, empty: false, unanswered: true, body_bytes: 0 };
        a.requests.extend([gone(2500), gone(3100)]);
        a.connects_us = vec![100];
        a.error(ErrorKind::Timeout);
        // Two events, one twice, the last one answered in the drain.
        let mut b = ClientRecord::new(1);
        b.check_epoch(7);
        b.deliver(11, 3000, 2500);
        b.deliver(11, 3000, 2600);
        b.deliver(15, 3000, 3500);
        // A snapshot at 13 received at 5,000 µs: 12 and 13 are coalesced; 14 is lost (a gap
        // below 15, which it received); 16–20 are late (it never reached them).
        b.hold(13, 5000, 2700);
        b.connects_us = vec![200, 300];
        let times = [EventTimes::new(7, 10, (1..=10).map(|i| i * 100).collect())];

        let records = [a, b];
        let segments = w.finish(reading(20, 3000.0, t0 + 3 * s), &records);
        let memory = Memory { server_start: 900, server_peak: 1200, own_start: 1, own_peak: 2 };
        let plan = crate::plan::StepPlan {
            index: 0,
            transport: Transport::DeltaPoll,
            clients: 2,
            duration: 2 * s,
            warmup: s,
            poll_interval: s,
            poll_mode: proto::PollMode::default(),
            connect_rate: 1000.0,
            seed: 1,
            variant: proto::Variant::default(),
            variants_vary: false,
            round: 0,
            rounds: 1,
        };
        // Two nodes, client 0 on the first, client 1 on the second; the second node's window
        // saw a fifth of the first's bytes.
        let mut other = Window::default();
        other.observe(reading(10, 200.0, t0 + s), t0 + s, &timeline);
        other.observe(reading(20, 600.0, t0 + 3 * s), t0 + 3 * s, &timeline);
        let watched = [
            NodeWatched { segments: segments.clone(), rss_start: 900, rss_peak: 1200 },
            NodeWatched {
                segments: other.finish(reading(20, 600.0, t0 + 3 * s), &records),
                rss_start: 0,
                rss_peak: 0,
            },
        ];
        let names = ["http://a".to_string(), "http://b".to_string()];
        let nodes = Nodes { names: &names, watched: &watched, spread: Spread { nodes: 2, first: 0 } };
        let Assembled { step, histograms } =
            assemble(&plan, &timeline, &records, &segments, &times, &memory, &nodes);

        assert_eq!((step.events_published, step.deliveries_expected), (10, 20));
        assert_eq!((step.deliveries, step.duplicates), (12, 1));
        assert_eq!((step.coalesced, step.coalesced_without_delay, step.late, step.lost), (2, 0, 5, 1));
        assert_eq!(step.deliveries + step.coalesced + step.late + step.lost, step.deliveries_expected);
        assert_eq!((step.requests, step.empty_polls, step.connections_opened), (3, 1, 3));
        assert_eq!(step.unanswered_polls, 1, "the window's unanswered poll, not the drain's");
        assert_eq!(step.poll_body_bytes, Some(50), "the bodies of the two polls scheduled in the window");
        assert_eq!(step.deliveries_per_s, vec![10, 1, 1], "the drain's late answer has its second");
        assert_eq!(step.measured_s, 2.0);
        assert_eq!((step.wire_bytes.to_server, step.wire_bytes.to_client), (240, 2400), "both nodes");
        assert_eq!(step.wire_bytes_per_delivery, 2640.0 / 12.0);
        let by_node: Vec<_> = step
            .nodes
            .iter()
            .map(|n| {
                (
                    n.node.as_str(),
                    n.clients,
                    n.deliveries,
                    n.deliveries_expected,
                    n.lost,
                    n.wire_bytes.to_client,
                )
            })
            .collect();
        assert_eq!(by_node, [("http://a", 1, 10, 10, 0, 2000), ("http://b", 1, 2, 10, 1, 400)]);
        assert_eq!(step.errors, BTreeMap::from([("timeout".to_string(), 1)]));
        assert_eq!(
            (step.server.rss_start_bytes, step.server.rss_peak_bytes, step.server.cpu_s),
            (900, 1200, 0.0)
        );
        assert!((step.loadgen.cpu_s - 0.1).abs() < 1e-9);
        assert_eq!(step.event_delay_us.count, 14, "delivered and coalesced events have delays");
        // Seq 12 was published at 200 µs and held at 5,000 µs (3 significant digits).
        assert!(step.event_delay_us.max.abs_diff(4800) <= 5, "{:?}", step.event_delay_us);
        let request = step.request_latency_us.as_ref().expect("a poller has request latency");
        assert_eq!(request.count, 3, "the unanswered poll has its waiting time");
        assert!(request.max.abs_diff(1_500_000) < 2_000, "{request:?}");
        assert_eq!(step.connect_latency_us.count, 3);
        assert!(histograms.request.is_some() && histograms.intervals.len() == 3);
    }
}
