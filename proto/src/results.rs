//! `results.json`: everything a run measured, in one serde type that the load generator
//! writes and the report crate reads back (`loadgen report DIR/results.json` needs nothing
//! else).
//!
//! Schema 2 (event delay by one definition, coalesced apart from lost). Latencies are
//! microseconds. Summaries are computed from the merged HdrHistograms (3 significant digits);
//! the histograms themselves are written beside this file as `.hgrm` percentile distributions
//! and interval logs (see [`StepFiles`]). [`Results::from_json`] also reads schema 1 files,
//! and marks them ([`Results::upgraded_from`]) so a report can say what their figures meant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Dimensions, PollMode, Transport, Variant};

pub const SCHEMA: u32 = 2;

/// One run: its configuration, the machine, one entry per (transport, clients) step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema: u32,
    /// UTC start time, RFC 3339.
    pub started: String,
    pub config: RunConfig,
    pub machine: Machine,
    pub versions: Versions,
    pub steps: Vec<Step>,
    /// How the load generator's clock relates to the server's (`None` in files written
    /// before this field existed).
    #[serde(default)]
    pub clock: Option<Clock>,
    /// The server's CPU with no client, measured before the first step (`None` in files
    /// written before it existed, or when it could not be read).
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// The run was cut short (Ctrl-C, or the server died); the steps are what did run.
    #[serde(default)]
    pub interrupted: Option<String>,
    /// The schema the file was written in, when it was older than [`SCHEMA`] and read through
    /// [`Results::from_json`]; never written.
    #[serde(default, skip_serializing)]
    pub upgraded_from: Option<u32>,
    /// Several load processes and/or server nodes took part (`loadgen merge`, or a run with
    /// several targets); absent for one load generator against one server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// Who took part in a cluster run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Cluster {
    /// Load-generator processes whose results were merged (1 for a single run).
    pub parts: u32,
    /// Server nodes the clients were spread over (their `http://HOST:PORT`).
    pub nodes: Vec<String>,
    /// The same steps run against one server without NATS (`loadgen merge --reference DIR`),
    /// beside which the report shows the delay the NATS hop and the spread add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// A single-node run's event delays, step by step, to set beside a cluster's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reference {
    /// Where it came from: the folder given, and the server it ran against.
    pub source: String,
    pub steps: Vec<ReferenceStep>,
}

/// One step of the reference run: which step it matches, and its event delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStep {
    pub transport: Transport,
    #[serde(default)]
    pub variant: Variant,
    pub clients: u32,
    #[serde(default)]
    pub round: u32,
    pub event_delay_us: Latency,
}

impl Reference {
    /// The reference step for `step`: same transport, variant and client count, the same
    /// round when the reference has it, else its first round.
    pub fn matching(&self, step: &Step) -> Option<&ReferenceStep> {
        let same = |r: &&ReferenceStep| {
            r.transport == step.transport && r.variant == step.variant && r.clients == step.clients
        };
        self.steps
            .iter()
            .filter(same)
            .find(|r| r.round == step.round)
            .or_else(|| self.steps.iter().find(same))
    }
}

/// The run's parameters, as given on the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// `None`: an embedded server was started for the run.
    pub target: Option<String>,
    pub transports: Vec<Transport>,
    pub clients: Vec<u32>,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub poll_interval_ms: f64,
    /// How short and delta pollers paced their polls (`--poll-mode`; absent in files written
    /// before it existed, whose pollers waited for each answer and then sent overdue polls
    /// back to back: read as the default, `interval`).
    #[serde(default)]
    pub poll_mode: PollMode,
    /// Events per second the feed publishes (the embedded server's `--rate`).
    pub rate: f64,
    pub payload_bytes: u64,
    pub connect_rate: f64,
    pub seed: u64,
    /// The round trip put between clients and server (`--rtt`), and what made it; `None`:
    /// none (loopback as it is).
    #[serde(default)]
    pub network: Option<NetworkDelay>,
    /// How many times every step ran (`--repeat`; 1 before repeats existed).
    #[serde(default = "one")]
    pub repeat: u32,
    /// The protocol, TLS and compression values swept (absent before they existed: HTTP/1.1,
    /// cleartext, uncompressed).
    #[serde(default)]
    pub dimensions: Dimensions,
    /// Whose certificate the TLS steps trusted; absent when no step ran over TLS (and in files
    /// from before TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_trust: Option<TlsTrust>,
    /// `--pin`: the CPUs the server and the load generator were held to, as the kernel
    /// reported them; absent when they shared every CPU (and in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinning: Option<Pinning>,
}

