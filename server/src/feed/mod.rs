//! The feed: the one source of truth every transport serves.
//!
//! [`Feed::publish`] stamps a change with `seq`, `ts_us` and `epoch`, serialises it **once**
//! (as JSON and as an SSE frame) and shares those bytes with every client of every transport.
//! The feed keeps the current snapshot, a ring of the last K events for cursors and resume,
//! a broadcast channel for push transports and a watch of the latest seq for long polls.
//! Publishing, the ring and the broadcast happen under one lock, so a subscriber that reads
//! the ring and subscribes under that lock sees every event exactly once. A cluster node's
//! feed takes events stamped by the publisher instead ([`Feed::apply`], in `seq` order only).

pub mod encoded;
pub mod generator;
pub mod nats;
pub mod replay;
pub mod source;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use generator::Generator;
pub use source::{Change, EventSource};

use crate::shutdown::Shutdown;
use proto::wire::{Event, MatchState, MessageType, Snapshot};

/// One published event, serialised once for every transport.
#[derive(Debug)]
pub struct Published {
    pub seq: u64,
    pub ts_us: u64,
    /// The event's JSON: a WebSocket text frame's payload, one element of a delta poll.
    pub json: Utf8Bytes,
    /// The same event as an SSE frame: `id: <seq>\nevent: event\ndata: <json>\n\n`.
    pub sse: Bytes,
}

/// A push client's place in the feed: every event published after it subscribed.
pub type Subscription = broadcast::Receiver<Arc<Published>>;

/// A cursor the ring cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Events after the cursor have already left the ring.
    #[error("cursor {since} is older than the oldest event kept ({oldest})")]
    TooOld { since: u64, oldest: u64 },
    /// The cursor is beyond the latest event (as after a server restart).
    #[error("cursor {since} is beyond the latest event ({latest}); the server may have restarted")]
    Ahead { since: u64, latest: u64 },
}

/// Sizes and identity of a feed.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// Events kept for cursors and resume.
    pub ring: usize,
    /// Each event's JSON is padded to at least this many bytes.
    pub payload_bytes: usize,
    /// Per-subscriber queue bound of the broadcast; a subscriber further behind lags.
    pub client_queue: usize,
    /// The feed's id; a fresh one is taken from the clock when `None`.
    pub epoch: Option<u64>,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions { ring: 4096, payload_bytes: 0, client_queue: 256, epoch: None }
    }
}

struct State {
    seq: u64,
    ts_us: u64,
    matches: Vec<MatchState>,
    ring: VecDeque<Arc<Published>>,
    snapshot: Bytes,
    /// Under the lock so that a [`Feed::reset`] can replace it: the old subscribers then see
    /// `Closed` and resync from the new snapshot.
    tx: broadcast::Sender<Arc<Published>>,
}

/// The shared feed; see the module doc.
pub struct Feed {
    /// Changes only when a node follows a restarted publisher ([`Feed::reset`]).
    epoch: AtomicU64,
    ring_cap: usize,
    payload_bytes: usize,
    client_queue: usize,
    state: RwLock<State>,
    latest: watch::Sender<u64>,
}

/// A stamped event a follower's feed cannot take as its next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The event belongs to another feed (its publisher restarted).
    #[error("event of epoch {got}, the feed's epoch is {epoch}")]
    Epoch { epoch: u64, got: u64 },
    /// The event is not the one after the latest: a gap (`got` > `expected`) or a repeat.
    #[error("event seq {got}, the next expected is {expected}")]
    NotNext { expected: u64, got: u64 },
}

impl Feed {
    /// A feed over these matches, before any event.
    pub fn new(matches: Vec<MatchState>, opts: FeedOptions) -> Arc<Feed> {
        let epoch = opts.epoch.unwrap_or_else(proto::now_us);
        let snap = Snapshot { kind_tag: MessageType::Snapshot, epoch, seq: 0, ts_us: 0, matches };
        Feed::from_snapshot(snap, opts)
    }

