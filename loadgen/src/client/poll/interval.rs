//! A `setInterval` poller: a poll at every scheduled time whether or not the last one has
//! answered, as `setInterval(fetch, T)` sends them. Over HTTP/1.1 overlapping polls go out on
//! up to [`PollMode::BROWSER_CONNECTIONS`] kept-alive connections, as a browser opens them per
//! origin (each one opened counts as a connect); over HTTP/2 they are streams of the one
//! connection. A poll due while every connection is busy waits for one, its latency still
//! counted from its scheduled time.
//!
//! Each poll runs as a task of its own, so its answer is timed when it arrives even while
//! this loop opens a connection or backs off. When the client stops, every poll still in
//! flight or waiting is recorded as unanswered, with the time it had waited.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{request, Outcome, Poller, Sent, POLL_LIMIT};
use crate::client::counted::Counts;
use crate::client::http::{Answer, Conn, Stream};
use crate::client::{Attempt, Opened, PollMode, WindowPoll};
use crate::failure::Failure;
use crate::recorder::ClientRecord;
use crate::schedule::Schedule;
use proto::Protocol;

/// Most polls of one client in flight at once over HTTP/2: a bound so that a stalled server
/// cannot grow a client's polls without limit (RFC 9113 recommends servers allow at least
/// 100 concurrent streams).
const H2_STREAMS: usize = 100;

/// Polls client `i` on `schedule` (whose first poll is due at `first`) until the step ends.
pub(super) async fn run(mut p: Poller<'_>, i: usize, schedule: Schedule, first: Instant) -> ClientRecord {
    let ctx = p.ctx;
    let mut pool = Pool::default();
    let mut flying: JoinSet<Flown> = JoinSet::new();
    // Polls in flight by token: what to record if the client stops before their answer.
    let mut in_flight: HashMap<u64, Pending> = HashMap::new();
    // Due polls waiting for a connection, each counted for the drain while it waits.
    let mut waiting: VecDeque<(Instant, WindowPoll)> = VecDeque::new();
    let (mut k, mut next_token, mut next) = (0u64, 0u64, first);
    'polling: loop {
        // Send every due poll a connection can take now.
        while let Some(&(due, _)) = waiting.front() {
            let link = match pool.link(&mut p, i, in_flight.len()).await {
                Attempt::Open(Some(link)) => link,
                Attempt::Open(None) => break,
                Attempt::Retry => continue 'polling,
                Attempt::Stop => break 'polling,
            };
            let Some((_, window)) = waiting.pop_front() else { break };
            let snapshot = p.asks_snapshot();
            let req = request(ctx, i, p.cursor, p.coding);
            let token = next_token;
            next_token += 1;
            in_flight.insert(token, Pending { due, at: Instant::now(), snapshot, _window: window });
            flying.spawn(fly(link, req, token));
        }
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => break,
            _ = tokio::time::sleep_until(ctx.stop_at) => break,
            Some(joined) = flying.join_next(), if !flying.is_empty() => {
                // A poll task that panicked stays in `in_flight`: unanswered at the end.
                let Ok(Flown { token, link, answered, result }) = joined else { continue };
                let Some(pending) = in_flight.remove(&token) else { continue };
                let sent = Sent { due: Some(pending.due), at: pending.at, answered, snapshot: pending.snapshot };
                if let Some((t, counts)) = &link.opened {
                    p.rec.connects_us.push(answered.saturating_duration_since(*t).as_micros() as u32);
                    p.rec.setup(counts.total());
                }
                match result {
                    Ok(a) => {
                        p.take_in(&a, &sent);
                        pool.give_back(link);
                    }
                    Err(e) => {
                        p.failed(&e, &sent);
                        drop(pending);
                        pool.lose(link);
                        if !p.reconnect.lost(ctx, &mut p.rec, &e).await {
                            break;
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next) => {
                waiting.push_back((next, ctx.window_poll(Some(next))));
                k += 1;
                next = schedule.at(k).unwrap_or(ctx.stop_at);
            }
        }
    }
    // The client stops: what is in flight or still waiting for a connection was not answered,
    // and so is every poll due before now whose timer this loop had not yet taken in.
    let now = Instant::now();
    while next < now.min(ctx.stop_at) {
        waiting.push_back((next, ctx.window_poll(Some(next))));
        k += 1;
        next = schedule.at(k).unwrap_or(ctx.stop_at);
    }
    let snapshot = p.asks_snapshot();
    let mut gone: Vec<Sent> = in_flight
        .into_values()
        .map(|q| Sent { due: Some(q.due), at: q.at, answered: now, snapshot: q.snapshot })
        .collect();
    gone.extend(waiting.into_iter().map(|(due, _)| Sent {
        due: Some(due),
        at: now,
        answered: now,
        snapshot,
    }));
    gone.sort_by_key(|s| s.due);
    for sent in &gone {
        p.record(sent, Outcome::Unanswered);
    }
    flying.abort_all();
    p.rec
}

/// A poll on its way: when it was due and sent, whether it asked for the snapshot, and its
/// place in the drain's count (settled when it is dropped).
struct Pending<'a> {
    due: Instant,
    at: Instant,
    snapshot: bool,
    _window: WindowPoll<'a>,
}