/// Which CPUs the embedded server and the load generator ran on (`--pin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinning {
    pub server_cpus: Vec<usize>,
    pub loadgen_cpus: Vec<usize>,
}

/// How the load generator checked the server's TLS certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsTrust {
    /// The embedded server's own certificate, read as the server made it: verified.
    Embedded,
    /// `--ca FILE`: verified against that file's certificates.
    Ca,
    /// `--insecure` (loopback only): any certificate accepted, unverified.
    Insecure,
}

impl Default for RunConfig {
    /// The settings of `loadgen run` with no flags: an embedded server, every transport at 10,
    /// 100 and 1,000 clients, 5 s measured after 1 s of warm-up, 10 events/s, polls every
    /// second, HTTP/1.1 in cleartext, uncompressed, three rounds.
    fn default() -> Self {
        RunConfig {
            target: None,
            transports: Transport::ALL.to_vec(),
            clients: vec![10, 100, 1000],
            duration_s: 5.0,
            warmup_s: 1.0,
            poll_interval_ms: 1000.0,
            poll_mode: PollMode::Interval,
            rate: 10.0,
            payload_bytes: 0,
            connect_rate: 2000.0,
            seed: 1,
            network: None,
            repeat: 3,
            dimensions: Dimensions::default(),
            tls_trust: None,
            pinning: None,
        }
    }
}

/// A round trip added between the clients and the server (`--rtt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkDelay {
    pub rtt_ms: f64,
    pub method: DelayMethod,
    /// Why netem was not used, when it was not.
    #[serde(default)]
    pub netem_unavailable: Option<String>,
}

/// What delayed the clients' packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DelayMethod {
    /// The kernel's netem qdisc, on the loopback of a network namespace made for the run.
    Netem,
    /// The load generator's delay line in every client connection (each direction held back
    /// by half the round trip, in user space).
    DelayLine,
}

/// The idle server's CPU: the feed, the ring and the load generator's readings of
/// `/metrics` (the fixed costs every step carries too).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Baseline {
    /// How long the idle server was watched, seconds.
    pub measured_s: f64,
    pub server_cpu_s: f64,
    /// CPU seconds per second with no client.
    pub server_cpu_per_s: f64,
}

/// Where the run ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub os: String,
    pub memory_bytes: u64,
}

/// The clock offset applied to every event delay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// Server and load generator share one clock (a loopback target): no offset applied.
    pub same_host: bool,
    /// Server clock − local clock, µs, added to every receive time.
    pub offset_us: i64,
    /// Half the best round trip: the offset is known to ± this much, µs.
    pub uncertainty_us: u64,
    /// Round trips measured.
    pub samples: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub pushpull: String,
    pub rustc: String,
}

/// A latency distribution, summarised from an HdrHistogram (µs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Latency {
    pub count: u64,
    pub mean: f64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    /// `[percentile, value]` pairs along the HdrHistogram percentile spectrum (the points of
    /// the `.hgrm` file), for the percentile chart.
    #[serde(default)]
    pub spectrum: Vec<(f64, u64)>,
}

/// Bytes of IPv4 and TCP headers per segment as loopback carries them (20 B IPv4 + 20 B TCP +
/// 12 B of the timestamp option Linux sets on every segment); Ethernet framing, on a real
/// network, would add 38 B more.
pub const TCP_IP_HEADER_BYTES: u64 = 52;

