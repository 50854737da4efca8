//! Where events come from: the small interface between the feed and its source.
//!
//! Today the only source is the embedded [`Generator`](super::generator::Generator); a
//! message-broker subscriber (NATS, Redis pub/sub) can take its place later without the
//! transports noticing, because the [`Feed`](super::Feed) stamps `seq`, `ts_us` and `epoch`.

use std::future::Future;

use proto::wire::{EventKind, MatchState, Side};

/// One change to one match, before the feed stamps and serialises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: EventKind,
    pub team: Option<Side>,
    /// The match's state after the change (its `id` says which match).
    pub state: MatchState,
}

/// A stream of changes to a fixed set of matches.
pub trait EventSource: Send + 'static {
    /// The matches as they stand before the first change.
    fn initial_matches(&self) -> Vec<MatchState>;

    /// Waits for the next change; `None` when the source has ended.
    fn next_change(&mut self) -> impl Future<Output = Option<Change>> + Send;
}
