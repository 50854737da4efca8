//! The measured window, bounded by two readings of the server's `/metrics`: its
//! `pushpull_feed_seq` there gives the window's seqs `(from, to]`, and the differences of its
//! byte, message and CPU counters give the wire and server cost of exactly that window.
//!
//! If the server restarts inside the window (its epoch changes), the window becomes one
//! [`Segment`] per epoch, each with its own seqs and counters, so events the restarted server
//! published before a client came back count as missed.

use std::time::Duration;

use proto::metrics::{MetricError, PerChannel, Sample, Single};
use proto::{Channel, Transport};
use tokio::time::Instant;

use crate::plan::Timeline;
use crate::recorder::{ClientRecord, Delivery};

/// What a step reads of one `/metrics` page. Every value is read when the page arrives, so a
/// missing metric fails the reading instead of becoming a zero later.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ServerNumbers {
    pub epoch: u64,
    pub seq: u64,
    pub rss_bytes: u64,
    pub cpu_s: f64,
    /// The transport under test's own counters, plus the server's `shared` channel's: an
    /// HTTP/2 delta or long poller's connection carries its starting snapshot (a short-poll
    /// request) and then its polls, so the server counts it as shared from its first poll;
    /// while a step runs only that step's clients are connected, so the shared bytes are
    /// theirs (the load generator's own requests go over HTTP/1.1, never shared).
    pub bytes_received: f64,
    pub bytes_sent: f64,
    pub messages_sent: f64,
    /// A cluster node's backplane: bytes from NATS, gaps seen, events repaired, feed resets
    /// (zero on a single server).
    pub backplane_bytes: f64,
    pub feed_gaps: f64,
    pub events_repaired: f64,
    pub feed_resets: f64,
}

impl ServerNumbers {
    pub fn read(s: &Sample, transport: Transport) -> Result<ServerNumbers, MetricError> {
        Ok(ServerNumbers {
            epoch: s.get(Single::FeedEpoch)? as u64,
            seq: s.get(Single::FeedSeq)? as u64,
            rss_bytes: s.get(Single::ProcessResidentMemory)? as u64,
            cpu_s: s.get(Single::ProcessCpuSeconds)?,
            bytes_received: with_shared(s, PerChannel::BytesReceived, transport)?,
            bytes_sent: with_shared(s, PerChannel::BytesSent, transport)?,
            messages_sent: with_shared(s, PerChannel::MessagesSent, transport)?,
            backplane_bytes: s.get(Single::BackplaneBytesReceived)?,
            feed_gaps: s.get(Single::FeedGaps)?,
            events_repaired: s.get(Single::FeedEventsRepaired)?,
            feed_resets: s.get(Single::FeedResets)?,
        })
    }
}

/// `m` of `transport` plus `m` of the shared channel (absent on a server from before HTTP/2).
fn with_shared(s: &Sample, m: PerChannel, transport: Transport) -> Result<f64, MetricError> {
    Ok(s.channel(m, transport)? + s.channel(m, Channel::Shared).unwrap_or(0.0))
}

/// One reading: the server's numbers, this process's CPU, and when.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub server: ServerNumbers,
    pub own_cpu: f64,
    /// This host's TCP segments sent so far (`proto::process::tcp_segments_sent`).
    pub tcp_segments: Option<u64>,
    pub at: Instant,
}

/// The part of the window served by one server process (one feed epoch).
#[derive(Debug, Clone)]
pub struct Segment {
    pub epoch: u64,
    /// The window's events of this epoch are `(from, to]`.
    pub from: u64,
    pub to: u64,
    /// The reading the counters start from; `None` for a restarted server, whose counters
    /// started at zero inside the window.
    first: Option<Reading>,
    last: Reading,
}

impl Segment {
    fn at(r: Reading) -> Segment {
        Segment { epoch: r.server.epoch, from: r.server.seq, to: r.server.seq, first: Some(r), last: r }
    }

    /// How much `value` grew over this segment.
    fn grew(&self, value: &impl Fn(&ServerNumbers) -> f64) -> f64 {
        let start = self.first.as_ref().map_or(0.0, |r| value(&r.server));
        (value(&self.last.server) - start).max(0.0)
    }

