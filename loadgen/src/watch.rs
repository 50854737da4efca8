//! Watching the server while a step runs: a reading of `/metrics` every half second and at
//! the window's edges (feeding the [`Window`]), resident memory over the whole step, the
//! drain (over once every client reached the window's last event, [`Live::all_reached`], and
//! every poll due in the window was answered, [`Live::window_polls_settled`]) and
//! when to give up on the server. A failed reading is skipped, never taken as zeros; about
//! three seconds of them, or the embedded server's exit, end the step ([`Lost`]); a page that
//! lacks a metric is counted (`metrics_protocol`) and said on stderr.

use std::collections::BTreeMap;
use std::time::Duration;

use proto::process;
use proto::Transport;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::client::Live;
use crate::embedded::Embedded;
use crate::plan::Timeline;
use crate::progress::StepProgress;
use crate::recorder::ClientRecord;
use crate::scrape::{ScrapeError, Scraper};
use crate::window::{Reading, Segments, ServerNumbers, Window};

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
}

impl Lost {
    /// The key the loss is counted under in the step's errors.
    pub fn error_key(&self) -> &'static str {
        match self {
            Lost::Gone(_) => "server_gone",
            Lost::Unreadable(_) => "metrics_protocol",
        }
    }

    /// Why the run ended, in one line.
    pub fn describe(&self, step: &str) -> String {
        match self {
            Lost::Gone(cause) => format!("the server stopped answering during step {step}: {cause}"),
            Lost::Unreadable(cause) => format!("{cause} (at step {step})"),
        }
    }
}

impl From<ScrapeError> for Lost {
    fn from(e: ScrapeError) -> Lost {
        match e {
            ScrapeError::Unanswered { .. } => Lost::Gone(e.to_string()),
            ScrapeError::Unreadable { .. } => Lost::Unreadable(e.to_string()),
        }
    }
}

/// Resident memory over a whole step, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub server_start: u64,
    pub server_peak: u64,
    pub own_start: u64,
    pub own_peak: u64,
}

/// What watching a step found.
pub struct Watched {
    pub segments: Segments,
    pub memory: Memory,
    pub lost: Option<Lost>,
    /// Readings whose page could not be read.
    pub unreadable: u64,
}

impl Watched {
    /// The step-level errors the watch counted.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        let mut errors = BTreeMap::new();
        if self.unreadable > 0 {
            errors.insert("metrics_protocol".to_string(), self.unreadable);
        }
        if let Some(lost @ Lost::Gone(_)) = &self.lost {
            errors.insert(lost.error_key().to_string(), 1);
        }
        errors
    }
}

/// The server, watched through one step.
pub struct Watch<'a> {
    scraper: &'a mut Scraper,
    embedded: Option<&'a mut Embedded>,
    transport: Transport,
    window: Window,
    memory: Memory,
    last_ok: Reading,
    failures: u32,
    unreadable: u64,
    lost: Option<Lost>,
}

impl<'a> Watch<'a> {
    /// Takes the reading the step starts from (before any client connects); without it there
    /// is no step to run.
    pub async fn start(
        scraper: &'a mut Scraper,
        embedded: Option<&'a mut Embedded>,
        transport: Transport,
    ) -> Result<Watch<'a>, Lost> {
        let own_start = process::resident_bytes();
        let pre = take(scraper, transport).await?;
        let server_start = pre.server.rss_bytes;
        let memory = Memory { server_start, server_peak: server_start, own_start, own_peak: own_start };
        let window = Window::default();
        Ok(Watch {
            scraper,
            embedded,
            transport,
            window,
            memory,
            last_ok: pre,
            failures: 0,
            unreadable: 0,
            lost: None,
        })
    }

    /// Reads every half second and at the window's edges until every client has reached the
    /// window's last event (checked every [`DRAIN_CHECK`] once the window closed), the step's
    /// stop time (the drain's bound), the step's cancellation, or the loss of the server
    /// (which cancels the step).
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
            let read = tokio::select! {
                _ = tick.tick() => true,
                _ = tokio::time::sleep_until(timeline.window_start), if !self.window.is_open() => true,
                _ = tokio::time::sleep_until(timeline.window_end),
                    if self.window.is_open() && !self.window.is_closed() => true,
                _ = drain.tick(), if self.window.is_closed() => false,
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
            if let Some(r) = self.read().await {
                self.memory.server_peak = self.memory.server_peak.max(r.server.rss_bytes);
                self.window.observe(r, now, timeline);
                self.last_ok = r;
            }
            if self.lost.is_some() {
                cancel.cancel();
            }
            self.memory.own_peak = self.memory.own_peak.max(process::resident_bytes());
            progress.tick(now.saturating_duration_since(timeline.t0), live);
            if now >= timeline.stop_at || cancel.is_cancelled() {
                break;
            }
        }
    }

    /// Whether every client has reached the window's last event and every short or delta poll
    /// due in the window has been answered (or given up on): the drain is over.
    fn drained(&self, live: &Live) -> bool {
        self.window.last_event().is_some_and(|(epoch, seq)| live.all_reached(epoch, seq))
            && live.window_polls_settled()
    }

    /// The loop can end before the closing reading (a slow scrape ran past the stop time, or
    /// the step was cancelled): take it now, so the window ends where it really ended.
    pub async fn close_window(&mut self) {
        if self.window.is_open() && !self.window.is_closed() && self.lost.is_none() {
            if let Some(r) = self.take().await {
                self.window.close_late(r);
            }
        }
    }

    /// The finished window, once the clients handed back their records.
    pub fn finish(self, records: &[ClientRecord]) -> Watched {
        let segments = self.window.finish(self.last_ok, records);
        Watched { segments, memory: self.memory, lost: self.lost, unreadable: self.unreadable }
    }

    /// A reading in the loop: failures in a row (or the embedded server's exit) lose the server.
    async fn read(&mut self) -> Option<Reading> {
        if let Some(how) = self.embedded.as_mut().and_then(|e| e.ended()) {
            self.lost = Some(Lost::Gone(format!("the embedded server ended: {how}")));
            return None;
        }
        match take(self.scraper, self.transport).await {
            Ok(r) => {
                self.failures = 0;
                Some(r)
            }
            Err(e) => {
                self.failures += 1;
                self.count(&e);
                if self.failures >= FAILURES_TO_GIVE_UP {
                    self.lost = Some(Lost::from(e));
                }
                None
            }
        }
    }

    /// A reading outside the loop's bookkeeping; a failure is counted, not held against the
    /// server.
    async fn take(&mut self) -> Option<Reading> {
        match take(self.scraper, self.transport).await {
            Ok(r) => Some(r),
            Err(e) => {
                self.count(&e);
                None
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

/// One reading of the server, and this process's CPU at the same moment.
async fn take(scraper: &mut Scraper, transport: Transport) -> Result<Reading, ScrapeError> {
    let sample = scraper.sample().await?;
    let server = ServerNumbers::read(&sample, transport)
        .map_err(|source| ScrapeError::Unreadable { server: scraper.host().to_string(), source })?;
    Ok(Reading { server, own_cpu: process::cpu_seconds(), at: Instant::now() })
}
