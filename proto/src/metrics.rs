//! Every name at `/metrics`, defined once, and the parsed page read through them.
//!
//! The server renders these names and the load generator reads them back; both go through
//! the enums here, so renaming a metric is a compile error wherever it is read, and a metric
//! missing from a page is an error ([`MetricError::Missing`]), never a silent zero.
//! The text itself is parsed by the `prometheus-parse` crate.

use std::collections::HashMap;

use thiserror::Error;

use crate::transport::Channel;

/// The label that names a channel on per-channel metrics.
pub const CHANNEL_LABEL: &str = "transport";

/// Counter or gauge, as `# TYPE` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// What every metric says of itself: its name on the page, its type and its help text.
/// Implemented by [`PerChannel`] and [`Single`] from one table each.
pub trait Described: Copy {
    /// (name, type, help).
    fn describe(self) -> (&'static str, Kind, &'static str);

    /// The sample's name as it appears on the page.
    fn name(self) -> &'static str {
        self.describe().0
    }

    fn kind(self) -> Kind {
        self.describe().1
    }

    fn help(self) -> &'static str {
        self.describe().2
    }
}

/// Metrics kept per [`Channel`] (labelled `transport="…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PerChannel {
    ConnectionsOpened,
    ConnectionsOpen,
    Requests,
    MessagesSent,
    EventsDelivered,
    BytesReceived,
    BytesSent,
}

impl PerChannel {
    pub const ALL: [PerChannel; 7] = [
        PerChannel::ConnectionsOpened,
        PerChannel::ConnectionsOpen,
        PerChannel::Requests,
        PerChannel::MessagesSent,
        PerChannel::EventsDelivered,
        PerChannel::BytesReceived,
        PerChannel::BytesSent,
    ];
}

impl Described for PerChannel {
    fn describe(self) -> (&'static str, Kind, &'static str) {
        match self {
            PerChannel::ConnectionsOpened => (
                "pushpull_connections_opened_total",
                Kind::Counter,
                "Connections whose first request was of this transport.",
            ),
            PerChannel::ConnectionsOpen => (
                "pushpull_connections_open",
                Kind::Gauge,
                "Connections open now, by the transport of their first request.",
            ),
            PerChannel::Requests => (
                "pushpull_requests_total",
                Kind::Counter,
                "HTTP requests (a WebSocket upgrade counts as one).",
            ),
            PerChannel::MessagesSent => (
                "pushpull_messages_sent_total",
                Kind::Counter,
                "WebSocket frames and SSE frames sent with data.",
            ),
            PerChannel::EventsDelivered => (
                "pushpull_events_delivered_total",
                Kind::Counter,
                "Events handed to clients (a 200 snapshot counts as one).",
            ),
            PerChannel::BytesReceived => (
                "pushpull_bytes_received_total",
                Kind::Counter,
                "TCP payload bytes read from clients, headers and framing included.",
            ),
            PerChannel::BytesSent => (
                "pushpull_bytes_sent_total",
                Kind::Counter,
                "TCP payload bytes written to clients, headers and framing included.",
            ),
        }
    }
}

/// Metrics without labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Single {
    ConnectionsAccepted,
    ConnectionsRefused,
    AcceptErrors,
    HeaderTimeouts,
    IdleTimeouts,
    SlowConsumerResyncs,
    SlowConsumersDropped,
    WsPingsMissed,
    SharedEncodings,
    StreamCompressors,
    StreamCompressorsRefused,
    WsSessionsH1,
    WsSessionsH2,
    FeedSeq,
    FeedEpoch,
    // Cluster node (`server --feed nats://…`) figures; zero on a single server.
    FeedGaps,
    FeedEventsRepaired,
    FeedResets,
    FeedDuplicates,
    BackplaneReconnects,
    BackplaneBytesReceived,
    ProcessCpuSeconds,
    ProcessResidentMemory,
}

