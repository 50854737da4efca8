//! Watching the server while a step runs: a reading of every node's `/metrics` every half
//! second and at the window's edges (feeding one [`Window`] per node), resident memory over
//! the whole step, the drain (over once every client reached the window's last event,
//! [`Live::all_reached`], and every poll due in the window was answered,
//! [`Live::window_polls_settled`]) and when to give up on a node. A failed reading is skipped,
//! never taken as zeros; about three seconds of them on any node, or the embedded server's
//! exit, end the step ([`Lost`]); a page that lacks a metric is counted (`metrics_protocol`)
//! and said on stderr.
//!
//! The nodes of a cluster serve one feed, so the first node's window bounds the step's events
//! for every client; each node's own window gives its counters (bytes, CPU, backplane).

use std::collections::BTreeMap;
use std::time::Duration;

use proto::process;
use proto::Transport;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::client::Live;
use crate::embedded::Embedded;
use crate::failure::ErrorKind;
use crate::plan::Timeline;
use crate::progress::StepProgress;
use crate::recorder::ClientRecord;
use crate::scrape::{ScrapeError, Scraper};
use crate::window::{Reading, Segments, ServerNumbers, Window};
use futures_util::future::join_all;

/// Failed readings in a row (one each half second) after which the server is lost: a
/// restarted server is back long before that.
const FAILURES_TO_GIVE_UP: u32 = 6;

/// How often the drain looks whether every client has reached the window's last event: a
/// scan of one atomic pair per client, cheap next to the clients themselves.
const DRAIN_CHECK: Duration = Duration::from_millis(20);

/// Why a step lost its server, with the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// No answer for about three seconds, or the embedded server exited.
    Gone(String),
    /// Its `/metrics` page cannot be read (a metric is missing, or it does not parse).
    Unreadable(String),
    /// This process had no file descriptor left to reach the server's `/metrics` with: the
    /// server may be well, the load generator's machine limit was met.
    OutOfFiles(String),
}

impl Lost {
    /// The key the loss is counted under in the step's errors.
    pub fn error_key(&self) -> &'static str {
        match self {
            Lost::Gone(_) => "server_gone",
            Lost::Unreadable(_) => "metrics_protocol",
            Lost::OutOfFiles(_) => "open_files",
        }
    }

    /// Why the run ended, in one line.
    pub fn describe(&self, step: &str) -> String {
        match self {
            Lost::Gone(cause) => format!("the server stopped answering during step {step}: {cause}"),
            Lost::Unreadable(cause) => format!("{cause} (at step {step})"),
            Lost::OutOfFiles(cause) => format!(
                "the load generator ran out of file descriptors during step {step} (RLIMIT_NOFILE \
                 {}): {cause}",
                rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
            ),
        }
    }
}

impl From<ScrapeError> for Lost {
    fn from(e: ScrapeError) -> Lost {
        match e {
            ScrapeError::Unanswered { ref failure, .. } if failure.kind() == ErrorKind::OpenFiles => {
                Lost::OutOfFiles(e.to_string())
            }
            ScrapeError::Unanswered { .. } => Lost::Gone(e.to_string()),
            ScrapeError::Unreadable { .. } => Lost::Unreadable(e.to_string()),
        }
    }
}

/// Resident memory over a whole step, in bytes (servers: summed over the nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub server_start: u64,
    pub server_peak: u64,
    pub own_start: u64,
    pub own_peak: u64,
}

/// What watching a step found.
pub struct Watched {
    /// The first node's window: the step's events.
    pub segments: Segments,
    /// Every node's window and memory, in `--target` order (the first node included).
    pub nodes: Vec<NodeWatched>,
    pub memory: Memory,
    pub lost: Option<Lost>,
    /// Readings whose page could not be read.
    pub unreadable: u64,
}

/// One node's window and resident memory over the step.
pub struct NodeWatched {
    pub segments: Segments,
    pub rss_start: u64,
    pub rss_peak: u64,
}

impl Watched {
    /// The step-level errors the watch counted.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        let mut errors = BTreeMap::new();
        if self.unreadable > 0 {
            errors.insert("metrics_protocol".to_string(), self.unreadable);
        }
        if let Some(lost @ (Lost::Gone(_) | Lost::OutOfFiles(_))) = &self.lost {
            errors.insert(lost.error_key().to_string(), 1);
        }
        errors
    }
}

/// One node, watched through one step.
struct Node<'a> {
    scraper: &'a mut Scraper,
    window: Window,
    last_ok: Reading,
    failures: u32,
    rss_start: u64,
    rss_peak: u64,
}

/// The server's nodes, watched through one step.
pub struct Watch<'a> {
    nodes: Vec<Node<'a>>,
    embedded: Option<&'a mut Embedded>,
    transport: Transport,
    own_start: u64,
    own_peak: u64,
    unreadable: u64,
    lost: Option<Lost>,
}

