//! The cluster backplane's names and shapes: the NATS subjects a publisher and its nodes share.
//!
//! Events travel as the exact JSON every transport serves (`wire::Event`, stamped once at the
//! publisher). NATS core delivery is at most once, so a node that sees a gap in `seq` asks the
//! publisher over request/reply: [`SUBJECT_SINCE`] answers the events after a cursor from its
//! ring, or its snapshot when the cursor is older than the ring ([`Repair`]).

use serde::{Deserialize, Serialize};

use crate::wire::{Event, Snapshot};

/// Every event, published once by the publisher.
pub const SUBJECT_EVENTS: &str = "pushpull.feed.events";
/// Request: empty. Reply: the publisher's current `wire::Snapshot` JSON.
pub const SUBJECT_SNAPSHOT: &str = "pushpull.feed.snapshot";
/// Request: a cursor (the last seq the node has) as decimal text. Reply: a [`Repair`].
pub const SUBJECT_SINCE: &str = "pushpull.feed.since";

/// The publisher's answer to a [`SUBJECT_SINCE`] request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "repair", rename_all = "snake_case")]
pub enum Repair {
    /// Every event after the cursor, in order.
    Events { events: Vec<Event> },
    /// The cursor is older than the publisher's ring (or of another epoch): start again here.
    Snapshot { snapshot: Snapshot },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MessageType;

    #[test]
    fn repair_round_trips() {
        let snap = Snapshot { kind_tag: MessageType::Snapshot, epoch: 3, seq: 9, ts_us: 5, matches: vec![] };
        for r in [Repair::Events { events: vec![] }, Repair::Snapshot { snapshot: snap }] {
            let json = serde_json::to_string(&r).expect("serialises");
            assert_eq!(serde_json::from_str::<Repair>(&json).expect("parses"), r, "{json}");
        }
    }
}
