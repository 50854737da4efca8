//! How a short or delta poller paces its polls, as a page's script would (`--poll-mode`):
//! `setInterval(fetch, T)` fires on a fixed grid whether or not the last poll answered, so
//! slow answers overlap; a `setTimeout` chain waits T after each answer, so it never overlaps
//! and its schedule drifts instead. Every name of the two modes is defined here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A scheduled poller's pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PollMode {
    /// `setInterval`: a poll at every scheduled time; overlapping polls go out concurrently
    /// (HTTP/1.1: up to [`PollMode::BROWSER_CONNECTIONS`] connections; HTTP/2: streams).
    #[default]
    Interval,
    /// `setTimeout` chain: the next poll is due one interval after the previous answer.
    Timeout,
}

impl PollMode {
    pub const ALL: [PollMode; 2] = [PollMode::Interval, PollMode::Timeout];

    /// Connections a browser opens to one origin over HTTP/1.1 (and so the most polls of one
    /// page in flight at once there).
    pub const BROWSER_CONNECTIONS: usize = 6;

    /// The command line's and `results.json`'s name.
    pub fn name(self) -> &'static str {
        match self {
            PollMode::Interval => "interval",
            PollMode::Timeout => "timeout",
        }
    }

    /// What a reader knows it by: the script that polls this way.
    pub fn plain_name(self) -> &'static str {
        match self {
            PollMode::Interval => "setInterval",
            PollMode::Timeout => "setTimeout chain",
        }
    }
}

impl fmt::Display for PollMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PollMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PollMode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = PollMode::ALL.iter().map(|m| m.name()).collect();
            format!("unknown --poll-mode `{s}`; use {}", names.join(" or "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_bad_one_says_what_is_valid() {
        for m in PollMode::ALL {
            assert_eq!(m.name().parse::<PollMode>(), Ok(m));
            assert_eq!(serde_json::to_string(&m).expect("serialises"), format!("\"{}\"", m.name()));
        }
        assert_eq!(PollMode::default(), PollMode::Interval);
        assert_eq!("x".parse::<PollMode>(), Err("unknown --poll-mode `x`; use interval or timeout".into()));
    }
}