impl<'a> Watch<'a> {
    /// Takes the reading the step starts from on every node (before any client connects);
    /// without it there is no step to run.
    pub async fn start(
        scrapers: &'a mut [Scraper],
        embedded: Option<&'a mut Embedded>,
        transport: Transport,
    ) -> Result<Watch<'a>, Lost> {
        let own_start = process::resident_bytes();
        let firsts = join_all(scrapers.iter_mut().map(|s| take(s, transport))).await;
        let mut nodes = Vec::with_capacity(firsts.len());
        for (scraper, first) in scrapers.iter_mut().zip(firsts) {
            let pre = first?;
            let rss = pre.server.rss_bytes;
            nodes.push(Node {
                scraper,
                window: Window::default(),
                last_ok: pre,
                failures: 0,
                rss_start: rss,
                rss_peak: rss,
            });
        }
        if nodes.is_empty() {
            return Err(Lost::Gone("no server to watch".into()));
        }
        Ok(Watch { nodes, embedded, transport, own_start, own_peak: own_start, unreadable: 0, lost: None })
    }

    /// The first node's window: the step's.
    fn window(&self) -> &Window {
        &self.nodes[0].window
    }

    /// Reads every half second and at the window's edges until every client has reached the
    /// window's last event (checked every [`DRAIN_CHECK`] once the window closed), the step's
    /// stop time (the drain's bound), the step's cancellation, or the loss of a node (which
    /// cancels the step).
    pub async fn run(
        &mut self,
        timeline: &Timeline,
        cancel: &CancellationToken,
        progress: &StepProgress,
        live: &Live,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut drain = tokio::time::interval(DRAIN_CHECK);
        drain.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let (open, closed) = (self.window().is_open(), self.window().is_closed());
            let read = tokio::select! {
                _ = tick.tick() => true,
                _ = tokio::time::sleep_until(timeline.window_start), if !open => true,
                _ = tokio::time::sleep_until(timeline.window_end), if open && !closed => true,
                _ = drain.tick(), if closed => false,
                _ = tokio::time::sleep_until(timeline.stop_at) => true,
                _ = cancel.cancelled() => true,
            };
            if self.drained(live) {
                break;
            }
            if !read {
                continue;
            }
            let now = Instant::now();
            self.read(now, timeline).await;
            if self.lost.is_some() {
                cancel.cancel();
            }
            self.own_peak = self.own_peak.max(process::resident_bytes());
            progress.tick(now.saturating_duration_since(timeline.t0), live);
            if now >= timeline.stop_at || cancel.is_cancelled() {
                break;
            }
        }
    }

    /// Whether every client has reached the window's last event and every short or delta poll
    /// due in the window has been answered (or given up on): the drain is over.
    fn drained(&self, live: &Live) -> bool {
        self.window().last_event().is_some_and(|(epoch, seq)| live.all_reached(epoch, seq))
            && live.window_polls_settled()
    }

    /// The loop can end before the closing reading (a slow scrape ran past the stop time, or
    /// the step was cancelled): take it now, so the window ends where it really ended.
    pub async fn close_window(&mut self) {
        if self.lost.is_some() {
            return;
        }
        let transport = self.transport;
        let late = join_all(self.nodes.iter_mut().map(|n| async move {
            if n.window.is_open() && !n.window.is_closed() {
                Some(take(n.scraper, transport).await)
            } else {
                None
            }
        }))
        .await;
        for (i, r) in late.into_iter().enumerate() {
            match r {
                Some(Ok(r)) => self.nodes[i].window.close_late(r),
                Some(Err(e)) => self.count(&e),
                None => {}
            }
        }
    }

    /// The finished windows, once the clients handed back their records.
    pub fn finish(self, records: &[ClientRecord]) -> Watched {
        let nodes: Vec<NodeWatched> = self
            .nodes
            .into_iter()
            .map(|n| NodeWatched {
                segments: n.window.finish(n.last_ok, records),
                rss_start: n.rss_start,
                rss_peak: n.rss_peak,
            })
            .collect();
        let memory = Memory {
            server_start: nodes.iter().map(|n| n.rss_start).sum(),
            server_peak: nodes.iter().map(|n| n.rss_peak).sum(),
            own_start: self.own_start,
            own_peak: self.own_peak,
        };
        let segments = nodes[0].segments.clone();
        Watched { segments, nodes, memory, lost: self.lost, unreadable: self.unreadable }
    }

    /// A reading of every node in the loop: failures in a row on one node (or the embedded
    /// server's exit) lose the server.
    async fn read(&mut self, now: Instant, timeline: &Timeline) {
        if let Some(how) = self.embedded.as_mut().and_then(|e| e.ended()) {
            self.lost = Some(Lost::Gone(format!("the embedded server ended: {how}")));
            return;
        }
        let transport = self.transport;
        let readings = join_all(self.nodes.iter_mut().map(|n| take(n.scraper, transport))).await;
        for (i, r) in readings.into_iter().enumerate() {
            match r {
                Ok(r) => {
                    let n = &mut self.nodes[i];
                    n.failures = 0;
                    n.rss_peak = n.rss_peak.max(r.server.rss_bytes);
                    n.window.observe(r, now, timeline);
                    n.last_ok = r;
                }
                Err(e) => {
                    self.nodes[i].failures += 1;
                    self.count(&e);
                    if self.nodes[i].failures >= FAILURES_TO_GIVE_UP && self.lost.is_none() {
                        self.lost = Some(Lost::from(e));
                    }
                }
            }
        }
    }

    fn count(&mut self, e: &ScrapeError) {
        match e {
            ScrapeError::Unreadable { .. } => {
                self.unreadable += 1;
                tracing::warn!("skipping a reading: {e}");
            }
            ScrapeError::Unanswered { .. } => tracing::debug!("skipping a reading: {e}"),
        }
    }
}

/// One reading of a node, and this process's CPU at the same moment.
async fn take(scraper: &mut Scraper, transport: Transport) -> Result<Reading, ScrapeError> {
    let sample = scraper.sample().await?;
    let server = ServerNumbers::read(&sample, transport)
        .map_err(|source| ScrapeError::Unreadable { server: scraper.host().to_string(), source })?;
    Ok(Reading {
        server,
        own_cpu: process::cpu_seconds(),
        tcp_segments: process::tcp_segments_sent(),
        at: Instant::now(),
    })
}
