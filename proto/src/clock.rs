//! The clock of `ts_us` and of every delay: microseconds since the Unix epoch.
//!
//! Wall-clock time, not a monotonic one, because publication and receipt may happen in
//! different processes (or, with a clock offset, on different hosts).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}