/// Bytes on the wire in each direction, counted at the server's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct WireBytes {
    pub to_server: u64,
    pub to_client: u64,
}

/// CPU and memory of one process over one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessCost {
    /// CPU seconds the process was charged in the window, everything included.
    pub cpu_s: f64,
    /// Of `cpu_s`, what the idle process would have spent in the same window ([`Baseline`]
    /// rate × window); 0 where no baseline was measured.
    #[serde(default)]
    pub baseline_cpu_s: f64,
    pub rss_peak_bytes: u64,
    /// Resident memory when the step's clients were about to connect.
    pub rss_start_bytes: u64,
}

impl ProcessCost {
    /// CPU seconds above the idle baseline: what the clients cost.
    pub fn net_cpu_s(&self) -> f64 {
        (self.cpu_s - self.baseline_cpu_s).max(0.0)
    }
}

/// The histogram files of a step, relative to the run's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StepFiles {
    pub delivery_hgrm: Option<String>,
    pub request_hgrm: Option<String>,
    pub connect_hgrm: Option<String>,
    /// HdrHistogram interval log of event delay (one histogram per second).
    pub delivery_hlog: Option<String>,
    /// HdrHistogram interval logs (one interval: the step) of connect and request latency,
    /// so that `loadgen merge` can add them; absent in files written before they existed.
    #[serde(default)]
    pub connect_hlog: Option<String>,
    #[serde(default)]
    pub request_hlog: Option<String>,
}

