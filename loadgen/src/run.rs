//! `loadgen run`: the whole sweep. Starts (or finds) the server, runs every step in turn,
//! writes `results.json` after each one (so a crash keeps what ran), renders the report.
//!
//! Client counts are the outer loop: a run cut short still compares every transport at the
//! smaller counts. Ctrl-C ends the current step early and writes what ran; a server that
//! stops answering ends the run the same way, and the caller exits non-zero.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::config::{parse_target, RunArgs, Target};
use crate::embedded::{self, Embedded};
use crate::scrape::Scraper;
use crate::step::{self, Env, StepPlan};
use crate::{clock, machine, summary};
use proto::results::{Clock, Results, RunConfig, Versions, SCHEMA};

/// How a run ended.
pub struct Finished {
    pub results: Results,
    pub dir: PathBuf,
    /// `index.html`, or `results.json` when the report could not be drawn.
    pub report: PathBuf,
}

impl Finished {
    /// Why the run should exit non-zero, in one line.
    pub fn failure(&self) -> Option<String> {
        self.results.interrupted.clone()
    }
}

/// The default output folder: `runs/<UTC time>/`.
pub fn default_out() -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string().replace(':', "-");
    PathBuf::from("runs").join(stamp)
}

pub async fn run(args: RunArgs, cancel: CancellationToken) -> anyhow::Result<Finished> {
    args.validate().map_err(anyhow::Error::msg)?;
    let dir = args.out.clone().unwrap_or_else(default_out);
    std::fs::create_dir_all(&dir).with_context(|| format!("while creating {}", dir.display()))?;
    server::process::raise_fd_limit();

    let mut embedded = None;
    let target = match &args.target {
        Some(t) => parse_target(t).map_err(anyhow::Error::msg)?,
        None => {
            let server_args = vec![
                "--rate".into(),
                args.rate.to_string(),
                "--payload-bytes".into(),
                args.payload_bytes.to_string(),
                "--seed".into(),
                args.seed.to_string(),
            ];
            let e = embedded::start(&server_args).await?;
            let t = Target { addr: e.addr, host: e.addr.to_string() };
            embedded = Some(e);
            t
        }
    };

    let clock = if target.addr.ip().is_loopback() {
        Clock { same_host: true, offset_us: 0, uncertainty_us: 0, samples: 0 }
    } else {
        clock::measure(target.addr, &target.host, 20)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the server's clock at /api/time: {e}"))?
    };
    let mut results = Results {
        schema: SCHEMA,
        started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        config: RunConfig {
            target: args.target.clone(),
            transports: args.transports.clone(),
            clients: args.clients.clone(),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            poll_interval_ms: args.poll_interval.as_secs_f64() * 1000.0,
            rate: args.rate,
            payload_bytes: args.payload_bytes,
            connect_rate: args.connect_rate,
            seed: args.seed,
        },
        machine: machine::describe(),
        versions: Versions {
            pushpull: env!("CARGO_PKG_VERSION").into(),
            rustc: env!("PUSHPULL_RUSTC_VERSION").into(),
        },
        steps: Vec::new(),
        clock: Some(clock),
        interrupted: None,
    };

    let plans = plan(&args);
    if !args.quiet {
        let total: Duration = plans.iter().map(StepPlan::length).sum();
        eprintln!(
            "pushpull: {} steps against {}, about {} s; writing to {}",
            plans.len(),
            target.host,
            total.as_secs(),
            dir.display()
        );
    }
    let mut scraper = Scraper::new(target.addr, target.host.clone());
    for p in &plans {
        if cancel.is_cancelled() {
            break;
        }
        let env = Env {
            target: &target,
            scraper: &mut scraper,
            embedded: embedded.as_mut(),
            cancel: &cancel,
            quiet: args.quiet,
            out: &dir,
            clock_offset_us: clock.offset_us,
        };
        let outcome = step::run(p, env).await;
        results.steps.push(outcome.step);
        write_results(&dir, &results)?;
        if outcome.server_gone {
            results.interrupted = Some(format!("the server stopped answering during step {}", p.label()));
            break;
        }
    }
    if cancel.is_cancelled() && results.interrupted.is_none() {
        results.interrupted = Some("interrupted (Ctrl-C); the report shows the steps that ran".into());
    }
    write_results(&dir, &results)?;
    if let Some(e) = embedded {
        stop_embedded(e).await;
    }
    if !args.quiet {
        eprintln!("{}", summary::table(&results));
    }
    let report = match reports::render(&results, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pushpull: the report could not be drawn ({e:#}); results are in results.json");
            dir.join("results.json")
        }
    };
    Ok(Finished { results, dir, report })
}

async fn stop_embedded(e: Embedded) {
    e.stop().await;
}

/// Every step, client counts outermost.
pub fn plan(args: &RunArgs) -> Vec<StepPlan> {
    let mut out = Vec::new();
    for &clients in &args.clients {
        for &transport in &args.transports {
            out.push(StepPlan {
                index: out.len(),
                transport,
                clients,
                duration: args.duration,
                warmup: args.warmup,
                poll_interval: args.poll_interval,
                connect_rate: args.connect_rate,
                seed: args.seed,
            });
        }
    }
    out
}

fn write_results(dir: &Path, results: &Results) -> anyhow::Result<()> {
    let path = dir.join("results.json");
    let json = serde_json::to_vec_pretty(results).context("while encoding results")?;
    let tmp = dir.join("results.json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("while writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("while writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sweep_takes_about_three_minutes() {
        let args = crate::config::parse_args(&[]).expect("defaults parse");
        let plans = plan(&args);
        assert_eq!(plans.len(), 15);
        assert_eq!(plans[0].label(), "short-poll × 10");
        assert_eq!(plans[5].label(), "short-poll × 100");
        let total: Duration = plans.iter().map(StepPlan::length).sum();
        // 15 steps of 2 s warm-up + 10 s measured, plus ramp-up and drain.
        assert!(total <= Duration::from_secs(200), "the default run takes {total:?}");
    }
}
