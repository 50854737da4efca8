//! `capacity.json`: what `loadgen capacity` found, per transport the largest client count
//! that met the service level and every probe behind it, and the [`ServiceLevel`] itself.
//!
//! The service level is data here and judged in one place (`reports::derived::judge`), used
//! both by the capacity search and by the normal report's "kept up?", so the two never differ.

use serde::{Deserialize, Serialize};

use crate::results::{Machine, RunConfig, Step, Versions};
use crate::{Transport, Variant};

/// Version of the `capacity.json` format.
pub const CAPACITY_SCHEMA: u32 = 1;

/// A bound on a p99, with how a reason names it ("the 1 s poll interval").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    pub ms: f64,
    pub name: String,
}

/// What a step must achieve to count as keeping up. Every transport besides: no errors, no
/// lost or late events, nothing coalesced except for snapshot (short) polling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceLevel {
    /// p99 event delay of push transports and long polling.
    pub event_delay_p99: Bound,
    /// p99 request latency of scheduled (short and delta) polls, from the scheduled time.
    pub request_latency_p99: Bound,
    /// Least share of the scheduled polls that must have been sent in the window: a late
    /// poll is sent at once, never skipped, so fewer sent means clients were still waiting.
    pub polls_sent_min: f64,
    /// The interval the polls were scheduled at, ms (0: back to back, no schedule to judge).
    pub poll_interval_ms: f64,
    /// Highest server CPU share of the whole machine (0.8: 80 % of all cores), if judged.
    #[serde(default)]
    pub server_cpu_max: Option<f64>,
}

/// Why the search for one transport stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stop {
    /// Every probe up to the upper bound on clients met the service level.
    UpperBound { clients: u32 },
    /// The probe at `clients` missed the service level, and the gap to the largest count that
    /// met it is within the resolution.
    Missed { clients: u32, reason: String },
    /// A limit of the machine (open files, ports, memory) stopped the probe at `clients`.
    MachineLimit { clients: u32, reason: String },
    /// The run was interrupted (Ctrl-C, or the server was lost).
    Interrupted { reason: String },
}

/// One probe: a real step at one client count, and how it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    pub clients: u32,
    pub met: bool,
    /// Why it missed (empty when met).
    pub reasons: Vec<String>,
    /// The step as measured; `None` when a machine limit kept it from running.
    pub step: Option<Step>,
}

/// One transport's search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransportCapacity {
    pub transport: Transport,
    pub variant: Variant,
    /// The largest client count that met the service level; `None` when even the first probe
    /// missed it.
    pub held: Option<u32>,
    pub stop: Stop,
    /// In the order they ran.
    pub probes: Vec<Probe>,
}

/// How the search was asked to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchConfig {
    pub start: u32,
    pub factor: f64,
    pub max_clients: u32,
    /// Bisection stops when (first bad − last good) ≤ resolution × last good.
    pub resolution: f64,
}

/// `capacity.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capacity {
    pub schema: u32,
    pub started: String,
    /// Each probe's step settings (its `clients` lists the upper bound only).
    pub run: RunConfig,
    pub search: SearchConfig,
    pub service_level: ServiceLevel,
    pub machine: Machine,
    pub versions: Versions,
    pub transports: Vec<TransportCapacity>,
    /// Why the whole run ended early, if it did.
    #[serde(default)]
    pub interrupted: Option<String>,
}

impl Capacity {
    pub fn from_json(text: &str) -> Result<Capacity, serde_json::Error> {
        serde_json::from_str(text)
    }
}