/// One (transport, clients) step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `short-poll`, `delta-poll`, `long-poll`, `sse` or `ws`.
    pub transport: Transport,
    pub clients: u32,
    /// How the clients talked to the server: protocol, TLS, compression (absent before
    /// these existed: HTTP/1.1, cleartext, uncompressed).
    #[serde(default)]
    pub variant: Variant,
    /// Which repetition of its (transport, variant, clients) this step is, from 0
    /// (`--repeat`; 0 in files written before repeats existed).
    #[serde(default)]
    pub round: u32,
    /// Length of the measured window (after warm-up), seconds.
    pub measured_s: f64,
    /// Events the feed published during the measured window.
    pub events_published: u64,
    /// `events_published × clients`: what a perfect transport would deliver.
    pub deliveries_expected: u64,
    /// Events clients received themselves, summed over clients (a snapshot counts as
    /// delivering its newest event).
    pub deliveries: u64,
    /// Events a client never received itself but held the effect of, in a later snapshot
    /// (snapshot polling by design; a push client resynced after falling behind).
    pub coalesced: u64,
    /// Coalesced events whose publication time could not be read (events of a server that
    /// restarted), so they have no delay sample; part of `coalesced`.
    #[serde(default)]
    pub coalesced_without_delay: u64,
    /// Events a client had not reached by the end of the drain's bound: neither held nor
    /// skipped, because the client had held nothing as new as them yet (behind, or cut off).
    /// Apart from `lost`; `deliveries + coalesced + late + lost = deliveries_expected`.
    #[serde(default)]
    pub late: u64,
    /// Events a client never held, not even their effect, though it held a later one (a gap):
    /// a defect for every transport.
    pub lost: u64,
    pub duplicates: u64,
    /// HTTP requests the clients sent (push transports: connections opened).
    pub requests: u64,
    /// Polls answered with nothing new (304, or an empty event list).
    pub empty_polls: u64,
    /// Polling transports: bytes of the window's answers' bodies as they came off the wire
    /// (before content decoding), so that wire bytes split into bodies and everything else
    /// (request, answer heads, framing); `None` for push transports and in older files.
    #[serde(default)]
    pub poll_body_bytes: Option<u64>,
    /// Scheduled polls of the window never answered: still in flight when the client stopped
    /// (the drain's end or bound; or waiting for a free connection, never sent) or timed out.
    /// Part of `requests`; each is in
    /// `request_latency_us` with the time it had waited by then (a lower bound). Absent in
    /// older files, whose clients dropped such polls.
    #[serde(default)]
    pub unanswered_polls: u64,
    /// Frames the server sent with data (WebSocket/SSE), from its counters.
    pub messages: u64,
    pub connections_opened: u64,
    /// Event delay: when a client first held a state that included the event, minus the
    /// event's publication time; one sample per delivered or coalesced event.
    pub event_delay_us: Latency,
    /// Polling transports only: from each poll's *scheduled* send time to its answer.
    pub request_latency_us: Option<Latency>,
    /// TCP connect plus HTTP/WebSocket handshake (first response byte for polls).
    pub connect_latency_us: Latency,
    pub wire_bytes: WireBytes,
    /// `(to_server + to_client) / deliveries`.
    pub wire_bytes_per_delivery: f64,
    /// Setup bytes: the TCP payload, both ways, that the step's new connections had carried by
    /// their first answer (polls) or first message (push): the TLS handshake, the upgrade or
    /// the request and answer heads, and the snapshot the client starts from. Counted by the
    /// load generator at its side of each socket (below TLS), summed. Connections open in
    /// ramp-up, outside the window, so these bytes are mostly not in `wire_bytes`. A long
    /// poller resuming into a held poll is not counted (its connect is not timed either). 0 in
    /// files written before it existed.
    #[serde(default)]
    pub setup_bytes: u64,
    /// How many connections `setup_bytes` covers: per connection, `setup_bytes /
    /// setup_connections`.
    #[serde(default)]
    pub setup_connections: u64,
    pub server: ProcessCost,
    pub loadgen: ProcessCost,
    /// TCP segments this host sent in the window, every process together (both directions
    /// of loopback, ACKs and retransmissions included; the kernel's `/proc/net/snmp`), from
    /// which the report estimates the TCP/IP header bytes the payload counts leave out.
    /// `None` when the server is not on this host, or in files written before it existed.
    #[serde(default)]
    pub tcp_segments: Option<u64>,
    /// Errors by kind (`connect`, `reset`, `timeout`, `http_4xx`, `http_5xx`, `protocol`,
    /// `server_gone`, and for the step itself `metrics_protocol`, `file_write`,
    /// `event_times` …); empty when none.
    pub errors: BTreeMap<String, u64>,
    /// Deliveries in each second of the measured window.
    pub deliveries_per_s: Vec<u64>,
    pub files: StepFiles,
    /// Each server node's share of the step, in `--target` order (one entry for a single
    /// server; absent in files written before nodes were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStep>,
}

/// One server node's share of a step: its clients and what they received (client side, summed
/// over load processes by `loadgen merge`), and its own counters over the window (server
/// side, read from its `/metrics`; the same node read by several load processes is counted
/// once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NodeStep {
    /// The node, `http(s)://HOST:PORT` as `--target` named it.
    pub node: String,
    /// Clients that connected to this node (client `i` of the step goes to node `i mod N`).
    pub clients: u32,
    /// Events those clients received themselves inside the window.
    pub deliveries: u64,
    /// `events_published × clients` of this node.
    pub deliveries_expected: u64,
    /// Events those clients never held, not even their effect (a gap).
    pub lost: u64,
    /// The node's sockets over the window.
    pub wire_bytes: WireBytes,
    /// Frames the node sent with data (WebSocket/SSE).
    pub messages: u64,
    pub server_cpu_s: f64,
    pub rss_peak_bytes: u64,
    /// Payload bytes of events and repairs the node received from NATS in the window (0 for
    /// a server that is not a cluster node).
    pub backplane_bytes: u64,
    /// Gaps in seq the node saw from NATS, events it fetched to repair them, and times it
    /// restarted its feed from the publisher's snapshot, in the window.
    pub feed_gaps: u64,
    pub events_repaired: u64,
    pub feed_resets: u64,
}