    /// A feed that continues another one from its snapshot (a cluster node starting late):
    /// same epoch, the next event expected is `snapshot.seq + 1`; `opts.epoch` is ignored.
    pub fn from_snapshot(snapshot: Snapshot, opts: FeedOptions) -> Arc<Feed> {
        let (tx, _) = broadcast::channel(opts.client_queue.max(1));
        let (latest, _) = watch::channel(snapshot.seq);
        let Snapshot { epoch, seq, ts_us, matches, .. } = snapshot;
        let encoded = encode_snapshot(epoch, seq, ts_us, &matches);
        Arc::new(Feed {
            epoch: AtomicU64::new(epoch),
            ring_cap: opts.ring.max(1),
            payload_bytes: opts.payload_bytes,
            client_queue: opts.client_queue.max(1),
            state: RwLock::new(State {
                seq,
                ts_us,
                matches,
                ring: VecDeque::with_capacity(opts.ring.clamp(1, 1 << 16)),
                snapshot: encoded,
                tx,
            }),
            latest,
        })
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The latest seq (0 before the first event).
    pub fn latest_seq(&self) -> u64 {
        *self.latest.borrow()
    }

    /// Stamps, serialises once, stores and broadcasts one change.
    pub fn publish(&self, change: Change) -> Arc<Published> {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let seq = st.seq + 1;
        // Never earlier than the previous event, whatever the wall clock does.
        let ts_us = proto::now_us().max(st.ts_us);
        let mut event = Event {
            kind_tag: MessageType::Event,
            seq,
            ts_us,
            epoch: self.epoch(),
            match_id: change.state.id,
            kind: change.kind,
            team: change.team,
            state: change.state,
            pad: String::new(),
        };
        let json = encode_event(&mut event, self.payload_bytes);
        self.store_at(&mut st, seq, ts_us, event.state, json)
    }

    /// Takes an event stamped elsewhere (by a cluster's publisher) as the next one, keeping its
    /// `seq`, `ts_us` and `epoch` (and its padding), so delay stays measured from the origin.
    pub fn apply(&self, mut event: Event) -> Result<Arc<Published>, ApplyError> {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let epoch = self.epoch();
        if event.epoch != epoch {
            return Err(ApplyError::Epoch { epoch, got: event.epoch });
        }
        if event.seq != st.seq + 1 {
            return Err(ApplyError::NotNext { expected: st.seq + 1, got: event.seq });
        }
        // The pad travels with the event, so this gives back the origin's bytes.
        let json = encode_event(&mut event, 0);
        let state = event.state.clone();
        Ok(self.store_at(&mut st, event.seq, event.ts_us, state, json))
    }

    /// Starts again from `snapshot` (a follower whose gap cannot be repaired event by event, or
    /// whose publisher restarted): the ring empties, and every push subscriber sees its
    /// subscription closed and resyncs from the new snapshot (see `transport/push.rs`).
    pub fn reset(&self, snapshot: Snapshot) {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.store(snapshot.epoch, Ordering::Relaxed);
        st.snapshot = encode_snapshot(snapshot.epoch, snapshot.seq, snapshot.ts_us, &snapshot.matches);
        st.seq = snapshot.seq;
        st.ts_us = snapshot.ts_us;
        st.matches = snapshot.matches;
        st.ring.clear();
        st.tx = broadcast::channel(self.client_queue).0;
        self.latest.send_replace(snapshot.seq);
    }

    fn store_at(
        &self,
        st: &mut State,
        seq: u64,
        ts_us: u64,
        state: MatchState,
        json: Vec<u8>,
    ) -> Arc<Published> {
        let id = state.id as usize;
        if id >= st.matches.len() {
            st.matches.resize(id + 1, state.clone());
        }
        st.matches[id] = state;
        let sse = proto::sse::frame(Some(seq), "event", &json);
        let published = Arc::new(Published { seq, ts_us, json: json_text(json), sse });
        st.seq = seq;
        st.ts_us = ts_us;
        if st.ring.len() == self.ring_cap {
            st.ring.pop_front();
        }
        st.ring.push_back(published.clone());
        st.snapshot = encode_snapshot(self.epoch(), seq, ts_us, &st.matches);
        // No receiver is not an error: nobody is subscribed right now.
        let _ = st.tx.send(published.clone());
        self.latest.send_replace(seq);
        published
    }

    /// The current snapshot: its seq and its JSON.
    pub fn snapshot(&self) -> (u64, Bytes) {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        (st.seq, st.snapshot.clone())
    }

    /// The current snapshot as a typed value (for 410 answers and tests).
    pub fn snapshot_value(&self) -> Snapshot {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        Snapshot {
            kind_tag: MessageType::Snapshot,
            epoch: self.epoch(),
            seq: st.seq,
            ts_us: st.ts_us,
            matches: st.matches.clone(),
        }
    }

    /// Every event after `since`, in order.
    pub fn since(&self, since: u64) -> Result<Vec<Arc<Published>>, CursorError> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        events_after(&st, since)
    }

