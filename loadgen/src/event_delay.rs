//! Event delay by the project's one definition: the time a client first holds a state that
//! includes an event, minus the event's publication time (`ts_us`).
//!
//! An event a client received itself has its delay from its own receipt. An event it never
//! received itself but that a later snapshot covered (snapshot polling always, a push client
//! resynced after falling behind) is *coalesced*: its delay runs to that snapshot's receipt,
//! which needs the event's own `ts_us` ([`EventTimes`], read from the feed after the window).
//! An event neither received nor covered is *late* when the client had reached nothing as
//! new by the drain's bound (it was behind, or cut off: its clients stop there, so what would
//! have come after cannot be seen), and *lost* when it had (a gap the client skipped).

/// The publication times of one epoch's events `(from, to]`, read from the feed itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTimes {
    pub epoch: u64,
    pub from: u64,
    /// `ts_us` of seqs `from + 1 ..= from + len`.
    ts_us: Vec<u64>,
}

impl EventTimes {
    /// Times for seqs `from + 1`, `from + 2`, … in order.
    pub fn new(epoch: u64, from: u64, ts_us: Vec<u64>) -> EventTimes {
        EventTimes { epoch, from, ts_us }
    }

    /// The last seq with a known time.
    pub fn to(&self) -> u64 {
        self.from + self.ts_us.len() as u64
    }

    pub fn ts(&self, seq: u64) -> Option<u64> {
        let i = seq.checked_sub(self.from + 1)?;
        self.ts_us.get(usize::try_from(i).ok()?).copied()
    }
}

/// A state a client came to hold: a snapshot of the feed at `seq`, received at `at_us` (on
/// the server's clock) and `at_ms` after the step began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub epoch: u64,
    pub seq: u64,
    pub at_us: u64,
    pub at_ms: u32,
}

/// What became of the events a client did not receive itself.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Covered by a later snapshot.
    pub coalesced: u64,
    /// Coalesced, but the event's publication time was not known, so it has no delay sample.
    pub coalesced_without_time: u64,
    /// Neither received nor covered, and newer than anything the client reached.
    pub late: u64,
    /// Neither received nor covered, though the client reached a newer event or state.
    pub lost: u64,
}

/// Sorts the events `missing` (ascending seqs the client never received itself) into
/// coalesced, late and lost, by the first snapshot in `held` (in receive order, one epoch)
/// whose seq covers each, and by `reached`, the newest seq the client received or held in
/// that epoch (`u64::MAX` once it moved on to a later epoch); hands each coalesced event's
/// `(delay_us, at_ms)` to `on_delay`.
pub fn cover(
    missing: impl IntoIterator<Item = u64>,
    held: &[Held],
    reached: u64,
    times: Option<&EventTimes>,
    mut on_delay: impl FnMut(u64, u32),
) -> Coverage {
    let mut out = Coverage::default();
    // The state a client holds only grows: the first snapshot covering `s` is the first whose
    // running maximum reaches `s`, and that point only moves forward as `s` grows.
    let mut i = 0;
    let mut reach = 0;
    for s in missing {
        while reach < s && i < held.len() {
            reach = reach.max(held[i].seq);
            i += 1;
        }
        if reach < s {
            if s > reached {
                out.late += 1;
            } else {
                out.lost += 1;
            }
            continue;
        }
        out.coalesced += 1;
        let by = held[i - 1];
        match times.and_then(|t| t.ts(s)) {
            Some(ts) => on_delay(by.at_us.saturating_sub(ts), by.at_ms),
            None => out.coalesced_without_time += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(seq: u64, at_us: u64) -> Held {
        Held { epoch: 1, seq, at_us, at_ms: (at_us / 1000) as u32 }
    }

    #[test]
    fn times_are_indexed_by_seq() {
        let t = EventTimes::new(1, 10, vec![100, 200, 300]);
        assert_eq!((t.ts(10), t.ts(11), t.ts(13), t.ts(14)), (None, Some(100), Some(300), None));
        assert_eq!(t.to(), 13);
    }

    #[test]
    fn each_event_gets_the_first_snapshot_that_covers_it() {
        // Events 11..=15 published at 1,000 µs apart; the client polled at 3,500 and 6,500.
        let times = EventTimes::new(1, 10, vec![1000, 2000, 3000, 4000, 5000]);
        let polls = [held(13, 3500), held(15, 6500)];
        let mut delays = Vec::new();
        let c = cover([11, 12, 14], &polls, 15, Some(&times), |d, _| delays.push(d));
        assert_eq!(c, Coverage { coalesced: 3, coalesced_without_time: 0, late: 0, lost: 0 });
        assert_eq!(delays, vec![2500, 1500, 2500]);
    }

    #[test]
    fn uncovered_events_are_lost_and_unknown_times_are_counted() {
        let polls = [held(12, 5000)];
        let mut n = 0;
        // The client received 15 itself: 13 and 14 are gaps below what it reached.
        let c = cover([11, 12, 13, 14], &polls, 15, None, |_, _| n += 1);
        assert_eq!(c, Coverage { coalesced: 2, coalesced_without_time: 2, late: 0, lost: 2 });
        assert_eq!(n, 0);
    }

    #[test]
    fn uncovered_events_newer_than_anything_the_client_reached_are_late() {
        let polls = [held(12, 5000)];
        // Reached 13 (received), not 14 or 15: those are late, not lost; 13 is no gap.
        let c = cover([11, 14, 15], &polls, 13, None, |_, _| {});
        assert_eq!(c, Coverage { coalesced: 1, coalesced_without_time: 1, late: 2, lost: 0 });
        // A client that moved on to a later epoch skipped them: lost.
        let c = cover([14, 15], &polls, u64::MAX, None, |_, _| {});
        assert_eq!((c.late, c.lost), (0, 2));
    }

    #[test]
    fn a_snapshot_older_than_one_before_it_does_not_uncover_anything() {
        let times = EventTimes::new(1, 0, vec![10, 20, 30, 40]);
        // Out of order (a stale answer): 4 is covered at 100 already, 3 too.
        let polls = [held(4, 100), held(2, 200)];
        let mut delays = Vec::new();
        let c = cover([1, 3], &polls, 4, Some(&times), |d, _| delays.push(d));
        assert_eq!(c.coalesced, 2);
        assert_eq!(delays, vec![90, 70]);
    }
}