impl Step {
    /// A step of `transport` at `clients` (default variant) that has measured nothing: every count zero, no
    /// error, no file.
    pub fn empty(transport: Transport, clients: u32) -> Step {
        Step {
            transport,
            clients,
            variant: Variant::default(),
            round: 0,
            measured_s: 0.0,
            events_published: 0,
            deliveries_expected: 0,
            deliveries: 0,
            coalesced: 0,
            coalesced_without_delay: 0,
            late: 0,
            lost: 0,
            duplicates: 0,
            requests: 0,
            empty_polls: 0,
            poll_body_bytes: None,
            unanswered_polls: 0,
            messages: 0,
            connections_opened: 0,
            event_delay_us: Latency::default(),
            request_latency_us: None,
            connect_latency_us: Latency::default(),
            wire_bytes: WireBytes::default(),
            wire_bytes_per_delivery: 0.0,
            setup_bytes: 0,
            setup_connections: 0,
            server: ProcessCost::default(),
            loadgen: ProcessCost::default(),
            tcp_segments: None,
            errors: BTreeMap::new(),
            deliveries_per_s: Vec::new(),
            files: StepFiles::default(),
            nodes: Vec::new(),
        }
    }

    pub fn errors_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Share of expected deliveries that were lost, 0–1.
    pub fn lost_ratio(&self) -> f64 {
        share(self.lost, self.deliveries_expected)
    }

    /// Share of expected deliveries that were late (not reached by the drain's bound), 0–1.
    pub fn late_ratio(&self) -> f64 {
        share(self.late, self.deliveries_expected)
    }

    /// Share of expected deliveries that were coalesced, 0–1.
    pub fn coalesced_ratio(&self) -> f64 {
        share(self.coalesced, self.deliveries_expected)
    }
}

