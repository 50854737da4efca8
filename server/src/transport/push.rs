//! A push client's place in the feed, shared by SSE and WebSocket; each keeps only its framing.
//!
//! [`Push::subscribe`] starts a client where it asked: after its cursor, from the ring, or
//! with the snapshot when it has no cursor or the ring cannot serve it (too old, or ahead after
//! a restart). [`Push::next`] then hands out every later event exactly once, and when the client
//! has fallen more than `--client-queue` events behind, a fresh snapshot instead (a resync,
//! counted). Events count as delivered when handed out here; frames count as sent where the
//! transport sends them.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast::error::RecvError;

use crate::app::App;
use crate::feed::{Published, Subscription};
use proto::Transport;

/// What a push client is sent next.
pub enum Item {
    /// The whole state: the opening snapshot, or a resync after falling behind.
    Snapshot { seq: u64, json: Bytes },
    Event(Arc<Published>),
}

/// One push client's subscription; see the module doc.
pub struct Push {
    app: Arc<App>,
    transport: Transport,
    rx: Subscription,
    last_seq: u64,
}

impl Push {
    /// Subscribes a client that has everything up to `since` (if given); returns what to send
    /// first (the snapshot, or every event after `since`) and the subscription for the rest.
    pub fn subscribe(app: &Arc<App>, transport: Transport, since: Option<u64>) -> (Vec<Item>, Push) {
        let feed = &app.feed;
        let resumed = since.and_then(|s| feed.subscribe_since(s).ok().map(|(backlog, rx)| (s, backlog, rx)));
        let (opening, rx, last_seq) = match resumed {
            Some((s, backlog, rx)) => {
                let last = backlog.last().map_or(s, |p| p.seq);
                app.metrics.transport(transport).events_delivered.inc_by(backlog.len() as u64);
                (backlog.into_iter().map(Item::Event).collect(), rx, last)
            }
            None => {
                let (seq, json, rx) = feed.subscribe_snapshot();
                (vec![Item::Snapshot { seq, json }], rx, seq)
            }
        };
        (opening, Push { app: app.clone(), transport, rx, last_seq })
    }

    /// The next event, or a resync; `None` once the feed has ended. Cancel-safe: nothing is
    /// lost when the future is dropped before it completes.
    pub async fn next(&mut self) -> Option<Item> {
        loop {
            match self.rx.recv().await {
                Ok(ev) if ev.seq <= self.last_seq => continue,
                Ok(ev) => {
                    self.last_seq = ev.seq;
                    self.app.metrics.transport(self.transport).events_delivered.inc();
                    return Some(Item::Event(ev));
                }
                Err(RecvError::Lagged(_)) => {
                    let (seq, json) = self.app.feed.snapshot();
                    self.last_seq = seq;
                    self.app.metrics.slow_consumer_resyncs.inc();
                    return Some(Item::Snapshot { seq, json });
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