impl Single {
    pub const ALL: [Single; 23] = [
        Single::ConnectionsAccepted,
        Single::ConnectionsRefused,
        Single::AcceptErrors,
        Single::HeaderTimeouts,
        Single::IdleTimeouts,
        Single::SlowConsumerResyncs,
        Single::SlowConsumersDropped,
        Single::WsPingsMissed,
        Single::SharedEncodings,
        Single::StreamCompressors,
        Single::StreamCompressorsRefused,
        Single::WsSessionsH1,
        Single::WsSessionsH2,
        Single::FeedSeq,
        Single::FeedEpoch,
        Single::FeedGaps,
        Single::FeedEventsRepaired,
        Single::FeedResets,
        Single::FeedDuplicates,
        Single::BackplaneReconnects,
        Single::BackplaneBytesReceived,
        Single::ProcessCpuSeconds,
        Single::ProcessResidentMemory,
    ];
}

impl Described for Single {
    fn describe(self) -> (&'static str, Kind, &'static str) {
        match self {
            Single::ConnectionsAccepted => {
                ("pushpull_connections_accepted_total", Kind::Counter, "TCP connections accepted.")
            }
            Single::ConnectionsRefused => (
                "pushpull_connections_refused_total",
                Kind::Counter,
                "Connections answered 503 at the connection limit.",
            ),
            Single::AcceptErrors => (
                "pushpull_accept_errors_total",
                Kind::Counter,
                "Accepts that failed (out of file descriptors and the like): the client's connect waits in the listen queue or fails.",
            ),
            Single::HeaderTimeouts => (
                "pushpull_header_timeouts_total",
                Kind::Counter,
                "Connections closed for not sending a request head in time.",
            ),
            Single::IdleTimeouts => {
                ("pushpull_idle_timeouts_total", Kind::Counter, "Kept-alive connections closed for idling.")
            }
            Single::SlowConsumerResyncs => (
                "pushpull_slow_consumer_resyncs_total",
                Kind::Counter,
                "Push clients that fell behind and were sent a fresh snapshot.",
            ),
            Single::SlowConsumersDropped => (
                "pushpull_slow_consumers_dropped_total",
                Kind::Counter,
                "Clients disconnected because they stopped reading.",
            ),
            Single::WsPingsMissed => (
                "pushpull_ws_pings_missed_total",
                Kind::Counter,
                "WebSocket clients closed after an unanswered ping.",
            ),
            Single::SharedEncodings => (
                "pushpull_shared_encodings_total",
                Kind::Counter,
                "Shared bodies (snapshots, event pages) compressed, once per coding and version.",
            ),
            Single::StreamCompressors => (
                "pushpull_stream_compressors",
                Kind::Gauge,
                "Per-connection compressors held now: compressed SSE streams and WebSocket deflate sessions.",
            ),
            Single::StreamCompressorsRefused => (
                "pushpull_stream_compressors_refused_total",
                Kind::Counter,
                "Streams served uncompressed because --max-stream-compressors was reached.",
            ),
            Single::WsSessionsH1 => (
                "pushpull_ws_sessions_h1_total",
                Kind::Counter,
                "WebSocket sessions opened by an HTTP/1.1 Upgrade (feed and echo).",
            ),
            Single::WsSessionsH2 => (
                "pushpull_ws_sessions_h2_total",
                Kind::Counter,
                "WebSocket sessions opened by an HTTP/2 extended CONNECT (RFC 8441; feed and echo).",
            ),
            Single::FeedSeq => ("pushpull_feed_seq", Kind::Gauge, "Latest published event seq."),
            Single::FeedEpoch => {
                ("pushpull_feed_epoch", Kind::Gauge, "The feed's epoch (fixed at server start).")
            }
            Single::FeedGaps => (
                "pushpull_feed_gaps_total",
                Kind::Counter,
                "Gaps in seq a cluster node saw in the events from NATS (each then repaired).",
            ),
            Single::FeedEventsRepaired => (
                "pushpull_feed_events_repaired_total",
                Kind::Counter,
                "Events a cluster node fetched from the publisher to fill gaps.",
            ),
            Single::FeedResets => (
                "pushpull_feed_resets_total",
                Kind::Counter,
                "Times a cluster node restarted its feed from the publisher's snapshot (gap older than the publisher's ring, or a new epoch); push clients resync.",
            ),
            Single::FeedDuplicates => (
                "pushpull_feed_duplicates_total",
                Kind::Counter,
                "Events from NATS a cluster node already had (after a repair) and dropped.",
            ),
            Single::BackplaneReconnects => (
                "pushpull_backplane_reconnects_total",
                Kind::Counter,
                "Times the NATS connection came back after a loss.",
            ),
            Single::BackplaneBytesReceived => (
                "pushpull_backplane_bytes_received_total",
                Kind::Counter,
                "Payload bytes of events and repairs received from NATS.",
            ),
            Single::ProcessCpuSeconds => (
                "process_cpu_seconds_total",
                Kind::Counter,
                "Total user and system CPU time spent in seconds.",
            ),
            Single::ProcessResidentMemory => {
                ("process_resident_memory_bytes", Kind::Gauge, "Resident memory size in bytes.")
            }
        }
    }
}

