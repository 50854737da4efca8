//! `loadgen merge`: one run out of the results of several load processes (`--part K/N`, or
//! runs made on several machines at the same time), one report.
//!
//! Latencies are merged by adding the parts' HdrHistograms (read back from their interval
//! logs), never by averaging percentiles; client-side counters are summed. Server-side figures
//! (wire bytes, frames, server CPU) are kept per node (`Step::nodes`): a node read by several
//! parts is taken once (its largest reading), and the step's figures are the sum over the
//! distinct nodes. Files without per-node figures fall back to the same rule by `--target`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use proto::results::{Cluster, NodeStep, ProcessCost, Reference, ReferenceStep, Results, Step, WireBytes};

use crate::files::{self, Histograms};
use crate::hgrm;

/// One part: its folder and its results.
pub struct Part {
    pub dir: PathBuf,
    pub results: Results,
}

/// Reads `DIR/results.json` of every part (one part is a cluster run of one load process,
/// merged to be set beside a `--reference`).
pub fn read_parts(dirs: &[PathBuf]) -> anyhow::Result<Vec<Part>> {
    if dirs.is_empty() {
        bail!("give the run folders to merge");
    }
    dirs.iter().map(|dir| Ok(Part { dir: dir.clone(), results: read_results(dir)? })).collect()
}

