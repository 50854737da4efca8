//! Where events come from: the small interface between the feed and its source.
//!
//! The embedded [`Generator`](super::generator::Generator) is the one source; the feed stamps
//! its changes with `seq`, `ts_us` and `epoch`. A cluster node does not use this trait: its
//! events arrive already stamped by the publisher and enter through
//! [`Feed::apply`](super::Feed::apply) (`feed/nats.rs`), so the origin's stamps are kept.

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
