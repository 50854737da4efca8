//! `results.json`: everything a run measured, in one serde type that the load generator
//! writes and the report crate reads back (`loadgen report DIR/results.json` needs nothing
//! else).
//!
//! Schema 1. Latencies are microseconds. Summaries are computed from the merged
//! HdrHistograms (3 significant digits); the histograms themselves are written beside this
//! file as `.hgrm` percentile distributions and interval logs (see [`StepFiles`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Transport;

pub const SCHEMA: u32 = 1;

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
    /// The run was cut short (Ctrl-C, or the server died); the steps are what did run.
    #[serde(default)]
    pub interrupted: Option<String>,
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
    /// Events per second the feed publishes (the embedded server's `--rate`).
    pub rate: f64,
    pub payload_bytes: u64,
    pub connect_rate: f64,
    pub seed: u64,
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

/// The clock offset applied to every delivery latency.
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

/// Bytes on the wire in each direction, counted at the server's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct WireBytes {
    pub to_server: u64,
    pub to_client: u64,
}

/// CPU and memory of one process over one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessCost {
    pub cpu_s: f64,
    pub rss_peak_bytes: u64,
    /// Resident memory when the step's clients were about to connect.
    pub rss_start_bytes: u64,
}

/// The histogram files of a step, relative to the run's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StepFiles {
    pub delivery_hgrm: Option<String>,
    pub request_hgrm: Option<String>,
    pub connect_hgrm: Option<String>,
    /// HdrHistogram interval log of delivery latency (one histogram per second).
    pub delivery_hlog: Option<String>,
}

/// One (transport, clients) step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `short-poll`, `delta-poll`, `long-poll`, `sse` or `ws`.
    pub transport: Transport,
    pub clients: u32,
    /// Length of the measured window (after warm-up), seconds.
    pub measured_s: f64,
    /// Events the feed published during the measured window.
    pub events_published: u64,
    /// `events_published × clients`: what a perfect transport would deliver.
    pub deliveries_expected: u64,
    /// Events clients received (for short polling: changed snapshots, each carrying only
    /// the latest event).
    pub deliveries: u64,
    /// Events some client never saw (seq gaps), summed over clients.
    pub missed: u64,
    pub duplicates: u64,
    /// HTTP requests the clients sent (push transports: connections opened).
    pub requests: u64,
    /// Polls answered with nothing new (304, or an empty event list).
    pub empty_polls: u64,
    /// Frames the server sent with data (WebSocket/SSE), from its counters.
    pub messages: u64,
    pub connections_opened: u64,
    pub delivery_latency_us: Latency,
    /// Polling transports only: from each poll's *scheduled* send time to its answer.
    pub request_latency_us: Option<Latency>,
    /// TCP connect plus HTTP/WebSocket handshake (first response byte for polls).
    pub connect_latency_us: Latency,
    pub wire_bytes: WireBytes,
    /// `(to_server + to_client) / deliveries`.
    pub wire_bytes_per_delivery: f64,
    pub server: ProcessCost,
    pub loadgen: ProcessCost,
    /// Errors by kind (`connect`, `reset`, `timeout`, `http_4xx`, `http_5xx`, `protocol`,
    /// `server_gone` …); empty when none.
    pub errors: BTreeMap<String, u64>,
    /// Deliveries in each second of the measured window.
    pub deliveries_per_s: Vec<u64>,
    pub files: StepFiles,
}

impl Step {
    pub fn errors_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Share of expected deliveries that never arrived, 0–1.
    pub fn missed_ratio(&self) -> f64 {
        if self.deliveries_expected == 0 {
            0.0
        } else {
            self.missed as f64 / self.deliveries_expected as f64
        }
    }
}

impl Results {
    pub fn errors_total(&self) -> u64 {
        self.steps.iter().map(Step::errors_total).sum()
    }
}
