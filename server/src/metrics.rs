//! Counters per transport, counted at the socket, and their Prometheus text rendering.
//!
//! Plain atomics in a fixed array indexed by [`Transport`], not a metrics registry: the byte
//! counters move on every socket read and write, and a registry's label lookup there would
//! cost more than the syscall. The same module parses the text back ([`parse`]) so that the
//! load generator reads exactly what the server wrote.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::process;

/// The ways a client talks to the server, as `/metrics` labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    ShortPoll,
    DeltaPoll,
    LongPoll,
    Sse,
    Ws,
    WsEcho,
    Other,
}

impl Transport {
    pub const ALL: [Transport; 7] = [
        Transport::ShortPoll,
        Transport::DeltaPoll,
        Transport::LongPoll,
        Transport::Sse,
        Transport::Ws,
        Transport::WsEcho,
        Transport::Other,
    ];

    /// The label value in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Transport::ShortPoll => "short_poll",
            Transport::DeltaPoll => "delta_poll",
            Transport::LongPoll => "long_poll",
            Transport::Sse => "sse",
            Transport::Ws => "ws",
            Transport::WsEcho => "ws_echo",
            Transport::Other => "other",
        }
    }

    pub fn from_label(label: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.label() == label)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The transport at `i` in [`Transport::ALL`] (`Other` beyond it).
    pub(crate) fn from_index(i: usize) -> Transport {
        Transport::ALL.get(i).copied().unwrap_or(Transport::Other)
    }
}

/// One transport's counters.
#[derive(Debug, Default)]
pub struct TransportCounters {
    pub connections_opened: AtomicU64,
    pub connections_open: AtomicU64,
    pub requests: AtomicU64,
    pub messages_sent: AtomicU64,
    pub events_delivered: AtomicU64,
    /// TCP payload bytes from clients (request lines, headers, bodies, WebSocket frames).
    pub bytes_received: AtomicU64,
    /// TCP payload bytes to clients (status lines, headers, bodies, WebSocket frames).
    pub bytes_sent: AtomicU64,
}

/// Picks one counter out of a transport's set.
type Field = fn(&TransportCounters) -> &AtomicU64;

