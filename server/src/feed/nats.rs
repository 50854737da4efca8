//! The feed across machines: a publisher forwards every event of its feed to NATS, and a
//! cluster node follows them into its own feed, keeping the origin's `seq`, `ts_us`, `epoch`.
//!
//! Core NATS (at most once) carries the events; a node that sees a gap in `seq` asks the
//! publisher for the missing events over request/reply (`proto::backplane`), or takes its
//! snapshot when the gap is older than the publisher's ring. Every gap, repaired event, reset,
//! duplicate and reconnect is counted at `/metrics`. Why not JetStream: `docs/cluster.md`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Subscriber};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use proto::backplane::{Repair, SUBJECT_EVENTS, SUBJECT_SINCE, SUBJECT_SNAPSHOT};
use proto::wire::{self, PushMessage, Snapshot};
use tokio::sync::broadcast::error::RecvError;

use super::{ApplyError, Feed, FeedOptions, Published};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// What can go wrong between a node or publisher and NATS.
#[derive(Debug, thiserror::Error)]
pub enum BackplaneError {
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect { url: String, source: async_nats::ConnectError },
    #[error("cannot subscribe to {subject}: {source}")]
    Subscribe { subject: &'static str, source: async_nats::SubscribeError },
    #[error("no snapshot from the publisher within {0:?} (is `server --publish` running on this NATS?)")]
    NoSnapshot(Duration),
}

/// How long one request to the publisher may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to NATS, retrying (every 200 ms) for at most `wait`; once connected the client
/// reconnects by itself for as long as the process lives.
pub async fn connect(url: &str, wait: Duration) -> Result<Client, BackplaneError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let opts = ConnectOptions::new()
            .name("pushpull")
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None);
        match opts.connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(BackplaneError::Connect { url: url.to_owned(), source: e })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Publisher side: forwards every event of `feed` to NATS and answers snapshot and repair
/// requests, until shutdown. Spawn it on the server's shutdown handle.
pub async fn publish(feed: Arc<Feed>, client: Client, shutdown: Shutdown) -> Result<(), BackplaneError> {
    let sub = |subject: &'static str| {
        let c = client.clone();
        async move { c.subscribe(subject).await.map_err(|source| BackplaneError::Subscribe { subject, source }) }
    };
    let mut snapshots = sub(SUBJECT_SNAPSHOT).await?;
    let mut repairs = sub(SUBJECT_SINCE).await?;
    let (mut last, _, mut rx) = feed.subscribe_snapshot();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = rx.recv() => match r {
                Ok(p) if p.seq <= last => {}
                Ok(p) => { send_event(&client, &p).await; last = p.seq; }
                Err(RecvError::Lagged(_)) => match feed.subscribe_since(last) {
                    // Fell behind its own feed: resend from the ring, nothing skipped.
                    Ok((backlog, new)) => {
                        for p in backlog {
                            send_event(&client, &p).await;
                            last = p.seq;
                        }
                        rx = new;
                    }
                    Err(e) => {
                        // Nodes see the gap and repair it from the snapshot.
                        tracing::warn!(error = %e, "publisher fell behind its ring; nodes will resync");
                        let (seq, _, new) = feed.subscribe_snapshot();
                        (last, rx) = (seq, new);
                    }
                },
                Err(RecvError::Closed) => return Ok(()),
            },
            Some(m) = snapshots.next() => {
                if let Some(reply) = m.reply {
                    let _ = client.publish(reply, feed.snapshot().1).await;
                }
            }
            Some(m) = repairs.next() => {
                if let Some(reply) = m.reply {
                    let _ = client.publish(reply, repair_answer(&feed, &m.payload)).await;
                }
            }
        }
    }
}

async fn send_event(client: &Client, p: &Published) {
    // Fails only once the client is closed; while NATS is away the client buffers, and what
    // it cannot buffer the nodes repair.
    if let Err(e) = client.publish(SUBJECT_EVENTS, Bytes::from(p.json.clone())).await {
        tracing::warn!(error = %e, seq = p.seq, "cannot publish an event to NATS");
    }
}