    /// Every event after `since` plus a subscription to every later one, with nothing lost or
    /// repeated between the two.
    pub fn subscribe_since(&self, since: u64) -> Result<(Vec<Arc<Published>>, Subscription), CursorError> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        let backlog = events_after(&st, since)?;
        Ok((backlog, st.tx.subscribe()))
    }

    /// The current snapshot plus a subscription to every later event.
    pub fn subscribe_snapshot(&self) -> (u64, Bytes, Subscription) {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        (st.seq, st.snapshot.clone(), st.tx.subscribe())
    }

    /// A watch of the latest seq, for long polls.
    pub fn watch_latest(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// Publishes every change of `source` until it ends or shutdown begins.
    pub async fn pump<S: EventSource>(self: Arc<Self>, mut source: S, shutdown: Shutdown) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                change = source.next_change() => match change {
                    Some(c) => { self.publish(c); }
                    None => return,
                },
            }
        }
    }
}

fn events_after(st: &State, since: u64) -> Result<Vec<Arc<Published>>, CursorError> {
    if since > st.seq {
        return Err(CursorError::Ahead { since, latest: st.seq });
    }
    let oldest = st.ring.front().map_or(st.seq + 1, |p| p.seq);
    // `since + 1` must still be in the ring (or be the next event to come).
    if since + 1 < oldest {
        return Err(CursorError::TooOld { since, oldest });
    }
    let skip = (since + 1 - oldest) as usize;
    Ok(st.ring.iter().skip(skip).cloned().collect())
}

/// Serialises an event, padding its JSON to at least `payload_bytes` (the feed's one
/// serialisation of each event; public so the benches measure exactly this).
pub fn encode_event(event: &mut Event, payload_bytes: usize) -> Vec<u8> {
    let json = serde_json::to_vec(&*event).expect("an event always serialises");
    if json.len() >= payload_bytes {
        return json;
    }
    // `,"pad":"…"` adds 9 bytes plus the padding itself.
    let pad = payload_bytes.saturating_sub(json.len() + 9).max(1);
    event.pad = "x".repeat(pad);
    serde_json::to_vec(&*event).expect("an event always serialises")
}

fn json_text(json: Vec<u8>) -> Utf8Bytes {
    let bytes = Bytes::from(json);
    // serde_json writes UTF-8 only; checking once here keeps every later send free of it.
    Utf8Bytes::try_from(bytes).expect("serde_json output is UTF-8")
}