/// Every counter the server keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    transports: [TransportCounters; 7],
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
    pub header_timeouts: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub slow_consumer_resyncs: AtomicU64,
    pub slow_consumers_dropped: AtomicU64,
    pub ws_pings_missed: AtomicU64,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn transport(&self, t: Transport) -> &TransportCounters {
        &self.transports[t.index()]
    }

    /// Renders everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, feed_seq: u64, feed_epoch: u64) -> String {
        let mut out = String::with_capacity(4096);
        let per_transport: [(&str, &str, &str, Field); 7] = [
            (
                "pushpull_connections_opened_total",
                "counter",
                "Connections whose first request was of this transport.",
                |c| &c.connections_opened,
            ),
            (
                "pushpull_connections_open",
                "gauge",
                "Connections open now, by the transport of their first request.",
                |c| &c.connections_open,
            ),
            (
                "pushpull_requests_total",
                "counter",
                "HTTP requests (a WebSocket upgrade counts as one).",
                |c| &c.requests,
            ),
            (
                "pushpull_messages_sent_total",
                "counter",
                "WebSocket frames and SSE frames sent with data.",
                |c| &c.messages_sent,
            ),
            (
                "pushpull_events_delivered_total",
                "counter",
                "Events handed to clients (a 200 snapshot counts as one).",
                |c| &c.events_delivered,
            ),
            (
                "pushpull_bytes_received_total",
                "counter",
                "TCP payload bytes read from clients, headers and framing included.",
                |c| &c.bytes_received,
            ),
            (
                "pushpull_bytes_sent_total",
                "counter",
                "TCP payload bytes written to clients, headers and framing included.",
                |c| &c.bytes_sent,
            ),
        ];
        for (name, kind, help, field) in per_transport {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for t in Transport::ALL {
                let v = field(self.transport(t)).load(Relaxed);
                let _ = writeln!(out, "{name}{{transport=\"{}\"}} {v}", t.label());
            }
        }
        let singles: [(&str, &str, &str, u64); 9] = [
            (
                "pushpull_connections_accepted_total",
                "counter",
                "TCP connections accepted.",
                self.connections_accepted.load(Relaxed),
            ),
            (
                "pushpull_connections_refused_total",
                "counter",
                "Connections answered 503 at the connection limit.",
                self.connections_refused.load(Relaxed),
            ),
            (
                "pushpull_header_timeouts_total",
                "counter",
                "Connections closed for not sending a request head in time.",
                self.header_timeouts.load(Relaxed),
            ),
            (
                "pushpull_idle_timeouts_total",
                "counter",
                "Kept-alive connections closed for idling.",
                self.idle_timeouts.load(Relaxed),
            ),
            (
                "pushpull_slow_consumer_resyncs_total",
                "counter",
                "Push clients that fell behind and were sent a fresh snapshot.",
                self.slow_consumer_resyncs.load(Relaxed),
            ),
            (
                "pushpull_slow_consumers_dropped_total",
                "counter",
                "Clients disconnected because they stopped reading.",
                self.slow_consumers_dropped.load(Relaxed),
            ),
            (
                "pushpull_ws_pings_missed_total",
                "counter",
                "WebSocket clients closed after an unanswered ping.",
                self.ws_pings_missed.load(Relaxed),
            ),
            ("pushpull_feed_seq", "gauge", "Latest published event seq.", feed_seq),
            ("pushpull_feed_epoch", "gauge", "The feed's epoch (fixed at server start).", feed_epoch),
        ];
        for (name, kind, help, v) in singles {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        }
        let cpu = process::cpu_seconds();
        let rss = process::resident_bytes();
        let _ = writeln!(
            out,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}"
        );
        out
    }
}

/// A parsed `/metrics` page: `name` or `name{labels}` (as written) → value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample(pub HashMap<String, f64>);

impl Sample {
    /// A metric without labels.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// A per-transport metric.
    pub fn transport(&self, name: &str, t: Transport) -> Option<f64> {
        self.0.get(&format!("{name}{{transport=\"{}\"}}", t.label())).copied()
    }
}

/// Parses the Prometheus text format as [`Metrics::render`] writes it (comments skipped,
/// one sample a line, no timestamps).
pub fn parse(text: &str) -> Sample {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.rsplit_once(' ') {
            if let Ok(v) = value.parse::<f64>() {
                map.insert(key.to_string(), v);
            }
        }
    }
    Sample(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_parses_back() {
        let m = Metrics::new();
        m.transport(Transport::Ws).bytes_sent.fetch_add(1234, Relaxed);
        m.transport(Transport::ShortPoll).requests.fetch_add(5, Relaxed);
        m.connections_refused.fetch_add(2, Relaxed);
        let s = parse(&m.render(77, 9));
        assert_eq!(s.transport("pushpull_bytes_sent_total", Transport::Ws), Some(1234.0));
        assert_eq!(s.transport("pushpull_requests_total", Transport::ShortPoll), Some(5.0));
        assert_eq!(s.transport("pushpull_requests_total", Transport::Sse), Some(0.0));
        assert_eq!(s.get("pushpull_connections_refused_total"), Some(2.0));
        assert_eq!(s.get("pushpull_feed_seq"), Some(77.0));
        assert!(s.get("process_cpu_seconds_total").is_some_and(|v| v > 0.0));
        assert!(s.get("process_resident_memory_bytes").is_some_and(|v| v > 0.0));
    }

    #[test]
    fn labels_round_trip() {
        for t in Transport::ALL {
            assert_eq!(Transport::from_label(t.label()), Some(t));
        }
        assert_eq!(Transport::from_label("carrier_pigeon"), None);
    }
}