fn read_results(dir: &Path) -> anyhow::Result<Results> {
    let path = dir.join("results.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("while reading {}", path.display()))?;
    Results::from_json(&text).with_context(|| format!("while parsing {}", path.display()))
}

/// The event delays of a run against one server without NATS (`loadgen merge --reference
/// DIR`), step by step.
pub fn read_reference(dir: &Path) -> anyhow::Result<Reference> {
    let r = read_results(dir).context("while reading the --reference run")?;
    let server = r.config.target.clone().unwrap_or_else(|| "an embedded server".into());
    Ok(Reference {
        source: format!("{} (against {server})", dir.display()),
        steps: r
            .steps
            .iter()
            .map(|s| ReferenceStep {
                transport: s.transport,
                variant: s.variant,
                clients: s.clients,
                round: s.round,
                event_delay_us: s.event_delay_us.clone(),
            })
            .collect(),
    })
}

/// Merges the parts into `out` (histogram files and `results.json`) and returns the results.
pub fn merge(parts: &[Part], out: &Path) -> anyhow::Result<Results> {
    merge_with(parts, out, None)
}

/// [`merge`], with a single-node `reference` to set beside the cluster's delays.
pub fn merge_with(parts: &[Part], out: &Path, reference: Option<Reference>) -> anyhow::Result<Results> {
    let first = &parts.first().context("no part to merge")?.results;
    let n_steps = first.steps.len();
    for p in parts {
        if p.results.steps.len() != n_steps {
            bail!(
                "{} has {} steps, {} has {n_steps}: the parts did not run the same plan",
                p.dir.display(),
                p.results.steps.len(),
                parts[0].dir.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("while creating {}", out.display()))?;
    let targets: Vec<Option<String>> = parts.iter().map(|p| p.results.config.target.clone()).collect();
    let shared_server = targets[0].is_some() && targets.iter().all(|t| *t == targets[0]);
    let mut merged = first.clone();
    merged.steps.clear();
    for i in 0..n_steps {
        let steps: Vec<(&Part, &Step)> = parts.iter().map(|p| (p, &p.results.steps[i])).collect();
        let (step, histograms, start) = merge_step(&steps, shared_server)?;
        let base = format!("{}-{}", step.transport.label(), step.clients);
        let mut step = step;
        let written = files::write(out, &format!("{base}-{i}"), &histograms, start);
        if let Some(e) = written.failed.first() {
            bail!("{e}");
        }
        step.files = written.files;
        merged.steps.push(step);
    }
    merged.config.clients =
        merged.steps.iter().map(|s| s.clients).collect::<BTreeSet<_>>().into_iter().collect();
    merged.started = parts.iter().map(|p| p.results.started.clone()).min().unwrap_or_default();
    let interrupted: Vec<String> = parts
        .iter()
        .filter_map(|p| p.results.interrupted.as_ref().map(|w| format!("{}: {w}", p.dir.display())))
        .collect();
    merged.interrupted = (!interrupted.is_empty()).then(|| interrupted.join("; "));
    // Every node any part spread its clients over (a part's --target may list several), in
    // the order first named.
    let mut nodes: Vec<String> = Vec::new();
    for (p, t) in parts.iter().zip(&targets) {
        let listed: Vec<String> = match (&p.results.cluster, p.results.steps.first()) {
            (Some(c), _) if !c.nodes.is_empty() => c.nodes.clone(),
            (_, Some(s)) if !s.nodes.is_empty() => s.nodes.iter().map(|n| n.node.clone()).collect(),
            _ => vec![t.clone().unwrap_or_else(|| "embedded".into())],
        };
        for n in listed {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
    }
    merged.cluster = Some(Cluster { parts: parts.len() as u32, nodes, reference });
    let path = out.join("results.json");
    let json = serde_json::to_vec_pretty(&merged).context("while encoding the merged results")?;
    std::fs::write(&path, json).with_context(|| format!("while writing {}", path.display()))?;
    Ok(merged)
}

/// One step of every part, merged, with its histograms and the earliest window start.
fn merge_step(
    steps: &[(&Part, &Step)],
    shared_server: bool,
) -> anyhow::Result<(Step, Histograms, SystemTime)> {
    let (p0, s0) = steps[0];
    for (p, s) in steps {
        if (s.transport, s.variant) != (s0.transport, s0.variant) {
            bail!(
                "{} ran {} {:?} where {} ran {} {:?}: not the same plan",
                p.dir.display(),
                s.transport.label(),
                s.variant,
                p0.dir.display(),
                s0.transport.label(),
                s0.variant
            );
        }
    }
    let mut m = s0.clone();
    let sum = |f: fn(&Step) -> u64| steps.iter().map(|(_, s)| f(s)).sum::<u64>();
    let server = |f: fn(&Step) -> u64| {
        if shared_server {
            steps.iter().map(|(_, s)| f(s)).max().unwrap_or(0)
        } else {
            sum(f)
        }
    };
    m.clients = steps.iter().map(|(_, s)| s.clients).sum();
    m.measured_s = steps.iter().map(|(_, s)| s.measured_s).fold(0.0, f64::max);
    // The same feed for every part: its events are counted once.
    m.events_published = steps.iter().map(|(_, s)| s.events_published).max().unwrap_or(0);
    m.deliveries_expected = sum(|s| s.deliveries_expected);
    m.deliveries = sum(|s| s.deliveries);
    m.coalesced = sum(|s| s.coalesced);
    m.coalesced_without_delay = sum(|s| s.coalesced_without_delay);
    m.late = sum(|s| s.late);
    m.lost = sum(|s| s.lost);
    m.duplicates = sum(|s| s.duplicates);
    m.requests = sum(|s| s.requests);
    m.empty_polls = sum(|s| s.empty_polls);
    m.poll_body_bytes = steps.iter().filter_map(|(_, s)| s.poll_body_bytes).reduce(|a, b| a + b);
    // A host-wide count: parts that have one ran beside the server on the same host, so each
    // saw every segment of the step.
    m.tcp_segments = steps.iter().filter_map(|(_, s)| s.tcp_segments).max();
    m.unanswered_polls = sum(|s| s.unanswered_polls);
    m.connections_opened = sum(|s| s.connections_opened);
    m.setup_bytes = sum(|s| s.setup_bytes);
    m.setup_connections = sum(|s| s.setup_connections);
    m.messages = server(|s| s.messages);
    m.wire_bytes = WireBytes {
        to_server: server(|s| s.wire_bytes.to_server),
        to_client: server(|s| s.wire_bytes.to_client),
    };
    m.wire_bytes_per_delivery = if m.deliveries == 0 {
        0.0
    } else {
        (m.wire_bytes.to_server + m.wire_bytes.to_client) as f64 / m.deliveries as f64
    };
    let server_cpu: Vec<f64> = steps.iter().map(|(_, s)| s.server.cpu_s).collect();
    m.server = ProcessCost {
        cpu_s: if shared_server {
            server_cpu.iter().copied().fold(0.0, f64::max)
        } else {
            server_cpu.iter().sum()
        },
        rss_peak_bytes: server(|s| s.server.rss_peak_bytes),
        rss_start_bytes: server(|s| s.server.rss_start_bytes),
        baseline_cpu_s: if shared_server {
            steps.iter().map(|(_, s)| s.server.baseline_cpu_s).fold(0.0, f64::max)
        } else {
            steps.iter().map(|(_, s)| s.server.baseline_cpu_s).sum()
        },
    };
    m.loadgen = ProcessCost {
        cpu_s: steps.iter().map(|(_, s)| s.loadgen.cpu_s).sum(),
        rss_peak_bytes: sum(|s| s.loadgen.rss_peak_bytes),
        rss_start_bytes: sum(|s| s.loadgen.rss_start_bytes),
        baseline_cpu_s: 0.0,
    };
    if steps.iter().all(|(_, s)| !s.nodes.is_empty()) {
        m.nodes = merge_nodes(steps);
        let total = |f: fn(&NodeStep) -> u64| m.nodes.iter().map(f).sum::<u64>();
        m.messages = total(|n| n.messages);
        m.wire_bytes = WireBytes {
            to_server: total(|n| n.wire_bytes.to_server),
            to_client: total(|n| n.wire_bytes.to_client),
        };
        m.server.cpu_s = m.nodes.iter().map(|n| n.server_cpu_s).sum();
        m.server.rss_peak_bytes = total(|n| n.rss_peak_bytes);
        m.wire_bytes_per_delivery = if m.deliveries == 0 {
            0.0
        } else {
            (m.wire_bytes.to_server + m.wire_bytes.to_client) as f64 / m.deliveries as f64
        };
    } else {
        m.nodes.clear();
    }
    m.errors.clear();
    m.deliveries_per_s.clear();
    for (_, s) in steps {
        for (k, n) in &s.errors {
            *m.errors.entry(k.clone()).or_default() += n;
        }
        add_elementwise(&mut m.deliveries_per_s, &s.deliveries_per_s);
    }

    let mut intervals: Vec<Histogram<u64>> = Vec::new();
    let mut connect = hgrm::new_histogram();
    let mut request = s0.request_latency_us.as_ref().map(|_| hgrm::new_histogram());
    let mut start: Option<SystemTime> = None;
    for (p, s) in steps {
        let name = |f: &Option<String>, what: &str| {
            f.clone().with_context(|| {
                format!("{} has no {what} interval log for {}", p.dir.display(), s.transport.label())
            })
        };
        let (log, t) = read_log(&p.dir.join(name(&s.files.delivery_hlog, "delivery")?))?;
        start = Some(start.map_or(t, |x| x.min(t)));
        for (i, h) in log.into_iter().enumerate() {
            if intervals.len() <= i {
                intervals.push(hgrm::new_histogram());
            }
            intervals[i].add(&h).context("while adding delivery histograms")?;
        }
        for h in read_log(&p.dir.join(name(&s.files.connect_hlog, "connect")?))?.0 {
            connect.add(&h).context("while adding connect histograms")?;
        }
        if let Some(r) = request.as_mut() {
            for h in read_log(&p.dir.join(name(&s.files.request_hlog, "request")?))?.0 {
                r.add(&h).context("while adding request histograms")?;
            }
        }
    }
    let mut delivery = hgrm::new_histogram();
    for h in &intervals {
        delivery.add(h).context("while adding delivery histograms")?;
    }
    let parts_count: u64 = sum(|s| s.event_delay_us.count);
    if delivery.len() != parts_count {
        bail!("the delivery logs hold {} samples, the parts' results.json {parts_count}", delivery.len());
    }
    m.event_delay_us = hgrm::summarize(&delivery);
    m.connect_latency_us = hgrm::summarize(&connect);
    m.request_latency_us = request.as_ref().map(hgrm::summarize);
    let h = Histograms { delivery, connect, request, intervals };
    Ok((m, h, start.unwrap_or(SystemTime::UNIX_EPOCH)))
}

/// The parts' per-node figures, one entry per node (in the order first met): its clients and
/// their deliveries summed over the parts, its own counters taken once (the largest reading,
/// as every part that spread clients over it read it).
fn merge_nodes(steps: &[(&Part, &Step)]) -> Vec<NodeStep> {
    let mut out: Vec<NodeStep> = Vec::new();
    for (_, s) in steps {
        for n in &s.nodes {
            let Some(m) = out.iter_mut().find(|m| m.node == n.node) else {
                out.push(n.clone());
                continue;
            };
            m.clients += n.clients;
            m.deliveries += n.deliveries;
            m.deliveries_expected += n.deliveries_expected;
            m.lost += n.lost;
            m.wire_bytes.to_server = m.wire_bytes.to_server.max(n.wire_bytes.to_server);
            m.wire_bytes.to_client = m.wire_bytes.to_client.max(n.wire_bytes.to_client);
            m.messages = m.messages.max(n.messages);
            m.server_cpu_s = m.server_cpu_s.max(n.server_cpu_s);
            m.rss_peak_bytes = m.rss_peak_bytes.max(n.rss_peak_bytes);
            m.backplane_bytes = m.backplane_bytes.max(n.backplane_bytes);
            m.feed_gaps = m.feed_gaps.max(n.feed_gaps);
            m.events_repaired = m.events_repaired.max(n.events_repaired);
            m.feed_resets = m.feed_resets.max(n.feed_resets);
        }
    }
    out
}

fn add_elementwise(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The histograms of an interval log, in order, and the log's start time.
pub fn read_log(path: &Path) -> anyhow::Result<(Vec<Histogram<u64>>, SystemTime)> {
    let bytes = std::fs::read(path).with_context(|| format!("while reading {}", path.display()))?;
    let mut out = Vec::new();
    let mut start = SystemTime::UNIX_EPOCH;
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.map_err(|e| anyhow::anyhow!("{} is not an interval log: {e:?}", path.display()))? {
            LogEntry::StartTime(t) => {
                start = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(t.as_secs_f64())
            }
            LogEntry::Interval(i) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(i.encoded_histogram())
                    .with_context(|| format!("while decoding a histogram of {}", path.display()))?;
                let h: Histogram<u64> = de.deserialize(&mut std::io::Cursor::new(raw)).map_err(|e| {
                    anyhow::anyhow!("a histogram of {} does not decode: {e:?}", path.display())
                })?;
                out.push(h);
            }
            _ => {}
        }
    }
    Ok((out, start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::results::{Clock, RunConfig};
    use proto::Transport;

    fn results(target: Option<&str>, steps: Vec<Step>) -> Results {
        let config = RunConfig {
            target: target.map(str::to_owned),
            transports: vec![Transport::Ws],
            clients: vec![10],
            duration_s: 3.0,
            warmup_s: 1.0,
            ..RunConfig::default()
        };
        Results {
            clock: Some(Clock { same_host: true, offset_us: 0, uncertainty_us: 0, samples: 0 }),
            ..Results::new(config, steps)
        }
    }

    /// A part whose ws step recorded `delays` (spread over 3 seconds) and `connects`.
    fn part(
        dir: &Path,
        target: Option<&str>,
        delays: &[u64],
        connects: &[u64],
        lost: u64,
        bytes: u64,
    ) -> Part {
        let mut intervals: Vec<Histogram<u64>> = (0..3).map(|_| hgrm::new_histogram()).collect();
        let mut delivery = hgrm::new_histogram();
        for (i, d) in delays.iter().enumerate() {
            intervals[i % 3].record(*d).expect("in range");
            delivery.record(*d).expect("in range");
        }
        let mut connect = hgrm::new_histogram();
        for c in connects {
            connect.record(*c).expect("in range");
        }
        let h = Histograms { delivery, connect, request: None, intervals };
        let written = files::write(dir, "ws-5", &h, SystemTime::now());
        assert!(written.failed.is_empty());
        let mut step = Step::empty(Transport::Ws, 5);
        step.events_published = 30;
        step.deliveries = delays.len() as u64;
        step.lost = lost;
        step.event_delay_us = hgrm::summarize(&h.delivery);
        step.connect_latency_us = hgrm::summarize(&h.connect);
        step.wire_bytes = WireBytes { to_server: 10, to_client: bytes };
        step.errors.insert("reset".into(), 1);
        step.deliveries_per_s = vec![1, 2, 3];
        step.files = written.files;
        Part { dir: dir.to_owned(), results: results(target, vec![step]) }
    }

    #[test]
    fn histograms_add_and_counters_sum() {
        let (a, b, out) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let da: Vec<u64> = (1..=1000).map(|v| v * 7).collect();
        let db: Vec<u64> = (1..=300).map(|v| v * 91 + 5000).collect();
        let parts = [
            part(a.path(), Some("http://127.0.0.1:1"), &da, &[100, 200], 2, 1000),
            part(b.path(), Some("http://127.0.0.1:2"), &db, &[300], 1, 500),
        ];
        let merged = merge(&parts, out.path()).expect("merges");
        let s = &merged.steps[0];
        let mut all = hgrm::new_histogram();
        for v in da.iter().chain(&db) {
            all.record(*v).unwrap();
        }
        assert_eq!(s.event_delay_us.count, 1300, "the count is the sum of the parts");
        assert_eq!(
            s.event_delay_us,
            hgrm::summarize(&all),
            "p99 and the rest as one histogram of all samples"
        );
        let averaged =
            (parts[0].results.steps[0].event_delay_us.p99 + parts[1].results.steps[0].event_delay_us.p99) / 2;
        assert_ne!(s.event_delay_us.p99, averaged, "not an average of percentiles");
        assert_eq!((s.clients, s.deliveries, s.lost, s.events_published), (10, 1300, 3, 30));
        assert_eq!(s.connect_latency_us.count, 3);
        assert_eq!(s.wire_bytes, WireBytes { to_server: 20, to_client: 1500 }, "two servers: summed");
        assert_eq!((s.errors["reset"], &s.deliveries_per_s), (2, &vec![2, 4, 6]));
        assert_eq!(
            merged.cluster,
            Some(Cluster {
                parts: 2,
                nodes: vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
                reference: None,
            })
        );
        let back =
            Results::from_json(&std::fs::read_to_string(out.path().join("results.json")).unwrap()).unwrap();
        assert_eq!(back, merged, "written as returned");
        let (logs, _) = read_log(&out.path().join(s.files.delivery_hlog.as_ref().unwrap())).unwrap();
        assert_eq!(logs.iter().map(Histogram::len).sum::<u64>(), 1300);
    }

    #[test]
    fn nodes_shared_by_two_parts_sum_their_clients_and_count_their_counters_once() {
        let (a, b, out) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let node = |name: &str, clients, bytes, backplane| NodeStep {
            node: name.into(),
            clients,
            deliveries: u64::from(clients) * 30,
            deliveries_expected: u64::from(clients) * 30,
            wire_bytes: WireBytes { to_server: 1, to_client: bytes },
            backplane_bytes: backplane,
            server_cpu_s: 0.5,
            ..NodeStep::default()
        };
        let t = Some("http://127.0.0.1:1,http://127.0.0.1:2");
        let mut pa = part(a.path(), t, &[5, 6], &[1], 0, 0);
        let mut pb = part(b.path(), t, &[7], &[1], 0, 0);
        // Each part read both nodes; part b read node 1 a little later (more bytes).
        pa.results.steps[0].nodes =
            vec![node("http://127.0.0.1:1", 3, 700, 90), node("http://127.0.0.1:2", 2, 500, 90)];
        pb.results.steps[0].nodes =
            vec![node("http://127.0.0.1:1", 2, 710, 95), node("http://127.0.0.1:2", 3, 480, 90)];
        for p in [&mut pa, &mut pb] {
            p.results.cluster = Some(Cluster {
                parts: 1,
                nodes: vec!["http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()],
                reference: None,
            });
        }
        let merged = merge(&[pa, pb], out.path()).expect("merges");
        let s = &merged.steps[0];
        let got: Vec<_> = s
            .nodes
            .iter()
            .map(|n| (n.node.as_str(), n.clients, n.deliveries, n.wire_bytes.to_client, n.backplane_bytes))
            .collect();
        assert_eq!(got, [("http://127.0.0.1:1", 5, 150, 710, 95), ("http://127.0.0.1:2", 5, 150, 500, 90)]);
        assert_eq!(s.wire_bytes, WireBytes { to_server: 2, to_client: 1210 }, "each node once, summed");
        assert_eq!(s.server.cpu_s, 1.0);
        assert_eq!(
            merged.cluster.as_ref().map(|c| (c.parts, c.nodes.len())),
            Some((2, 2)),
            "nodes, not target strings"
        );
    }

    #[test]
    fn one_shared_server_is_counted_once_and_mismatched_plans_are_refused() {
        let (a, b, out) =
            (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let t = Some("http://127.0.0.1:1");
        let parts = [part(a.path(), t, &[5, 6], &[1], 0, 1000), part(b.path(), t, &[7], &[1], 0, 900)];
        let merged = merge(&parts, out.path()).expect("merges");
        assert_eq!(
            merged.steps[0].wire_bytes.to_client, 1000,
            "the same server read twice: its largest reading"
        );
        assert_eq!(merged.cluster.as_ref().map(|c| (c.parts, c.nodes.len())), Some((2, 1)));

        let mut other = part(b.path(), t, &[7], &[1], 0, 900);
        other.results.steps[0].transport = Transport::Sse;
        let e = merge(&[part(a.path(), t, &[5], &[1], 0, 1), other], out.path()).unwrap_err().to_string();
        assert!(e.contains("not the same plan"), "{e}");
        assert!(read_parts(&[a.path().to_owned()]).is_err(), "one folder is not a merge");
    }
}