fn one() -> u32 {
    1
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Results {
    /// Results of `steps` under `config`, started now in this schema, on a machine and with
    /// versions left unnamed, with no clock, baseline or cluster: the starting point of tests
    /// and of tools that put results together by hand.
    pub fn new(config: RunConfig, steps: Vec<Step>) -> Results {
        Results {
            schema: SCHEMA,
            started: String::new(),
            config,
            machine: Machine {
                cpus: 0,
                cpu_model: String::new(),
                kernel: String::new(),
                os: String::new(),
                memory_bytes: 0,
            },
            versions: Versions { pushpull: String::new(), rustc: String::new() },
            steps,
            clock: None,
            baseline: None,
            interrupted: None,
            upgraded_from: None,
            cluster: None,
        }
    }

    pub fn errors_total(&self) -> u64 {
        self.steps.iter().map(Step::errors_total).sum()
    }

    /// Reads a `results.json` of this schema or of schema 1.
    ///
    /// Schema 1 had one `missed` count and a `delivery_latency_us` that, for snapshot
    /// polling, was the age of the newest event in each changed snapshot: its `missed` becomes
    /// `coalesced` for snapshot polling (a snapshot carries every earlier event's effect) and
    /// `lost` otherwise, and [`Results::upgraded_from`] says where the file came from.
    pub fn from_json(text: &str) -> Result<Results, serde_json::Error> {
        let mut v: serde_json::Value = serde_json::from_str(text)?;
        let schema = v.get("schema").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if schema == 1 {
            upgrade_v1(&mut v);
        }
        let mut r: Results = serde_json::from_value(v)?;
        if schema < u64::from(SCHEMA) {
            r.upgraded_from = Some(schema as u32);
            r.schema = SCHEMA;
        }
        Ok(r)
    }
}

/// Schema 1's step fields, renamed and split as [`Results::from_json`] says.
fn upgrade_v1(v: &mut serde_json::Value) {
    let Some(steps) = v.get_mut("steps").and_then(serde_json::Value::as_array_mut) else { return };
    for step in steps.iter_mut().filter_map(serde_json::Value::as_object_mut) {
        if let Some(latency) = step.remove("delivery_latency_us") {
            step.insert("event_delay_us".into(), latency);
        }
        let missed = step.remove("missed").unwrap_or(serde_json::Value::from(0));
        let snapshot =
            step.get("transport").and_then(serde_json::Value::as_str) == Some(Transport::ShortPoll.name());
        let (coalesced, lost) = if snapshot { (missed, 0.into()) } else { (0.into(), missed) };
        step.insert("coalesced".into(), coalesced);
        step.insert("lost".into(), lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(transport: Transport, coalesced: u64, lost: u64) -> Step {
        Step {
            measured_s: 10.0,
            events_published: 100,
            deliveries_expected: 1000,
            deliveries: 1000 - coalesced - lost,
            coalesced,
            lost,
            requests: 100,
            connections_opened: 10,
            event_delay_us: Latency { count: 5, p50: 7, ..Latency::default() },
            ..Step::empty(transport, 10)
        }
    }

    fn results(steps: Vec<Step>) -> Results {
        let config = RunConfig {
            transports: vec![Transport::ShortPoll, Transport::Ws],
            clients: vec![10],
            ..RunConfig::default()
        };
        Results::new(config, steps)
    }

    #[test]
    fn this_schema_round_trips() {
        let r = results(vec![step(Transport::ShortPoll, 900, 0), step(Transport::Ws, 0, 3)]);
        let text = serde_json::to_string(&r).expect("serialises");
        assert!(!text.contains("upgraded_from"));
        assert_eq!(Results::from_json(&text).expect("reads back"), r);
    }

    #[test]
    fn a_file_written_before_poll_modes_reads_as_interval_with_no_unanswered_poll() {
        let mut with = results(vec![step(Transport::ShortPoll, 900, 0)]);
        with.config.poll_mode = PollMode::Timeout;
        with.steps[0].unanswered_polls = 2;
        let mut v = serde_json::to_value(&with).expect("value");
        assert_eq!(
            (&v["config"]["poll_mode"], &v["steps"][0]["unanswered_polls"]),
            (&"timeout".into(), &2.into())
        );
        v["config"].as_object_mut().expect("object").remove("poll_mode");
        v["steps"][0].as_object_mut().expect("object").remove("unanswered_polls");
        let read = Results::from_json(&v.to_string()).expect("reads");
        assert_eq!((read.config.poll_mode, read.steps[0].unanswered_polls), (PollMode::Interval, 0));
    }

    #[test]
    fn a_schema_2_file_written_before_late_existed_reads_as_none_late() {
        let mut with = results(vec![step(Transport::Ws, 0, 3)]);
        with.steps[0].late = 4;
        let mut v = serde_json::to_value(&with).expect("value");
        v["steps"][0].as_object_mut().expect("object").remove("late");
        let read = Results::from_json(&v.to_string()).expect("reads");
        assert_eq!((read.steps[0].late, read.upgraded_from), (0, None));
    }

    #[test]
    fn schema_1_missed_becomes_coalesced_for_snapshot_polling_and_lost_otherwise() {
        let now = results(vec![step(Transport::ShortPoll, 900, 0), step(Transport::Ws, 0, 3)]);
        // The same run as schema 1 wrote it.
        let mut v = serde_json::to_value(&now).expect("value");
        v["schema"] = 1.into();
        for (s, missed) in v["steps"].as_array_mut().expect("steps").iter_mut().zip([900, 3]) {
            let o = s.as_object_mut().expect("object");
            let latency = o.remove("event_delay_us").expect("latency");
            o.insert("delivery_latency_us".into(), latency);
            for k in ["coalesced", "lost", "coalesced_without_delay", "late"] {
                o.remove(k);
            }
            o.insert("missed".into(), missed.into());
        }
        let old = Results::from_json(&v.to_string()).expect("schema 1 reads");
        assert_eq!(old.upgraded_from, Some(1));
        assert_eq!(Results { upgraded_from: None, ..old }, now);
    }
}
