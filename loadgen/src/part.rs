//! One share of a run made by several load processes: `--part K/N` takes the K-th of N
//! shares of every step's clients, and `--start-at` makes every part begin at one agreed
//! wall-clock time, so that their windows overlap; `loadgen merge` then adds the parts up.
//!
//! Shares are `⌊c·K/N⌋ − ⌊c·(K−1)/N⌋`, which sum to exactly `c` over the N parts. Only the
//! first step is aligned to the clock; later steps follow each part's own pace.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// `K/N`: this process runs share K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub k: u32,
    pub n: u32,
}

impl FromStr for Part {
    type Err = String;

    fn from_str(s: &str) -> Result<Part, String> {
        let bad = || format!("`{s}` is not a part like 1/2 (K of N, 1 ≤ K ≤ N ≤ 1000)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) =
            (k.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        if k == 0 || k > n || n > 1000 {
            return Err(bad());
        }
        Ok(Part { k, n })
    }
}

impl Part {
    /// This part's share of `clients`.
    pub fn share(self, clients: u32) -> u32 {
        let (c, k, n) = (u64::from(clients), u64::from(self.k), u64::from(self.n));
        (c * k / n - c * (k - 1) / n) as u32
    }

    /// The index, over all parts, of this part's first client of a `clients`-client step:
    /// the shares before it.
    pub fn first(self, clients: u32) -> u32 {
        (u64::from(clients) * u64::from(self.k - 1) / u64::from(self.n)) as u32
    }

    /// A distinct seed per part, so that the parts' poll phases do not line up.
    pub fn seed(self, seed: u64) -> u64 {
        seed.wrapping_add(u64::from(self.k - 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// Parses `--start-at`: an RFC 3339 UTC time (`2026-12-03T07:30:00Z`) or Unix seconds.
pub fn parse_start_at(s: &str) -> Result<SystemTime, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 {
            return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_rfc3339_weak(s)
        .map_err(|e| format!("`{s}` is not a time like 2026-12-03T07:30:00Z or Unix seconds: {e}"))
}

/// How long to wait for `at`: refused when it is already past or more than a day away.
pub fn wait_for(at: SystemTime, now: SystemTime) -> Result<Duration, String> {
    match at.duration_since(now) {
        Ok(d) if d <= Duration::from_secs(86_400) => Ok(d),
        Ok(d) => Err(format!("--start-at is {} s away, more than a day", d.as_secs())),
        Err(e) => {
            Err(format!("--start-at passed {:.1} s ago; agree on a later time", e.duration().as_secs_f64()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_whole() {
        for n in 1..=7u32 {
            for c in [1u32, 2, 7, 10, 999, 1000] {
                let parts: Vec<u32> = (1..=n).map(|k| Part { k, n }.share(c)).collect();
                assert_eq!(parts.iter().sum::<u32>(), c, "{c} over {n}: {parts:?}");
                assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
                let firsts: Vec<u32> = (1..=n).map(|k| Part { k, n }.first(c)).collect();
                let starts: Vec<u32> =
                    parts.iter().scan(0, |at, s| Some(std::mem::replace(at, *at + s))).collect();
                assert_eq!(firsts, starts, "each part starts where the one before ended");
            }
        }
    }

    #[test]
    fn parts_and_times_are_checked() {
        assert_eq!("2/3".parse(), Ok(Part { k: 2, n: 3 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Part>().is_err(), "{bad}");
        }
        let t = parse_start_at("2026-12-03T07:30:00Z").expect("rfc3339");
        assert_eq!(parse_start_at("1796283000").expect("unix"), t);
        assert!(parse_start_at("soon").is_err());
        let now = t - Duration::from_secs(5);
        assert_eq!(wait_for(t, now), Ok(Duration::from_secs(5)));
        assert!(wait_for(now, t).is_err(), "past");
        assert_ne!(Part { k: 1, n: 2 }.seed(1), Part { k: 2, n: 2 }.seed(1));
    }
}
