//! The clock offset to a server on another host, so that event delay (receive time −
//! the event's `ts_us`, a server timestamp) means the same thing there as on one host.
//!
//! Like NTP's simplest form: ask `/api/time` several times and keep the sample with the
//! smallest round trip; the server read its clock somewhere inside that round trip, so the
//! offset is known to within half of it (the reported uncertainty). On the same host the
//! clocks are one clock and no offset is applied.

use std::time::Duration;

use serde::Deserialize;

use crate::client::http::get;
use crate::client::Dialer;
use crate::failure::Failure;
use proto::results::Clock;

/// One exchange: local time when the request left, the server's time, local time when the
/// answer arrived (all µs since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub sent_us: u64,
    pub server_us: u64,
    pub received_us: u64,
}

/// The server's clock relative to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    /// Server − local, µs.
    pub offset_us: i64,
    /// The offset is known to ± this much, µs.
    pub uncertainty_us: u64,
}

/// The offset from the minimum-round-trip sample, and its uncertainty.
pub fn best(samples: &[Sample]) -> Option<Offset> {
    let s =
        samples.iter().filter(|s| s.received_us >= s.sent_us).min_by_key(|s| s.received_us - s.sent_us)?;
    let half = (s.received_us - s.sent_us) / 2;
    let midpoint = s.sent_us + half;
    Some(Offset { offset_us: s.server_us as i64 - midpoint as i64, uncertainty_us: half.max(1) })
}

#[derive(Deserialize)]
struct Time {
    now_us: u64,
}

/// Measures the offset to the server `dialer` reaches with `n` exchanges on one connection.
pub async fn measure(dialer: &Dialer, n: usize) -> Result<Clock, Failure> {
    let host = dialer.host.as_str();
    let mut conn = dialer.http(None).await?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let sent_us = proto::now_us();
        let a = conn.fetch(get(host, "/api/time"), Duration::from_secs(5)).await?;
        let received_us = proto::now_us();
        if let Some(e) = Failure::status(a.status.as_u16()) {
            return Err(e);
        }
        let t: Time = serde_json::from_slice(&a.body).map_err(Failure::protocol)?;
        samples.push(Sample { sent_us, server_us: t.now_us, received_us });
    }
    let Offset { offset_us, uncertainty_us } = best(&samples)
        .ok_or_else(|| Failure::protocol("no round trip where the local clock went forward"))?;
    Ok(Clock { same_host: false, offset_us, uncertainty_us, samples: n as u32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_round_trip_sample_wins() {
        let samples = [
            // 10 ms round trip, server 3 ms ahead of the midpoint.
            Sample { sent_us: 1_000, server_us: 9_000, received_us: 11_000 },
            // 200 µs round trip, server 500 µs behind the midpoint: the one to keep.
            Sample { sent_us: 20_000, server_us: 19_600, received_us: 20_200 },
            // A sample whose clock went backwards is ignored.
            Sample { sent_us: 30_000, server_us: 0, received_us: 29_000 },
        ];
        assert_eq!(best(&samples), Some(Offset { offset_us: -500, uncertainty_us: 100 }));
        assert_eq!(best(&[]), None);
    }
}