    /// Takes in a later reading of the same server.
    fn extend(&mut self, r: Reading) {
        self.to = self.to.max(r.server.seq);
        self.last = r;
    }
}

/// The window as the readings come in.
#[derive(Debug, Default)]
pub struct Window {
    segments: Vec<Segment>,
    closed: bool,
}

impl Window {
    /// Whether a reading at or after the window's start has opened it.
    pub fn is_open(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Whether a reading at or after the window's end has closed it.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The window's last event, `(epoch, seq)`, once a reading has closed it: what the drain
    /// waits for every client to reach.
    pub fn last_event(&self) -> Option<(u64, u64)> {
        let last = self.segments.last().filter(|_| self.closed)?;
        Some((last.epoch, last.to))
    }

    /// Takes in a reading made at `now`: the first at or after the window's start opens it,
    /// later ones extend it (a new segment when the epoch changed) until one at or after its
    /// end closes it.
    pub fn observe(&mut self, r: Reading, now: Instant, timeline: &Timeline) {
        match self.segments.last_mut() {
            None if now >= timeline.window_start => self.segments.push(Segment::at(r)),
            None => {}
            Some(_) if self.closed => {}
            Some(cur) => {
                if r.server.epoch == cur.epoch {
                    cur.extend(r);
                } else {
                    let to = r.server.seq;
                    self.segments.push(Segment { epoch: r.server.epoch, from: 0, to, first: None, last: r });
                }
                self.closed = now >= timeline.window_end;
            }
        }
    }

    /// The closing reading, taken after the watch ended early (a slow scrape ran past the
    /// stop time, or the step was cancelled): it counts only if the same server gave it.
    pub fn close_late(&mut self, r: Reading) {
        if let Some(cur) = self.segments.last_mut() {
            if r.server.epoch == cur.epoch {
                cur.extend(r);
            }
        }
    }

    /// The finished window. One that never opened (the step was cut short) is empty at the
    /// last good reading. A server that went away published events its last reading did not
    /// see: what clients received of that epoch counts too.
    pub fn finish(self, last_ok: Reading, records: &[ClientRecord]) -> Segments {
        let mut ended = self.segments;
        let last = ended.pop().unwrap_or_else(|| Segment::at(last_ok));
        for seg in &mut ended {
            let seen = records.iter().filter_map(|r| r.max_seq(seg.epoch)).max().unwrap_or(0);
            seg.to = seg.to.max(seen);
        }
        Segments { ended, last }
    }
}

/// A finished window: one segment per server process that served it, oldest first.
#[derive(Debug, Clone)]
pub struct Segments {
    ended: Vec<Segment>,
    last: Segment,
}

impl Segments {
    pub fn iter(&self) -> impl Iterator<Item = &Segment> {
        self.ended.iter().chain(std::iter::once(&self.last))
    }

    /// The reading that opened the window.
    pub fn opened(&self) -> &Reading {
        let first = self.ended.first().unwrap_or(&self.last);
        first.first.as_ref().unwrap_or(&first.last)
    }

    /// The reading that closed it.
    pub fn closed(&self) -> &Reading {
        &self.last.last
    }

    /// The window's length between its two readings.
    pub fn measured(&self) -> Duration {
        self.closed().at.saturating_duration_since(self.opened().at)
    }

    /// Events published inside the window.
    pub fn published(&self) -> u64 {
        self.iter().map(|g| g.to - g.from).sum()
    }

    /// Server restarts seen inside the window.
    pub fn restarts(&self) -> u64 {
        self.ended.len() as u64
    }

    /// Whether a delivered event was published inside the window.
    pub fn contains(&self, d: &Delivery) -> bool {
        self.iter().any(|g| g.epoch == d.epoch && d.seq > g.from && d.seq <= g.to)
    }

