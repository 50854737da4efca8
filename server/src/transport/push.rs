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
    Snapshot {
        seq: u64,
        json: Bytes,
    },
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
                    // A fresh subscription taken with the snapshot: the events still queued
                    // here are all older than it, and keeping them would only lag again.
                    let (seq, json, rx) = self.app.feed.subscribe_snapshot();
                    self.rx = rx;
                    self.last_seq = seq;
                    self.app.metrics.slow_consumer_resyncs.inc();
                    return Some(Item::Snapshot { seq, json });
                }
                Err(RecvError::Closed) => {
                    // The feed keeps its sender for as long as it lives, so `Closed` means a
                    // cluster node reset its feed to a fresh snapshot (feed/nats.rs): resync.
                    let (seq, json, rx) = self.app.feed.subscribe_snapshot();
                    self.rx = rx;
                    self.last_seq = seq;
                    return Some(Item::Snapshot { seq, json });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::feed::{EventSource, Feed, FeedOptions, Generator};
    use crate::shutdown::Shutdown;

    /// An app whose feed keeps 8 events and lets a subscriber fall 2 behind.
    fn app() -> (Arc<App>, Generator) {
        let g = Generator::new(4, 10.0, 1);
        let opts = FeedOptions { ring: 8, payload_bytes: 0, client_queue: 2, epoch: Some(1) };
        (App::new(Config::ephemeral(), Feed::new(g.initial_matches(), opts), Shutdown::new()), g)
    }

    fn seqs(items: &[Item]) -> Vec<(char, u64)> {
        items
            .iter()
            .map(|i| match i {
                Item::Snapshot { seq, .. } => ('s', *seq),
                Item::Event(e) => ('e', e.seq),
            })
            .collect()
    }

    #[tokio::test]
    async fn starts_after_the_cursor_or_from_the_snapshot() {
        let (app, mut g) = app();
        for _ in 0..10 {
            app.feed.publish(g.draw());
        }
        let open = |since| seqs(&Push::subscribe(&app, Transport::Ws, since).0);
        assert_eq!(open(Some(7)), [('e', 8), ('e', 9), ('e', 10)]);
        assert_eq!(open(Some(10)), []);
        assert_eq!(open(None), [('s', 10)]);
        assert_eq!(open(Some(1)), [('s', 10)], "too old for the ring");
        assert_eq!(open(Some(11)), [('s', 10)], "ahead: a restarted server");
        assert_eq!(app.metrics.transport(Transport::Ws).events_delivered.get(), 3);
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_resynced_once_and_counted() {
        let (app, mut g) = app();
        let (_, mut push) = Push::subscribe(&app, Transport::Sse, None);
        app.feed.publish(g.draw());
        let first = push.next().await.expect("open");
        assert_eq!(seqs(&[first]), [('e', 1)]);
        for _ in 0..5 {
            app.feed.publish(g.draw());
        }
        let resync = push.next().await.expect("open");
        assert_eq!(seqs(&[resync]), [('s', 6)]);
        assert_eq!(app.metrics.slow_consumer_resyncs.get(), 1);
        // Nothing older than the snapshot follows it, and the next event comes on time.
        app.feed.publish(g.draw());
        assert_eq!(seqs(&[push.next().await.expect("open")]), [('e', 7)]);
        assert_eq!(app.metrics.transport(Transport::Sse).events_delivered.get(), 2);
    }
}
