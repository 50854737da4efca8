//! The five ways a page follows the feed, with every name each one goes by: on the command
//! line and in `results.json` (`short-poll`), as a `/metrics` label (`short_poll`), and in
//! plain words for a reader (`short polling`).
//!
//! [`Channel`] adds what the server counts beside them (the echo socket, everything else),
//! so that the server's counters and the load generator's readings index the same list.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A transport under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Transport {
    #[serde(rename = "short-poll")]
    ShortPoll,
    #[serde(rename = "delta-poll")]
    DeltaPoll,
    #[serde(rename = "long-poll")]
    LongPoll,
    #[serde(rename = "sse")]
    Sse,
    #[serde(rename = "ws")]
    Ws,
}

impl Transport {
    pub const ALL: [Transport; 5] =
        [Transport::ShortPoll, Transport::DeltaPoll, Transport::LongPoll, Transport::Sse, Transport::Ws];

    /// The command line's and `results.json`'s name.
    pub fn name(self) -> &'static str {
        match self {
            Transport::ShortPoll => "short-poll",
            Transport::DeltaPoll => "delta-poll",
            Transport::LongPoll => "long-poll",
            Transport::Sse => "sse",
            Transport::Ws => "ws",
        }
    }

    /// The `transport` label value in `/metrics`.
    pub fn label(self) -> &'static str {
        Channel::Feed(self).label()
    }

    /// The name a reader knows it by.
    pub fn plain_name(self) -> &'static str {
        match self {
            Transport::ShortPoll => "short polling",
            Transport::DeltaPoll => "delta polling",
            Transport::LongPoll => "long polling",
            Transport::Sse => "Server-Sent Events",
            Transport::Ws => "WebSocket",
        }
    }

    /// Whether clients send requests on a schedule (and so have a request latency).
    pub fn is_scheduled_poll(self) -> bool {
        matches!(self, Transport::ShortPoll | Transport::DeltaPoll)
    }

    /// Whether clients see only the latest state (a snapshot), so that events between two
    /// polls are coalesced by design.
    pub fn is_snapshot(self) -> bool {
        self == Transport::ShortPoll
    }

    /// Whether clients send HTTP requests at all (push transports open a connection and
    /// listen).
    pub fn is_poll(self) -> bool {
        matches!(self, Transport::ShortPoll | Transport::DeltaPoll | Transport::LongPoll)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Transport::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            format!("unknown transport `{s}`; use short-poll, delta-poll, long-poll, sse or ws")
        })
    }
}

/// What the server counts a connection under: the transport of its first request, the echo
/// socket, other (the demo page, `/metrics`, `/healthz`), or shared: an HTTP/2 connection
/// that has carried requests of more than one channel at once (a browser's), whose bytes from
/// then on cannot be split between them without guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Feed(Transport),
    WsEcho,
    Other,
    Shared,
}

impl Channel {
    /// Every channel, in the order of [`Channel::index`].
    pub const ALL: [Channel; 8] = [
        Channel::Feed(Transport::ShortPoll),
        Channel::Feed(Transport::DeltaPoll),
        Channel::Feed(Transport::LongPoll),
        Channel::Feed(Transport::Sse),
        Channel::Feed(Transport::Ws),
        Channel::WsEcho,
        Channel::Other,
        Channel::Shared,
    ];

    /// The `transport` label value in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Feed(Transport::ShortPoll) => "short_poll",
            Channel::Feed(Transport::DeltaPoll) => "delta_poll",
            Channel::Feed(Transport::LongPoll) => "long_poll",
            Channel::Feed(Transport::Sse) => "sse",
            Channel::Feed(Transport::Ws) => "ws",
            Channel::WsEcho => "ws_echo",
            Channel::Other => "other",
            Channel::Shared => "shared",
        }
    }

    pub fn from_label(label: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.label() == label)
    }

    /// Position in [`Channel::ALL`]: an array index for counters kept per channel.
    pub fn index(self) -> usize {
        match self {
            Channel::Feed(t) => t as usize,
            Channel::WsEcho => 5,
            Channel::Other => 6,
            Channel::Shared => 7,
        }
    }

    /// The channel at `i` in [`Channel::ALL`] (`Other` beyond it).
    pub fn from_index(i: usize) -> Channel {
        Channel::ALL.get(i).copied().unwrap_or(Channel::Other)
    }
}

impl From<Transport> for Channel {
    fn from(t: Transport) -> Channel {
        Channel::Feed(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.name().parse::<Transport>(), Ok(t));
            let json = serde_json::to_string(&t).expect("serialises");
            assert_eq!(json, format!("\"{}\"", t.name()));
            assert_eq!(serde_json::from_str::<Transport>(&json).expect("parses"), t);
        }
        assert!("carrier-pigeon".parse::<Transport>().unwrap_err().contains("unknown transport"));
    }

    #[test]
    fn channels_index_and_label_round_trip() {
        for (i, c) in Channel::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(Channel::from_index(i), c);
            assert_eq!(Channel::from_label(c.label()), Some(c));
        }
        assert_eq!(Channel::from_label("carrier_pigeon"), None);
        assert_eq!(Transport::Ws.label(), "ws");
    }
}
