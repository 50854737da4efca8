//! Counters per transport, counted at the socket, and their Prometheus text rendering.
//!
//! Plain atomics in a fixed array indexed by [`Channel`], not a metrics registry: the byte
//! counters move on every socket read and write, and a registry's label lookup there would
//! cost more than the syscall. Every name comes from [`proto::metrics`], which the load
//! generator reads the page back with.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use proto::metrics::{Kind, PerChannel, Single};
use proto::Channel;

use crate::process;

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

impl TransportCounters {
    /// The counter behind one per-channel metric.
    pub fn get(&self, m: PerChannel) -> &AtomicU64 {
        match m {
            PerChannel::ConnectionsOpened => &self.connections_opened,
            PerChannel::ConnectionsOpen => &self.connections_open,
            PerChannel::Requests => &self.requests,
            PerChannel::MessagesSent => &self.messages_sent,
            PerChannel::EventsDelivered => &self.events_delivered,
            PerChannel::BytesReceived => &self.bytes_received,
            PerChannel::BytesSent => &self.bytes_sent,
        }
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters of one channel (a transport, the echo socket, or other).
    pub fn transport(&self, c: impl Into<Channel>) -> &TransportCounters {
        &self.transports[c.into().index()]
    }

    /// The value of one unlabelled metric now.
    fn single(&self, m: Single, feed_seq: u64, feed_epoch: u64) -> f64 {
        let load = |a: &AtomicU64| a.load(Relaxed) as f64;
        match m {
            Single::ConnectionsAccepted => load(&self.connections_accepted),
            Single::ConnectionsRefused => load(&self.connections_refused),
            Single::HeaderTimeouts => load(&self.header_timeouts),
            Single::IdleTimeouts => load(&self.idle_timeouts),
            Single::SlowConsumerResyncs => load(&self.slow_consumer_resyncs),
            Single::SlowConsumersDropped => load(&self.slow_consumers_dropped),
            Single::WsPingsMissed => load(&self.ws_pings_missed),
            Single::FeedSeq => feed_seq as f64,
            Single::FeedEpoch => feed_epoch as f64,
            Single::ProcessCpuSeconds => process::cpu_seconds(),
            Single::ProcessResidentMemory => process::resident_bytes() as f64,
        }
    }

    /// Renders everything in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, feed_seq: u64, feed_epoch: u64) -> String {
        let mut out = String::with_capacity(4096);
        for m in PerChannel::ALL {
            head(&mut out, m.name(), m.kind(), m.help());
            for c in Channel::ALL {
                let v = self.transport(c).get(m).load(Relaxed);
                let _ = writeln!(out, "{}{{transport=\"{}\"}} {v}", m.name(), c.label());
            }
        }
        for m in Single::ALL {
            head(&mut out, m.name(), m.kind(), m.help());
            let _ = writeln!(out, "{} {}", m.name(), self.single(m, feed_seq, feed_epoch));
        }
        out
    }
}

fn head(out: &mut String, name: &str, kind: Kind, help: &str) {
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
    };
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use proto::metrics::Sample;
    use proto::Transport;

    use super::*;

    #[test]
    fn render_parses_back_complete() {
        let m = Metrics::new();
        m.transport(Transport::Ws).bytes_sent.fetch_add(1234, Relaxed);
        m.transport(Transport::ShortPoll).requests.fetch_add(5, Relaxed);
        m.connections_refused.fetch_add(2, Relaxed);
        let s = Sample::parse(&m.render(77, 9)).expect("parses");
        s.check_complete().expect("every metric proto names is rendered");
        assert_eq!(s.channel(PerChannel::BytesSent, Transport::Ws), Ok(1234.0));
        assert_eq!(s.channel(PerChannel::Requests, Transport::ShortPoll), Ok(5.0));
        assert_eq!(s.channel(PerChannel::Requests, Transport::Sse), Ok(0.0));
        assert_eq!(s.get(Single::ConnectionsRefused), Ok(2.0));
        assert_eq!(s.get(Single::FeedSeq), Ok(77.0));
        assert!(s.get(Single::ProcessCpuSeconds).is_ok_and(|v| v > 0.0));
        assert!(s.get(Single::ProcessResidentMemory).is_ok_and(|v| v > 0.0));
    }
}