    /// How much a server counter grew over the window, summed over its segments.
    pub fn grew(&self, value: impl Fn(&ServerNumbers) -> f64) -> f64 {
        self.iter().map(|g| g.grew(&value)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(epoch: u64, seq: u64, bytes_sent: f64, at: Instant) -> Reading {
        let server = ServerNumbers {
            epoch,
            seq,
            rss_bytes: 1,
            cpu_s: seq as f64 / 10.0,
            bytes_received: 0.0,
            bytes_sent,
            messages_sent: 0.0,
            ..ServerNumbers::default()
        };
        Reading { server, own_cpu: 0.0, tcp_segments: None, at }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A window fed readings `(epoch, seq, bytes sent, ms after t0)`, each taken at its time,
    /// for a window from 1 s to 3 s after `t0`.
    fn fed(t0: Instant, readings: &[(u64, u64, f64, u64)]) -> Window {
        let tl =
            Timeline { t0, window_start: t0 + ms(1000), window_end: t0 + ms(3000), stop_at: t0 + ms(4000) };
        let mut w = Window::default();
        for &(epoch, seq, bytes, at) in readings {
            w.observe(reading(epoch, seq, bytes, t0 + ms(at)), t0 + ms(at), &tl);
        }
        w
    }

    #[test]
    fn readings_before_the_start_and_after_the_end_do_not_count() {
        let t0 = Instant::now();
        let w = fed(t0, &[(7, 3, 100.0, 500)]);
        assert!(!w.is_open());
        let w = fed(t0, &[(7, 3, 100.0, 500), (7, 5, 150.0, 1000), (7, 9, 400.0, 2000)]);
        assert!(w.is_open() && !w.is_closed());
        let w =
            fed(t0, &[(7, 5, 150.0, 1000), (7, 9, 400.0, 2000), (7, 12, 500.0, 3000), (7, 20, 900.0, 3500)]);
        assert!(w.is_closed());
        assert_eq!(w.last_event(), Some((7, 12)), "the closing reading's seq");
        let s = w.finish(reading(7, 20, 900.0, t0 + ms(3500)), &[]);
        assert_eq!((s.published(), s.restarts()), (7, 0), "seqs (5, 12]");
        assert_eq!(s.grew(|n| n.bytes_sent), 350.0);
        assert_eq!(s.measured(), ms(2000));
    }

    #[test]
    fn a_restart_splits_the_window_and_what_clients_saw_of_the_old_server_counts() {
        let t0 = Instant::now();
        // The new server's counters start at zero: all of its bytes are the window's.
        let mut w = fed(t0, &[(7, 5, 100.0, 1000), (7, 8, 200.0, 1500), (9, 4, 60.0, 2500)]);
        w.close_late(reading(9, 6, 80.0, t0 + ms(2900)));
        w.close_late(reading(10, 1, 5.0, t0 + ms(2950)));
        let mut client = ClientRecord::default();
        client.check_epoch(7);
        client.deliver(10, 1, 1);
        let s = w.finish(reading(9, 6, 80.0, t0 + ms(2900)), &[client]);
        let bounds: Vec<(u64, u64, u64)> = s.iter().map(|g| (g.epoch, g.from, g.to)).collect();
        assert_eq!(bounds, vec![(7, 5, 10), (9, 0, 6)]);
        assert_eq!((s.published(), s.restarts()), (11, 1));
        assert_eq!(s.grew(|n| n.bytes_sent), 100.0 + 80.0);
        assert_eq!(s.measured(), ms(1900));
        let d = |epoch, seq| Delivery { epoch, seq, latency_us: 1, at_ms: 1 };
        assert!(s.contains(&d(7, 6)) && s.contains(&d(9, 1)));
        assert!(!s.contains(&d(7, 5)) && !s.contains(&d(9, 7)) && !s.contains(&d(10, 1)));
    }

    #[test]
    fn a_window_that_never_opened_is_empty_at_the_last_good_reading() {
        let t0 = Instant::now();
        let s = Window::default().finish(reading(7, 42, 10.0, t0), &[]);
        assert_eq!((s.published(), s.restarts(), s.measured()), (0, 0, Duration::ZERO));
        assert_eq!(s.grew(|n| n.bytes_sent), 0.0);
    }
}
