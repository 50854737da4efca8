//! When each poll is due: `start + phase + k × interval`, fixed in advance (as wrk2 does).
//!
//! Request latency is measured from the *scheduled* time, not from when the request actually
//! left: a server that stalls makes the following polls late, and that lateness is counted
//! instead of hidden (coordinated omission). A late poll is sent at once, never skipped.

use std::time::Duration;

use tokio::time::Instant;

/// One client's poll schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    first: Instant,
    interval: Duration,
}

impl Schedule {
    /// Polls at `start + phase + k × interval`; an interval of zero means back-to-back.
    pub fn new(start: Instant, phase: Duration, interval: Duration) -> Schedule {
        Schedule { first: start + phase, interval }
    }

    /// The scheduled time of poll `k`, or `None` for back-to-back polling (the poll is due
    /// as soon as the previous one has been answered).
    pub fn at(&self, k: u64) -> Option<Instant> {
        if self.interval.is_zero() {
            return None;
        }
        let k = u32::try_from(k).unwrap_or(u32::MAX);
        Some(self.first + self.interval * k)
    }

    /// Latency of a poll answered at `done`, due at `scheduled` and sent at `sent`: from the
    /// scheduled time when there is one (late sending counts), else from sending.
    pub fn latency(scheduled: Option<Instant>, sent: Instant, done: Instant) -> Duration {
        done.saturating_duration_since(scheduled.map_or(sent, |s| s.min(sent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_are_due_on_a_fixed_grid() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, Duration::from_millis(250), Duration::from_secs(1));
        assert_eq!(s.at(0), Some(t0 + Duration::from_millis(250)));
        assert_eq!(s.at(3), Some(t0 + Duration::from_millis(3250)));
        assert_eq!(Schedule::new(t0, Duration::ZERO, Duration::ZERO).at(5), None);
    }

    #[test]
    fn latency_counts_from_the_scheduled_time_when_the_poll_left_late() {
        let t0 = Instant::now();
        let due = t0 + Duration::from_millis(100);
        // The previous poll was stuck: this one left 900 ms late and took 5 ms.
        let sent = due + Duration::from_millis(900);
        let done = sent + Duration::from_millis(5);
        assert_eq!(Schedule::latency(Some(due), sent, done), Duration::from_millis(905));
        // Back-to-back: from sending.
        assert_eq!(Schedule::latency(None, sent, done), Duration::from_millis(5));
        // Sent a hair early (timer granularity): still from the scheduled time.
        let early = due - Duration::from_micros(50);
        assert_eq!(
            Schedule::latency(Some(due), early, due + Duration::from_millis(2)),
            Duration::from_micros(2050)
        );
    }
}