/// Why a page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricError {
    #[error("the /metrics page is not in the Prometheus text format: {0}")]
    Malformed(String),
    #[error("the /metrics page has no `{0}`")]
    Missing(String),
}

/// A parsed `/metrics` page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// (sample name, `transport` label if any) → value.
    values: HashMap<(String, Option<String>), f64>,
}

impl Sample {
    /// Parses the Prometheus text exposition format.
    pub fn parse(text: &str) -> Result<Sample, MetricError> {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape =
            prometheus_parse::Scrape::parse(lines).map_err(|e| MetricError::Malformed(e.to_string()))?;
        let mut values = HashMap::with_capacity(scrape.samples.len());
        for s in scrape.samples {
            let v = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => continue,
            };
            let label = s.labels.get(CHANNEL_LABEL).map(str::to_owned);
            values.insert((s.metric, label), v);
        }
        Ok(Sample { values })
    }

    /// A metric without labels.
    pub fn get(&self, m: Single) -> Result<f64, MetricError> {
        self.values
            .get(&(m.name().to_owned(), None))
            .copied()
            .ok_or_else(|| MetricError::Missing(m.name().to_owned()))
    }

    /// A per-channel metric.
    pub fn channel(&self, m: PerChannel, c: impl Into<Channel>) -> Result<f64, MetricError> {
        let c = c.into();
        self.values
            .get(&(m.name().to_owned(), Some(c.label().to_owned())))
            .copied()
            .ok_or_else(|| MetricError::Missing(format!("{}{{{CHANNEL_LABEL}=\"{}\"}}", m.name(), c.label())))
    }

    /// Checks that every metric this module names is on the page, so that a reader can find
    /// out at its first reading, not in the middle of a run.
    pub fn check_complete(&self) -> Result<(), MetricError> {
        for m in Single::ALL {
            self.get(m)?;
        }
        for m in PerChannel::ALL {
            for c in Channel::ALL {
                self.channel(m, c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    #[test]
    fn reads_labelled_and_plain_samples() {
        let text = "# HELP pushpull_bytes_sent_total Bytes.\n# TYPE pushpull_bytes_sent_total counter\n\
                    pushpull_bytes_sent_total{transport=\"ws\"} 1234\n\
                    pushpull_bytes_sent_total{transport=\"sse\"} 0\n\
                    # TYPE pushpull_feed_seq gauge\npushpull_feed_seq 77\n";
        let s = Sample::parse(text).expect("parses");
        assert_eq!(s.channel(PerChannel::BytesSent, Transport::Ws), Ok(1234.0));
        assert_eq!(s.channel(PerChannel::BytesSent, Transport::Sse), Ok(0.0));
        assert_eq!(s.get(Single::FeedSeq), Ok(77.0));
        assert_eq!(
            s.get(Single::FeedEpoch),
            Err(MetricError::Missing("pushpull_feed_epoch".into())),
            "a missing metric is an error, not a zero"
        );
        assert!(s.channel(PerChannel::BytesSent, Channel::Other).is_err());
        assert!(s.check_complete().is_err());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = Single::ALL.iter().map(|m| m.name()).collect();
        names.extend(PerChannel::ALL.iter().map(|m| m.name()));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