/// The snapshot's JSON.
pub fn encode_snapshot(epoch: u64, seq: u64, ts_us: u64, matches: &[MatchState]) -> Bytes {
    #[derive(serde::Serialize)]
    struct Borrowed<'a> {
        #[serde(rename = "type")]
        kind_tag: MessageType,
        epoch: u64,
        seq: u64,
        ts_us: u64,
        matches: &'a [MatchState],
    }
    let s = Borrowed { kind_tag: MessageType::Snapshot, epoch, seq, ts_us, matches };
    Bytes::from(serde_json::to_vec(&s).expect("a snapshot always serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::wire::{self, PushMessage};

    fn feed(ring: usize, payload: usize) -> (Arc<Feed>, Generator) {
        let g = Generator::new(4, 10.0, 1);
        let f = Feed::new(
            g.initial_matches(),
            FeedOptions { ring, payload_bytes: payload, client_queue: 16, epoch: Some(99) },
        );
        (f, g)
    }

    #[test]
    fn seqs_are_contiguous_and_bytes_parse_back() {
        let (f, mut g) = feed(8, 0);
        for want in 1..=20 {
            let p = f.publish(g.draw());
            assert_eq!(p.seq, want);
            match wire::parse_push(p.json.as_bytes()) {
                Ok(PushMessage::Event(e)) => {
                    assert_eq!((e.seq, e.epoch, e.ts_us), (want, 99, p.ts_us));
                }
                other => panic!("{other:?}"),
            }
        }
        let (seq, snap) = f.snapshot();
        assert_eq!(seq, 20);
        match wire::parse_push(&snap) {
            Ok(PushMessage::Snapshot(s)) => assert_eq!((s.seq, s.epoch, s.matches.len()), (20, 99, 4)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cursors_are_served_from_the_ring_or_refused() {
        let (f, mut g) = feed(8, 0);
        assert_eq!(f.since(0).map(|v| v.len()), Ok(0));
        for _ in 0..20 {
            f.publish(g.draw());
        }
        // Ring holds 13..=20.
        let seqs: Vec<u64> = f.since(12).expect("in ring").iter().map(|p| p.seq).collect();
        assert_eq!(seqs, (13..=20).collect::<Vec<_>>());
        assert_eq!(f.since(20).map(|v| v.len()), Ok(0));
        assert_eq!(f.since(11).unwrap_err(), CursorError::TooOld { since: 11, oldest: 13 });
        assert_eq!(f.since(21).unwrap_err(), CursorError::Ahead { since: 21, latest: 20 });
    }

    #[test]
    fn payload_padding_reaches_the_requested_size() {
        for want in [0usize, 10, 300, 301, 4096] {
            let (f, mut g) = feed(4, want);
            let p = f.publish(g.draw());
            assert!(p.json.len() >= want, "{} < {want}", p.json.len());
            if want > 400 {
                assert!(p.json.len() <= want + 1, "padding overshoots: {}", p.json.len());
            }
            assert!(matches!(wire::parse_push(p.json.as_bytes()), Ok(PushMessage::Event(_))));
        }
    }

    #[test]
    fn subscription_continues_the_backlog_without_gap() {
        let (f, mut g) = feed(64, 0);
        for _ in 0..5 {
            f.publish(g.draw());
        }
        let (backlog, mut rx) = f.subscribe_since(2).expect("in ring");
        f.publish(g.draw());
        let mut seqs: Vec<u64> = backlog.iter().map(|p| p.seq).collect();
        seqs.push(rx.try_recv().expect("the next event").seq);
        assert_eq!(seqs, vec![3, 4, 5, 6]);
    }

    #[test]
    fn a_follower_takes_the_origins_events_as_they_are() {
        let (origin, mut g) = feed(64, 300);
        for _ in 0..3 {
            origin.publish(g.draw());
        }
        let follower = Feed::from_snapshot(origin.snapshot_value(), FeedOptions::default());
        assert_eq!((follower.epoch(), follower.latest_seq()), (99, 3));
        let (_, _, mut rx) = follower.subscribe_snapshot();
        for _ in 0..2 {
            let p = origin.publish(g.draw());
            let Ok(PushMessage::Event(e)) = wire::parse_push(p.json.as_bytes()) else { panic!("an event") };
            let q = follower.apply(e).expect("the next event");
            assert_eq!((q.seq, q.ts_us, &q.json), (p.seq, p.ts_us, &p.json), "the origin's bytes and stamps");
            assert_eq!(rx.try_recv().expect("broadcast").seq, p.seq);
        }
        assert_eq!(follower.snapshot().1, origin.snapshot().1);
        let p = origin.publish(g.draw());
        origin.publish(g.draw());
        let Ok(PushMessage::Event(mut e)) =
            wire::parse_push(origin.since(6).expect("ring")[0].json.as_bytes())
        else {
            panic!("an event")
        };
        assert_eq!(follower.apply(e.clone()).unwrap_err(), ApplyError::NotNext { expected: 6, got: 7 });
        e.epoch = 1;
        assert_eq!(follower.apply(e).unwrap_err(), ApplyError::Epoch { epoch: 99, got: 1 });
        assert_eq!(p.seq, 6);
    }

    #[test]
    fn a_reset_starts_from_the_snapshot_and_closes_old_subscriptions() {
        let (origin, mut g) = feed(64, 0);
        let follower = Feed::from_snapshot(origin.snapshot_value(), FeedOptions::default());
        let (_, _, mut rx) = follower.subscribe_snapshot();
        for _ in 0..5 {
            origin.publish(g.draw());
        }
        follower.reset(origin.snapshot_value());
        assert_eq!(follower.latest_seq(), 5);
        assert_eq!(follower.snapshot().1, origin.snapshot().1);
        assert_eq!(rx.try_recv().unwrap_err(), broadcast::error::TryRecvError::Closed);
        assert_eq!(follower.since(4).unwrap_err(), CursorError::TooOld { since: 4, oldest: 6 });
    }
}
