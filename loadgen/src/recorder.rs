//! What one simulated client measured, kept raw until the step knows its exact window.
//!
//! The measured window is a range of seqs (read from the server's `pushpull_feed_seq` at its
//! start and end) for deliveries, and a range of time for requests. A client cannot know the
//! window's seq bounds while it runs, so it keeps compact raw samples (12 bytes a delivery,
//! 8 a request) and the step turns them into merged HdrHistograms afterwards: per task, never
//! behind a shared lock while the clients run.

use std::collections::BTreeMap;

use crate::event_delay::Held;
use crate::failure::ErrorKind;
use crate::seqcheck::SeqTracker;

/// One received event: its feed epoch and seq, its event delay, and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub epoch: u64,
    pub seq: u64,
    pub latency_us: u32,
    /// Milliseconds since the step began.
    pub at_ms: u32,
}

/// One poll: when it was scheduled and how long it took from then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Scheduled send time, milliseconds since the step began.
    pub at_ms: u32,
    pub latency_us: u32,
    /// Answered with nothing new (304, or no events).
    pub empty: bool,
    /// The answer's body as it came off the wire (before content decoding), bytes: what the
    /// poll's bytes hold beside the request and the answer's head.
    pub body_bytes: u32,
    /// Never answered: in flight when the client stopped, or timed out; `latency_us` is how
    /// long it had waited by then.
    pub unanswered: bool,
}

/// Everything one client measured in a step.
#[derive(Debug, Default)]
pub struct ClientRecord {
    /// Which client of the step this is (where it says how far it got, for the drain).
    pub client: usize,
    /// Seqs received, one tracker per feed epoch (a restarted server starts again at 1).
    pub epochs: Vec<(u64, SeqTracker)>,
    pub deliveries: Vec<Delivery>,
    /// Snapshots the client came to hold (a short poll's 200, a push client's first message
    /// or resync, a poller's restart point): what later coalesces the events it skipped.
    pub held: Vec<Held>,
    pub requests: Vec<Request>,
    /// Connect + handshake times, µs.
    pub connects_us: Vec<u32>,
    /// Bytes (both ways, TCP payload) new connections had carried by their first answer or
    /// message, summed, and how many they were (see `Step::setup_bytes`).
    pub setup_bytes: u64,
    pub setup_connections: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
}

impl ClientRecord {
    /// The record of client `client` of the step.
    pub fn new(client: usize) -> ClientRecord {
        ClientRecord { client, ..ClientRecord::default() }
    }

    /// The epoch of the server the client last heard from (0 before any).
    pub fn epoch(&self) -> u64 {
        self.epochs.last().map_or(0, |(e, _)| *e)
    }

    /// A timed connection had carried `bytes` when it was connected.
    pub fn setup(&mut self, bytes: u64) {
        self.setup_bytes += bytes;
        self.setup_connections += 1;
    }

    pub fn error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Records an event unless it is a duplicate (counted by the tracker either way).
    pub fn deliver(&mut self, seq: u64, latency_us: u64, at_ms: u64) {
        if self.epochs.is_empty() {
            self.epochs.push((0, SeqTracker::default()));
        }
        let (epoch, seqs) = self.epochs.last_mut().expect("one epoch at least");
        let epoch = *epoch;
        if seqs.record(seq) {
            self.deliveries.push(Delivery {
                epoch,
                seq,
                latency_us: u32::try_from(latency_us).unwrap_or(u32::MAX),
                at_ms: u32::try_from(at_ms).unwrap_or(u32::MAX),
            });
        }
    }

    /// Notes that the client now holds the feed's state at `seq` (a snapshot), received at
    /// `at_us` on the server's clock.
    pub fn hold(&mut self, seq: u64, at_us: u64, at_ms: u64) {
        let epoch = self.epoch();
        self.held.push(Held { epoch, seq, at_us, at_ms: u32::try_from(at_ms).unwrap_or(u32::MAX) });
    }

    /// Checks the feed's epoch; a change means the server restarted (counted), and later
    /// seqs are tracked apart.
    pub fn check_epoch(&mut self, epoch: u64) -> bool {
        match self.epochs.last() {
            Some((e, _)) if *e == epoch => true,
            last => {
                let restarted = last.is_some();
                if restarted {
                    self.error(ErrorKind::Restart);
                }
                self.epochs.push((epoch, SeqTracker::default()));
                !restarted
            }
        }
    }

    /// The seqs received in `epoch`, if any.
    pub fn seqs(&self, epoch: u64) -> Option<&SeqTracker> {
        self.epochs.iter().rev().find(|(e, _)| *e == epoch).map(|(_, t)| t)
    }

    /// The newest seq the client received or held in `epoch`; `u64::MAX` when it went on to
    /// a later epoch (what it did not get of this one, it skipped); 0 for an epoch it never saw.
    pub fn reached(&self, epoch: u64) -> u64 {
        let Some(at) = self.epochs.iter().rposition(|(e, _)| *e == epoch) else { return 0 };
        if at + 1 < self.epochs.len() {
            return u64::MAX;
        }
        let held = self.held.iter().filter(|h| h.epoch == epoch).map(|h| h.seq).max();
        self.max_seq(epoch).max(held).unwrap_or(0)
    }

    /// The highest seq received in `epoch`.
    pub fn max_seq(&self, epoch: u64) -> Option<u64> {
        self.deliveries.iter().filter(|d| d.epoch == epoch).map(|d| d.seq).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_not_delivered_twice_and_restarts_are_counted() {
        let mut r = ClientRecord::default();
        assert!(r.check_epoch(7));
        r.deliver(5, 100, 1);
        r.deliver(5, 100, 2);
        assert_eq!(r.deliveries.len(), 1);
        assert_eq!(r.seqs(7).expect("epoch 7").window(4, 5).duplicates, 1);
        assert!(r.check_epoch(7));
        assert!(!r.check_epoch(8), "a new epoch is a restart");
        assert_eq!(r.errors.get(&ErrorKind::Restart), Some(&1));
        // The restarted server's seq 2 is not a duplicate of anything before.
        r.deliver(2, 100, 3);
        assert_eq!(r.seqs(8).expect("epoch 8").window(0, 2).delivered, 1);
        assert_eq!(r.seqs(7).expect("epoch 7").window(0, 5).delivered, 1);
        assert_eq!((r.max_seq(7), r.max_seq(8)), (Some(5), Some(2)));
        r.hold(4, 0, 4);
        assert_eq!((r.reached(7), r.reached(8), r.reached(9)), (u64::MAX, 4, 0), "moved on; held 4");
    }
}
