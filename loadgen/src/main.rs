//! The `loadgen` binary: `run` a comparison, re-render a `report`, or (hidden) serve the
//! embedded server process.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use loadgen::config::RunArgs;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Drives simulated clients through every pushpull transport and reports what they measured"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the comparison; the last line printed is the report's path.
    Run(RunArgs),
    /// Draw the report of an earlier run again from its results.json.
    Report {
        /// Path of a run's results.json.
        results: PathBuf,
    },
    /// Merge the results of several load processes (`run --part K/N`, or runs on several
    /// machines at once) into one run and one report; prints the report's path.
    Merge {
        /// The parts' run folders (each with its results.json and .hlog files).
        #[arg(required = true, num_args = 2..)]
        dirs: Vec<PathBuf>,
        /// Where to write the merged run.
        #[arg(long)]
        out: PathBuf,
    },
    /// The embedded server process (started by `run`; not for direct use).
    #[command(hide = true)]
    ServeEmbedded(server::Config),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Report { results } => report(&results),
            Command::Merge { dirs, out } => merge(&dirs, &out),
            Command::ServeEmbedded(config) => {
                server::run_until_signal(config).await.map(|_| ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nloadgen: Ctrl-C: finishing this step and writing what ran");
            on_ctrl_c.cancel();
        }
    });
    let finished = loadgen::run::run(args, cancel).await?;
    let errors = finished.results.errors_total();
    if errors > 0 {
        eprintln!("loadgen: {errors} client errors were counted; see the report's error table");
    }
    let failure = finished.failure();
    println!("{}", finished.report.display());
    Ok(match failure {
        Some(why) => {
            eprintln!("loadgen: {why}");
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    })
}

fn merge(dirs: &[PathBuf], out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let parts = loadgen::merge::read_parts(dirs)?;
    let merged = loadgen::merge::merge(&parts, out)?;
    let index = reports::render(&merged, out)
        .with_context(|| format!("while drawing the merged report in {}", out.display()))?;
    println!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}

fn report(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let index = reports::render_dir(path)
        .with_context(|| format!("while drawing the report of {}", path.display()))?;
    println!("{}", index.display());
    Ok(ExitCode::SUCCESS)
}