/// What a poll task hands back: its connection (or stream), when the answer (or failure)
/// arrived, and the answer.
struct Flown {
    token: u64,
    link: Link,
    answered: Instant,
    result: Result<Answer, Failure>,
}

/// What a poll goes out on, and when the attempt that opened it started if the poll is the
/// first on it (its connect time runs to this poll's answer).
struct Link {
    via: Via,
    /// For a link on a new connection: when its attempt started, and the connection's bytes
    /// (its setup bytes, read at the first answer).
    opened: Option<(Instant, Arc<Counts>)>,
}

enum Via {
    /// A whole HTTP/1.1 connection, one request at a time.
    H1(Conn),
    /// A stream of the client's HTTP/2 connection.
    H2(Stream),
}

async fn fly(mut link: Link, req: http::Request<http_body_util::Empty<bytes::Bytes>>, token: u64) -> Flown {
    let result = match &mut link.via {
        Via::H1(c) => c.fetch(req, POLL_LIMIT).await,
        Via::H2(s) => s.fetch(req, POLL_LIMIT).await,
    };
    Flown { token, link, answered: Instant::now(), result }
}

/// A client's connections, as a browser keeps them for one origin.
#[derive(Default)]
struct Pool {
    /// Open HTTP/1.1 connections not carrying a poll.
    idle: Vec<Conn>,
    /// HTTP/1.1 connections open: idle or carrying a poll.
    open: usize,
    /// The HTTP/2 connection.
    h2: Option<Conn>,
}

impl Pool {
    /// Something the next poll can go out on: an idle connection, a new one while fewer than
    /// the browser's are open, a stream of the HTTP/2 connection; `Open(None)` while every
    /// connection (or the stream bound) is busy.
    async fn link(&mut self, p: &mut Poller<'_>, i: usize, in_flight: usize) -> Attempt<Option<Link>> {
        match p.ctx.dialer(i).protocol {
            Protocol::H1 => {
                while let Some(c) = self.idle.pop() {
                    if c.is_open() {
                        return Attempt::Open(Some(Link { via: Via::H1(c), opened: None }));
                    }
                    self.open -= 1;
                }
                if self.open >= PollMode::BROWSER_CONNECTIONS {
                    return Attempt::Open(None);
                }
                match Pool::open(p, i).await {
                    Attempt::Open(Opened { conn, started }) => {
                        self.open += 1;
                        let opened = Some((started, conn.counts()));
                        Attempt::Open(Some(Link { via: Via::H1(conn), opened }))
                    }
                    Attempt::Retry => Attempt::Retry,
                    Attempt::Stop => Attempt::Stop,
                }
            }
            Protocol::H2 => {
                if in_flight >= H2_STREAMS {
                    return Attempt::Open(None);
                }
                if let Some(stream) = self.h2.as_ref().filter(|c| c.is_open()).and_then(Conn::stream) {
                    return Attempt::Open(Some(Link { via: Via::H2(stream), opened: None }));
                }
                match Pool::open(p, i).await {
                    Attempt::Open(Opened { conn, started }) => {
                        let Some(stream) = conn.stream() else { return Attempt::Retry };
                        let opened = Some((started, conn.counts()));
                        // Polls still on the old connection (closed) fail by themselves.
                        self.h2 = Some(conn);
                        Attempt::Open(Some(Link { via: Via::H2(stream), opened }))
                    }
                    Attempt::Retry => Attempt::Retry,
                    Attempt::Stop => Attempt::Stop,
                }
            }
        }
    }

    async fn open(p: &mut Poller<'_>, i: usize) -> Attempt<Opened<Conn>> {
        let ctx = p.ctx;
        p.reconnect.connect(ctx, &mut p.rec, ctx.dialer(i).http(ctx.source(i))).await
    }

    /// A poll was answered: its HTTP/1.1 connection can take the next one.
    fn give_back(&mut self, link: Link) {
        match link.via {
            Via::H1(c) if c.is_open() => self.idle.push(c),
            Via::H1(_) => self.open -= 1,
            Via::H2(_) => {}
        }
    }

    /// A poll failed: its HTTP/1.1 connection is dropped (the HTTP/2 one reports itself
    /// closed if it is).
    fn lose(&mut self, link: Link) {
        if let Via::H1(_) = link.via {
            self.open -= 1;
        }
    }
}