/// The answer to a `since` request, `"EPOCH SEQ"`: the events after SEQ from the ring, built
/// from the bytes already serialised, or the snapshot when they are gone or the epoch differs.
pub fn repair_answer(feed: &Feed, request: &[u8]) -> Bytes {
    let parsed = std::str::from_utf8(request).ok().and_then(|s| {
        let (e, s) = s.trim().split_once(' ')?;
        Some((e.parse::<u64>().ok()?, s.parse::<u64>().ok()?))
    });
    let events = match parsed {
        Some((epoch, since)) if epoch == feed.epoch() => feed.since(since).ok(),
        _ => None,
    };
    let mut out = BytesMut::new();
    match events {
        Some(events) => {
            out.put_slice(br#"{"repair":"events","events":["#);
            for (i, p) in events.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                out.put_slice(p.json.as_bytes());
            }
            out.put_slice(b"]}");
        }
        None => {
            out.put_slice(br#"{"repair":"snapshot","snapshot":"#);
            out.put_slice(&feed.snapshot().1);
            out.put_u8(b'}');
        }
    }
    out.freeze()
}

/// Node side, first step: subscribes to the events, then takes the publisher's snapshot
/// (retrying for at most `wait`, as the publisher may still be starting), so that no event
/// falls between the two; the feed starts from that snapshot.
pub async fn join(
    client: &Client,
    opts: FeedOptions,
    wait: Duration,
) -> Result<(Arc<Feed>, Subscriber), BackplaneError> {
    let events = client
        .subscribe(SUBJECT_EVENTS)
        .await
        .map_err(|source| BackplaneError::Subscribe { subject: SUBJECT_EVENTS, source })?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Ok(m) = client.request(SUBJECT_SNAPSHOT, Bytes::new()).await {
            if let Ok(PushMessage::Snapshot(s)) = wire::parse_push(&m.payload) {
                return Ok((Feed::from_snapshot(s, opts), events));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BackplaneError::NoSnapshot(wait));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Node side: applies every event from NATS to `feed`, repairing gaps, until shutdown.
pub async fn follow(
    feed: Arc<Feed>,
    client: Client,
    mut events: Subscriber,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    let stats = client.statistics();
    let mut connects = stats.connects.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            m = events.next() => match m {
                None => {
                    tracing::error!("the NATS subscription ended; this node's feed stops");
                    return;
                }
                Some(m) => {
                    metrics.backplane_bytes_received.inc_by(m.payload.len() as u64);
                    match wire::parse_push(&m.payload) {
                        Ok(PushMessage::Event(e)) => take(&feed, &client, &metrics, e).await,
                        _ => tracing::warn!(bytes = m.payload.len(), "not an event on {SUBJECT_EVENTS}"),
                    }
                }
            },
        }
        let now = stats.connects.load(Ordering::Relaxed);
        if now > connects {
            metrics.backplane_reconnects.inc_by(now - connects);
            connects = now;
        }
    }
}

/// Applies one event, repairing the gap before it if there is one.
async fn take(feed: &Feed, client: &Client, metrics: &Metrics, event: wire::Event) {
    match feed.apply(event.clone()) {
        Ok(_) => {}
        Err(ApplyError::NotNext { expected, got }) if got < expected => {
            metrics.feed_duplicates.inc();
        }
        Err(e) => {
            metrics.feed_gaps.inc();
            tracing::info!(cause = %e, "gap in the NATS feed; repairing from the publisher");
            repair(feed, client, metrics).await;
            match feed.apply(event) {
                // The repair usually brings this event too.
                Ok(_) | Err(ApplyError::NotNext { .. }) => {}
                Err(e) => tracing::warn!(cause = %e, "event still not applicable after the repair"),
            }
        }
    }
}

/// Asks the publisher for what follows this feed's latest event (three tries).
async fn repair(feed: &Feed, client: &Client, metrics: &Metrics) {
    for attempt in 1..=3 {
        let ask = format!("{} {}", feed.epoch(), feed.latest_seq());
        let answer = match client.request(SUBJECT_SINCE, Bytes::from(ask)).await {
            Ok(m) => m.payload,
            Err(e) => {
                tracing::warn!(error = %e, attempt, "repair request failed");
                continue;
            }
        };
        metrics.backplane_bytes_received.inc_by(answer.len() as u64);
        match serde_json::from_slice::<Repair>(&answer) {
            Ok(Repair::Events { events }) => {
                for e in events {
                    match feed.apply(e) {
                        Ok(_) => {
                            metrics.feed_events_repaired.inc();
                        }
                        Err(ApplyError::NotNext { expected, got }) if got < expected => {}
                        Err(e) => tracing::warn!(cause = %e, "repair event not applicable"),
                    };
                }
                return;
            }
            Ok(Repair::Snapshot { snapshot }) => {
                reset(feed, metrics, snapshot);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "unreadable repair answer"),
        }
    }
    tracing::error!("gap not repaired after 3 tries; the next event tries again");
}

fn reset(feed: &Feed, metrics: &Metrics, snapshot: Snapshot) {
    tracing::warn!(
        seq = snapshot.seq,
        epoch = snapshot.epoch,
        "restarting this node's feed from the publisher's snapshot"
    );
    feed.reset(snapshot);
    metrics.feed_resets.inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{EventSource, Generator};

    #[test]
    fn repairs_come_from_the_ring_or_the_snapshot() {
        let mut g = Generator::new(4, 10.0, 1);
        let opts = FeedOptions { ring: 4, payload_bytes: 0, client_queue: 8, epoch: Some(7) };
        let feed = Feed::new(g.initial_matches(), opts);
        for _ in 0..10 {
            feed.publish(g.draw());
        }
        let parse = |req: &str| serde_json::from_slice::<Repair>(&repair_answer(&feed, req.as_bytes()));
        match parse("7 8").expect("parses") {
            Repair::Events { events } => {
                assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![9, 10])
            }
            other => panic!("{other:?}"),
        }
        for req in ["7 2", "6 8", "nonsense"] {
            match parse(req).expect("parses") {
                Repair::Snapshot { snapshot } => assert_eq!((snapshot.seq, snapshot.epoch), (10, 7), "{req}"),
                other => panic!("{req}: {other:?}"),
            }
        }
    }
}
