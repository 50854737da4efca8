//! What the user sees while a run goes: on a terminal, one progress bar per step with live
//! counts; anywhere else (a log file, CI, a pipe) one plain line on stderr when each step
//! starts and one when it is done, since indicatif draws nothing there and a three-minute run
//! would otherwise say nothing at all. `--quiet` shows neither.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use proto::results::Step;

use crate::client::Live;
use crate::plan::StepPlan;

/// How progress is shown for the whole run.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Quiet,
    Bars,
    /// Plain lines, numbered out of `steps`.
    Lines {
        steps: usize,
    },
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines when it is not.
    pub fn new(quiet: bool, steps: usize) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bars
        } else {
            Progress::Lines { steps }
        }
    }

    /// A step begins.
    pub fn start(self, plan: &StepPlan) -> StepProgress {
        let mut p = StepProgress { bar: None, line: None, label: plan.label(), clients: plan.clients };
        match self {
            Progress::Quiet => {}
            Progress::Bars => p.bar = Some(bar(plan)),
            Progress::Lines { steps } => {
                let line = format!("step {}/{steps}", plan.index + 1);
                say(&format!("{line} started: {}", p.label));
                p.line = Some(line);
            }
        }
        p
    }
}

/// Progress of one step.
pub struct StepProgress {
    bar: Option<ProgressBar>,
    /// `step I/N`, when progress is plain lines.
    line: Option<String>,
    label: String,
    clients: u32,
}

impl StepProgress {
    /// `elapsed` since the step began, and the clients' live counts.
    pub fn tick(&self, elapsed: Duration, live: &Live) {
        if let Some(b) = &self.bar {
            b.set_position(elapsed.as_millis() as u64);
            b.set_message(live_message(live, self.clients));
        }
    }

    /// Every client has handed back its record.
    pub fn clients_done(&self, live: &Live) {
        if let Some(b) = &self.bar {
            b.finish_with_message(live_message(live, self.clients));
        }
    }

    /// The step is assembled.
    pub fn done(&self, step: &Step) {
        if let Some(line) = &self.line {
            say(&format!(
                "{line} done: {} — delivered {}, p50 {:.2} ms, p99 {:.2} ms, errors {}",
                self.label,
                step.deliveries,
                step.event_delay_us.p50 as f64 / 1000.0,
                step.event_delay_us.p99 as f64 / 1000.0,
                step.errors_total()
            ));
        }
    }
}

/// One line on stderr, flushed so that a log shows it now.
fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    // Progress is a courtesy: a closed stderr must not end the run.
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

fn bar(plan: &StepPlan) -> ProgressBar {
    let b = ProgressBar::new(plan.length().as_millis() as u64);
    let style = ProgressStyle::with_template("{prefix:>18} [{elapsed_precise}] {bar:28} ETA {eta:>3} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    b.set_style(style);
    b.set_prefix(plan.label());
    b
}

fn live_message(live: &Live, clients: u32) -> String {
    format!(
        "connected {}/{clients} · delivered {} · errors {}",
        live.connected.load(Relaxed),
        live.deliveries.load(Relaxed),
        live.errors.load(Relaxed)
    )
}
