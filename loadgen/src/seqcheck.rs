//! Completeness: which seqs a client received, so that gaps (missed events) and duplicates can
//! be counted for exactly the measured window, decided after the fact.
//!
//! A bitmap relative to the first seq seen: one bit per event, so a client that saw 10,000
//! events costs 1.25 KB. Seqs below the base arrive only as duplicates of what came before
//! tracking began, or from a restarted server; they are counted apart, never silently.

/// Seqs one client has received.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    base: Option<u64>,
    bits: Vec<u64>,
    duplicates: Vec<u64>,
    below_base: u64,
}

/// What a client got of the window `(from, to]`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Completeness {
    pub delivered: u64,
    pub missed: u64,
    pub duplicates: u64,
}

/// Seqs a tracker will follow past its base; far beyond any run (a day at 10,000 events/s).
const MAX_SPAN: u64 = 1 << 30;

impl SeqTracker {
    /// Records `seq`; returns false if it was a duplicate.
    pub fn record(&mut self, seq: u64) -> bool {
        let base = *self.base.get_or_insert(seq);
        if seq < base {
            self.below_base += 1;
            return true;
        }
        let off = seq - base;
        if off >= MAX_SPAN {
            self.below_base += 1;
            return true;
        }
        let (word, bit) = ((off / 64) as usize, off % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.bits[word] & mask != 0 {
            self.duplicates.push(seq);
            return false;
        }
        self.bits[word] |= mask;
        true
    }

    pub fn contains(&self, seq: u64) -> bool {
        let Some(base) = self.base else { return false };
        if seq < base || seq - base >= MAX_SPAN {
            return false;
        }
        let off = seq - base;
        self.bits.get((off / 64) as usize).is_some_and(|w| w & (1 << (off % 64)) != 0)
    }

    /// Delivered, missed and duplicate events among seqs `from + 1 ..= to`.
    pub fn window(&self, from: u64, to: u64) -> Completeness {
        let expected = to.saturating_sub(from);
        let delivered = (from + 1..=to).filter(|s| self.contains(*s)).count() as u64;
        let duplicates = self.duplicates.iter().filter(|s| **s > from && **s <= to).count() as u64;
        Completeness { delivered, missed: expected - delivered, duplicates }
    }

    /// Seqs that arrived below the first one seen (counted, never placed in a window).
    pub fn below_base(&self) -> u64 {
        self.below_base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_duplicates_in_a_window() {
        let mut t = SeqTracker::default();
        for s in [5, 6, 7, 9, 10, 10, 12, 200] {
            t.record(s);
        }
        // Window (6, 12]: 7..=12 expected (6), got 7, 9, 10, 12; 10 twice.
        assert_eq!(t.window(6, 12), Completeness { delivered: 4, missed: 2, duplicates: 1 });
        // Window before tracking began: all missed, nothing invented.
        assert_eq!(t.window(0, 4), Completeness { delivered: 0, missed: 4, duplicates: 0 });
        assert_eq!(t.window(199, 200), Completeness { delivered: 1, missed: 0, duplicates: 0 });
        assert_eq!(t.window(12, 12), Completeness::default());
    }

    #[test]
    fn record_reports_duplicates_and_seqs_below_base() {
        let mut t = SeqTracker::default();
        assert!(t.record(100));
        assert!(!t.record(100));
        assert!(t.record(99), "below base is not a duplicate of anything tracked");
        assert_eq!(t.below_base(), 1);
        assert!(t.contains(100) && !t.contains(101) && !t.contains(99));
        assert!(t.record(100 + 64 * 3 + 5));
        assert!(t.contains(100 + 64 * 3 + 5));
    }

    #[test]
    fn snapshot_polling_misses_what_it_never_saw() {
        // A short poller that saw seqs 3, 8 and 11 of the window (0, 12].
        let mut t = SeqTracker::default();
        for s in [3, 8, 11] {
            t.record(s);
        }
        let c = t.window(0, 12);
        assert_eq!((c.delivered, c.missed), (3, 9));
    }
}
